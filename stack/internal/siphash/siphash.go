// Package siphash is SipHash-2-4, the keyed 64-bit PRF of Aumasson and
// Bernstein, "SipHash: a fast short-input PRF" (INDOCRYPT 2012,
// https://131002.net/siphash/siphash.pdf). It is what Linux uses for TCP
// ISNs, ephemeral ports and SYN cookies (lib/siphash.c), and what the tcp
// package uses for RFC 6528 §3 ISNs, RFC 6056 §3.3.3 port offsets, SYN
// cookies and timestamp offsets.
//
// It is written here rather than taken from crypto/...: on bare metal any
// crypto import links the FIPS module (~150 KB) into the image.
package siphash

import (
	"encoding/binary"
	"math/bits"
)

// Sum64 is SipHash-2-4 of msg under the 128-bit key: the key is read as
// two little-endian words k0, k1, the message as little-endian 64-bit
// words, and the last word carries len(msg) mod 256 in its top byte
// (paper §2). It does not allocate.
func Sum64(key *[16]byte, msg []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[0:8])
	k1 := binary.LittleEndian.Uint64(key[8:16])
	// Initialisation: "somepseudorandomlygeneratedbytes".
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573

	// Compression: c = 2 SipRounds per message word.
	n := len(msg)
	for ; len(msg) >= 8; msg = msg[8:] {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		v0, v1, v2, v3 = round(v0, v1, v2, v3)
		v0, v1, v2, v3 = round(v0, v1, v2, v3)
		v0 ^= m
	}
	// The last word: the 0-7 remaining bytes, then the length byte.
	m := uint64(n) << 56
	for i, b := range msg {
		m |= uint64(b) << (8 * i)
	}
	v3 ^= m
	v0, v1, v2, v3 = round(v0, v1, v2, v3)
	v0, v1, v2, v3 = round(v0, v1, v2, v3)
	v0 ^= m

	// Finalisation: d = 4 SipRounds.
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = round(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

// round is one SipRound (paper §2, Figure 2.1): an ARX network on four
// 64-bit words.
func round(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}
