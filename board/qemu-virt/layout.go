// The memory layout, from the machine's RAM size (host-testable).

package qemuvirt

// Memory map of the image on a machine with Mem bytes of RAM at RamStart
// (QEMU virt: 0x40000000, -m sets Mem):
//
//	RamStart              64 KiB: tamago's vectors, page tables, exception stacks (arm.CPU.Init)
//	RamStart+64 KiB       the rest of QEMU's 1 MiB device tree, read by cpuinit and dead after it
//	RamStart+1 MiB        the image (ELF headers, text, data, bss), then the Go heap growing up
//	DMAStart-0x100        the boot (g0) stack, growing down
//	DMAStart              the DMA region (virtio rings and buffers), mapped uncached, to Mem
//
// The Go runtime owns [RamStart, DMAStart): that is goos.RamSize.
const (
	// RamStart is the base of RAM on QEMU virt (hw/arm/virt.c VIRT_MEM).
	RamStart = 0x40000000
	// TextStart is where the image's text is linked (mk/baremetal.mk
	// -T); the linker puts the ELF headers in the page below it (-R
	// 0x1000), so the lowest loaded address is 1 MiB above RamStart:
	// QEMU copies its device tree (1 MiB) to the base of RAM only when
	// the ELF leaves that much room below itself.
	TextStart = RamStart + fdtWindow + 0x1000
	// fdtWindow is the memory below the image where the tree can be.
	fdtWindow = 1 << 20

	// MinRAM is the least RAM the image is laid out for, and what it
	// assumes when it finds no device tree: it boots and serves in a
	// machine of this size (the boot tests run at -m 32M).
	MinRAM = 32 << 20
	// MaxRAM bounds what the image uses however much the machine has:
	// RamStart+MaxRAM must stay below 4 GiB for the flat 32-bit mapping,
	// and 1 GiB is more than an appliance's stack can put to use.
	MaxRAM = 1 << 30

	// DMA region: 1/16 of RAM, rounded up to whole MiB sections (the MMU
	// maps it uncached by 1 MiB sections), at least 1 MiB, at most 16 MiB.
	minDMA   = 1 << 20
	maxDMA   = 16 << 20
	dmaAlign = 1 << 20
)

// Layout is how the image splits the machine's RAM.
type Layout struct {
	Mem      uint64 // RAM used, from RamStart: the machine's, clamped to MaxRAM
	GoSize   uint64 // the Go runtime's share from RamStart (goos.RamSize)
	DMAStart uint64 // the DMA region, right after the Go runtime's share
	DMASize  uint64
}

// layoutFor lays out mem bytes of RAM. It runs in cpuinit, before the
// runtime exists: no allocation, no calls that could grow the stack.
//
//go:nosplit
func layoutFor(mem uint64) Layout {
	mem = min(mem, MaxRAM) &^ (dmaAlign - 1)
	dma := (mem/16 + dmaAlign - 1) &^ (dmaAlign - 1)
	dma = min(max(dma, minDMA), maxDMA)
	if mem < dma+fdtWindow+dmaAlign {
		// Too small to hold the image at all; keep the layout sane and
		// let the runtime report that it is out of memory.
		mem = dma + fdtWindow + dmaAlign
	}
	return Layout{Mem: mem, GoSize: mem - dma, DMAStart: RamStart + mem - dma, DMASize: dma}
}

// fallbackGoSize is layoutFor(MinRAM).GoSize: the runtime's RamSize
// until cpuinit has read the device tree, and for good when there is none.
const fallbackGoSize = MinRAM - MinRAM/16
