package pkt

import "sync"

// Pool recycles Bufs of one size so that the steady-state packet path does
// not allocate. It is safe for concurrent use.
type Pool struct {
	size int
	p    sync.Pool
}

// NewPool returns a pool of Bufs with capacity size.
func NewPool(size int) *Pool {
	pl := &Pool{size: size}
	pl.p.New = func() any { return &Buf{data: make([]byte, size)} }
	return pl
}

// Get returns an empty Buf with headroom bytes reserved.
func (pl *Pool) Get(headroom int) *Buf {
	b := pl.p.Get().(*Buf)
	b.Reset(headroom)
	return b
}

// Put returns b to the pool. b must not be used afterwards. Bufs of another
// size are dropped.
func (pl *Pool) Put(b *Buf) {
	if b == nil || len(b.data) != pl.size {
		return
	}
	b.ext = [2][]byte{} // drop references to payload memory
	b.next = 0
	pl.p.Put(b)
}

// Size is the capacity of the pool's Bufs.
func (pl *Pool) Size() int { return pl.size }
