// Package fdt reads the one thing the qemu-virt board needs from a
// flattened device tree: the RAM range given by the /memory node
// (Devicetree Specification v0.4, §3.4 "/memory node", chapter 5
// "Flattened Devicetree (DTB) Format").
//
// The board calls Memory before the Go runtime is up (from cpuinit, on a
// stack of its own, with no heap and no goroutine), so everything here is
// //go:nosplit, allocates nothing, calls nothing outside the package and
// returns its failures as a Fault value rather than an error built at
// package initialisation, which has not run yet. Every offset is checked
// against the bytes there are before it is read: a malformed blob gives a
// Fault, never a panic (FuzzMemory).
package fdt

// Header fields and structure-block tokens (§5.2, §5.4.1).
const (
	magic      = 0xd00dfeed
	headerLen  = 40 // ten big-endian 32-bit words (version 17)
	tokBegin   = 0x1
	tokEnd     = 0x2
	tokProp    = 0x3
	tokNop     = 0x4
	tokEndTree = 0x9
	// versions this reader understands: 16 has no size_dt_struct field
	// (0 there), 17 is current; a blob whose last_comp_version is newer
	// says it is unreadable by a version-17 reader (§5.2).
	minVersion = 16
	curVersion = 17
)

// Fault says why Memory found no RAM range; None means it found one.
type Fault uint8

// Faults.
const (
	None       Fault = iota
	Short            // the blob is shorter than its header or its totalsize
	BadMagic         // no FDT magic: no device tree there
	BadVersion       // a version this reader cannot read
	BadLayout        // a block lies outside the blob or is misaligned
	BadToken         // an unknown token, or a node or property runs past its block
	BadCells         // #address-cells or #size-cells is not 1 or 2
	NoMemory         // no root-level memory node with a non-empty reg range
)

var faultText = [...]string{
	None:       "fdt: ok",
	Short:      "fdt: blob shorter than its header",
	BadMagic:   "fdt: no device tree magic",
	BadVersion: "fdt: unsupported version",
	BadLayout:  "fdt: block outside the blob",
	BadToken:   "fdt: malformed structure block",
	BadCells:   "fdt: #address-cells or #size-cells not 1 or 2",
	NoMemory:   "fdt: no /memory range",
}

// Error implements error.
func (f Fault) Error() string {
	if int(f) < len(faultText) {
		return faultText[f]
	}
	return "fdt: unknown fault"
}

// Range is one span of physical memory.
type Range struct {
	Base, Size uint64
}

// Memory returns the first non-empty range of the reg property of the
// first node below the root named "memory" or "memory@<unit-address>"
// (§3.4), decoded with the root's #address-cells and #size-cells (default
// 2 and 1, §2.3.5). blob may run past the tree: only its first totalsize
// bytes are read.
//
//go:nosplit
func Memory(blob []byte) (Range, Fault) {
	if len(blob) < headerLen {
		return Range{}, Short
	}
	if be32(blob, 0) != magic {
		return Range{}, BadMagic
	}
	total := be32(blob, 4)
	if uint64(total) > uint64(len(blob)) || total < headerLen {
		return Range{}, Short
	}
	blob = blob[:total]
	offStruct, offStrings := be32(blob, 8), be32(blob, 12)
	version, lastComp := be32(blob, 20), be32(blob, 24)
	sizeStrings, sizeStruct := be32(blob, 32), be32(blob, 36)
	if version < minVersion || lastComp > curVersion {
		return Range{}, BadVersion
	}
	if version < curVersion {
		sizeStruct = total - min(offStruct, total) // no size_dt_struct before v17
	}
	if offStruct%4 != 0 || !within(offStruct, sizeStruct, total) || !within(offStrings, sizeStrings, total) {
		return Range{}, BadLayout
	}
	w := walker{
		blob:    blob[offStruct : offStruct+sizeStruct],
		strings: blob[offStrings : offStrings+sizeStrings],
	}
	return w.memory()
}

// walker scans a structure block (§5.4) once, front to back.
type walker struct {
	blob    []byte // the structure block
	strings []byte // the strings block
}

