package flowtcp_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack/tcp"
)

// heldWrites holds every Write to the flow until the flow is closed or
// aborted, as writes to a client that stopped reading are held once the
// buffers are full; entered is closed when the first Write waits.
type heldWrites struct {
	flow.Flow
	entered, closed chan struct{}
	enter, end      sync.Once
}

func (h *heldWrites) Write(p []byte) (int, error) {
	h.enter.Do(func() { close(h.entered) })
	<-h.closed
	return 0, flow.ErrClosed
}

func (h *heldWrites) WriteBuffers(v [][]byte) (int64, error) { return flow.WriteBuffersSeq(h, v) }

func (h *heldWrites) Close() error {
	h.end.Do(func() { close(h.closed) })
	return h.Flow.Close()
}

func (h *heldWrites) Abort() error {
	h.end.Do(func() { close(h.closed) })
	return flow.Abort(h.Flow)
}

// The issue 15 defect over our TCP, in the order that made the proxy
// meet the reset in CloseWrite: the client sends a request and stops
// reading; the upstream answers and resets while the proxy is held
// writing the answer to the client; the RST reaches the proxy's upstream
// connection, which nothing reads; then the client half-closes, and the
// proxy passes the EOF on with CloseWrite, which fails with the reset.
// The client must get a RST, not the FIN it used to get.
func TestTCPProxyCloseWriteMeetsReset(t *testing.T) {
	flowtest.CheckGoroutines(t)
	st := newStacks(t)
	client, pa := st.tcpPair(t)
	pb, server := st.tcpPair(t)
	for _, c := range []*tcp.Conn{client, pa, pb, server} {
		defer c.Close()
	}
	held := &heldWrites{Flow: pa, entered: make(chan struct{}), closed: make(chan struct{})}
	type result struct {
		res flow.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := flow.Proxy(context.Background(), held, pb, flow.Options{})
		done <- result{res, err}
	}()

	client.SetDeadline(time.Now().Add(wait))
	server.SetDeadline(time.Now().Add(wait))
	if _, err := client.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	req := make([]byte, 7)
	if _, err := io.ReadFull(server, req); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("response")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.entered: // the proxy read the response and is held writing it
	case <-time.After(wait):
		t.Fatal("the proxy never wrote the response to the client")
	}
	server.Abort()
	stacktest.WaitFor(t, "the RST to reach the proxy's upstream connection", wait, func() bool { return pb.State() == tcp.Closed })
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, client)
	if !errors.Is(err, tcp.ErrReset) {
		t.Fatalf("client read ended with %v; want a reset (it used to get a FIN)", err)
	}
	select {
	case r := <-done:
		if !r.res.BReset || !errors.Is(r.err, tcp.ErrReset) {
			t.Fatalf("Proxy = %+v, %v; want the upstream end reset", r.res, r.err)
		}
	case <-time.After(wait):
		t.Fatal("Proxy did not return")
	}
}
