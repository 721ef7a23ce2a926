package gvnet

import (
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/veth"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// vethEnd is one end of gVisor's own link/veth pair, which can capture
// what it sends.
//
// link/veth is gVisor's in-memory veth: WritePackets deep-clones each
// packet (one copy) into a backlog of veth.DefaultBacklogSize packets
// shared by both directions, and one goroutine injects them into the peer.
// It advertises gVisor GSO (segments of up to 64 KiB travel whole, as over
// Linux's veth) and receive checksum offload (the receiver does not verify
// what the sender computed), so it is gVisor's fastest in-memory link. A
// full backlog refuses the packet with ErrNoBufferSpace, which the NIC
// counts (TxPacketsDroppedNoBufferSpace).
type vethEnd struct {
	*veth.Endpoint
	capture atomic.Pointer[captureBox]
}

// newVethPair returns both ends with the given IP MTU and MACs macA, macB.
func newVethPair(mtu int) (a, b *vethEnd) {
	x, y := veth.NewPair(uint32(mtu+header.EthernetMinimumSize), veth.DefaultBacklogSize)
	x.SetLinkAddress(macA)
	y.SetLinkAddress(macB)
	return &vethEnd{Endpoint: x}, &vethEnd{Endpoint: y}
}

// WritePackets implements stack.LinkEndpoint: the capture sees each frame
// as it leaves.
func (e *vethEnd) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	if f := loadCapture(&e.capture); f != nil {
		for _, pkt := range pkts.AsSlice() {
			v := pkt.ToView()
			f(v.AsSlice())
			v.Release()
		}
	}
	return e.Endpoint.WritePackets(pkts)
}
