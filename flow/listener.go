package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
)

// ErrRefused is returned by Listener.Dial when the listener is closed.
var ErrRefused = errors.New("flow: connection refused")

// Listener is an in-memory net.Listener whose connections are Pipe pairs.
// Dial hands one end to Accept and returns the other; there is no backlog,
// so Dial blocks until Accept takes the connection (or ctx ends). It serves
// net/http tests: give http.Server the Listener and http.Transport its
// DialContext.
type Listener struct {
	addr    net.Addr
	opts    PipeOptions
	handoff chan Flow
	done    chan struct{}
	once    sync.Once
	ports   atomic.Uint32
}

// NewListener returns a listener at addr (Addr{Name: "listener"} if nil)
// whose connections use the default PipeOptions.
func NewListener(addr net.Addr) *Listener {
	return NewListenerOptions(addr, PipeOptions{})
}

// NewListenerOptions is NewListener with the given buffer size for its
// pipes; the address fields of o are ignored.
func NewListenerOptions(addr net.Addr, o PipeOptions) *Listener {
	if addr == nil {
		addr = Addr{Name: "listener"}
	}
	return &Listener{addr: addr, opts: o, handoff: make(chan Flow), done: make(chan struct{})}
}

// Dial connects to the listener. The server end's RemoteAddr is the
// client end's LocalAddr, "client-N" in the listener's network.
func (l *Listener) Dial(ctx context.Context) (Flow, error) {
	o := l.opts
	o.AddrA = Addr{Net: l.addr.Network(), Name: fmt.Sprintf("client-%d", l.ports.Add(1))}
	o.AddrB = l.addr
	client, server := Pipe(o)
	select {
	case l.handoff <- server:
		return client, nil
	case <-l.done:
		return nil, ErrRefused
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// DialContext is Dial with the signature of net.Dialer.DialContext, for
// http.Transport.DialContext; network and address are ignored.
func (l *Listener) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return l.Dial(ctx)
}

// AcceptFlow waits for the next connection. After Close it fails with an
// error matching ErrClosed.
func (l *Listener) AcceptFlow() (Flow, error) {
	select {
	case f := <-l.handoff:
		return f, nil
	case <-l.done:
		return nil, ErrClosed
	}
}

// Accept implements net.Listener.Accept; the net.Conn is a Flow.
func (l *Listener) Accept() (net.Conn, error) {
	f, err := l.AcceptFlow()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Close implements net.Listener.Close: it unblocks Accept and Dial. It is
// idempotent. Connections already accepted stay open.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener.Addr.
func (l *Listener) Addr() net.Addr { return l.addr }
