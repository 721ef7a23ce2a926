package dhcp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden builds a BOOTP frame in the layout of RFC 2131 Figure 1 from hex
// fields, with chaddr 00:0b:82:01:fc:42, empty sname/file, the magic
// cookie and the given options, padded to 300 bytes.
func golden(t testing.TB, opHtypeHlenHops, xid, ciaddr, yiaddr, siaddr, opts string) []byte {
	t.Helper()
	b := unhex(t, opHtypeHlenHops+xid+"0000 0000"+ciaddr+yiaddr+siaddr+"00000000"+"000b8201fc42"+strings.Repeat("00", 10))
	b = append(b, make([]byte, 64+128)...)
	b = append(b, unhex(t, "63825363"+opts)...)
	return append(b, make([]byte, 300-len(b))...)
}

// The four messages of the Wireshark sample capture dhcp.pcap: a client
// 00:0b:82:01:fc:42 getting 192.168.0.10 from server 192.168.0.1.
func discoverFrame(t testing.TB) []byte {
	return golden(t, "01010600", "00003d1d", "00000000", "00000000", "00000000",
		"350101 3d0701000b8201fc42 320400000000 3704 0103062a ff")
}

func offerFrame(t testing.TB) []byte {
	return golden(t, "02010600", "00003d1d", "00000000", "c0a8000a", "c0a80001",
		"350102 0104ffffff00 3a0400000708 3b0400000c4e 330400000e10 3604c0a80001 ff")
}

func requestFrame(t testing.TB) []byte {
	return golden(t, "01010600", "00003d1e", "00000000", "00000000", "00000000",
		"350103 3d0701000b8201fc42 3204c0a8000a 3604c0a80001 3704 0103062a ff")
}

func ackFrame(t testing.TB) []byte {
	return golden(t, "02010600", "00003d1e", "00000000", "c0a8000a", "00000000",
		"350105 3a0400000708 3b0400000c4e 330400000e10 3604c0a80001 0104ffffff00 ff")
}

var sampleMAC = [16]byte{0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42}

func clientID() []byte { return []byte{1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42} }

func u32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func addr(s string) []byte { a := inet.MustParseAddr4(s); return a[:] }

func TestGoldenEncode(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want []byte
	}{
		{"discover", Message{Op: OpRequest, HType: 1, HLen: 6, XID: 0x3d1d, CHAddr: sampleMAC, Options: Options{
			{OptMessageType, []byte{1}}, {OptClientID, clientID()}, {OptRequestedIP, addr("0.0.0.0")}, {OptParamRequest, []byte{1, 3, 6, 42}},
		}}, discoverFrame(t)},
		{"offer", Message{Op: OpReply, HType: 1, HLen: 6, XID: 0x3d1d, YIAddr: inet.MustParseAddr4("192.168.0.10"), SIAddr: inet.MustParseAddr4("192.168.0.1"), CHAddr: sampleMAC, Options: Options{
			{OptMessageType, []byte{2}}, {OptSubnetMask, addr("255.255.255.0")}, {OptRenewalTime, u32(1800)}, {OptRebindingTime, u32(3150)},
			{OptLeaseTime, u32(3600)}, {OptServerID, addr("192.168.0.1")},
		}}, offerFrame(t)},
		{"request", Message{Op: OpRequest, HType: 1, HLen: 6, XID: 0x3d1e, CHAddr: sampleMAC, Options: Options{
			{OptMessageType, []byte{3}}, {OptClientID, clientID()}, {OptRequestedIP, addr("192.168.0.10")}, {OptServerID, addr("192.168.0.1")},
			{OptParamRequest, []byte{1, 3, 6, 42}},
		}}, requestFrame(t)},
		{"ack", Message{Op: OpReply, HType: 1, HLen: 6, XID: 0x3d1e, YIAddr: inet.MustParseAddr4("192.168.0.10"), CHAddr: sampleMAC, Options: Options{
			{OptMessageType, []byte{5}}, {OptRenewalTime, u32(1800)}, {OptRebindingTime, u32(3150)}, {OptLeaseTime, u32(3600)},
			{OptServerID, addr("192.168.0.1")}, {OptSubnetMask, addr("255.255.255.0")},
		}}, ackFrame(t)},
	}
	for _, tt := range tests {
		if got := encode(&tt.m); !bytes.Equal(got, tt.want) {
			t.Errorf("%s:\n got %x\nwant %x", tt.name, got, tt.want)
		}
	}
}

