package ipv6

import (
	"io"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/siphash"
)

// fragIDGen makes Fragment header identifications by RFC 7739 §5.3.2's
// double-hash algorithm: a keyed hash of (source, destination) chooses
// one of a table of counters and gives an offset, so that IDs toward one
// destination increase (no reuse within a packet's lifetime) but cannot
// be predicted by a third party or used to count our traffic to others.
type fragIDGen struct {
	key [16]byte
	ctr [64]uint32
}

func (g *fragIDGen) init(rand io.Reader) {
	if rand != nil {
		io.ReadFull(rand, g.key[:])
	}
}

func (g *fragIDGen) next(src, dst inet.Addr) uint32 {
	var m [32]byte
	s, d := src.As16(), dst.As16()
	copy(m[:16], s[:])
	copy(m[16:], d[:])
	h := siphash.Sum64(&g.key, m[:])
	i := h >> 58
	g.ctr[i]++
	return uint32(h) + g.ctr[i]
}
