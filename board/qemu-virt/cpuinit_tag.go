//go:build tamago && arm && !linkcpuinit

package qemuvirt

// The board sizes RAM from the device tree in its own cpuinit
// (cpuinit_arm.s), which replaces tamago's and so needs the linkcpuinit
// build tag: build with -tags qemuvirt,linkcpuinit (make image
// BOARD=qemu-virt sets both). Without it the build stops here, on this
// undefined name, rather than linking tamago's cpuinit with a RAM size
// fixed at link time.
var _ = build_tag_linkcpuinit_required
