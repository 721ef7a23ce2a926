package tcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

func livePair(t *testing.T, cfg Config) (*liveNet, *Conn, *Conn) {
	t.Helper()
	n := newLiveNet(t, cfg)
	ln, err := n.ends[1].l.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type res struct {
		c   *Conn
		err error
	}
	ac := make(chan res, 1)
	go func() {
		c, err := ln.AcceptContext(ctx)
		ac <- res{c, err}
	}()
	client, err := n.ends[0].l.Dial(ctx, addrPort("10.0.0.2:80"))
	if err != nil {
		t.Fatal(err)
	}
	r := <-ac
	if r.err != nil {
		t.Fatal(r.err)
	}
	return n, client, r.c
}

func TestAPIStreamAndEOF(t *testing.T) {
	_, a, b := livePair(t, Config{SendBuffer: 64 << 10, RecvBuffer: 64 << 10})
	data := make([]byte, 3<<20)
	newChaChaStream(9).fill(data, 0)
	var wg sync.WaitGroup
	wg.Add(1)
	var got []byte
	var rerr error
	go func() {
		defer wg.Done()
		got, rerr = io.ReadAll(b)
	}()
	// Gather write + plain writes from one goroutine, concurrent Read on b.
	if n, err := a.WriteBuffers([][]byte{data[:1000], data[1000:70000]}); err != nil || n != 70000 {
		t.Fatalf("WriteBuffers %d %v", n, err)
	}
	if _, err := a.Write(data[70000:]); err != nil {
		t.Fatal(err)
	}
	if err := a.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if rerr != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll: %d bytes, err %v", len(got), rerr)
	}
	// Half-close: b can still send to a.
	if _, err := b.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	got, err := io.ReadAll(a)
	if err != nil || string(got) != "reply" {
		t.Fatalf("reply %q %v", got, err)
	}
	if _, ok := a.LocalAddr().(*net.TCPAddr); !ok {
		t.Fatal("LocalAddr is not a *net.TCPAddr")
	}
	if ra := a.RemoteAddr().(*net.TCPAddr); ra.Port != 80 || !ra.IP.Equal(net.IPv4(10, 0, 0, 2)) {
		t.Fatalf("RemoteAddr %v", ra)
	}
	a.Close()
}

func TestAPIDeadlines(t *testing.T) {
	_, a, b := livePair(t, Config{SendBuffer: 8 << 10, RecvBuffer: 8 << 10})
	// A blocked Read is woken by a deadline set from another goroutine.
	errc := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 10))
		errc <- err
	}()
	waitFor(t, func() bool { return a.flagLive(fRdWait) })
	a.SetReadDeadline(time.Now())
	select {
	case err := <-errc:
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Read: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("past deadline did not wake Read")
	}
	// An expiring deadline.
	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := a.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: %v", err)
	}
	a.SetReadDeadline(time.Time{})
	// Write blocks when the buffers are full (b does not read), then the
	// write deadline wakes it.
	a.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := a.Write(make([]byte, 1<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n >= 1<<20 {
		t.Fatalf("Write: %d, %v", n, err)
	}
	_ = b
}

func TestAPICloseUnblocks(t *testing.T) {
	_, a, _ := livePair(t, Config{})
	errc := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 10))
		errc <- err
	}()
	waitFor(t, func() bool { return a.flagLive(fRdWait) })
	a.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

func TestAPICloseWithUnreadDataResets(t *testing.T) {
	n, a, b := livePair(t, Config{})
	if _, err := a.Write([]byte("unread")); err != nil {
		t.Fatal(err)
	}
	// Wait until b has the data.
	waitFor(t, func() bool { return b.rxLenLive(n) > 0 })
	b.Close()
	_, err := a.Read(make([]byte, 10))
	if !errors.Is(err, ErrReset) || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read on the other side: %v", err)
	}
}

func (c *Conn) rxLenLive(n *liveNet) int {
	c.l.lock.Lock()
	defer c.l.lock.Unlock()
	return c.rxLen()
}

func TestAPIListenerClose(t *testing.T) {
	n := newLiveNet(t, Config{})
	ln, _ := n.ends[1].l.Listen(81)
	if _, err := n.ends[1].l.Listen(81); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second Listen: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := ln.Accept()
		errc <- err
	}()
	waitFor(t, func() bool {
		ln.l.lock.Lock()
		defer ln.l.lock.Unlock()
		return ln.waiting
	})
	ln.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	// Now the port refuses.
	_, err := n.ends[0].l.Dial(context.Background(), addrPort("10.0.0.2:81"))
	if !errors.Is(err, ErrRefused) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial: %v", err)
	}
	if a := ln.Addr().(*net.TCPAddr); a.Port != 81 {
		t.Fatalf("Addr %v", a)
	}
}

func TestAPIDialContextCancel(t *testing.T) {
	n := newLiveNet(t, Config{})
	n.ends[0].drop = func([]byte) bool { return true }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := n.ends[0].l.Dial(ctx, addrPort("10.0.0.2:80"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial: %v", err)
	}
	if st := n.ends[0].l.lockedStats(); st.States[SynSent] != 0 {
		t.Fatal("SYN_SENT left behind")
	}
}

func TestAPIAbort(t *testing.T) {
	_, a, b := livePair(t, Config{})
	a.Abort()
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, ErrReset) {
		t.Fatalf("Read after peer Abort: %v", err)
	}
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Abort: %v", err)
	}
}

// waitFor yields until cond holds (bounded by 10s of real time, reached
// only when the test fails). It is a condition wait, not a sleep. It is
// not stacktest.WaitFor because stacktest imports this package (an
// import cycle for package tcp's own tests), and because these tests wait
// on goroutines of the same process, for which yielding beats sleeping.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		runtime.Gosched()
	}
}

func (c *Conn) flagLive(bit uint32) bool {
	c.l.lock.Lock()
	defer c.l.lock.Unlock()
	return c.f&bit != 0
}

// TestAPIRecvAutoTune: with RecvAutoTune a connection starts by offering
// RecvBufferInitial and grows its window to RecvBuffer while a reader
// keeps up with a bulk sender; without it the window is RecvBuffer from
// the start.
func TestAPIRecvAutoTune(t *testing.T) {
	cfg := Config{RecvBuffer: 512 << 10, RecvAutoTune: true, RecvBufferInitial: 16 << 10}
	n, a, b := livePair(t, cfg)
	lk := n.ends[1].l.lock
	lk.Lock()
	start := b.rcvCap
	lk.Unlock()
	if start != 16<<10 {
		t.Fatalf("initial window bound %d, want %d", start, 16<<10)
	}
	data := make([]byte, 8<<20)
	newChaChaStream(3).fill(data, 0)
	done := make(chan error, 1)
	go func() {
		_, err := a.Write(data)
		if err == nil {
			err = a.CloseWrite()
		}
		done <- err
	}()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (equal %v), err %v", len(got), bytes.Equal(got, data), err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lk.Lock()
	grown, growths := b.rcvCap, n.ends[1].l.StatsLocked().WindowGrowths
	lk.Unlock()
	if grown <= 16<<10 || grown > 512<<10 || growths == 0 {
		t.Fatalf("window bound %d after 8 MiB (%d growths), want it grown within (16 KiB, 512 KiB]", grown, growths)
	}

	_, _, plain := livePair(t, Config{RecvBuffer: 512 << 10})
	if plain.rcvCap != 0 || plain.rxSpace() != 512<<10 {
		t.Fatalf("without auto-tuning: bound %d, space %d", plain.rcvCap, plain.rxSpace())
	}
}
