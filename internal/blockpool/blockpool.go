// Package blockpool recycles the power-of-two buffer blocks that TCP's
// send and receive rings and UDP's receive queues live in.
//
// Blocks come in size classes from a minimum up to a maximum (doubling;
// the last class is the maximum itself). Each class keeps one spare block
// outside the sync.Pool, which the garbage collector does not empty: a
// flow that releases and takes back its ring between reads or writes
// never allocates, even across GC cycles. Every other returned block goes
// to the class's sync.Pool. A Pool is not safe for concurrent use; the
// stack uses it with its lock held.
package blockpool

import "sync"

// Block is a pooled byte buffer (pointer-shaped so sync.Pool does not
// allocate on Put).
type Block struct {
	B   []byte
	cls int
}

// Pool pools blocks by size class.
type Pool struct {
	sizes []int
	spare []*Block
	pools []sync.Pool
	held  int // bytes held in spares
}

// New returns a pool of classes min, 2*min, ... below max, and max.
func New(min, max int) *Pool {
	p := &Pool{}
	for s := min; s < max; s *= 2 {
		p.sizes = append(p.sizes, s)
	}
	p.sizes = append(p.sizes, max)
	p.pools = make([]sync.Pool, len(p.sizes))
	p.spare = make([]*Block, len(p.sizes))
	for i := range p.pools {
		size, cls := p.sizes[i], i
		p.pools[i].New = func() any { return &Block{B: make([]byte, size), cls: cls} }
	}
	return p
}

// ClassFor is the smallest class holding need bytes, or the largest.
func (p *Pool) ClassFor(need int) int {
	for i, s := range p.sizes {
		if s >= need {
			return i
		}
	}
	return len(p.sizes) - 1
}

// Size is the block size of class cls.
func (p *Pool) Size(cls int) int { return p.sizes[cls] }

// Classes is the number of classes.
func (p *Pool) Classes() int { return len(p.sizes) }

// Spare is the memory the pool holds in its spare blocks.
func (p *Pool) Spare() int { return p.held }

// Get returns a block of class cls: the spare if there is one.
func (p *Pool) Get(cls int) *Block {
	if b := p.spare[cls]; b != nil {
		p.spare[cls] = nil
		p.held -= len(b.B)
		return b
	}
	return p.pools[cls].Get().(*Block)
}

// Put returns b to its class: as the spare if there is none.
func (p *Pool) Put(b *Block) {
	if p.spare[b.cls] == nil {
		p.spare[b.cls] = b
		p.held += len(b.B)
		return
	}
	p.pools[b.cls].Put(b)
}

// GrowRing copies the n bytes of ring old that start at head (wrapping)
// to the start of nb, which holds at least n bytes.
func GrowRing(nb, old []byte, head, n int) {
	m := copy(nb[:n], old[head:min(head+n, len(old))])
	copy(nb[m:n], old)
}

// Shared is a pool safe for concurrent use: one sync.Pool per class and no
// spares. Flows' copy buffers (flow.Forward and Proxy, tlsflow's coalesced
// writes) come from Copy. Its zero value with Min and Max set is ready to
// use; declaring one costs no init code in an image that does not use it.
type Shared struct {
	Min, Max int // as New's
	once     sync.Once
	p        *Pool
}

// Copy is the pool of the flows' copy buffers: 4 KiB to 1 MiB.
var Copy = Shared{Min: 4 << 10, Max: 1 << 20}

// Get returns a block of at least need bytes (the largest class when need
// is larger).
func (s *Shared) Get(need int) *Block {
	s.once.Do(func() { s.p = New(s.Min, s.Max) })
	return s.p.pools[s.p.ClassFor(need)].Get().(*Block)
}

// Put returns a block from Get.
func (s *Shared) Put(b *Block) { s.p.pools[b.cls].Put(b) }
