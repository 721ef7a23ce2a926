package flowtest

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
)

// proxyRig is client <-> (a) Proxy (b) <-> server, each link a pair from mk.
type proxyRig struct {
	client, server flow.Flow
	a, b           flow.Flow // the proxy's ends
	done           chan proxyDone
	cancel         context.CancelFunc
}

type proxyDone struct {
	res flow.Result
	err error
}

// startProxy builds the rig; wrap, if not nil, may replace the proxy's
// ends (to inject faults).
func startProxy(t *testing.T, mk MakeFunc, o flow.Options, wrap func(a, b flow.Flow) (flow.Flow, flow.Flow)) *proxyRig {
	t.Helper()
	client, a := mk(t)
	b, server := mk(t)
	t.Cleanup(func() {
		for _, f := range []flow.Flow{client, a, b, server} {
			f.Close()
		}
	})
	if wrap != nil {
		a, b = wrap(a, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &proxyRig{client: client, server: server, a: a, b: b, done: make(chan proxyDone, 1), cancel: cancel}
	go func() {
		res, err := flow.Proxy(ctx, a, b, o)
		r.done <- proxyDone{res, err}
	}()
	return r
}

// wait returns the Proxy's result and checks that it closed both ends.
func (r *proxyRig) wait(t *testing.T) proxyDone {
	t.Helper()
	d := await(t, r.done, "Proxy")
	for _, f := range []flow.Flow{r.a, r.b} {
		if _, err := f.Write([]byte("x")); err == nil {
			t.Errorf("proxy end %v still writable after Proxy returned", f.LocalAddr())
		}
	}
	return d
}

// drain reads f until EOF or an error and returns what it read.
func drain(f flow.Flow) <-chan string {
	ch := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(f)
		ch <- string(b)
	}()
	return ch
}

// RunProxy runs the flow.Proxy half-close matrix over pairs from mk: the
// client or the server closes its write side first, both do, either side
// closes or fails, the idle timeout fires or is held off by one-way
// traffic, the context is cancelled, and a large two-way transfer. Each
// case checks the byte counts, that Proxy closed both ends, and that no
// goroutine leaked. The reset cases (reset.go) check that a reset met on
// one end, by any call, reaches the other as a reset.
func RunProxy(t *testing.T, mk MakeFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, mk MakeFunc)
	}{
		{"ClientClosesWriteFirst", testProxyClientFirst},
		{"ServerClosesWriteFirst", testProxyServerFirst},
		{"BothCloseWrite", testProxyBoth},
		{"ClientCloses", func(t *testing.T, mk MakeFunc) { testProxyCloses(t, mk, false) }},
		{"ServerCloses", func(t *testing.T, mk MakeFunc) { testProxyCloses(t, mk, true) }},
		{"ServerReadFails", func(t *testing.T, mk MakeFunc) { testProxyFault(t, mk, false, false) }},
		{"ClientReadFails", func(t *testing.T, mk MakeFunc) { testProxyFault(t, mk, true, false) }},
		{"ServerWriteFails", func(t *testing.T, mk MakeFunc) { testProxyFault(t, mk, false, true) }},
		{"ClientWriteFails", func(t *testing.T, mk MakeFunc) { testProxyFault(t, mk, true, true) }},
		{"IdleTimeout", testProxyIdle},
		{"OneWayTrafficIsNotIdle", testProxyNotIdle},
		{"Cancel", testProxyCancel},
		{"LargeBothWays", testProxyLarge},
		{"ServerResets", func(t *testing.T, mk MakeFunc) { testProxyPeerResets(t, mk, true) }},
		{"ClientResets", func(t *testing.T, mk MakeFunc) { testProxyPeerResets(t, mk, false) }},
		{"ResetAfterHalfClose", testProxyResetAfterHalfClose},
		{"CloseWriteMeetsReset", testProxyCloseWriteResets},
		{"IdleWhileWriting", testProxyIdleWhileWriting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			CheckGoroutines(t)
			tc.fn(t, mk)
		})
	}
}

func testProxyClientFirst(t *testing.T, mk MakeFunc) {
	r := startProxy(t, mk, flow.Options{}, nil)
	mustWrite(t, r.client, "request")
	mustCall(t, "client CloseWrite", r.client.CloseWrite())
	mustReadToEOF(t, r.server, "request")
	mustWrite(t, r.server, "response!")
	mustCall(t, "server CloseWrite", r.server.CloseWrite())
	mustReadToEOF(t, r.client, "response!")
	d := r.wait(t)
	mustCall(t, "Proxy", d.err)
	if d.res != (flow.Result{AToB: 7, BToA: 9}) {
		t.Fatalf("Result = %+v, want {7 9}", d.res)
	}
}

func testProxyServerFirst(t *testing.T, mk MakeFunc) {
	r := startProxy(t, mk, flow.Options{}, nil)
	mustWrite(t, r.server, "banner")
	mustCall(t, "server CloseWrite", r.server.CloseWrite())
	mustReadToEOF(t, r.client, "banner")
	mustWrite(t, r.client, "bye")
	mustCall(t, "client CloseWrite", r.client.CloseWrite())
	mustReadToEOF(t, r.server, "bye")
	d := r.wait(t)
	mustCall(t, "Proxy", d.err)
	if d.res != (flow.Result{AToB: 3, BToA: 6}) {
		t.Fatalf("Result = %+v, want {3 6}", d.res)
	}
}

