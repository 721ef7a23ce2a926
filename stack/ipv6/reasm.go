package ipv6

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/timer"
)

// Reassembly (RFC 8200 §4.5). Partial packets live in a fixed table of
// slots keyed by (source, destination, identification). Each keeps its
// fragments as a sorted interval list of copies in pooled chunks, and
// the first fragment's unfragmentable part. Limits: ReasmPackets slots,
// ReasmMemory bytes of chunks in all (the oldest partial packet is
// evicted to make room), ReasmPacketMemory bytes per packet, a payload
// of at most 65535 bytes, and ReasmTimeout (60s) from the first arriving
// fragment, not extended by later ones. Any overlap drops the whole
// packet, and the fragments of it that are still to come until it would
// have timed out (RFC 5722 §4); an exact duplicate is ignored (RFC 8200
// §4.5).

const chunkSize = 2048 // holds any fragment from a 1500-byte MTU link

type reasmKey struct {
	src, dst inet.Addr
	id       uint32
}

type fragment struct {
	off, end int
	data     []byte
}

type partial struct {
	used   bool
	dead   bool // overlapped: its fragments are dropped until it times out
	key    reasmKey
	born   uint64
	frags  []fragment
	total  int // fragmentable part's length once the last fragment came, else -1
	mem    int
	first  []byte // the first fragment's unfragmentable part and Fragment header, once it came
	nhOff  int    // offset in first of the byte that named the Fragment header
	next   uint8  // the first fragment's Next Header
	mcast  bool   // the first fragment came in a link-layer multicast frame
	timer  timer.Entry
	unfrag int // len(first) less the Fragment header
}

type reassembler struct {
	l       *Layer
	slots   []partial
	count   int
	mem     int
	seq     uint64
	free    [][]byte
	buf     []byte     // assembled packet, made on first use
	scratch [1280]byte // offending packet for time exceeded
}

func (r *reassembler) init(l *Layer) {
	r.l = l
	r.slots = make([]partial, l.cfg.ReasmPackets)
	for i := range r.slots {
		p := &r.slots[i]
		p.timer.Init(func(time.Time) { r.expire(p) })
	}
}

// add takes the fragment of h whose Fragment header fh is at off (nhOff
// is the byte that named it) and whose fragmentable data is data. It
// returns the reassembled packet (valid until the next call) when this
// fragment completed one, else nil. The packet is the first fragment's
// unfragmentable part, with the Next Header byte at its nhOff set to the
// first fragment's Next Header, then the fragmentable part, which starts
// at unfrag: the first fragment's layout, whatever this one's (RFC 8200
// §4.5).
func (r *reassembler) add(h Header, off, nhOff int, fh FragmentHeader, data []byte, mcast bool) (whole Header, unfrag, firstNhOff int) {
	st := &r.l.stats
	st.FragmentsReceived++
	key := reasmKey{h.Src(), h.Dst(), fh.ID()}
	p := r.lookup(key)
	if p == nil {
		p = r.create(key)
	}
	if p.dead {
		st.ReasmDeadFragments++
		return nil, 0, 0
	}
	fo, more := fh.Offset(), fh.More()
	end := fo + len(data)
	if !more {
		if p.total >= 0 && p.total != end || len(p.frags) > 0 && p.frags[len(p.frags)-1].end > end {
			r.kill(p, &st.ReasmInconsistent) // two ends
			return nil, 0, 0
		}
		p.total = end
	} else if p.total >= 0 && end > p.total {
		r.kill(p, &st.ReasmInconsistent) // past the end
		return nil, 0, 0
	}
	if len(data) > 0 {
		i, dup, ok := p.insertAt(fo, end, data)
		if dup {
			st.ReasmDuplicates++
			return nil, 0, 0
		}
		if !ok {
			r.kill(p, &st.ReasmOverlaps)
			return nil, 0, 0
		}
		buf := r.alloc(len(data), p)
		if buf == nil {
			return nil, 0, 0
		}
		copy(buf, data)
		p.frags = append(p.frags, fragment{})
		copy(p.frags[i+1:], p.frags[i:])
		p.frags[i] = fragment{fo, end, buf}
	}
	if fo == 0 && p.first == nil {
		n := off + FragmentHeaderLen
		if p.first = r.alloc(n, p); p.first == nil {
			return nil, 0, 0
		}
		copy(p.first, h[:n])
		p.unfrag, p.nhOff, p.next, p.mcast = off, nhOff, fh.NextHeader(), mcast
	}
	unfrag, firstNhOff = p.unfrag, p.nhOff
	if whole = r.complete(p); whole == nil {
		return nil, 0, 0
	}
	return whole, unfrag, firstNhOff
}

// insertAt finds where [off,end) goes in p.frags: dup for an identical
// fragment, !ok for any other overlap.
func (p *partial) insertAt(off, end int, data []byte) (i int, dup, ok bool) {
	for i = 0; i < len(p.frags); i++ {
		f := &p.frags[i]
		if f.off >= end {
			break
		}
		if off < f.end {
			if f.off == off && f.end == end && bytes.Equal(f.data, data) {
				return i, true, false
			}
			return i, false, false
		}
	}
	return i, false, true
}

