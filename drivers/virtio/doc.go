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
// interrupt (Net.AckInterrupt) and calls Net.Poll from a goroutine, which
// drains a whole batch with interrupts off; transmit completions are
// reclaimed lazily by Transmit, without interrupts.
//
// The network device negotiates what the device offers, as Linux's
// driver does (NetOffloadFeatures, each of which NetConfig.Disable turns
// off): checksum offload both ways (CSUM, GUEST_CSUM), TSO on transmit
// (HOST_TSO4/6), large receive (GUEST_TSO4/6, with mergeable receive
// buffers), and event index (VIRTIO_F_RING_EVENT_IDX) to suppress
// notifications and interrupts. It passes them to the stack as
// netif.Offloads. QEMU offers the checksum and TSO features only with a
// TAP backend (a vnet header), not under user networking; without them
// the stack does all the work, as before.
//
// Multicast: the driver does not negotiate VIRTIO_NET_F_CTRL_RX (there
// is no control queue), so it cannot set a receive filter, and it does
// not implement netif.MulticastFilter. A device without that feature
// delivers every multicast frame (QEMU's virtio-net starts and stays
// promiscuous: virtio_net_reset sets promisc); the Ethernet layer keeps
// only the groups joined. Neighbor Discovery's solicited-node and
// all-nodes frames and MLD queries reach the stack so: the IPv6 boot
// tests show it (SLAAC from slirp's and dnsmasq's advertisements to
// ff02::1, the kernel resolving the guest by solicitations to its
// solicited-node group).
//
// Not supported: packed virtqueues, indirect descriptors, large receive
// without mergeable buffers (64 KiB "big packet" buffers), ECN and UDP
// segmentation, multiqueue, the control queue. Descriptor, ring and
// header fields are little-endian and are written with native stores, so the
// package supports little-endian CPUs only (arm, arm64, amd64, riscv64).
//
// Package fmt is not used outside tests and the host-only device model:
// error messages are built with strconv, keeping fmt out of bare-metal
// images.
package virtio
