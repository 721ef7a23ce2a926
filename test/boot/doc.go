// Package boot holds the host-side boot tests of the appliance images:
// each app (echo, proxy) is built for each board (qemu-virt, usbarmory)
// with make image, booted under qemu-system-arm, and driven from the host
// over QEMU user networking (forwarded ports, no root) and over a TAP
// (root). Without the TamaGo toolchain, QEMU, make, or (for the TAP
// tests) root and /dev/net/tun, the tests skip naming what is missing, or
// under CI=true fail (internal/testkit/require).
//
// The board boot programs themselves live below: virtnet (qemu-virt) and
// enetnet (usbarmory).
package boot
