// Package virtio drives virtio devices over the virtio-mmio transport
// (virtio 1.1, version register 2): a network device implementing
// netif.Device, and an entropy device.
//
// The package is split so that almost all of it runs on the host:
//
//   - Registers are reached through Regs and device-visible memory through
//     Memory. On bare metal, MMIO and Arena implement them: Arena is a bump
//     allocator over a fixed physical region that the board keeps out of
//     the Go heap (arena.go; the memory access is in arena_tamago.go). In
//     tests, internal/virtiomodel plays the device side over ordinary
//     memory.
//   - Transport does the status handshake and feature negotiation (§3.1.1,
//     §4.2.3), ring implements the driver side of a split virtqueue (§2.7),
//     Net is the network device (§5.1) and RNG the entropy device (§5.4).
//
// Nothing here polls while idle: the board acknowledges the device
// interrupt (Net.AckInterrupt) and calls Net.Poll from a goroutine, and
// transmit completions are reclaimed lazily by Transmit.
//
// Not supported: packed virtqueues, event index (VIRTIO_F_EVENT_IDX),
// indirect descriptors, mergeable receive buffers, checksum and
// segmentation offloads, multiqueue, the control queue. Descriptor, ring and
// header fields are little-endian and are written with native stores, so the
// package supports little-endian CPUs only (arm, arm64, amd64, riscv64).
//
// Package fmt is not used outside tests and the host-only device model:
// error messages are built with strconv, keeping fmt out of bare-metal
// images.
package virtio