// complete assembles p if every byte from 0 to total is present.
func (r *reassembler) complete(p *partial) Header {
	if p.total < 0 || p.first == nil {
		return nil
	}
	at := 0
	for _, f := range p.frags {
		if f.off != at {
			return nil
		}
		at = f.end
	}
	if at != p.total {
		return nil
	}
	n := p.unfrag + p.total
	if n-HeaderLen > MaxPayloadLen {
		r.kill(p, &r.l.stats.ReasmInconsistent) // input checks each fragment; kept as a guard
		return nil
	}
	if r.buf == nil {
		r.buf = make([]byte, HeaderLen+MaxPayloadLen)
	}
	b := r.buf[:n]
	copy(b, p.first[:p.unfrag])
	b[p.nhOff] = p.next
	binary.BigEndian.PutUint16(b[4:], uint16(n-HeaderLen))
	for _, f := range p.frags {
		copy(b[p.unfrag+f.off:], f.data)
	}
	r.release(p)
	r.l.stats.Reassembled++
	return Header(b)
}

func (r *reassembler) lookup(k reasmKey) *partial {
	if r.count == 0 {
		return nil
	}
	for i := range r.slots {
		if p := &r.slots[i]; p.used && p.key == k {
			return p
		}
	}
	return nil
}

func (r *reassembler) create(k reasmKey) *partial {
	if r.count == len(r.slots) {
		r.evict(nil)
	}
	for i := range r.slots {
		p := &r.slots[i]
		if p.used {
			continue
		}
		r.seq++
		p.used, p.dead, p.key, p.born, p.total, p.mem = true, false, k, r.seq, -1, 0
		p.first, p.unfrag, p.mcast = nil, 0, false
		r.count++
		r.l.q.After(&p.timer, r.l.cfg.ReasmTimeout)
		return p
	}
	return nil // unreachable: evict freed a slot
}

// evict drops the oldest partial packet other than keep; it reports
// false when there is none.
func (r *reassembler) evict(keep *partial) bool {
	var old *partial
	for i := range r.slots {
		p := &r.slots[i]
		if p.used && p != keep && (old == nil || p.born < old.born) {
			old = p
		}
	}
	if old == nil {
		return false
	}
	r.l.stats.ReasmEvicted++
	r.release(old)
	return true
}

// alloc returns n bytes charged to p, evicting older packets to stay
// within ReasmMemory. If p would go over ReasmPacketMemory it is killed;
// if there is no room even so, dropped; then alloc returns nil.
func (r *reassembler) alloc(n int, p *partial) []byte {
	size := max(n, chunkSize)
	if p.mem+size > r.l.cfg.ReasmPacketMemory {
		r.kill(p, &r.l.stats.ReasmPacketCap)
		return nil
	}
	for r.mem+size > r.l.cfg.ReasmMemory {
		if !r.evict(p) {
			r.drop(p)
			return nil
		}
	}
	r.mem += size
	p.mem += size
	if size == chunkSize && len(r.free) > 0 {
		b := r.free[len(r.free)-1]
		r.free = r.free[:len(r.free)-1]
		return b[:n]
	}
	return make([]byte, n, size)
}

// drop discards p for lack of memory.
func (r *reassembler) drop(p *partial) {
	r.l.stats.ReasmDrops++
	r.release(p)
}

// kill discards p's fragments for an overlap (RFC 5722 §4), lengths that
// do not agree, or the per-packet cap, counting it in ctr, and keeps its
// slot until it times out, so that the fragments still to come are
// dropped too; no ICMPv6 error is sent for it (RFC 8200 §4.5).
func (r *reassembler) kill(p *partial, ctr *uint64) {
	*ctr++
	r.freeChunks(p)
	p.dead = true
}

// freeChunks returns p's memory to the pool.
func (r *reassembler) freeChunks(p *partial) {
	r.put(p.first)
	p.first = nil
	for i, f := range p.frags {
		r.put(f.data)
		p.frags[i] = fragment{}
	}
	p.frags = p.frags[:0]
	r.mem -= p.mem
	p.mem = 0
}

func (r *reassembler) put(b []byte) {
	if cap(b) == chunkSize && len(r.free) < r.l.cfg.ReasmMemory/chunkSize {
		r.free = append(r.free, b[:0])
	}
}

// release frees p's slot, chunks and timer.
func (r *reassembler) release(p *partial) {
	r.freeChunks(p)
	p.used, p.dead = false, false
	r.count--
	r.l.q.Stop(&p.timer)
}

// expire runs from the timer queue when p's time is up. If the first
// fragment had arrived (and not in a link-layer multicast frame), a Time
// Exceeded code 1 is sent to its source (RFC 8200 §4.5), quoting it.
func (r *reassembler) expire(p *partial) {
	if !p.used {
		return
	}
	var off Header
	if !p.dead {
		r.l.stats.ReasmTimeouts++
		if p.first != nil && !p.mcast && len(p.frags) > 0 && p.frags[0].off == 0 {
			n := copy(r.scratch[:], p.first)
			n += copy(r.scratch[n:], p.frags[0].data)
			off = Header(r.scratch[:n])
		}
	}
	r.release(p)
	if off != nil && r.l.icmp != nil {
		r.l.icmp.SendTimeExceeded(CodeReasmTimeout, off)
	}
}
