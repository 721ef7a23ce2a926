package tcp

import "sync"

// Buffer memory comes in power-of-two blocks from minBlock up to the
// configured buffer size. A connection's ring starts at the smallest block
// that holds its data and grows (one copy) as more is queued, up to
// Config.SendBuffer / RecvBuffer; it is returned when it drains. So memory
// follows what is actually buffered: an idle connection holds none, and a
// request/response connection holds a few KiB, not the full window.
const minBlock = 4 << 10

// block is a pooled byte buffer (pointer-shaped so sync.Pool does not
// allocate on Put).
type block struct {
	b   []byte
	cls int
}

// blockPool pools blocks by size class.
type blockPool struct {
	sizes []int
	pools []sync.Pool
}

func newBlockPool(max int) *blockPool {
	p := &blockPool{}
	for s := minBlock; s < max; s *= 2 {
		p.sizes = append(p.sizes, s)
	}
	p.sizes = append(p.sizes, max)
	p.pools = make([]sync.Pool, len(p.sizes))
	for i := range p.pools {
		size, cls := p.sizes[i], i
		p.pools[i].New = func() any { return &block{b: make([]byte, size), cls: cls} }
	}
	return p
}

// classFor is the smallest class holding need bytes (need <= the maximum).
func (p *blockPool) classFor(need int) int {
	for i, s := range p.sizes {
		if s >= need {
			return i
		}
	}
	return len(p.sizes) - 1
}

func (p *blockPool) get(cls int) *block { return p.pools[cls].Get().(*block) }

func (p *blockPool) put(b *block) { p.pools[b.cls].Put(b) }

// growRing copies the first n bytes of ring old (starting at head) into
// the start of nb.
func growRing(nb, old []byte, head, n int) {
	m := copy(nb[:n], old[head:min(head+n, len(old))])
	copy(nb[m:n], old)
}
