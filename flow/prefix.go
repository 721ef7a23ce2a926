package flow

import "sync"

// WithPrefix returns f with p read first: reads return the bytes of p,
// then f's. It is for a flow some of whose bytes were already read to
// decide what to do with it (a PROXY header and what came with it, a TLS
// ClientHello) and must now be read again, by TLS for one. Writes,
// closes, deadlines and Abort are f's; CloseRead drops what is left of p.
func WithPrefix(f Flow, p []byte) Flow {
	if len(p) == 0 {
		return f
	}
	return &prefixed{Flow: f, p: p}
}

type prefixed struct {
	Flow
	mu sync.Mutex
	p  []byte
}

// Read implements net.Conn.Read.
func (f *prefixed) Read(b []byte) (int, error) {
	f.mu.Lock()
	if len(f.p) > 0 {
		n := copy(b, f.p)
		f.p = f.p[n:]
		f.mu.Unlock()
		return n, nil
	}
	f.mu.Unlock()
	return f.Flow.Read(b)
}

// CloseRead implements Flow.CloseRead.
func (f *prefixed) CloseRead() error {
	f.mu.Lock()
	f.p = nil
	f.mu.Unlock()
	return f.Flow.CloseRead()
}

// Abort implements Aborter: it aborts the flow below.
func (f *prefixed) Abort() error { return Abort(f.Flow) }
