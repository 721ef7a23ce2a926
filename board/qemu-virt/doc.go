// Package qemuvirt is the TamaGo board for QEMU's ARM "virt" machine
// (-machine virt,secure=on,virtualization=on -cpu cortex-a15, see
// scripts/qemu.sh; without virtualization=on QEMU's Cortex-A15 lacks the
// banked MRS that tamago's exception entry uses, and any exception, a nil
// dereference included, loops silently): it supplies the runtime hooks
// (memory layout, console, clock, entropy), brings up the GICv2 and
// interrupt servicing, a WFI idle governor, and finds the virtio-mmio
// network and entropy devices.
//
// Importing the package (GOOS=tamago GOARCH=arm GOARM=7, built with
// -tags qemuvirt,linkcpuinit and linked with -ldflags "-T 0x40101000 -R
// 0x1000", as mk/baremetal.mk does) is what makes a program bootable on
// the machine; applications then call Init, Net, Rand and Exit. Runtime
// exits (main returning, a fatal panic) go through Exit too, so under
// -semihosting QEMU exits with the program's status.
//
// Memory map (QEMU hw/arm/virt.c, "virt" memmap):
//
//	0x08000000  GICv2 distributor      0x08010000  GICv2 CPU interface
//	0x09000000  PL011 UART (console)   0x0a000000  32 virtio-mmio slots, 0x200 apart, SPI 16+n
//	0x40000000  RAM: the device tree QEMU copies there (1 MiB), the image at
//	            +1 MiB, the Go heap up to the boot stack, then the DMA region
//
// The RAM size comes from the machine (-m): the board's own cpuinit
// (cpuinit_arm.s, which is why the linkcpuinit tag is needed) reads the
// device tree's /memory node (internal/fdt) before the runtime starts and
// sets RamSize; layout.go gives the split and the fallback (MinRAM, 32
// MiB) when there is no tree. Init sets the runtime's memory limit from
// it and prints the layout. The image boots and serves in -m 32M; more
// RAM gives a larger heap (internal/boardrun scales the stack's limits
// with it) and a larger DMA region, up to MaxRAM.
//
// Only the host-testable DRBG and memory layout build without GOOS=tamago.
package qemuvirt
