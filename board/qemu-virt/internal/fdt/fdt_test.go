package fdt

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// readGolden returns a device tree dumped from QEMU 7.2 with
//
//	qemu-system-arm -machine virt,secure=on,virtualization=on,dumpdtb=F -cpu cortex-a15 -m SIZE \
//	  -global virtio-mmio.force-legacy=false -device virtio-rng-device \
//	  -device virtio-net-device,netdev=n0 -netdev user,id=n0
//
// as QEMU places it at the base of RAM: 1 MiB, mostly free space (stored
// gzipped).
func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenQEMU(t *testing.T) {
	for _, tc := range []struct {
		file string
		size uint64
	}{
		{"qemu-virt-32M.dtb.gz", 32 << 20},
		{"qemu-virt-64M.dtb.gz", 64 << 20},
		{"qemu-virt-512M.dtb.gz", 512 << 20},
		{"qemu-virt-2G.dtb.gz", 2 << 30},
	} {
		b := readGolden(t, tc.file)
		if len(b) != 1<<20 {
			t.Errorf("%s: %d bytes, want QEMU's 1 MiB", tc.file, len(b))
		}
		r, f := Memory(b)
		if f != None || r != (Range{Base: 0x40000000, Size: tc.size}) {
			t.Errorf("%s: Memory = %+v, %v; want base 0x40000000 size %#x", tc.file, r, f, tc.size)
		}
		// The board hands Memory the whole window below the image, which
		// can be longer than the tree; and a packed tree reads the same.
		long := append(bytes.Clone(b), make([]byte, 4096)...)
		if r2, f := Memory(long); r2 != r || f != None {
			t.Errorf("%s with trailing bytes: %+v, %v", tc.file, r2, f)
		}
		if r2, f := Memory(pack(b)); r2 != r || f != None {
			t.Errorf("%s packed: %+v, %v", tc.file, r2, f)
		}
	}
}

// pack returns the tree cut to the end of its last block, with totalsize
// set to match (what dtc's fdt_pack does to QEMU's free space).
func pack(b []byte) []byte {
	be := binary.BigEndian
	end := max(be.Uint32(b[8:])+be.Uint32(b[36:]), be.Uint32(b[12:])+be.Uint32(b[32:]))
	p := bytes.Clone(b[:end])
	be.PutUint32(p[4:], end)
	return p
}

// TestGoldenTruncated: every prefix of a real tree that still claims its
// full size is refused as Short, never read past.
func TestGoldenTruncated(t *testing.T) {
	b := pack(readGolden(t, "qemu-virt-32M.dtb.gz"))
	for n := 0; n < len(b); n += 7 {
		if r, f := Memory(b[:n]); f != Short {
			t.Fatalf("prefix of %d bytes: %+v, %v; want Short", n, r, f)
		}
	}
}

// TestGoldenCorrupt: flipping any byte of a real tree gives either the
// right range, another range or a fault, never a panic; flips in the
// header's magic are always BadMagic.
func TestGoldenCorrupt(t *testing.T) {
	b := pack(readGolden(t, "qemu-virt-32M.dtb.gz"))
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0xff
		_, f := Memory(c)
		if i < 4 && f != BadMagic {
			t.Errorf("byte %d flipped: %v, want BadMagic", i, f)
		}
	}
}

// node and prop build a structure block for the hand-made cases.
type node struct {
	name     string
	props    []prop
	children []node
}

type prop struct {
	name string
	val  []byte
}

