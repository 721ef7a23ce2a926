package memlink

import (
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/stack/pkt"
)

// ring is a bounded multi-producer, single-consumer queue of frames held in
// one preallocated slab. Producers serialise on mu (senders of several
// stacks can target one port); the consumer takes no lock: it reads tail and
// publishes head atomically, and it only frees a slot after the handler has
// returned, so the slot can be lent to the handler without a copy.
type ring struct {
	// Read-only after newRing. Both sides read these for every frame, so
	// they must not share a cache line with anything written per frame,
	// least of all the producers' mutex: every push would otherwise take
	// the line away from the consumer.
	slab  []byte
	lens  []int
	frame int    // bytes per slot
	size  uint64 // slots
	wake  chan struct{}

	_        [64]byte
	mu       sync.Mutex // producers only
	seenHead uint64     // producers' last look at head, guarded by mu

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
	_        [56]byte
}

func newRing(slots, frame int) *ring {
	return &ring{
		slab:  make([]byte, slots*frame),
		lens:  make([]int, slots),
		frame: frame,
		size:  uint64(slots),
		wake:  make(chan struct{}, 1),
	}
}

// push copies b (n bytes, n <= r.frame) into the next free slot. It reports
// false when the ring is full.
func (r *ring) push(b *pkt.Buf, n int) bool {
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
	i := int(t % r.size)
	r.lens[i] = b.CopyTo(r.slab[i*r.frame : i*r.frame+n])
	r.tail.Store(t + 1)
	r.mu.Unlock()
	// Sequentially consistent atomics make this Dekker-style handshake
	// safe: either the consumer sees the new tail before it sleeps, or we
	// see sleeping set and wake it.
	if r.sleeping.Load() && r.sleeping.Swap(false) {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// slot returns the frame stored at position pos.
func (r *ring) slot(pos uint64) []byte {
	i := int(pos % r.size)
	return r.slab[i*r.frame : i*r.frame+r.lens[i]]
}

// wait blocks the consumer until the ring is not empty at position head or
// done is closed; it reports false when done.
func (r *ring) wait(head uint64, done <-chan struct{}) bool {
	r.sleeping.Store(true)
	if r.tail.Load() != head {
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