func TestGoldenParse(t *testing.T) {
	d, err := ParseMessage(discoverFrame(t))
	if err != nil {
		t.Fatal(err)
	}
	if d.Op != OpRequest || d.XID != 0x3d1d || d.Type() != Discover || d.CHAddr != sampleMAC || d.HLen != 6 {
		t.Errorf("discover = %+v", d)
	}
	if id, _ := d.Options.Get(OptClientID); !bytes.Equal(id, clientID()) {
		t.Errorf("client id = %x", id)
	}
	o, err := ParseMessage(offerFrame(t))
	if err != nil {
		t.Fatal(err)
	}
	if o.Type() != Offer || o.YIAddr != inet.MustParseAddr4("192.168.0.10") || o.SIAddr != inet.MustParseAddr4("192.168.0.1") {
		t.Errorf("offer = %+v", o)
	}
	r, err := ParseMessage(requestFrame(t))
	if err != nil {
		t.Fatal(err)
	}
	if ip, _ := r.Options.Addr(OptRequestedIP); r.Type() != Request || ip != inet.MustParseAddr4("192.168.0.10") {
		t.Errorf("request = %+v", r)
	}
	a, err := ParseMessage(ackFrame(t))
	if err != nil {
		t.Fatal(err)
	}
	l, ok := leaseFrom(a, testStart, inet.Addr4{})
	want := Lease{Addr: inet.Prefix4{Addr: inet.MustParseAddr4("192.168.0.10"), Bits: 24}, LeaseTime: 3600e9, T1: 1800e9, T2: 3150e9,
		Server: inet.MustParseAddr4("192.168.0.1"), Start: testStart}
	if !ok || !leaseEqual(l, want) {
		t.Errorf("lease = %+v, want %+v", l, want)
	}
	// Without the padding to 300 bytes it parses too.
	if _, err := ParseMessage(ackFrame(t)[:240+34]); err != nil {
		t.Errorf("unpadded ack: %v", err)
	}
}

func TestParseDuplicatesAndOverload(t *testing.T) {
	// Option 6 split in two TLVs is concatenated (RFC 3396); option 52 = 1
	// puts the message type and lease time in the file field.
	b := golden(t, "02010600", "00000001", "00000000", "0a00020f", "00000000",
		"0604 0a000203 0604 0a000204 340101 ff")
	file := unhex(t, "350105 330400000e10 ff")
	copy(b[fileOff:], file)
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if dns := m.Options.Addrs(OptDNS); len(dns) != 2 || dns[1] != inet.MustParseAddr4("10.0.2.4") {
		t.Errorf("dns = %v", dns)
	}
	if lt, _ := m.Options.Uint32(OptLeaseTime); m.Type() != Ack || lt != 3600 {
		t.Errorf("type %d lease %d: overloaded file not parsed", m.Type(), lt)
	}
	// Long options are split on encode and joined on decode.
	long := bytes.Repeat([]byte("x"), 300)
	m = &Message{Op: OpRequest, Options: Options{{OptHostname, long}}}
	enc := encode(m)
	if _, err := m.Encode(enc[:len(enc)-1]); err != inet.ErrBufTooSmall {
		t.Fatalf("short buffer: %v", err)
	}
	m, err = ParseMessage(enc)
	if h, _ := m.Options.Get(OptHostname); err != nil || !bytes.Equal(h, long) {
		t.Errorf("long option: %v, %d bytes", err, len(h))
	}
}

