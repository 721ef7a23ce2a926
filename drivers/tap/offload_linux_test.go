package tap

import (
	"encoding/binary"
	"testing"

	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

func vnetHdr(flags, gso uint8, hdrLen, gsoSize, start, off uint16) []byte {
	h := make([]byte, vnetHdrLen)
	ne := binary.NativeEndian
	h[0], h[1] = flags, gso
	ne.PutUint16(h[2:], hdrLen)
	ne.PutUint16(h[4:], gsoSize)
	ne.PutUint16(h[6:], start)
	ne.PutUint16(h[8:], off)
	return h
}

// TestRxMeta reads the header the kernel puts in front of a received
// frame into RxMeta, refusing what the TUNSETOFFLOAD flags did not ask
// for.
func TestRxMeta(t *testing.T) {
	all := tunFCsum | tunFTSO4 | tunFTSO6
	for _, tc := range []struct {
		name   string
		tunOff int
		hdr    []byte
		l      int
		meta   netif.RxMeta
		ok     bool
	}{
		{"plain", all, vnetHdr(0, vnetGSONone, 0, 0, 0, 0), 60, netif.RxMeta{}, true},
		{"partial checksum", all, vnetHdr(vnetFlagNeedsCsum, vnetGSONone, 0, 0, 34, 16), 60, netif.RxMeta{CsumVerified: true}, true},
		{"partial checksum past the end", all, vnetHdr(vnetFlagNeedsCsum, vnetGSONone, 0, 0, 34, 16), 51, netif.RxMeta{}, false},
		{"verified", all, vnetHdr(vnetFlagDataValid, vnetGSONone, 0, 0, 0, 0), 60, netif.RxMeta{CsumVerified: true}, true},
		{"checksum not asked for", 0, vnetHdr(vnetFlagNeedsCsum, vnetGSONone, 0, 0, 34, 16), 60, netif.RxMeta{}, false},
		{"TSO4", all, vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv4, 66, 1448, 34, 16), 30000, netif.RxMeta{CsumVerified: true, SegSize: 1448}, true},
		{"TSO6", all, vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv6, 86, 1428, 54, 16), 30000, netif.RxMeta{CsumVerified: true, SegSize: 1428}, true},
		{"TSO4 not asked for", tunFCsum, vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv4, 66, 1448, 34, 16), 30000, netif.RxMeta{}, false},
		{"TSO with no segment size", all, vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv4, 66, 0, 34, 16), 30000, netif.RxMeta{}, false},
		{"ECN", all, vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv4|vnetGSOECN, 66, 1448, 34, 16), 30000, netif.RxMeta{}, false},
		{"UDP", all, vnetHdr(vnetFlagNeedsCsum, 3, 42, 1472, 34, 6), 30000, netif.RxMeta{}, false},
	} {
		d := &Device{vnet: true, tunOff: tc.tunOff}
		meta, ok := d.rxMeta(tc.hdr, tc.l)
		if ok != tc.ok || ok && meta != tc.meta {
			t.Errorf("%s: rxMeta = %+v, %v; want %+v, %v", tc.name, meta, ok, tc.meta, tc.ok)
		}
	}
	plain := &Device{}
	if m, ok := plain.rxMeta(nil, 60); !ok || m != (netif.RxMeta{}) {
		t.Errorf("without a header: %+v, %v", m, ok)
	}
}

func TestOffloadsFollowTunFlags(t *testing.T) {
	full := netif.Offloads{TxChecksum: true, TSO4Max: 65535, TSO6Max: 65575, RxChecksum: true, LargeReceive: maxFrame}
	for _, tc := range []struct {
		vnet   bool
		tunOff int
		want   netif.Offloads
	}{
		{true, tunFCsum | tunFTSO4 | tunFTSO6, full},
		{true, tunFCsum, netif.Offloads{TxChecksum: true, RxChecksum: true}},
		{true, 0, netif.Offloads{TxChecksum: true}},
		{false, 0, netif.Offloads{}},
	} {
		if got := offloads(tc.vnet, tc.tunOff); got != tc.want {
			t.Errorf("offloads(%v, %#x) = %+v, want %+v", tc.vnet, tc.tunOff, got, tc.want)
		}
	}
}

func TestPutVnetHdr(t *testing.T) {
	b := pkt.New(200, 100)
	b.Prepend(20)
	b.Attach(make([]byte, 5000))
	b.SetPartialChecksum(16)
	b.SetGSO(pkt.GSOTCPv4, 1448, 20)
	b.Prepend(34)
	h := make([]byte, vnetHdrLen)
	putVnetHdr(h, b.Offload(), b.Len())
	if want := vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv4, 54, 1448, 34, 16); string(h) != string(want) {
		t.Errorf("TSO header % x, want % x", h, want)
	}
	// One segment's worth: no GSO.
	putVnetHdr(h, b.Offload(), 54+1448)
	if want := vnetHdr(vnetFlagNeedsCsum, vnetGSONone, 0, 0, 34, 16); string(h) != string(want) {
		t.Errorf("single-segment header % x, want % x", h, want)
	}
	putVnetHdr(h, pkt.Offload{}, 60)
	if string(h) != string(make([]byte, vnetHdrLen)) {
		t.Errorf("plain header % x", h)
	}
}

// FuzzRxMeta reads arbitrary virtio-net headers: no panic, and metadata
// only for what the TUNSETOFFLOAD flags asked for and within the frame.
func FuzzRxMeta(f *testing.F) {
	f.Add(vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv4, 66, 1448, 34, 16), uint16(30000), uint8(7))
	f.Add(vnetHdr(vnetFlagDataValid, vnetGSONone, 0, 0, 0, 0), uint16(60), uint8(1))
	f.Add(vnetHdr(vnetFlagNeedsCsum, vnetGSOTCPv6|vnetGSOECN, 86, 1428, 54, 16), uint16(9000), uint8(7))
	f.Add(vnetHdr(0xff, 0xff, 0xffff, 0xffff, 0xffff, 0xffff), uint16(65535), uint8(0))
	f.Fuzz(func(t *testing.T, h []byte, l uint16, tunOff uint8) {
		if len(h) < vnetHdrLen {
			return
		}
		d := &Device{vnet: true, tunOff: int(tunOff & 7)}
		m, ok := d.rxMeta(h[:vnetHdrLen], int(l))
		if !ok {
			return
		}
		if m.CsumVerified && d.tunOff&tunFCsum == 0 {
			t.Fatalf("%+v without TUN_F_CSUM", m)
		}
		if m.SegSize != 0 && d.tunOff&(tunFTSO4|tunFTSO6) == 0 {
			t.Fatalf("%+v without TSO", m)
		}
		if h[0]&vnetFlagNeedsCsum != 0 {
			ne := binary.NativeEndian
			if int(ne.Uint16(h[6:]))+int(ne.Uint16(h[8:]))+2 > int(l) {
				t.Fatalf("partial checksum outside a %d-byte frame accepted", l)
			}
		}
	})
}
