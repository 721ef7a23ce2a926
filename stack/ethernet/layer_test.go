package ethernet

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

type got struct {
	n        int
	src, dst inet.MAC
	payload  []byte
}

func newTestLayer() (*Layer, *fakeDev, *got) {
	d := &fakeDev{mac: macGuest, headroom: 12, record: true}
	l := New(d)
	g := &got{}
	l.Register(inet.EtherTypeARP, func(src, dst inet.MAC, p []byte, _ netif.RxMeta) {
		g.n++
		g.src, g.dst, g.payload = src, dst, append([]byte(nil), p...)
	})
	return l, d, g
}

func frame(dst, src inet.MAC, etype uint16, payload ...byte) []byte {
	b := make([]byte, HeaderLen+len(payload))
	(&Fields{Dst: dst, Src: src, Type: etype}).Encode(b)
	copy(b[HeaderLen:], payload)
	return b
}

func TestInputDispatchAndDrops(t *testing.T) {
	mcast := inet.MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	tests := []struct {
		name      string
		in        []byte
		multicast bool
		delivered bool
		want      Stats
	}{
		{"broadcast arp", arpRequest, false, true, Stats{RxFrames: 1, RxDelivered: 1}},
		{"unicast to us", frame(macGuest, macHost, inet.EtherTypeARP, 1, 2), false, true, Stats{RxFrames: 1, RxDelivered: 1}},
		{"unicast to other", frame(macHost, macGuest, inet.EtherTypeARP), false, false, Stats{RxFrames: 1, RxNotForUs: 1}},
		{"group not joined", frame(mcast, macHost, inet.EtherTypeARP), false, false, Stats{RxFrames: 1, RxNotForUs: 1}},
		{"group joined", frame(mcast, macHost, inet.EtherTypeARP), true, true, Stats{RxFrames: 1, RxDelivered: 1}},
		{"runt", arpRequest[:10], false, false, Stats{RxFrames: 1, RxRunt: 1}},
		{"unknown type", frame(macGuest, macHost, inet.EtherTypeIPv6), false, false, Stats{RxFrames: 1, RxUnknownType: 1}},
		{"802.3 length", frame(macGuest, macHost, 0x0040), false, false, Stats{RxFrames: 1, RxUnknownType: 1}},
		{"vlan", frame(macGuest, macHost, inet.EtherTypeVLAN, 0, 5, 8, 6), false, false, Stats{RxFrames: 1, RxVLAN: 1}},
		{"qinq", frame(macGuest, macHost, inet.EtherTypeQinQ, 0, 5, 8, 6), false, false, Stats{RxFrames: 1, RxVLAN: 1}},
		{"multicast source", frame(macGuest, mcast, inet.EtherTypeARP), false, false, Stats{RxFrames: 1, RxBadSource: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _, g := newTestLayer()
			if tc.multicast {
				l.JoinGroup(mcast)
			}
			l.Input(tc.in, netif.RxMeta{})
			if (g.n == 1) != tc.delivered {
				t.Fatalf("delivered %d times, want %v", g.n, tc.delivered)
			}
			if s := l.StatsLocked(); s != tc.want {
				t.Fatalf("stats %+v, want %+v", s, tc.want)
			}
			if tc.delivered {
				f, _ := ParseFrame(tc.in)
				if g.src != f.Src() || g.dst != f.Dst() || !bytes.Equal(g.payload, f.Payload()) {
					t.Fatalf("handler got src %v dst %v payload % x", g.src, g.dst, g.payload)
				}
			}
		})
	}
}

func TestRegisterReplaceAndRemove(t *testing.T) {
	l, _, g := newTestLayer()
	n2 := 0
	l.Register(inet.EtherTypeARP, func(src, dst inet.MAC, p []byte, _ netif.RxMeta) { n2++ })
	l.Input(arpRequest, netif.RxMeta{})
	if g.n != 0 || n2 != 1 {
		t.Fatalf("replaced handler: old %d new %d", g.n, n2)
	}
	l.Register(inet.EtherTypeARP, nil)
	l.Input(arpRequest, netif.RxMeta{})
	if n2 != 1 || l.StatsLocked().RxUnknownType != 1 {
		t.Fatalf("after unregister: calls %d stats %+v", n2, l.StatsLocked())
	}
}

func TestWriteGolden(t *testing.T) {
	l, d, _ := newTestLayer()
	if l.Headroom() != 12+HeaderLen || l.MTU() != 1500 || l.MAC() != macGuest {
		t.Fatalf("headroom %d mtu %d mac %v", l.Headroom(), l.MTU(), l.MAC())
	}
	b := pkt.New(100, l.Headroom())
	copy(b.Append(28), arpRequest[HeaderLen:])
	if err := l.Write(inet.BroadcastMAC, inet.EtherTypeARP, b); err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(arpRequest)
	copy(want[6:12], macGuest[:])
	if len(d.sent) != 1 || !bytes.Equal(d.sent[0], want) {
		t.Fatalf("sent % x\nwant % x", d.sent, want)
	}
	if b.Headroom() != 12 {
		t.Fatalf("driver headroom left %d, want 12", b.Headroom())
	}
	if s := l.StatsLocked(); s.TxFrames != 1 || s.TxErrors != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestWriteErrors(t *testing.T) {
	l, d, _ := newTestLayer()
	if err := l.Write(macHost, inet.EtherTypeIPv4, pkt.New(10, 4)); !errors.Is(err, pkt.ErrNoHeadroom) {
		t.Fatalf("short headroom: err %v", err)
	}
	d.err = netif.ErrBusy
	if err := l.Write(macHost, inet.EtherTypeIPv4, pkt.New(100, l.Headroom())); !errors.Is(err, netif.ErrBusy) {
		t.Fatalf("busy: err %v", err)
	}
	if s := l.StatsLocked(); s.TxErrors != 2 || s.TxFrames != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNoAllocs(t *testing.T) {
	d := &fakeDev{mac: macGuest}
	l := New(d)
	l.Register(inet.EtherTypeARP, func(src, dst inet.MAC, p []byte, _ netif.RxMeta) {})
	b := pkt.New(200, l.Headroom())
	if n := testing.AllocsPerRun(100, func() { l.Input(arpRequest, netif.RxMeta{}) }); n != 0 {
		t.Errorf("Input allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		b.Reset(l.Headroom())
		b.Append(60)
		_ = l.Write(macHost, inet.EtherTypeIPv4, b)
	}); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}
