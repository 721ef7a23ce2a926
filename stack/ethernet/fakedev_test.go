package ethernet

import (
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

// fakeDev is a netif.Device that records transmitted frames.
type fakeDev struct {
	mac      inet.MAC
	headroom int
	err      error
	sent     [][]byte
	record   bool
}

func (d *fakeDev) MAC() inet.MAC            { return d.mac }
func (d *fakeDev) MTU() int                 { return 1500 }
func (d *fakeDev) Headroom() int            { return d.headroom }
func (d *fakeDev) Offloads() netif.Offloads { return netif.Offloads{} }
func (d *fakeDev) LinkUp() bool             { return true }
func (d *fakeDev) SetHandler(netif.Handler) {}
func (d *fakeDev) Stats() netif.Stats       { return netif.Stats{} }
func (d *fakeDev) Close() error             { return nil }
func (d *fakeDev) Transmit(b *pkt.Buf) error {
	if d.err != nil {
		return d.err
	}
	if d.record {
		f := make([]byte, b.Len())
		b.CopyTo(f)
		d.sent = append(d.sent, f)
	}
	return nil
}