//go:nosplit
func (w *walker) memory() (Range, Fault) {
	addrCells, sizeCells := uint32(2), uint32(1)
	depth := 0        // 1 inside the root node, 2 inside its children
	inMemory := false // inside a root-level memory node
	off := uint32(0)
	n := uint32(len(w.blob))
	for {
		if n-off < 4 || off > n {
			return Range{}, BadToken // ran off the end without FDT_END
		}
		tok := be32(w.blob, off)
		off += 4
		switch tok {
		case tokBegin:
			name, next, ok := cstring(w.blob, off)
			if !ok {
				return Range{}, BadToken
			}
			off = next
			depth++
			if depth == 2 {
				inMemory = isMemoryName(name)
			}
		case tokEnd:
			if depth == 0 {
				return Range{}, BadToken
			}
			depth--
			if depth < 2 {
				inMemory = false
			}
		case tokProp:
			if n-off < 8 || off > n {
				return Range{}, BadToken
			}
			plen, nameoff := be32(w.blob, off), be32(w.blob, off+4)
			off += 8
			if !within(off, plen, n) {
				return Range{}, BadToken
			}
			val := w.blob[off : off+plen]
			off += align4(plen)
			if off > n {
				off = n // a final property may end unpadded; the next token read fails
			}
			name, _, ok := cstring(w.strings, nameoff)
			if !ok {
				return Range{}, BadToken
			}
			switch {
			case depth == 1 && equal(name, "#address-cells") && len(val) == 4:
				addrCells = be32(val, 0)
			case depth == 1 && equal(name, "#size-cells") && len(val) == 4:
				sizeCells = be32(val, 0)
			case depth == 2 && inMemory && equal(name, "reg"):
				if addrCells-1 > 1 || sizeCells-1 > 1 {
					return Range{}, BadCells
				}
				if r, ok := firstRange(val, addrCells, sizeCells); ok {
					return r, None
				}
			}
		case tokNop:
		case tokEndTree:
			return Range{}, NoMemory
		default:
			return Range{}, BadToken
		}
	}
}

// firstRange decodes reg's (address, size) pairs, each of ac and sc
// 32-bit cells, and returns the first with a non-zero size.
//
//go:nosplit
func firstRange(reg []byte, ac, sc uint32) (Range, bool) {
	entry := 4 * (ac + sc)
	for off := uint32(0); uint64(off)+uint64(entry) <= uint64(len(reg)); off += entry {
		r := Range{Base: cells(reg, off, ac), Size: cells(reg, off+4*ac, sc)}
		if r.Size != 0 {
			return r, true
		}
	}
	return Range{}, false
}

// cells reads a 1- or 2-cell big-endian number at off; the caller checked
// the bounds.
//
//go:nosplit
func cells(b []byte, off, n uint32) uint64 {
	if n == 1 {
		return uint64(be32(b, off))
	}
	return uint64(be32(b, off))<<32 | uint64(be32(b, off+4))
}

// isMemoryName reports whether a node name is "memory" or "memory@...".
//
//go:nosplit
func isMemoryName(name []byte) bool {
	const m = "memory"
	if len(name) < len(m) || !equal(name[:len(m)], m) {
		return false
	}
	return len(name) == len(m) || name[len(m)] == '@'
}

// cstring returns the NUL-terminated string at off in b and the offset
// of the next 4-byte-aligned word after it.
//
//go:nosplit
func cstring(b []byte, off uint32) (s []byte, next uint32, ok bool) {
	if off >= uint32(len(b)) {
		return nil, 0, false
	}
	for i := off; i < uint32(len(b)); i++ {
		if b[i] == 0 {
			return b[off:i], off + align4(i+1-off), true
		}
	}
	return nil, 0, false
}

// equal compares bytes with a string without converting either (no
// runtime call).
//
//go:nosplit
func equal(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != s[i] {
			return false
		}
	}
	return true
}

// within reports whether [off, off+size) lies inside [0, limit).
//
//go:nosplit
func within(off, size, limit uint32) bool {
	return off <= limit && size <= limit-off
}

// align4 rounds n up to a multiple of 4 (n is below 2^32-3: every length
// here is bounded by a blob that fits in memory).
//
//go:nosplit
func align4(n uint32) uint32 { return (n + 3) &^ 3 }

// be32 reads the big-endian word at off; the caller checked the bounds.
//
//go:nosplit
func be32(b []byte, off uint32) uint32 {
	_ = b[off+3]
	return uint32(b[off])<<24 | uint32(b[off+1])<<16 | uint32(b[off+2])<<8 | uint32(b[off+3])
}
