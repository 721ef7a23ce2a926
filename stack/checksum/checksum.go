// Package checksum computes the Internet checksum (RFC 1071) used by IPv4,
// ICMP, UDP and TCP, with incremental update (RFC 1624).
//
// Sum folds bytes into a one's-complement accumulator 64 bytes per loop
// iteration (little-endian 64-bit words with carry); callers combine
// partial sums (pseudo-header, header, payload slices) with Combine and
// finish with Fold.
package checksum

import (
	"encoding/binary"
	"math/bits"

	"github.com/mirago/mirago/stack/inet"
)

// Sum adds b to the running sum initial and returns the new running sum.
// Sums of slices of even length can be chained in any order; a slice of odd
// length must be the last one (or use SumAt with the running offset).
//
// The loop adds little-endian 64-bit words with carry, 64 bytes per
// iteration, so no load needs a byte swap: a one's-complement sum of
// byte-swapped 16-bit words is the byte-swapped sum (RFC 1071 §2(B)), and
// reversing all eight bytes of the accumulator swaps every 16-bit lane
// (lane order does not matter, as 2^16 = 1 mod 2^16-1). So the initial
// sum goes in reversed and the result comes out reversed back.
//
// On 32-bit platforms (the ARM boards) Sum is sum32 instead: 64-bit
// adds with carry and byte-assembled 64-bit loads cost several times
// more there than 32-bit loads into a 64-bit accumulator (sum32.go).
func Sum(b []byte, initial uint32) uint32 {
	if bits.UintSize == 32 {
		return sum32(b, initial)
	}
	return sum64(b, initial)
}

// sum64 is Sum for 64-bit platforms.
func sum64(b []byte, initial uint32) uint32 {
	acc, carry := bits.ReverseBytes64(uint64(initial)), uint64(0)
	for len(b) >= 64 {
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[0:8]), 0)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[8:16]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[16:24]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[24:32]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[32:40]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[40:48]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[48:56]), carry)
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b[56:64]), carry)
		acc += carry
		b = b[64:]
	}
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.LittleEndian.Uint64(b), 0)
		acc += carry
		b = b[8:]
	}
	// Up to 7 bytes are left, starting at an offset that is a multiple of
	// 8: smaller little-endian loads keep every byte in its 16-bit lane (a
	// last odd byte is the low byte of its lane, that is the high byte once
	// swapped back, as RFC 1071 pads it).
	var tail uint64
	if len(b) >= 4 {
		tail = uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		tail += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		tail += uint64(b[0])
	}
	acc, carry = bits.Add64(acc, tail, 0)
	acc += carry
	acc = bits.ReverseBytes64(acc)
	// Fold 64 -> 32 bits.
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 32) + (acc & 0xffffffff)
	return uint32(acc)
}

// SumAt is Sum for a slice that starts at byte offset off of the checksummed
// data: when off is odd the slice's bytes fall in the low half of each
// 16-bit word, which is handled by swapping the partial sum (RFC 1071 §2B).
func SumAt(b []byte, off int, initial uint32) uint32 {
	if off&1 == 0 {
		return Sum(b, initial)
	}
	s := Fold(Sum(b, 0))
	s = s<<8 | s>>8
	return Combine(initial, uint32(s))
}

// Combine adds two running sums.
func Combine(a, b uint32) uint32 {
	s := uint64(a) + uint64(b)
	return uint32(s>>32) + uint32(s)
}

// Fold reduces a running sum to 16 bits (not complemented).
func Fold(s uint32) uint16 {
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// Checksum returns the Internet checksum of b: the complement of the folded
// sum, ready to store in a header.
func Checksum(b []byte, initial uint32) uint16 { return ^Fold(Sum(b, initial)) }

// Update adjusts checksum sum, stored in a header, for a 16-bit field that
// changes from old to new (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
func Update(sum, old, new uint16) uint16 {
	s := uint32(^sum) + uint32(^old) + uint32(new)
	return ^Fold(s)
}

// Pseudo returns the running sum of the pseudo-header the transport
// checksums of TCP, UDP and ICMPv6 cover, by the addresses' family: for
// IPv4 (RFC 768, RFC 9293 §3.1) source, destination, zero, protocol and
// the transport length; for IPv6 (RFC 8200 §8.1) source, destination,
// the 32-bit upper-layer length, zeros and the next header.
func Pseudo(src, dst inet.Addr, proto uint8, length int) uint32 {
	if src.Is4() && dst.Is4() {
		return pseudo4(src.As4(), dst.As4(), proto, uint16(length))
	}
	a, b := src.As16(), dst.As16()
	s := Sum(b[:], Sum(a[:], 0))
	return s + uint32(length>>16) + uint32(length&0xffff) + uint32(proto)
}

func pseudo4(src, dst inet.Addr4, proto uint8, length uint16) uint32 {
	s := uint32(src[0])<<8 | uint32(src[1])
	s += uint32(src[2])<<8 | uint32(src[3])
	s += uint32(dst[0])<<8 | uint32(dst[1])
	s += uint32(dst[2])<<8 | uint32(dst[3])
	s += uint32(proto)
	s += uint32(length)
	return s
}
