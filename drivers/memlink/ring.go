package memlink

import (
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/drivers/internal/bytering"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// ring is a bounded multi-producer, single-consumer queue of frames held in
// one preallocated slab. Producers serialise on mu (senders of several
// stacks can target one port); the consumer takes no lock: it reads tail and
// publishes head atomically, and it only frees a frame after the handler
// has returned, so the frame can be lent to the handler without a copy.
//
// Frames are packed into the slab by size (drivers/internal/bytering), so a
// 64 KiB TSO frame and a 60-byte ACK each take what they need; at most size
// frames are queued at once.
type ring struct {
	// Read-only after newRing. Both sides read these for every frame, so
	// they must not share a cache line with anything written per frame,
	// least of all the producers' mutex: every push would otherwise take
	// the line away from the consumer.
	slab  []byte
	recs  []rec  // frame records, by position mod size
	frame int    // largest frame
	size  uint64 // records
	wake  chan struct{}

	_        [64]byte
	mu       sync.Mutex // producers only
	seenHead uint64     // producers' last look at head, guarded by mu
	wpos     uint64     // next byte position in slab, guarded by mu

	_    [64]byte // keep the producer's and consumer's words on separate cache lines
	tail atomic.Uint64

	// sleeping is set by the consumer before it waits on wake. A producer
	// signals only when it clears it, so a busy consumer costs producers no
	// channel operation: wakeups are batched. It shares tail's cache line
	// because producers read it on every push and the consumer rarely
	// writes it.
	sleeping atomic.Bool
	_        [64]byte
	head     atomic.Uint64 // written by the consumer after every frame

	// wantRoom is set by a sender whose frame the full ring refused
	// (Config.Backpressure); the consumer reads it after every frame, so
	// it shares the consumer's line, which senders write only then.
	wantRoom atomic.Bool
	_        [52]byte
}

// rec is one queued frame: where it is in the slab and what the receiver
// is told about it.
type rec struct {
	start uint64 // byte position of the frame
	n     int
	meta  netif.RxMeta
}

// newRing returns a ring of slots frames of up to frame bytes in a slab of
// slabBytes (at least one largest frame).
func newRing(slots, frame, slabBytes int) *ring {
	return &ring{
		slab:  make([]byte, max(slabBytes, frame)),
		recs:  make([]rec, slots),
		frame: frame,
		size:  uint64(slots),
		wake:  make(chan struct{}, 1),
	}
}

// push copies b (n bytes, n <= r.frame) into the slab, to be delivered with
// meta. It reports false when the ring is full.
func (r *ring) push(b *pkt.Buf, n int, meta netif.RxMeta) bool {
	r.mu.Lock()
	t := r.tail.Load()
	if t-r.seenHead >= r.size {
		// Only reread the consumer's head when the ring looks full, so
		// its cache line is not pulled over for every frame.
		r.seenHead = r.head.Load()
		if t-r.seenHead >= r.size {
			r.mu.Unlock()
			return false
		}
	}
	start, ok := r.place(t, n)
	if !ok {
		r.seenHead = r.head.Load()
		if start, ok = r.place(t, n); !ok {
			r.mu.Unlock()
			return false
		}
	}
	off := int(start % uint64(len(r.slab)))
	r.recs[t%r.size] = rec{start: start, n: b.CopyTo(r.slab[off : off+n]), meta: meta}
	r.wpos = start + uint64(n)
	r.tail.Store(t + 1)
	r.mu.Unlock()
	// Sequentially consistent atomics make this Dekker-style handshake
	// safe: either the consumer sees the new tail before it sleeps, or we
	// see sleeping set and wake it.
	r.kick()
	return true
}

// kick wakes the consumer if it sleeps (or is about to: see wait).
func (r *ring) kick() {
	if r.sleeping.Load() && r.sleeping.Swap(false) {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// halfFree reports, on the consumer's side, whether the frames queued
// from head on take at most half of the ring's frames and of its slab.
func (r *ring) halfFree(head uint64) bool {
	tail := r.tail.Load()
	if tail == head {
		return true
	}
	if tail-head > r.size/2 {
		return false
	}
	// recs[tail-1] was written before tail was published, and no
	// producer rewrites it before the consumer frees it.
	last, first := &r.recs[(tail-1)%r.size], &r.recs[head%r.size]
	return last.start+uint64(last.n)-first.start <= uint64(len(r.slab))/2
}

// place finds room for n bytes after the frames up to tail, as far as the
// producers know the consumer has freed them (seenHead), with mu held.
func (r *ring) place(tail uint64, n int) (uint64, bool) {
	rd := r.wpos // nothing queued: the whole slab is free
	if r.seenHead != tail {
		rd = r.recs[r.seenHead%r.size].start
	}
	return bytering.Place(len(r.slab), r.wpos, rd, n)
}

// slot returns the frame stored at position pos and what to tell about it.
func (r *ring) slot(pos uint64) ([]byte, netif.RxMeta) {
	e := &r.recs[pos%r.size]
	off := int(e.start % uint64(len(r.slab)))
	return r.slab[off : off+e.n], e.meta
}

// wait blocks the consumer until the ring is not empty at position head,
// or due is set (by a kick after setting it), or done is closed; it
// reports false when done.
func (r *ring) wait(head uint64, done <-chan struct{}, due *atomic.Bool) bool {
	r.sleeping.Store(true)
	if r.tail.Load() != head || due.Load() {
		if !r.sleeping.Swap(false) {
			<-r.wake // a producer already cleared the flag; its token is coming
		}
		return true
	}
	select {
	case <-r.wake:
		return true
	case <-done:
		return false
	}
}
