package gvnet

import (
	"context"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ChannelQueue is the outbound queue length of each channel endpoint:
// wireguard-go's netstack uses channel.New(1024, ...).
const ChannelQueue = 1024

// channelEnd is one stack's link/channel endpoint and the forwarder that
// moves what it sends to the peer.
type channelEnd struct {
	ep     *countingChannel
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// countingChannel is a channel.Endpoint that counts the frames it drops.
// channel.Endpoint drops a frame silently when its queue is full: its
// WritePackets reports fewer frames written and no error, and gVisor's NIC
// counts nothing (it counts only an ErrNoBufferSpace error).
type countingChannel struct {
	*channel.Endpoint
	dropped atomic.Uint64
}

// WritePackets implements stack.LinkEndpoint.
func (c *countingChannel) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n, err := c.Endpoint.WritePackets(pkts)
	if err == nil && n < pkts.Len() {
		c.dropped.Add(uint64(pkts.Len() - n))
	}
	return n, err
}

// newChannelPair returns two channel endpoints (frames carry Ethernet
// headers: each is wrapped in ethernet.New by the caller) and starts one
// forwarder goroutine per direction. A forwarder blocks in ReadContext
// until its stack queues a frame, copies the frame once into a fresh
// buffer (what a real link does, and what memlink and Link do) and
// injects it into the peer stack on its own goroutine, so delivery runs
// the peer's whole receive path there, as wireguard-go's and
// tailscale-style forwarding loops do. A full queue (ChannelQueue frames)
// drops the frame (counted by countingChannel).
func newChannelPair(mtu int, capture func([]byte)) (a, b *channelEnd) {
	frameMTU := uint32(mtu + header.EthernetMinimumSize)
	a = &channelEnd{ep: &countingChannel{Endpoint: channel.New(ChannelQueue, frameMTU, macA)}}
	b = &channelEnd{ep: &countingChannel{Endpoint: channel.New(ChannelQueue, frameMTU, macB)}}
	a.start(b.ep.Endpoint, capture)
	b.start(a.ep.Endpoint, capture)
	return a, b
}

// start runs the forwarder from e's queue into peer.
func (e *channelEnd) start(peer *channel.Endpoint, capture func([]byte)) {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			pkt := e.ep.ReadContext(ctx)
			if pkt == nil {
				return
			}
			v := pkt.ToView() // the one copy
			pkt.DecRef()
			if capture != nil {
				capture(v.AsSlice())
			}
			in := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithView(v)})
			peer.InjectInbound(0, in) // ethernet.Endpoint reads the type from the header
			in.DecRef()
		}
	}()
}

// close stops the forwarder and waits for it; frames still queued are
// released.
func (e *channelEnd) close() {
	e.cancel()
	e.wg.Wait()
	e.ep.Drain()
}
