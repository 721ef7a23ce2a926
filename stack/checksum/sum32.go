package checksum

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// sum32 is Sum for 32-bit platforms. It adds little-endian 32-bit words
// into a 64-bit accumulator, which cannot overflow for any slice that
// fits in memory (fewer than 2^32 words of less than 2^32 each), so the
// loop needs no carry: on 32-bit ARM each add is one ADDS/ADC pair. The
// words are loaded whole through unsafe (ARMv7 loads unaligned words from
// Normal memory, which every buffer the stack sums is in); Go's compiler
// would assemble binary.LittleEndian.Uint32 from four byte loads there.
// As in sum64, the lanes are little-endian and the result is byte-swapped
// back (RFC 1071 §2(B)); the initial sum goes in swapped.
//
// The board profiler (make image PROF=1, bench/cmd/armprof) shows Sum
// among the guest's heaviest functions under echo traffic.
func sum32(b []byte, initial uint32) uint32 {
	acc := uint64(bits.ReverseBytes32(initial))
	for len(b) >= 32 {
		p := unsafe.Pointer(unsafe.SliceData(b))
		acc += uint64(*(*uint32)(p)) + uint64(*(*uint32)(unsafe.Add(p, 4))) +
			uint64(*(*uint32)(unsafe.Add(p, 8))) + uint64(*(*uint32)(unsafe.Add(p, 12))) +
			uint64(*(*uint32)(unsafe.Add(p, 16))) + uint64(*(*uint32)(unsafe.Add(p, 20))) +
			uint64(*(*uint32)(unsafe.Add(p, 24))) + uint64(*(*uint32)(unsafe.Add(p, 28)))
		b = b[32:]
	}
	for len(b) >= 4 {
		acc += uint64(*(*uint32)(unsafe.Pointer(unsafe.SliceData(b))))
		b = b[4:]
	}
	// Up to 3 bytes are left, at an offset that is a multiple of 4, so
	// smaller little-endian loads keep each byte in its lane.
	if len(b) >= 2 {
		acc += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0])
	}
	// Fold 64 -> 32 bits with the end-around carry, then swap back.
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 32) + (acc & 0xffffffff)
	return bits.ReverseBytes32(uint32(acc))
}
