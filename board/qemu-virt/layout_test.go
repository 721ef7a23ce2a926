package qemuvirt

import "testing"

func TestLayoutFor(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		mem         uint64
		goSize, dma uint64
		memUsed     uint64
	}{
		{32 * MiB, 30 * MiB, 2 * MiB, 32 * MiB},
		{64 * MiB, 60 * MiB, 4 * MiB, 64 * MiB},
		{12 * MiB, 11 * MiB, 1 * MiB, 12 * MiB},     // 1/16 rounds up to 1 MiB
		{24 * MiB, 22 * MiB, 2 * MiB, 24 * MiB},     // 1.5 MiB rounds up to 2
		{512 * MiB, 496 * MiB, 16 * MiB, 512 * MiB}, // capped at 16 MiB
		{4 << 30, MaxRAM - 16*MiB, 16 * MiB, MaxRAM},
		{32*MiB + 12345, 30 * MiB, 2 * MiB, 32 * MiB}, // whole MiB only
		{0, 2 * MiB, 1 * MiB, 3 * MiB},                // too small: still sane
	}
	for _, tc := range tests {
		l := layoutFor(tc.mem)
		if l.GoSize != tc.goSize || l.DMASize != tc.dma || l.Mem != tc.memUsed {
			t.Errorf("layoutFor(%#x) = %+v; want Go %#x DMA %#x mem %#x", tc.mem, l, tc.goSize, tc.dma, tc.memUsed)
		}
		if l.DMAStart != RamStart+l.GoSize || l.DMAStart+l.DMASize != RamStart+l.Mem {
			t.Errorf("layoutFor(%#x) = %+v: DMA region not at the top of RAM", tc.mem, l)
		}
		if l.DMAStart%(1<<20) != 0 || l.DMASize%(1<<20) != 0 {
			t.Errorf("layoutFor(%#x) = %+v: DMA region not in whole 1 MiB sections", tc.mem, l)
		}
		if l.GoSize <= TextStart-RamStart {
			t.Errorf("layoutFor(%#x) = %+v: no room for the image", tc.mem, l)
		}
	}
	// The fallback RamSize linked into the image is MinRAM's layout.
	if got := layoutFor(MinRAM).GoSize; got != fallbackGoSize {
		t.Errorf("fallbackGoSize = %#x, layoutFor(MinRAM).GoSize = %#x", uint64(fallbackGoSize), got)
	}
}
