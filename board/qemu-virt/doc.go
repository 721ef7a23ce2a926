// Package qemuvirt is the TamaGo board for QEMU's ARM "virt" machine
// (-machine virt,secure=on,virtualization=on -cpu cortex-a15, see
// scripts/qemu.sh; without virtualization=on QEMU's Cortex-A15 lacks the
// banked MRS that tamago's exception entry uses, and any exception, a nil
// dereference included, loops silently): it supplies the runtime hooks
// (memory layout, console, clock, entropy), brings up the GICv2 and
// interrupt servicing, a WFI idle governor, and finds the virtio-mmio
// network and entropy devices.
//
// Importing the package (GOOS=tamago GOARCH=arm GOARM=7, linked with
// -ldflags "-T 0x40010000 -R 0x1000") is what makes a program bootable on
// the machine; applications then call Init, Net, Rand and Exit. Runtime
// exits (main returning, a fatal panic) go through Exit too, so under
// -semihosting QEMU exits with the program's status.
//
// Memory map (QEMU hw/arm/virt.c, "virt" memmap):
//
//	0x08000000  GICv2 distributor      0x08010000  GICv2 CPU interface
//	0x09000000  PL011 UART (console)   0x0a000000  32 virtio-mmio slots, 0x200 apart, SPI 16+n
//	0x40000000  RAM: Go runtime (RamSize), then the DMA region (needs -m 512M)
//
// Only the host-testable DRBG builds without GOOS=tamago.
package qemuvirt
