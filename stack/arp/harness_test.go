package arp

import (
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
)

var (
	macUs   = inet.MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	macGW   = inet.MAC{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}
	macPeer = inet.MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x07}
	ipUs    = inet.MustParseAddr4("10.0.2.15")
	ipGW    = inet.MustParseAddr4("10.0.2.2")
	ipPeer  = inet.MustParseAddr4("10.0.2.7")
	t0      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// sentFrame is one transmitted frame and the virtual time it left.
type sentFrame struct {
	at time.Time
	b  []byte
}

// fakeDev is a netif.Device recording transmitted frames.
type fakeDev struct {
	clk    *clock.Virtual
	record bool
	sent   []sentFrame
	notify chan struct{} // if set, signalled after every Transmit
}

func (d *fakeDev) MAC() inet.MAC            { return macUs }
func (d *fakeDev) MTU() int                 { return 1500 }
func (d *fakeDev) Headroom() int            { return 12 }
func (d *fakeDev) Offloads() netif.Offloads { return netif.Offloads{} }
func (d *fakeDev) LinkUp() bool             { return true }
func (d *fakeDev) SetHandler(netif.Handler) {}
func (d *fakeDev) Stats() netif.Stats       { return netif.Stats{} }
func (d *fakeDev) Close() error             { return nil }
func (d *fakeDev) Transmit(b *pkt.Buf) error {
	if b.Headroom() < 12 {
		return pkt.ErrNoHeadroom
	}
	if d.record {
		f := make([]byte, b.Len())
		b.CopyTo(f)
		d.sent = append(d.sent, sentFrame{d.clk.Now(), f})
	}
	if d.notify != nil {
		select {
		case d.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

// harness is one ARP layer over a fake device in virtual time.
type harness struct {
	t           *testing.T
	mu          sync.Mutex
	clk         *clock.Virtual
	q           *timer.Queue
	dev         *fakeDev
	eth         *ethernet.Layer
	arp         *Layer
	unreachable []inet.Addr4
	conflicts   []conflictReport
}

type conflictReport struct {
	ip  inet.Addr4
	mac inet.MAC
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, clk: clock.NewVirtual(t0)}
	h.q = timer.New(h.clk, &h.mu)
	h.dev = &fakeDev{clk: h.clk, record: true}
	h.eth = ethernet.New(h.dev)
	cfg.Lock = &h.mu
	cfg.OnUnreachable = func(a inet.Addr4) { h.unreachable = append(h.unreachable, a) }
	cfg.OnConflict = func(a inet.Addr4, m inet.MAC) { h.conflicts = append(h.conflicts, conflictReport{a, m}) }
	h.arp = New(h.eth, h.q, cfg)
	return h
}

// withOurIP adds ipUs, lets the announcements go and forgets them.
func (h *harness) withOurIP() *harness {
	h.mu.Lock()
	h.arp.AddIPLocked(ipUs)
	h.mu.Unlock()
	h.clk.Advance(AnnounceInterval * AnnounceNum)
	if n := len(h.take()); n != AnnounceNum {
		h.t.Fatalf("%d announcements", n)
	}
	return h
}

// input delivers a frame through Ethernet, holding the stack lock.
func (h *harness) input(frame []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.eth.Input(frame, netif.RxMeta{})
}

// output sends an IPv4 packet with payload p to next hop a.
func (h *harness) output(a inet.Addr4, p ...byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := pkt.New(200, h.arp.Headroom())
	copy(b.Append(len(p)), p)
	err := h.arp.Output(a, b)
	copy(b.Bytes(), make([]byte, b.Len())) // the caller reuses b
	return err
}

func (h *harness) stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arp.StatsLocked()
}

func (h *harness) lookup(a inet.Addr4) (inet.MAC, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arp.LookupLocked(a)
}

// take returns and forgets the frames sent so far.
func (h *harness) take() []sentFrame {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.dev.sent
	h.dev.sent = nil
	return s
}

// arpFrame builds an Ethernet frame carrying an ARP packet.
func arpFrame(dst inet.MAC, f Fields) []byte {
	b := make([]byte, ethernet.HeaderLen+PacketLen)
	(&ethernet.Fields{Dst: dst, Src: f.SenderMAC, Type: inet.EtherTypeARP}).Encode(b)
	if _, err := f.Encode(b[ethernet.HeaderLen:]); err != nil {
		panic(err)
	}
	return b
}

func reply(from inet.MAC, ip inet.Addr4) []byte {
	return arpFrame(macUs, Fields{Op: OpReply, SenderMAC: from, SenderIP: ip, TargetMAC: macUs, TargetIP: ipUs})
}

func request(from inet.MAC, ip, target inet.Addr4) []byte {
	return arpFrame(inet.BroadcastMAC, Fields{Op: OpRequest, SenderMAC: from, SenderIP: ip, TargetIP: target})
}

// wantARP checks that s is one ARP frame to dst with fields f.
func wantARP(t *testing.T, s sentFrame, dst inet.MAC, f Fields) {
	t.Helper()
	fr, err := ethernet.ParseFrame(s.b)
	if err != nil || fr.Type() != inet.EtherTypeARP || fr.Dst() != dst || fr.Src() != macUs {
		t.Fatalf("frame % x: want ARP to %v from %v", s.b, dst, macUs)
	}
	p, err := ParsePacket(fr.Payload())
	if err != nil {
		t.Fatalf("sent bad ARP: %v", err)
	}
	if got := p.Fields(); got != f {
		t.Fatalf("sent ARP %+v\nwant     %+v", got, f)
	}
}

// wantIPv4 checks that s is an IPv4 frame to dst carrying payload p.
func wantIPv4(t *testing.T, s sentFrame, dst inet.MAC, p []byte) {
	t.Helper()
	fr, err := ethernet.ParseFrame(s.b)
	if err != nil || fr.Type() != inet.EtherTypeIPv4 || fr.Dst() != dst || string(fr.Payload()) != string(p) {
		t.Fatalf("frame % x: want IPv4 to %v with % x", s.b, dst, p)
	}
}

// newBuf returns a Buf with n payload bytes and the layer's headroom.
func newBuf(h *harness, n int) *pkt.Buf {
	b := pkt.New(h.arp.Headroom()+n, h.arp.Headroom())
	b.Append(n)
	return b
}