func cellsOf(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.BigEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// build encodes root as a version-17 blob (version 16 when v16).
func build(root node, v16 bool) []byte {
	be := binary.BigEndian
	var st, strs []byte
	word := func(x uint32) { st = be.AppendUint32(st, x) }
	pad := func() {
		for len(st)%4 != 0 {
			st = append(st, 0)
		}
	}
	var emit func(n node)
	emit = func(n node) {
		word(tokBegin)
		st = append(append(st, n.name...), 0)
		pad()
		for _, p := range n.props {
			off := bytes.Index(strs, append([]byte(p.name), 0))
			if off < 0 {
				off = len(strs)
				strs = append(append(strs, p.name...), 0)
			}
			word(tokProp)
			word(uint32(len(p.val)))
			word(uint32(off))
			st = append(st, p.val...)
			pad()
		}
		for _, c := range n.children {
			emit(c)
		}
		word(tokEnd)
	}
	emit(root)
	word(tokEndTree)
	const rsv = headerLen + 16 // one empty memory reservation entry
	h := make([]byte, rsv)
	total := rsv + len(st) + len(strs)
	be.PutUint32(h[0:], magic)
	be.PutUint32(h[4:], uint32(total))
	be.PutUint32(h[8:], rsv)
	be.PutUint32(h[12:], uint32(rsv+len(st)))
	be.PutUint32(h[16:], headerLen)
	be.PutUint32(h[20:], 17)
	be.PutUint32(h[24:], 16)
	be.PutUint32(h[32:], uint32(len(strs)))
	be.PutUint32(h[36:], uint32(len(st)))
	if v16 {
		be.PutUint32(h[20:], 16)
		be.PutUint32(h[36:], 0)
	}
	return append(append(h, st...), strs...)
}

func memNode(name string, reg []byte) node {
	return node{name: name, props: []prop{{"device_type", []byte("memory\x00")}, {"reg", reg}}}
}

func TestHandMade(t *testing.T) {
	cells := func(a, s uint32) []prop {
		return []prop{{"#address-cells", cellsOf(a)}, {"#size-cells", cellsOf(s)}}
	}
	tests := []struct {
		name string
		root node
		v16  bool
		want Range
		f    Fault
	}{
		{"2+2 cells", node{props: cells(2, 2), children: []node{memNode("memory@40000000", cellsOf(0, 0x40000000, 0, 0x2000000))}},
			false, Range{0x40000000, 0x2000000}, None},
		{"1+1 cells", node{props: cells(1, 1), children: []node{memNode("memory", cellsOf(0x80000000, 0x20000000))}},
			false, Range{0x80000000, 0x20000000}, None},
		{"default cells 2+1", node{children: []node{memNode("memory@0", cellsOf(1, 0, 0x1000))}},
			false, Range{1 << 32, 0x1000}, None},
		{"version 16", node{props: cells(1, 1), children: []node{memNode("memory", cellsOf(0x40000000, 0x4000000))}},
			true, Range{0x40000000, 0x4000000}, None},
		{"empty first range skipped", node{props: cells(1, 1), children: []node{memNode("memory", cellsOf(0, 0, 0x40000000, 0x100000))}},
			false, Range{0x40000000, 0x100000}, None},
		{"second memory node", node{props: cells(1, 1), children: []node{
			memNode("memory@0", cellsOf(0, 0)), memNode("memory@1", cellsOf(5, 6))}},
			false, Range{5, 6}, None},
		{"memory below another node is not /memory", node{props: cells(1, 1), children: []node{
			{name: "soc", children: []node{memNode("memory", cellsOf(1, 2))}}}},
			false, Range{}, NoMemory},
		{"memoryx is not memory", node{props: cells(1, 1), children: []node{memNode("memoryx", cellsOf(1, 2))}},
			false, Range{}, NoMemory},
		{"no reg", node{props: cells(1, 1), children: []node{{name: "memory"}}}, false, Range{}, NoMemory},
		{"short reg", node{props: cells(2, 2), children: []node{memNode("memory", cellsOf(0, 1, 0))}}, false, Range{}, NoMemory},
		{"3 address cells", node{props: cells(3, 2), children: []node{memNode("memory", cellsOf(0, 0, 1, 0, 2))}}, false, Range{}, BadCells},
		{"0 size cells", node{props: cells(2, 0), children: []node{memNode("memory", cellsOf(0, 1))}}, false, Range{}, BadCells},
		{"no nodes", node{}, false, Range{}, NoMemory},
	}
	for _, tc := range tests {
		got, f := Memory(build(tc.root, tc.v16))
		if got != tc.want || f != tc.f {
			t.Errorf("%s: got %+v, %v; want %+v, %v", tc.name, got, f, tc.want, tc.f)
		}
	}
}

func TestHeaderFaults(t *testing.T) {
	good := build(node{props: []prop{{"#address-cells", cellsOf(1)}, {"#size-cells", cellsOf(1)}},
		children: []node{memNode("memory", cellsOf(0x40000000, 1<<20))}}, false)
	if _, f := Memory(good); f != None {
		t.Fatalf("good blob: %v", f)
	}
	be := binary.BigEndian
	set := func(off int, v uint32) []byte {
		b := bytes.Clone(good)
		be.PutUint32(b[off:], v)
		return b
	}
	tests := []struct {
		name string
		blob []byte
		f    Fault
	}{
		{"empty", nil, Short},
		{"header only part", good[:39], Short},
		{"zero magic", set(0, 0), BadMagic},
		{"totalsize past the blob", set(4, uint32(len(good)+1)), Short},
		{"totalsize below the header", set(4, 12), Short},
		{"version 15", set(20, 15), BadVersion},
		{"last compatible 18", set(24, 18), BadVersion},
		{"struct misaligned", set(8, 57), BadLayout},
		{"struct past the end", set(36, uint32(len(good))), BadLayout},
		{"strings past the end", set(32, uint32(len(good))), BadLayout},
		{"struct offset huge", set(8, 0xfffffff0), BadLayout},
		{"empty struct block", set(36, 0), BadToken},
		{"unknown token", set(56, 7), BadToken},
		{"end node at depth 0", set(56, tokEnd), BadToken},
		{"end of tree first", set(56, tokEndTree), NoMemory},
		{"nop first", set(56, tokNop), BadToken}, // the root name then reads as tokens
	}
	for _, tc := range tests {
		if _, f := Memory(tc.blob); f != tc.f {
			t.Errorf("%s: %v, want %v", tc.name, f, tc.f)
		}
	}
}

func TestFaultError(t *testing.T) {
	for f := None; f <= NoMemory; f++ {
		if f.Error() == "" || f.Error() == Fault(200).Error() {
			t.Errorf("Fault(%d) has no text", f)
		}
	}
}

func TestMemoryDoesNotAllocate(t *testing.T) {
	b := readGolden(t, "qemu-virt-64M.dtb.gz")
	if n := testing.AllocsPerRun(10, func() { Memory(b) }); n != 0 {
		t.Errorf("Memory allocates %v times", n)
	}
}

// FuzzMemory: no input panics or reads outside the blob; a range found
// is non-empty; the answer does not depend on bytes past totalsize.
func FuzzMemory(f *testing.F) {
	f.Add(pack(readGolden(f, "qemu-virt-32M.dtb.gz")))
	f.Add(build(node{props: []prop{{"#address-cells", cellsOf(1)}, {"#size-cells", cellsOf(1)}},
		children: []node{memNode("memory", cellsOf(0x40000000, 1<<20))}}, false))
	f.Add(build(node{children: []node{memNode("memory@0", cellsOf(0, 0, 0x1000))}}, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, fault := Memory(b)
		if fault == None && r.Size == 0 {
			t.Fatalf("empty range %+v without a fault", r)
		}
		if fault != None && r != (Range{}) {
			t.Fatalf("range %+v with fault %v", r, fault)
		}
		r2, f2 := Memory(append(bytes.Clone(b), 0xff, 0xff, 0xff, 0xff))
		if fault != Short && (r2 != r || f2 != fault) {
			t.Fatalf("trailing bytes changed the answer: %+v %v -> %+v %v", r, fault, r2, f2)
		}
	})
}
