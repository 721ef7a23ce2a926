// Package boot holds the host-side boot tests of the appliance images:
// each app (echo, proxy) is built for each board (qemu-virt, usbarmory)
// with make image, booted under qemu-system-arm, and driven from the host
// over QEMU user networking (forwarded ports, no root) and over a TAP
// (root). The tests skip, naming what is missing, without the TamaGo
// toolchain, QEMU, make, or (for the TAP tests) root and /dev/net/tun.
//
// The board boot programs themselves live below: virtnet (qemu-virt) and
// enetnet (usbarmory).
package boot
