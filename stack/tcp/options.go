package tcp

import (
	"encoding/binary"
	"errors"
)

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
const (
	optEOL       = 0
	optNOP       = 1
	optMSS       = 2
	optWS        = 3
	optSACKOK    = 4
	optSACK      = 5
	optTimestamp = 8
)

// maxWScale is the largest window shift (RFC 7323 §2.3); larger values
// received are treated as 14.
const maxWScale = 14

// maxSACKBlocks is the most SACK blocks one option can carry.
const maxSACKBlocks = 4

// span is a range of sequence numbers [start, end).
type span struct{ start, end uint32 }

// Options holds the parsed TCP options of one segment.
type Options struct {
	MSS     uint16
	HasMSS  bool
	WScale  uint8
	HasWS   bool
	SACKOK  bool
	HasTS   bool
	TSVal   uint32
	TSEcr   uint32
	NumSACK int
	SACK    [maxSACKBlocks]span
}

// ErrOptions is ParseOptions' error for a malformed option.
var ErrOptions = errors.New("tcp: malformed option")

// ParseOptions parses the options b of a header (Header.Options). A
// malformed option (bad length) stops the parse with ErrOptions; the
// options parsed before it are returned. It never panics.
func ParseOptions(b []byte) (Options, error) {
	var o Options
	if len(b) == 12 && b[0] == optNOP && b[1] == optNOP && b[2] == optTimestamp && b[3] == 10 {
		// The layout of nearly every segment on a timestamp connection
		// (RFC 7323 Appendix A).
		o.HasTS = true
		o.TSVal = binary.BigEndian.Uint32(b[4:])
		o.TSEcr = binary.BigEndian.Uint32(b[8:])
		return o, nil
	}
	for len(b) > 0 {
		kind := b[0]
		switch kind {
		case optEOL:
			return o, nil
		case optNOP:
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return o, ErrOptions
		}
		l := int(b[1])
		if l < 2 || l > len(b) {
			return o, ErrOptions
		}
		v := b[2:l]
		switch kind {
		case optMSS:
			if len(v) == 2 {
				o.MSS, o.HasMSS = binary.BigEndian.Uint16(v), true
			}
		case optWS:
			if len(v) == 1 {
				o.WScale, o.HasWS = min(v[0], maxWScale), true
			}
		case optSACKOK:
			if len(v) == 0 {
				o.SACKOK = true
			}
		case optSACK:
			if len(v)%8 == 0 {
				for i := 0; i+8 <= len(v) && o.NumSACK < maxSACKBlocks; i += 8 {
					o.SACK[o.NumSACK] = span{binary.BigEndian.Uint32(v[i:]), binary.BigEndian.Uint32(v[i+4:])}
					o.NumSACK++
				}
			}
		case optTimestamp:
			if len(v) == 8 {
				o.HasTS = true
				o.TSVal = binary.BigEndian.Uint32(v)
				o.TSEcr = binary.BigEndian.Uint32(v[4:])
			}
		}
		b = b[l:]
	}
	return o, nil
}

// synOptions encodes the options of a SYN or SYN-ACK into b (at least 20
// bytes) and returns their length, a multiple of 4.
func synOptions(b []byte, mss uint16, ws int, sackOK bool, ts bool, tsVal, tsEcr uint32) int {
	n := 0
	b[0], b[1] = optMSS, 4
	binary.BigEndian.PutUint16(b[2:], mss)
	n = 4
	if ts {
		if sackOK {
			b[n], b[n+1] = optSACKOK, 2
		} else {
			b[n], b[n+1] = optNOP, optNOP
		}
		b[n+2], b[n+3] = optTimestamp, 10
		binary.BigEndian.PutUint32(b[n+4:], tsVal)
		binary.BigEndian.PutUint32(b[n+8:], tsEcr)
		n += 12
	} else if sackOK {
		b[n], b[n+1], b[n+2], b[n+3] = optNOP, optNOP, optSACKOK, 2
		n += 4
	}
	if ws >= 0 {
		b[n], b[n+1], b[n+2], b[n+3] = optNOP, optWS, 3, byte(ws)
		n += 4
	}
	return n
}

// dataOptions encodes the timestamp and SACK options of a non-SYN segment
// into b (40 bytes) and returns their length.
func dataOptions(b []byte, ts bool, tsVal, tsEcr uint32, sack []span) int {
	n := 0
	if ts {
		b[0], b[1], b[2], b[3] = optNOP, optNOP, optTimestamp, 10
		binary.BigEndian.PutUint32(b[4:], tsVal)
		binary.BigEndian.PutUint32(b[8:], tsEcr)
		n = 12
	}
	if len(sack) > 0 {
		max := (40 - n - 4) / 8
		if len(sack) > max {
			sack = sack[:max]
		}
		b[n], b[n+1], b[n+2], b[n+3] = optNOP, optNOP, optSACK, byte(2+8*len(sack))
		n += 4
		for _, s := range sack {
			binary.BigEndian.PutUint32(b[n:], s.start)
			binary.BigEndian.PutUint32(b[n+4:], s.end)
			n += 8
		}
	}
	return n
}
