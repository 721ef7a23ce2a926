package tcp

import (
	"encoding/binary"
	"hash"
)

type sha256Hash = hash.Hash

// ChaChaStream is a deterministic byte stream addressable by offset.
type ChaChaStream struct{ seed uint64 }

func newChaChaStream(seed uint64) *ChaChaStream { return &ChaChaStream{seed} }

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// fill writes stream bytes [off, off+len(p)) into p; each 8-byte block is
// a hash of its index, so any offset is cheap.
func (s *ChaChaStream) fill(p []byte, off int) {
	var b [8]byte
	blk := -1
	for i := range p {
		o := off + i
		if o/8 != blk {
			blk = o / 8
			binary.LittleEndian.PutUint64(b[:], mix(uint64(blk)^s.seed<<56))
		}
		p[i] = b[o%8]
	}
}
