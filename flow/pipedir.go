package flow

import "sync"

// pipeDir is one direction of a Pipe: a bounded ring buffer between one
// writer end and one reader end, with the half-close state of both.
type pipeDir struct {
	mu      sync.Mutex
	buf     []byte // ring, allocated on first write
	max     int    // capacity of buf
	r, n    int    // read offset and bytes buffered
	eof     bool   // writer did CloseWrite or Close: EOF after the data
	shut    bool   // reader did CloseRead: reads give EOF, data is dropped
	gone    bool   // reader did Close: writes fail with ErrPeerClosed
	reset   bool   // the end that set eof or gone did it by Abort: ErrReset instead
	changed chan struct{}
}

func newPipeDir(max int) *pipeDir {
	return &pipeDir{max: max, changed: make(chan struct{})}
}

// signal wakes every goroutine waiting on the current changed channel.
// Called with mu held.
func (d *pipeDir) signal() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// put copies as much of p as fits and returns the count. Called with mu held.
func (d *pipeDir) put(p []byte) int {
	if d.buf == nil {
		d.buf = make([]byte, d.max)
	}
	total := 0
	for len(p) > 0 && d.n < d.max {
		w := (d.r + d.n) % d.max
		end := d.max
		if d.r > w || (d.r == w && d.n > 0) {
			end = d.r
		}
		c := copy(d.buf[w:end], p)
		d.n += c
		p = p[c:]
		total += c
	}
	return total
}

// get copies buffered bytes into p and returns the count. Called with mu held.
func (d *pipeDir) get(p []byte) int {
	total := 0
	for len(p) > 0 && d.n > 0 {
		end := d.r + d.n
		if end > d.max {
			end = d.max
		}
		c := copy(p, d.buf[d.r:end])
		d.r = (d.r + c) % d.max
		d.n -= c
		p = p[c:]
		total += c
	}
	if d.n == 0 {
		d.r = 0
	}
	return total
}

// drop discards the buffered bytes and frees the ring. Called with mu held.
func (d *pipeDir) drop() {
	d.r, d.n = 0, 0
	d.buf = nil
}
