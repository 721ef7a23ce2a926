//go:build tamago && qemuvirt

package main

import (
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// devLink is a netif.Device (Ethernet frames) as a gVisor LinkEndpoint.
// The stack's NIC is ethernet.New(devLink), so gVisor adds and strips the
// Ethernet header and does ARP itself, as mirago does on the same device.
type devLink struct {
	dev        netif.Device
	dispatcher atomic.Pointer[dispatcherBox]
	bufs       sync.Pool // *pkt.Buf with no backing array: headroom only

	// txBusy counts frames dropped because the transmit ring was full
	// (mirago's ethernet layer drops them too).
	txBusy atomic.Uint64
}

type dispatcherBox struct{ d stack.NetworkDispatcher }

var _ stack.LinkEndpoint = (*devLink)(nil)

func newDevLink(dev netif.Device) *devLink {
	l := &devLink{dev: dev}
	hr := dev.Headroom()
	l.bufs.New = func() any { return pkt.New(hr, hr) }
	dev.SetHandler(l.input)
	return l
}

// input runs on the driver's receive goroutine with a lent frame: one
// copy into a gVisor view, which the PacketBuffer then owns.
func (l *devLink) input(frame []byte, _ netif.RxMeta) {
	b := l.dispatcher.Load()
	if b == nil {
		return
	}
	v := buffer.NewViewWithData(frame)
	p := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithView(v)})
	b.d.DeliverNetworkPacket(0, p)
	p.DecRef()
}

// MTU implements stack.LinkEndpoint: the frame MTU (ethernet.Endpoint
// subtracts its header).
func (l *devLink) MTU() uint32 { return uint32(l.dev.MTU() + header.EthernetMinimumSize) }

// SetMTU implements stack.LinkEndpoint (the device's MTU is fixed).
func (*devLink) SetMTU(uint32) {}

// MaxHeaderLength implements stack.LinkEndpoint.
func (*devLink) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint.
func (l *devLink) LinkAddress() tcpip.LinkAddress {
	m := l.dev.MAC()
	return tcpip.LinkAddress(m[:])
}

// SetLinkAddress implements stack.LinkEndpoint (the device's MAC is fixed).
func (*devLink) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.LinkEndpoint: none, checksums in software
// both ways, as mirago does.
func (*devLink) Capabilities() stack.LinkEndpointCapabilities { return 0 }

// Attach implements stack.LinkEndpoint.
func (l *devLink) Attach(d stack.NetworkDispatcher) {
	if d == nil {
		l.dispatcher.Store(nil)
		return
	}
	l.dispatcher.Store(&dispatcherBox{d})
}

// IsAttached implements stack.LinkEndpoint.
func (l *devLink) IsAttached() bool { return l.dispatcher.Load() != nil }

// Wait implements stack.LinkEndpoint.
func (*devLink) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint (ethernet.Endpoint reports
// Ethernet).
func (*devLink) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint.
func (*devLink) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint.
func (*devLink) ParseHeader(*stack.PacketBuffer) bool { return true }

// SetOnCloseAction implements stack.LinkEndpoint.
func (*devLink) SetOnCloseAction(func()) {}

// Close implements stack.LinkEndpoint.
func (l *devLink) Close() { l.dev.Close() }

// WritePackets implements stack.LinkEndpoint. Each packet goes to the
// driver as a pkt.Buf that refers to gVisor's buffers: all but the last
// two slices are gathered into the Buf's contiguous part (the headers,
// small), the last two are attached by reference, and the driver copies
// the frame into its DMA slot before Transmit returns. A full transmit
// ring drops the frame, as mirago does.
func (l *devLink) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	hr := l.dev.Headroom()
	for _, p := range pkts.AsSlice() {
		s := p.AsSlices()
		b := l.bufs.Get().(*pkt.Buf)
		var head int
		for _, v := range s[:max(len(s)-2, 0)] {
			head += len(v)
		}
		if head > 0 {
			// The headers do not fit a headroom-only Buf: use one of
			// their size (rare: gVisor's headers are one slice).
			b = pkt.New(hr+head, hr)
			for _, v := range s[:len(s)-2] {
				copy(b.Append(len(v)), v)
			}
			s = s[len(s)-2:]
		} else {
			b.Reset(hr)
		}
		for _, v := range s {
			b.Attach(v)
		}
		err := l.dev.Transmit(b)
		if b.Cap() == hr {
			b.Reset(hr) // drop the references before pooling
			l.bufs.Put(b)
		}
		switch err {
		case nil:
		case netif.ErrBusy:
			l.txBusy.Add(1)
		case netif.ErrClosed:
			return n, &tcpip.ErrClosedForSend{}
		default:
			// Link down, too big: dropped and counted by the driver.
		}
		n++
	}
	return n, nil
}