func TestParseMalformed(t *testing.T) {
	ok := discoverFrame(t)
	opts := func(hex string) []byte {
		return golden(t, "02010600", "00000001", "00000000", "00000000", "00000000", hex)[:240+len(unhex(t, hex))]
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"short header", ok[:239], ErrShort},
		{"empty", nil, ErrShort},
		{"bad magic", append(append([]byte{}, ok[:236]...), 0x63, 0x82, 0x53, 0x64, 0xff), ErrMagic},
		{"hlen 17", append([]byte{2, 1, 17}, ok[3:]...), ErrHLen},
		{"length beyond end", opts("350105 3304 0000"), ErrOptionTruncated},
		{"code without length", opts("350105 33"), ErrOptionTruncated},
		{"missing end", opts("350105 330400000e10"), ErrNoEnd},
		{"missing end after pad", opts("350105 0000"), ErrNoEnd},
		{"no options at all", ok[:240], ErrNoEnd},
		{"zero-length message type", opts("3500 ff"), ErrOptionLength},
		{"message type 9", opts("350109 ff"), ErrOptionLength},
		{"zero-length server id", opts("350105 3600 ff"), ErrOptionLength},
		{"lease time 3 bytes", opts("350105 3303000e10 ff"), ErrOptionLength},
		{"router 6 bytes", opts("350105 0306 0a0002020a00 ff"), ErrOptionLength},
		{"zero-length DNS", opts("350105 0600 ff"), ErrOptionLength},
		{"NTP 5 bytes", opts("350105 2a05 0a0002020a ff"), ErrOptionLength},
		{"MTU 67", opts("350105 1a020043 ff"), ErrOptionLength},
		{"overload 4", opts("350105 340104 ff"), ErrOptionLength},
		{"zero-length client id", opts("350101 3d00 ff"), ErrOptionLength},
	}
	for _, tt := range tests {
		m, err := ParseMessage(tt.b)
		if !errors.Is(err, tt.want) || m != nil {
			t.Errorf("%s: ParseMessage = %v, %v; want %v", tt.name, m, err, tt.want)
		}
	}
	// A truncated option inside an overloaded sname field is caught too.
	b := golden(t, "02010600", "00000001", "00000000", "00000000", "00000000", "350105 340102 ff")
	b[snameOff+62], b[snameOff+63] = 0x33, 0x04
	if _, err := ParseMessage(b); !errors.Is(err, ErrOptionTruncated) {
		t.Errorf("overloaded sname: %v", err)
	}
}

func TestLeaseDefaults(t *testing.T) {
	m := &Message{YIAddr: inet.MustParseAddr4("172.16.5.9"), Options: Options{
		{OptLeaseTime, u32(800)}, {OptRenewalTime, u32(900)}, {OptSubnetMask, addr("255.0.255.0")},
	}}
	l, ok := leaseFrom(m, testStart, inet.MustParseAddr4("172.16.0.1"))
	// T1 beyond the lease is ignored (RFC 2131 §4.4.5 defaults); a
	// non-contiguous mask falls back to the classful /16.
	if !ok || l.T1 != 400e9 || l.T2 != 700e9 || l.Addr.Bits != 16 || l.Server != inet.MustParseAddr4("172.16.0.1") {
		t.Errorf("lease = %+v", l)
	}
	m.Options.Add(OptLeaseTime, u32(0xffffffff))
	if l, ok = leaseFrom(m, testStart, inet.Addr4{}); !ok || l.LeaseTime != Infinite || !l.Expiry().IsZero() {
		t.Errorf("infinite lease = %+v", l)
	}
	m.Options = Options{}
	if _, ok = leaseFrom(m, testStart, inet.Addr4{}); ok {
		t.Errorf("lease without lease time accepted")
	}
}

func leaseEqual(a, b Lease) bool {
	if !slices.Equal(a.DNS, b.DNS) || !slices.Equal(a.NTP, b.NTP) {
		return false
	}
	a.DNS, b.DNS, a.NTP, b.NTP = nil, nil, nil, nil
	return a.Addr == b.Addr && a.Router == b.Router && a.MTU == b.MTU && a.LeaseTime == b.LeaseTime &&
		a.T1 == b.T1 && a.T2 == b.T2 && a.Server == b.Server && a.Start.Equal(b.Start)
}

func TestLeaseRejectsUnusableAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr, mask string
		ok         bool
	}{
		{"10.0.2.15", "255.255.255.0", true},
		{"10.0.2.0", "255.255.255.0", false},   // the subnet's network address
		{"10.0.2.255", "255.255.255.0", false}, // the subnet's broadcast
		{"0.1.2.3", "255.0.0.0", false},        // this-network (0/8)
		{"240.1.2.3", "255.0.0.0", false},      // class E
		{"192.168.1.0", "255.255.255.254", true},
		{"192.168.1.1", "255.255.255.255", true},
	} {
		m := &Message{YIAddr: inet.MustParseAddr4(tc.addr), Options: Options{
			{OptLeaseTime, u32(3600)}, {OptSubnetMask, addr(tc.mask)},
		}}
		if _, ok := leaseFrom(m, testStart, inet.MustParseAddr4("10.0.2.2")); ok != tc.ok {
			t.Errorf("lease of %s/%s accepted %v, want %v", tc.addr, tc.mask, ok, tc.ok)
		}
	}
}

// encode returns m's encoding (Len bytes).
func encode(m *Message) []byte {
	b := make([]byte, m.Len())
	if n, err := m.Encode(b); err != nil || n != len(b) {
		panic("dhcp: Encode failed")
	}
	if !bytes.Equal(m.appendTo(nil), b) { // Len is exact
		panic("dhcp: Len disagrees with the encoding")
	}
	return b
}
