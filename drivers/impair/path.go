package impair

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// path impairs one direction. Frames that must wait (delay, rate limit) go
// through a FIFO of preallocated buffers released by one clock timer, so
// there is no timer or goroutine per frame. Release times are kept
// monotonic, so the FIFO is in release order and only Reorder reorders.
//
// Everything, including the output call, runs under mu: that serialises
// frames of the direction, which keeps them in order and meets the
// netif.Device rule that a handler sees one frame at a time.
type path struct {
	spec  Spec
	clk   clock.Clock
	size  int // buffer size: headroom + largest frame
	room  int // headroom to keep in held frames (the inner device's, for tx)
	burst float64
	// out emits a frame: either b (a Buf) or raw (a received frame view,
	// with what the device said about it).
	out func(b *pkt.Buf, raw []byte, meta netif.RxMeta) error

	mu      sync.Mutex
	rng     *rand.Rand
	closed  bool
	stats   Counters
	bufs    []*pkt.Buf // FIFO ring; buffers allocated on first use, then reused
	metas   []netif.RxMeta
	due     []time.Time
	head, n int
	lastDue time.Time

	reo     *pkt.Buf // frame held for reordering
	reoMeta netif.RxMeta
	reoHeld bool
	reoDue  time.Time

	tokens  float64 // bits; may go negative while frames are queued
	tokTime time.Time

	scratch *pkt.Buf // for corrupting a frame that is sent at once
	timer   clock.Timer
	armedAt time.Time
	armed   bool
}

func newPath(spec Spec, clk clock.Clock, stream uint64, room, maxFrame int, out func(*pkt.Buf, []byte, netif.RxMeta) error) *path {
	if spec.Limit <= 0 {
		spec.Limit = DefaultLimit
	}
	if spec.ReorderHold <= 0 {
		spec.ReorderHold = DefaultReorderHold
	}
	p := &path{
		spec: spec, clk: clk, size: room + maxFrame, room: room, out: out,
		rng:   rand.New(rand.NewPCG(spec.Seed, stream)),
		bufs:  make([]*pkt.Buf, spec.Limit),
		metas: make([]netif.RxMeta, spec.Limit),
		due:   make([]time.Time, spec.Limit),
	}
	if spec.Rate > 0 {
		burst := spec.Burst
		if burst <= 0 {
			burst = max(maxFrame, int(spec.Rate/8/100)) // 10ms of traffic
		}
		p.burst = float64(burst) * 8
		p.tokens = p.burst
		p.tokTime = clk.Now()
	}
	return p
}

