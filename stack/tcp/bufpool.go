package tcp

import "sync"

// Buffer memory comes in power-of-two blocks from minBlock up to the
// configured buffer size. A connection's ring starts at the smallest block
// that holds its data (or, when the previous ring of that direction was
// busier, at the size that one reached, so that a bulk flow whose ring
// drains between reads does not regrow it from 4 KiB each time) and grows
// (one copy) as more is queued, up to Config.SendBuffer / RecvBuffer; it
// is returned when it drains. So memory follows what is actually buffered:
// an idle connection holds none, and a request/response connection holds a
// few KiB, not the full window.
const minBlock = 4 << 10

// block is a pooled byte buffer (pointer-shaped so sync.Pool does not
// allocate on Put).
type block struct {
	b   []byte
	cls int
}

// blockPool pools blocks by size class. Each class keeps one spare block
// outside the sync.Pool (so at most the sum of the class sizes per pool),
// which the garbage collector does not empty: a flow that releases and
// takes back its ring between reads or writes never allocates, even
// across GC cycles. Every other returned block goes to the sync.Pool.
// It is used with the stack lock held.
type blockPool struct {
	sizes []int
	spare []*block
	pools []sync.Pool
}

func newBlockPool(max int) *blockPool {
	p := &blockPool{}
	for s := minBlock; s < max; s *= 2 {
		p.sizes = append(p.sizes, s)
	}
	p.sizes = append(p.sizes, max)
	p.pools = make([]sync.Pool, len(p.sizes))
	p.spare = make([]*block, len(p.sizes))
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

func (p *blockPool) get(cls int) *block {
	if b := p.spare[cls]; b != nil {
		p.spare[cls] = nil
		return b
	}
	return p.pools[cls].Get().(*block)
}

func (p *blockPool) put(b *block) {
	if p.spare[b.cls] == nil {
		p.spare[b.cls] = b
		return
	}
	p.pools[b.cls].Put(b)
}

// growRing copies the first n bytes of ring old (starting at head) into
// the start of nb.
func growRing(nb, old []byte, head, n int) {
	m := copy(nb[:n], old[head:min(head+n, len(old))])
	copy(nb[m:n], old)
}

// decayHint is the class a direction's next ring starts at, given the
// previous hint and the class the ring just released needed: up at once,
// down one class per ring, so a bulk flow whose ring sometimes drains
// early keeps its size while a connection that turned to small messages
// goes back to small rings after a few.
func decayHint(hint uint8, cls int) uint8 {
	if cls >= int(hint) {
		return uint8(cls)
	}
	return hint - 1
}
