// Package enet drives the NXP i.MX6UL/ULL 10/100 Ethernet MAC (ENET)
// through tamago's soc/nxp/enet and presents it as a netif.Device.
//
// The device-independent part (framing checks, transmit scratch copy,
// backpressure, the receive drain loop and the counters) is plain Go over a
// small port interface and is tested on the host with a fake. The binding
// to the controller, Open, lives in the tamago-only files.
//
// Receive is interrupt driven, in the style of Linux NAPI: the ENET
// interrupt (the RXF event, "receive frame", IMX6ULLRM 22.5.1) masks
// itself and wakes the device's receive goroutine; that goroutine
// acknowledges the event, drains the receive ring, hands each frame to the
// netif.Handler and unmasks the event again. A frame that lands after the
// last ring read sets EIR.RXF again, so unmasking raises the interrupt at
// once and no frame is stranded.
//
// Things tamago v1.26.0 decides for us, and what follows:
//
//   - ENET.Rx allocates a new slice per frame (bufferDescriptor.Data), so
//     receive allocates once per packet; everything this package adds is
//     allocation-free.
//   - ENET.Rx rounds the frame length up to a multiple of 8 bytes, so up to 7
//     stale bytes trail a received frame, like Ethernet padding. Upper
//     layers go by the IPv4 total length and the ARP fixed size, as they
//     must for padded minimum-size frames anyway. RxBytes counts them.
//   - ENET.Rx returns nil both for an empty ring and for a frame the MAC
//     flagged bad (CRC, overrun, length); the bad frame still bumps
//     ENET.Stats, which tells the two apart, so the drain goes on after a
//     bad frame and RxErrors counts it.
//   - ENET.Tx never reports a full ring (its ready-bit check always reads
//     zero) and overwrites the oldest descriptor instead. Transmit therefore
//     tracks the frames queued since the MAC was last seen idle (TDAR.TDAR
//     clear, IMX6ULLRM 22.5.4) and returns netif.ErrBusy rather than
//     overrunning the ring.
//   - ENET.ClearInterrupt read-modify-writes EIR, which is write 1 to
//     clear, so it clears every pending event, the MII event an MDIO
//     transfer waits for included; and no call masks an event. The driver
//     therefore writes EIR and EIMR itself, RXF only (port_tamago.go). It
//     does not use ENET.RxHandler: that is for Start(true), which polls in
//     a busy loop.
//   - tamago's MDIO transfers (ENET.ReadPHYRegister, used by LinkUp) clear
//     EIR whole, so LinkUp wakes the receive goroutine afterwards, and the
//     PHY is read at most once a second.
//   - There is no ENET.Stop: Close masks the interrupt and stops the receive
//     goroutine, but the MAC stays enabled.
//   - Init leaves the group hash table (GAUR/GALR) as reset left it, zero,
//     so the MAC drops every multicast frame: Neighbor Discovery would
//     never see a solicitation or an advertisement to all nodes. The
//     Device implements netif.MulticastFilter: the Ethernet layer hands
//     it the groups it joins and it sets their hash bits (multicast.go).
//     QEMU's imx.enet model does not filter; the hash is checked against
//     Linux's fec driver's (multicast_test.go), not on a board.
//
// Counters: RxErrors sums ENET.Stats (length, alignment, CRC, overrun,
// too small, too large); TxErrors counts the transmit error events in EIR
// (babbling transmit, bus error, late collision, retry limit, underrun);
// TxDropped counts refusals (ring full, too big, runt); RxDropped counts
// frames with no handler installed and runts. Transmit does not check the
// link: with the link down the MAC sends into the void.
package enet