// input impairs one frame, given as b (transmit) or raw with meta
// (receive).
func (p *path) input(b *pkt.Buf, raw []byte, meta netif.RxMeta) error {
	n := len(raw)
	if b != nil {
		n = b.Len()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if n > p.size-p.room {
		return p.out(b, raw, meta) // not ours to judge: the device reports ErrTooBig
	}
	p.stats.Frames++
	s := &p.spec
	if s.Loss > 0 && p.rng.Float64() < s.Loss {
		p.stats.Lost++
		return nil
	}
	flip := -1 // bit index to flip, -1 for none
	if s.Corrupt > 0 && p.rng.Float64() < s.Corrupt {
		p.stats.Corrupted++
		lo := 0
		if n > 14 {
			// Spare the Ethernet header: with no FCS to catch it, a
			// flipped address bit only misdelivers the frame; the point
			// is to exercise the IP, ICMP, UDP and TCP checksums.
			lo = 14
		}
		if n > lo {
			flip = (lo+p.rng.IntN(n-lo))*8 + p.rng.IntN(8)
			meta.CsumVerified = false // the receiving device saw the flipped bit
		}
	}
	copies := 1
	if s.Dup > 0 && p.rng.Float64() < s.Dup {
		p.stats.Duplicated++
		copies = 2
	}
	reorder := s.Reorder > 0 && p.rng.Float64() < s.Reorder
	now := p.clk.Now()
	due := now
	if s.Rate > 0 {
		wait, ok := p.take(now, n*copies)
		if !ok {
			p.stats.RateDropped++
			return nil
		}
		if wait > 0 {
			p.stats.RateQueued++
			due = due.Add(wait)
		}
	}
	if s.Delay > 0 || s.Jitter > 0 {
		d := s.Delay
		if s.Jitter > 0 {
			d += time.Duration(p.rng.Int64N(2*int64(s.Jitter)+1)) - s.Jitter
		}
		if d > 0 {
			p.stats.Delayed++
			due = due.Add(d)
		}
	}
	if due.Before(p.lastDue) {
		due = p.lastDue
	}
	p.lastDue = due

	var err error
	held := false // this frame is the one held back: it cannot overtake itself
	for c := 0; c < copies; c++ {
		if reorder && c == 0 && !p.reoHeld {
			p.stats.Reordered++
			p.reo = p.fill(p.reo, b, raw, flip)
			p.reoMeta = meta
			p.reoHeld, p.reoDue, held = true, due.Add(s.ReorderHold), true
			continue
		}
		if e := p.send(b, raw, meta, flip, due, now); err == nil {
			err = e
		}
		if p.reoHeld && !held {
			p.releaseReorder(due, now) // the held frame follows the one that overtook it
		}
	}
	p.arm(now)
	return err
}

// send emits a frame now, or queues it when it is due later or frames are
// already waiting ahead of it.
func (p *path) send(b *pkt.Buf, raw []byte, meta netif.RxMeta, flip int, due, now time.Time) error {
	if p.n > 0 || due.After(now) {
		p.enqueue(b, raw, meta, flip, due)
		return nil
	}
	if flip >= 0 {
		p.scratch = p.fill(p.scratch, b, raw, flip)
		return p.out(p.scratch, nil, meta)
	}
	return p.out(b, raw, meta)
}

// enqueue copies a frame into the FIFO.
func (p *path) enqueue(b *pkt.Buf, raw []byte, meta netif.RxMeta, flip int, due time.Time) {
	if p.n == len(p.bufs) {
		p.stats.Overflow++
		return
	}
	i := (p.head + p.n) % len(p.bufs)
	p.bufs[i] = p.fill(p.bufs[i], b, raw, flip)
	p.metas[i] = meta
	p.due[i] = due
	p.n++
}

// releaseReorder sends the frame held for reordering, behind everything sent
// so far, by swapping its buffer into the FIFO (or emitting it at once).
func (p *path) releaseReorder(due, now time.Time) {
	p.reoHeld = false
	if p.n == 0 && !due.After(now) {
		p.out(p.reo, nil, p.reoMeta)
		return
	}
	if p.n == len(p.bufs) {
		p.stats.Overflow++
		return
	}
	i := (p.head + p.n) % len(p.bufs)
	p.bufs[i], p.reo = p.reo, p.bufs[i]
	p.metas[i] = p.reoMeta
	p.due[i] = due
	p.n++
}

// fill copies a frame into dst (allocated on first use), with the
// offloads it asks for, and flips bit flip. A checksum left to the device
// is completed before the flip: on a real link the sending device
// computes it before the wire corrupts the frame.
func (p *path) fill(dst *pkt.Buf, b *pkt.Buf, raw []byte, flip int) *pkt.Buf {
	if dst == nil {
		dst = pkt.New(p.size, p.room)
	}
	dst.Reset(p.room)
	if b != nil {
		n := b.Len()
		b.CopyTo(dst.Append(n))
		dst.SetOffload(b.Offload())
		if flip >= 0 {
			dst.FinishChecksum()
		}
	} else {
		copy(dst.Append(len(raw)), raw)
	}
	if flip >= 0 {
		dst.Bytes()[flip/8] ^= 1 << (flip % 8)
	}
	return dst
}

func (p *path) counters() Counters {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}
