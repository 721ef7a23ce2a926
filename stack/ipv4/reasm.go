package ipv4

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/timer"
)

// Reassembly (RFC 791 §3.2, RFC 815, RFC 1122 §3.3.2). Partial datagrams
// live in a fixed table of slots keyed by (src, dst, protocol, ID). Each
// keeps its fragments as a sorted interval list of copies in pooled
// chunks. Limits: ReasmDatagrams slots, ReasmMemory bytes of chunks (the
// oldest partial datagram is evicted to make room), 65535 bytes per
// datagram, and a fixed ReasmTimeout from the first fragment (not
// extended by later ones). Any overlap drops the whole datagram (RFC 5722
// spirit, and it defeats RFC 1858 overlap tricks); an exact duplicate is
// ignored.

const chunkSize = 2048 // holds any fragment from a 1500-byte MTU link

type reasmKey struct {
	src, dst inet.Addr4
	proto    uint8
	id       uint16
}

type fragment struct {
	off, end int
	data     []byte
}

type partial struct {
	used   bool
	key    reasmKey
	born   uint64
	frags  []fragment
	total  int // payload length once the last fragment arrived, else -1
	mem    int
	hdrLen int // >0 once the first fragment (offset 0) arrived
	hdr    [MaxHeaderLen]byte
	timer  timer.Entry
}

type reassembler struct {
	l       *Layer
	slots   []partial
	count   int
	mem     int
	seq     uint64
	free    [][]byte
	buf     []byte                   // assembled datagram, made on first use
	scratch [MaxHeaderLen + 548]byte // offending bytes for time exceeded
}

func (r *reassembler) init(l *Layer) {
	r.l = l
	r.slots = make([]partial, l.cfg.ReasmDatagrams)
	for i := range r.slots {
		p := &r.slots[i]
		p.timer.Init(func(time.Time) { r.expire(p) })
	}
}

// add takes one fragment. It returns the reassembled datagram (valid until
// the next call) when h completed one, else nil.
func (r *reassembler) add(h Header) Header {
	st := &r.l.stats
	st.FragmentsReceived++
	off, data, mf := h.FragOffset(), h.Payload(), h.MF()
	end := off + len(data)
	switch {
	case mf && (len(data) == 0 || len(data)%8 != 0):
		// Non-last fragments carry a non-zero multiple of 8 (RFC 791 §3.2).
		st.ReasmDrops++
		return nil
	case h.HeaderLen()+end > MaxTotalLen:
		st.ReasmDrops++
		return nil
	case off == 0 && (len(data) < 8 || h.Protocol() == inet.ProtoTCP && len(data) < 20),
		off == 8 && h.Protocol() == inet.ProtoTCP:
		// RFC 1858 §3.1 (tiny fragment) and §4 (FO=1 for TCP).
		st.ReasmTiny++
		return nil
	}
	key := reasmKey{h.Src(), h.Dst(), h.Protocol(), h.ID()}
	p := r.lookup(key)
	if p == nil {
		p = r.create(key)
	}
	if !mf {
		if p.total >= 0 && p.total != end || len(p.frags) > 0 && p.frags[len(p.frags)-1].end > end {
			r.drop(p)
			return nil
		}
		p.total = end
	} else if p.total >= 0 && end > p.total {
		r.drop(p)
		return nil
	}
	if len(data) > 0 {
		i, dup, ok := p.insertAt(off, end, data)
		if dup {
			st.ReasmDuplicates++
			return nil
		}
		if !ok {
			st.ReasmOverlaps++
			r.drop(p)
			return nil
		}
		buf := r.alloc(len(data), p)
		if buf == nil {
			r.drop(p)
			return nil
		}
		copy(buf, data)
		p.frags = append(p.frags, fragment{})
		copy(p.frags[i+1:], p.frags[i:])
		p.frags[i] = fragment{off, end, buf}
	}
	if off == 0 {
		p.hdrLen = copy(p.hdr[:], h[:h.HeaderLen()])
	}
	return r.complete(p)
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
	if p.total < 0 || p.hdrLen == 0 {
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
	n := p.hdrLen + p.total
	if n > MaxTotalLen {
		r.l.stats.ReasmDrops++
		r.release(p)
		return nil
	}
	if r.buf == nil {
		r.buf = make([]byte, MaxTotalLen)
	}
	b := r.buf[:n]
	copy(b, p.hdr[:p.hdrLen])
	for _, f := range p.frags {
		copy(b[p.hdrLen+f.off:], f.data)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	b[6] &= 0x40 // keep DF, clear MF and the offset
	b[7] = 0
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], checksum.Checksum(b[:p.hdrLen], 0))
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
		p.used, p.key, p.born, p.total, p.hdrLen, p.mem = true, k, r.seq, -1, 0, 0
		r.count++
		r.l.q.After(&p.timer, r.l.cfg.ReasmTimeout)
		return p
	}
	return nil // unreachable: evict freed a slot
}

// evict drops the oldest partial datagram other than keep; it reports
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

// alloc returns n bytes charged to p, evicting older datagrams to stay
// within ReasmMemory; nil if it cannot.
func (r *reassembler) alloc(n int, p *partial) []byte {
	size := n
	if n <= chunkSize {
		size = chunkSize
	}
	for r.mem+size > r.l.cfg.ReasmMemory {
		if !r.evict(p) {
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

// drop discards p after a bad fragment.
func (r *reassembler) drop(p *partial) {
	r.l.stats.ReasmDrops++
	r.release(p)
}

// release frees p's slot, chunks and timer.
func (r *reassembler) release(p *partial) {
	for i, f := range p.frags {
		if cap(f.data) == chunkSize && len(r.free) < r.l.cfg.ReasmMemory/chunkSize {
			r.free = append(r.free, f.data[:0])
		}
		p.frags[i] = fragment{}
	}
	p.frags = p.frags[:0]
	r.mem -= p.mem
	p.mem, p.used = 0, false
	r.count--
	r.l.q.Stop(&p.timer)
}

// expire runs from the timer queue when p's time is up. If the first
// fragment had arrived, a time exceeded (code 1) is sent (RFC 792, RFC
// 1122 §3.3.2), quoting its header and leading data.
func (r *reassembler) expire(p *partial) {
	if !p.used {
		return
	}
	r.l.stats.ReasmTimeouts++
	var off Header
	if p.hdrLen > 0 && len(p.frags) > 0 && p.frags[0].off == 0 {
		n := copy(r.scratch[:], p.hdr[:p.hdrLen])
		n += copy(r.scratch[n:], p.frags[0].data)
		off = Header(r.scratch[:n])
	}
	r.release(p)
	if off != nil && r.l.icmp != nil {
		r.l.icmp.SendTimeExceeded(CodeReasmTimeout, off)
	}
}