func testProxyBoth(t *testing.T, mk MakeFunc) {
	r := startProxy(t, mk, flow.Options{}, nil)
	cs, ss := drain(r.client), drain(r.server)
	mustWrite(t, r.client, "c")
	mustWrite(t, r.server, "s")
	mustCall(t, "client CloseWrite", r.client.CloseWrite())
	mustCall(t, "server CloseWrite", r.server.CloseWrite())
	if got := await(t, cs, "client drain"); got != "s" {
		t.Fatalf("client read %q, want %q", got, "s")
	}
	if got := await(t, ss, "server drain"); got != "c" {
		t.Fatalf("server read %q, want %q", got, "c")
	}
	d := r.wait(t)
	mustCall(t, "Proxy", d.err)
}

// One end closes outright: the other still gets the data and EOF, and
// the proxy ends once that one is done too, whatever its error.
func testProxyCloses(t *testing.T, mk MakeFunc, server bool) {
	r := startProxy(t, mk, flow.Options{}, nil)
	closer, other := r.client, r.server
	if server {
		closer, other = other, closer
	}
	mustWrite(t, closer, "last words")
	mustCall(t, "Close", closer.Close())
	mustReadToEOF(t, other, "last words")
	other.Write([]byte("too late")) // may fail or be lost
	other.CloseWrite()
	d := r.wait(t)
	if got := max(d.res.AToB, d.res.BToA); got != 10 {
		t.Fatalf("Result = %+v, want 10 bytes from the closer", d.res)
	}
}

// A read or write failure on either proxy end ends the proxy with that
// error and closes both sides, which the client and server see.
func testProxyFault(t *testing.T, mk MakeFunc, clientSide, write bool) {
	wrap := func(a, b flow.Flow) (flow.Flow, flow.Flow) {
		f := &Faulty{ReadsOK: -1, WritesOK: -1}
		if write {
			f.WritesOK = 1
		} else {
			f.ReadsOK = 1
		}
		if clientSide {
			f.Flow = a
			return f, b
		}
		f.Flow = b
		return a, f
	}
	r := startProxy(t, mk, flow.Options{}, wrap)
	mustWrite(t, r.client, "one")
	mustReadFull(t, r.server, "one")
	mustWrite(t, r.server, "uno")
	mustReadFull(t, r.client, "uno")
	// The second message crosses the faulty end in one direction or
	// the other, whichever the fault is on, with its second Read or
	// Write.
	cs, ss := drain(r.client), drain(r.server)
	r.client.Write([]byte("two"))
	r.server.Write([]byte("dos"))
	d := r.wait(t)
	if !errors.Is(d.err, ErrInjected) {
		t.Fatalf("Proxy error = %v, want ErrInjected", d.err)
	}
	await(t, cs, "client sees the end")
	await(t, ss, "server sees the end")
}

func testProxyIdle(t *testing.T, mk MakeFunc) {
	const idle = 50 * time.Millisecond
	start := time.Now()
	r := startProxy(t, mk, flow.Options{IdleTimeout: idle}, nil)
	cs := drain(r.client)
	d := r.wait(t)
	if !errors.Is(d.err, flow.ErrIdleTimeout) {
		t.Fatalf("Proxy error = %v, want ErrIdleTimeout", d.err)
	}
	if el := time.Since(start); el < idle {
		t.Fatalf("idle timeout after %v, before %v", el, idle)
	}
	await(t, cs, "client sees the end")
}

// Traffic in one direction only keeps the proxy alive: idleness counts
// both directions.
func testProxyNotIdle(t *testing.T, mk MakeFunc) {
	const idle = 400 * time.Millisecond
	r := startProxy(t, mk, flow.Options{IdleTimeout: idle}, nil)
	tick := time.NewTicker(idle / 10)
	defer tick.Stop()
	end := time.Now().Add(2 * idle)
	n := 0
	for time.Now().Before(end) {
		<-tick.C
		mustWrite(t, r.client, "x")
		mustReadFull(t, r.server, "x")
		n++
	}
	mustCall(t, "client CloseWrite", r.client.CloseWrite())
	mustReadToEOF(t, r.server, "")
	mustCall(t, "server CloseWrite", r.server.CloseWrite())
	mustReadToEOF(t, r.client, "")
	d := r.wait(t)
	mustCall(t, "Proxy", d.err)
	if d.res.AToB != int64(n) {
		t.Fatalf("AToB = %d, want %d", d.res.AToB, n)
	}
}

func testProxyCancel(t *testing.T, mk MakeFunc) {
	r := startProxy(t, mk, flow.Options{}, nil)
	mustWrite(t, r.client, "hi")
	mustReadFull(t, r.server, "hi")
	r.cancel()
	d := r.wait(t)
	if !errors.Is(d.err, context.Canceled) {
		t.Fatalf("Proxy error = %v, want context.Canceled", d.err)
	}
	if _, err := r.client.Read(make([]byte, 1)); err == nil {
		t.Fatal("client read succeeded after the proxy was cancelled")
	}
	if _, err := r.a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("proxy end read after cancel: %v, want net.ErrClosed", err)
	}
}

func testProxyLarge(t *testing.T, mk MakeFunc) {
	r := startProxy(t, mk, flow.Options{BufferSize: 5000}, nil)
	const size = 2 << 20
	s1, g1, w1 := transfer(t, r.client, r.server, size, 11)
	s2, g2, w2 := transfer(t, r.server, r.client, size, 12)
	checkTransfer(t, "client->server", s1, g1, w1, size)
	checkTransfer(t, "server->client", s2, g2, w2, size)
	d := r.wait(t)
	mustCall(t, "Proxy", d.err)
	if d.res != (flow.Result{AToB: size, BToA: size}) {
		t.Fatalf("Result = %+v, want %d both ways", d.res, size)
	}
}
