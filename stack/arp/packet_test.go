package arp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/inet"
)

// goldenRequest is QEMU slirp (10.0.2.2, 52:55:0a:00:02:02) asking who has
// 10.0.2.15, as seen on the wire.
var goldenRequest = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x08, 0x06,
	0x00, 0x01, // hardware: Ethernet
	0x08, 0x00, // protocol: IPv4
	0x06, 0x04, // hlen, plen
	0x00, 0x01, // request
	0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 10, 0, 2, 2, // sender
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 2, 15, // target
}

// goldenReply is our answer to goldenRequest, padded to 60 bytes.
var goldenReply = []byte{
	0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15,
	0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 10, 0, 2, 2,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
}

// goldenAnnounce is our gratuitous request for 10.0.2.15 (RFC 5227 §2.3).
var goldenAnnounce = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 2, 15,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
}

var goldenFields = []struct {
	name  string
	frame []byte
	f     Fields
}{
	{"slirp request", goldenRequest, Fields{OpRequest, macGW, ipGW, inet.MAC{}, ipUs}},
	{"our reply", goldenReply, Fields{OpReply, macUs, ipUs, macGW, ipGW}},
	{"our announcement", goldenAnnounce, Fields{OpRequest, macUs, ipUs, inet.MAC{}, ipUs}},
}

func TestPacketGoldenBothWays(t *testing.T) {
	for _, tc := range goldenFields {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePacket(tc.frame[ethernet.HeaderLen:])
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Fields(); got != tc.f {
				t.Fatalf("parsed %+v, want %+v", got, tc.f)
			}
			if len(p) != PacketLen {
				t.Fatalf("view is %d bytes, want %d", len(p), PacketLen)
			}
			b := make([]byte, PacketLen)
			if _, err := tc.f.Encode(b); err != nil {
				t.Fatal(err)
			}
			if want := tc.frame[ethernet.HeaderLen : ethernet.HeaderLen+PacketLen]; !bytes.Equal(b, want) {
				t.Fatalf("encoded % x\nwant    % x", b, want)
			}
		})
	}
	if _, err := goldenFields[0].f.Encode(make([]byte, PacketLen-1)); !errors.Is(err, inet.ErrBufTooSmall) {
		t.Fatalf("short encode: %v", err)
	}
}

// malformed returns goldenRequest's ARP body with byte i set to v, cut to n
// bytes (n < 0: full length).
func malformed(i int, v byte, n int) []byte {
	b := bytes.Clone(goldenRequest[ethernet.HeaderLen:])
	if i >= 0 {
		b[i] = v
	}
	if n >= 0 {
		b = b[:n]
	}
	return b
}

func TestParsePacketErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, ErrShort},
		{"7 bytes", malformed(-1, 0, 7), ErrShort},
		{"27 bytes", malformed(-1, 0, 27), ErrShort},
		{"hardware 6", malformed(1, 6, -1), ErrHardwareType},
		{"hardware 0x0101", malformed(0, 1, -1), ErrHardwareType},
		{"protocol ipv6", malformed(2, 0x86, -1), ErrProtocolType},
		{"hlen 8", malformed(4, 8, -1), ErrHardwareLen},
		{"plen 16", malformed(5, 16, -1), ErrProtocolLen},
		{"hlen 8 short", malformed(4, 8, 10), ErrHardwareLen},
		{"op 0", malformed(7, 0, -1), ErrOp},
		{"op 3 (RARP)", malformed(7, 3, -1), ErrOp},
		{"op 0x0101", malformed(6, 1, -1), ErrOp},
		{"padded ok", append(malformed(-1, 0, -1), make([]byte, 18)...), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePacket(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && len(p) != PacketLen {
				t.Fatalf("view %d bytes", len(p))
			}
		})
	}
}

func TestIsGratuitous(t *testing.T) {
	p, _ := ParsePacket(goldenAnnounce[ethernet.HeaderLen:])
	q, _ := ParsePacket(goldenRequest[ethernet.HeaderLen:])
	if !p.IsGratuitous() || q.IsGratuitous() {
		t.Fatalf("announce %v request %v", p.IsGratuitous(), q.IsGratuitous())
	}
}
