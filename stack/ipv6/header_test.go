package ipv6

import (
	"bytes"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

// goldenEcho is an ICMPv6 echo request Linux sent (ping -6 -s 16 ::1),
// captured on lo: IPv6 header with flow label 0x54f83, then 64 bytes.
var goldenEcho = []byte{
	0x60, 0x05, 0x4f, 0x83, 0x00, 0x40, 0x3a, 0x40, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0x00, 0x65, 0x05, 0x7f, 0x47, 0x00, 0x01,
	0x08, 0x77, 0x17, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xb7, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
}

func TestGoldenHeader(t *testing.T) {
	h, err := ParseHeader(append(bytes.Clone(goldenEcho), 0, 0, 0)) // with padding
	if err != nil {
		t.Fatal(err)
	}
	want := Fields{TrafficClass: 0, FlowLabel: 0x54f83, PayloadLen: 64, NextHeader: inet.ProtoICMPv6, HopLimit: 64,
		Src: inet.IPv6Loopback, Dst: inet.IPv6Loopback}
	if got := h.Fields(); got != want || len(h) != len(goldenEcho) || len(h.Payload()) != 64 {
		t.Fatalf("Fields() = %+v, len %d", got, len(h))
	}
	b := make([]byte, HeaderLen)
	if n, err := want.Encode(b); n != HeaderLen || err != nil || !bytes.Equal(b, goldenEcho[:HeaderLen]) || want.Len() != HeaderLen {
		t.Errorf("Encode = %x, %v", b, err)
	}
	// Traffic class straddles two bytes.
	f := Fields{TrafficClass: 0xb8, FlowLabel: 0xfffff | 1<<20, Src: ourAddr, Dst: peerAddr}
	f.Encode(b)
	if b[0] != 0x6b || b[1] != 0x8f || Header(b).TrafficClass() != 0xb8 || Header(b).FlowLabel() != 0xfffff {
		t.Errorf("traffic class / flow label: %x", b[:4])
	}
	if _, err := f.Encode(b[:39]); err != inet.ErrBufTooSmall {
		t.Error("short buffer accepted")
	}
}

func TestParseErrors(t *testing.T) {
	bad := bytes.Clone(goldenEcho)
	bad[0] = 0x45
	long := bytes.Clone(goldenEcho)
	long[5]++
	for _, c := range []struct {
		b   []byte
		err error
	}{{goldenEcho[:39], ErrShort}, {bad, ErrVersion}, {long, ErrLength}} {
		if _, err := ParseHeader(c.b); err != c.err {
			t.Errorf("ParseHeader: %v, want %v", err, c.err)
		}
	}
	// Quoted packets may be cut short, but not inside the header.
	if q, err := ParseQuoted(goldenEcho[:50]); err != nil || len(q) != 50 {
		t.Errorf("ParseQuoted truncated: %v", err)
	}
	if q, err := ParseQuoted(append(bytes.Clone(goldenEcho), 1, 2)); err != nil || len(q) != len(goldenEcho) {
		t.Errorf("ParseQuoted trims: %v %d", err, len(q))
	}
	if _, err := ParseQuoted(goldenEcho[:39]); err != ErrShort {
		t.Error("ParseQuoted short")
	}
}

// Extension headers, byte for byte both ways (the bytes cross-checked
// with Wireshark's dissector in TestExtHeadersTshark).
func TestGoldenExtHeaders(t *testing.T) {
	// Hop-by-Hop with Router Alert (MLD), as in an MLDv2 report: next
	// header ICMPv6, length 0, RA option 05 02 00 00, PadN of 2.
	hbh := []byte{0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00}
	of := OptionsFields{NextHeader: inet.ProtoICMPv6, Options: []byte{OptRouterAlert, 2, 0, 0}}
	b := make([]byte, 16)
	if n, err := of.Encode(b); n != 8 || err != nil || !bytes.Equal(b[:8], hbh) {
		t.Errorf("hop-by-hop encode %x", b[:n])
	}
	oh, err := ParseOptionsHeader(append(bytes.Clone(hbh), 9, 9))
	if err != nil || len(oh) != 8 || oh.NextHeader() != inet.ProtoICMPv6 {
		t.Fatalf("parse hop-by-hop: %v", err)
	}
	it := Iter(oh.Options())
	typ, data, off, ok := it.Next()
	if !ok || typ != OptRouterAlert || !bytes.Equal(data, []byte{0, 0}) || off != 0 {
		t.Errorf("first option %d %x %d", typ, data, off)
	}
	if typ, data, off, ok = it.Next(); !ok || typ != OptPadN || len(data) != 0 || off != 4 {
		t.Errorf("padding %d %x %d", typ, data, off)
	}
	if _, _, _, ok = it.Next(); ok || it.Err() != nil {
		t.Error("past the end")
	}
	// Pad1 fills one byte; 5 bytes of options take PadN of 1.
	for _, c := range []struct {
		opts []byte
		want []byte
	}{
		{[]byte{0x1e, 3, 1, 2, 3}, []byte{59, 0, 0x1e, 3, 1, 2, 3, 0}},
		{[]byte{0x1e, 2, 1, 2}, []byte{59, 0, 0x1e, 2, 1, 2, 1, 0}},
		{[]byte{0x1e, 6, 1, 2, 3, 4, 5, 6}, []byte{59, 1, 0x1e, 6, 1, 2, 3, 4, 5, 6, 1, 4, 0, 0, 0, 0}},
	} {
		f := OptionsFields{NextHeader: inet.ProtoNoNext, Options: c.opts}
		if n, _ := f.Encode(b); !bytes.Equal(b[:n], c.want) {
			t.Errorf("padding %x: %x, want %x", c.opts, b[:n], c.want)
		}
	}
	// Routing header type 0 with one address, segments left 1.
	rh0 := cat([]byte{0x11, 0x02, 0x00, 0x01, 0, 0, 0, 0}, sl(ourAddr))
	rf := RoutingFields{NextHeader: inet.ProtoUDP, RoutingType: 0, SegmentsLeft: 1, Data: cat([]byte{0, 0, 0, 0}, sl(ourAddr))}
	b = make([]byte, 24)
	if n, err := rf.Encode(b); n != 24 || err != nil || !bytes.Equal(b, rh0) {
		t.Errorf("routing encode %x %v", b, err)
	}
	rh, err := ParseRoutingHeader(rh0)
	if err != nil || rh.RoutingType() != 0 || rh.SegmentsLeft() != 1 || rh.NextHeader() != inet.ProtoUDP || len(rh.Data()) != 20 {
		t.Errorf("routing parse %v", err)
	}
	if got := rh.Fields(); got.SegmentsLeft != 1 || !bytes.Equal(got.Data, rf.Data) {
		t.Errorf("routing Fields %+v", got)
	}
	if _, err := (&RoutingFields{Data: []byte{1}}).Encode(b); err != ErrExtLen {
		t.Error("routing header of 5 bytes encoded")
	}
	// Fragment header: UDP, offset 1448, M set, ID 0xdeadbeef.
	fhb := []byte{0x11, 0x00, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef}
	ff := FragmentFields{NextHeader: inet.ProtoUDP, Offset: 1448, More: true, ID: 0xdeadbeef}
	if n, err := ff.Encode(b); n != 8 || err != nil || !bytes.Equal(b[:8], fhb) {
		t.Errorf("fragment encode %x", b[:8])
	}
	fh, err := ParseFragmentHeader(fhb)
	if err != nil || fh.Fields() != ff || fh.IsAtomic() {
		t.Errorf("fragment parse %+v %v", fh.Fields(), err)
	}
	atomic := []byte{0x11, 0, 0, 0, 0, 0, 0, 1}
	if fh, _ := ParseFragmentHeader(atomic); !fh.IsAtomic() {
		t.Error("atomic fragment not seen")
	}
	// Truncated headers.
	if _, err := ParseOptionsHeader(hbh[:7]); err != ErrExtShort {
		t.Error("short options header")
	}
	if _, err := ParseRoutingHeader(rh0[:23]); err != ErrExtShort {
		t.Error("short routing header")
	}
	if _, err := ParseFragmentHeader(fhb[:7]); err != ErrExtShort {
		t.Error("short fragment header")
	}
	if _, err := ParseOptionsHeader([]byte{1}); err != ErrExtShort {
		t.Error("1-byte options header")
	}
	// A malformed option: length past the header.
	it = Iter([]byte{0x1e, 9, 0})
	if _, _, _, ok := it.Next(); ok || it.Err() != ErrBadOption {
		t.Error("option past the end accepted")
	}
}

// Extension headers Linux sent on a TAP (TestKernelPing6's capture): an
// MLDv2 report behind a Hop-by-Hop header with Router Alert, and the
// first fragment of a 1600-byte echo request.
var (
	linuxMLDv2Report = []byte{
		0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01, 0xfe, 0x80, 0, 0, 0, 0, 0, 0,
		0x9c, 0xca, 0xb6, 0xff, 0xfe, 0xab, 0x0a, 0x90, 0xff, 0x02, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x16, 0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
		0x8f, 0x00, 0x08, 0xc8, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0xff, 0x02, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0xab, 0x0a, 0x90,
	}
	linuxFirstFragment = []byte{ // the IPv6 header, the Fragment header, 8 bytes of ICMPv6
		0x60, 0x00, 0x4c, 0xfb, 0x05, 0xb0, 0x2c, 0x40, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x77, 0x00, 0x00,
		0x9c, 0xca, 0xb6, 0xff, 0xfe, 0xab, 0x0a, 0x90, 0xfd, 0x00, 0x01, 0x99, 0x00, 0x77, 0x00, 0x00,
		0x30, 0x58, 0xe7, 0xff, 0xfe, 0x8c, 0x57, 0xad, 0x3a, 0x00, 0x00, 0x01, 0x86, 0x28, 0x19, 0x5d,
		0x80, 0x00, 0x8a, 0x26, 0x33, 0x1d, 0x00, 0x01,
	}
)

func TestGoldenLinuxExtHeaders(t *testing.T) {
	h, err := ParseHeader(linuxMLDv2Report)
	if err != nil || h.NextHeader() != inet.ProtoHopByHop || h.HopLimit() != 1 || h.Dst() != inet.IPv6AllMLDv2 {
		t.Fatalf("MLDv2 report: %v %+v", err, h.Fields())
	}
	oh, err := ParseOptionsHeader(h.Payload())
	if err != nil || len(oh) != 8 || oh.NextHeader() != inet.ProtoICMPv6 {
		t.Fatalf("hop-by-hop: %v", err)
	}
	it := Iter(oh.Options())
	if typ, data, _, ok := it.Next(); !ok || typ != OptRouterAlert || len(data) != 2 || data[0] != 0 || data[1] != RouterAlertMLD {
		t.Errorf("router alert %x %x", typ, data)
	}
	// Our encoder writes the same header for the same option.
	f := OptionsFields{NextHeader: inet.ProtoICMPv6, Options: []byte{OptRouterAlert, 2, 0, RouterAlertMLD}}
	b := make([]byte, 8)
	if f.Encode(b); !bytes.Equal(b, oh) {
		t.Errorf("encoded %x, Linux %x", b, []byte(oh))
	}
	if proto, off, ok := UpperLayer(h, 8); !ok || proto != inet.ProtoICMPv6 || off != 48 || h[off] != 143 {
		t.Errorf("upper layer %d at %d", proto, off)
	}
	// The whole packet through the layer: ICMPv6 delivered with its
	// Router Alert accepted, to ff02::16 once joined.
	e := newEnv(t, Config{})
	must(t, e.l.JoinGroupLocked(inet.IPv6AllMLDv2))
	e.input(peerMAC, inet.MulticastMAC(inet.IPv6AllMLDv2), linuxMLDv2Report)
	if len(e.ic6.got) != 1 || e.ic6.got[0].payload[0] != 143 || e.ic6.got[0].p.TTL != 1 {
		t.Errorf("MLDv2 report not delivered: %+v", e.l.StatsLocked())
	}

	q, err := ParseQuoted(linuxFirstFragment)
	if err != nil || q.NextHeader() != inet.ProtoFragment || q.PayloadLen() != 1456 || q.FlowLabel() != 0x04cfb {
		t.Fatalf("fragment: %v %+v", err, q.Fields())
	}
	fh, err := ParseFragmentHeader(q.Payload())
	want := FragmentFields{NextHeader: inet.ProtoICMPv6, Offset: 0, More: true, ID: 0x8628195d}
	if err != nil || fh.Fields() != want || fh.IsAtomic() {
		t.Errorf("fragment header %+v", fh.Fields())
	}
	if want.Encode(b); !bytes.Equal(b, fh) {
		t.Errorf("encoded %x, Linux %x", b, []byte(fh))
	}
	if proto, off, ok := UpperLayer(q, 8); !ok || proto != inet.ProtoICMPv6 || off != 48 {
		t.Errorf("upper layer of the first fragment: %d at %d", proto, off)
	}
}
