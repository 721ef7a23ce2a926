package gvnet

import (
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// TestCountingChannelDrops: a full channel queue drops frames without an
// error; countingChannel counts them.
func TestCountingChannelDrops(t *testing.T) {
	c := &countingChannel{Endpoint: channel.New(2, 1514, macA)}
	defer c.Close()
	var pkts stack.PacketBufferList
	for range 5 {
		pkts.PushBack(stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData([]byte{1, 2, 3})}))
	}
	defer pkts.Reset()
	n, err := c.WritePackets(pkts)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || c.dropped.Load() != 3 {
		t.Errorf("wrote %d, dropped %d; want 2 and 3", n, c.dropped.Load())
	}
	if q := c.NumQueued(); q != 2 {
		t.Errorf("%d queued, want 2", q)
	}
}
