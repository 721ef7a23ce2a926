package ethernet

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

var (
	macGuest = inet.MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	macHost  = inet.MAC{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02}
)

// arpRequest is QEMU's slirp (10.0.2.2, 52:55:0a:00:02:02) asking who has
// 10.0.2.15, as captured on the wire (42 bytes, unpadded).
var arpRequest = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // dst: broadcast
	0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, // src
	0x08, 0x06, // ARP
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 10, 0, 2, 2,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10, 0, 2, 15,
}

func TestParseFrameGolden(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		err     error
		dst     inet.MAC
		src     inet.MAC
		etype   uint16
		payload int
		tagged  bool
	}{
		{"arp request", arpRequest, nil, inet.BroadcastMAC, macHost, inet.EtherTypeARP, 28, false},
		{"header only", arpRequest[:14], nil, inet.BroadcastMAC, macHost, inet.EtherTypeARP, 0, false},
		{"runt 13", arpRequest[:13], ErrRunt, inet.MAC{}, inet.MAC{}, 0, 0, false},
		{"empty", nil, ErrRunt, inet.MAC{}, inet.MAC{}, 0, 0, false},
		{"vlan", append(append(append([]byte{}, macGuest[:]...), macHost[:]...), 0x81, 0x00, 0x00, 0x05, 0x08, 0x00),
			nil, macGuest, macHost, inet.EtherTypeVLAN, 4, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFrame(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if f.Dst() != tc.dst || f.Src() != tc.src || f.Type() != tc.etype {
				t.Errorf("got dst %v src %v type %#04x, want %v %v %#04x", f.Dst(), f.Src(), f.Type(), tc.dst, tc.src, tc.etype)
			}
			if len(f.Payload()) != tc.payload || f.IsTagged() != tc.tagged {
				t.Errorf("payload %d tagged %v, want %d %v", len(f.Payload()), f.IsTagged(), tc.payload, tc.tagged)
			}
		})
	}
}

func TestEncodeHeaderGolden(t *testing.T) {
	b := make([]byte, HeaderLen)
	f := Fields{Dst: inet.BroadcastMAC, Src: macHost, Type: inet.EtherTypeARP}
	if n, err := f.Encode(b); n != HeaderLen || err != nil || f.Len() != HeaderLen {
		t.Fatalf("Encode = %d, %v", n, err)
	}
	if !bytes.Equal(b, arpRequest[:HeaderLen]) {
		t.Fatalf("header % x, want % x", b, arpRequest[:HeaderLen])
	}
	if got := Frame(arpRequest).Fields(); got != f {
		t.Fatalf("Fields() = %+v, want %+v", got, f)
	}
	short := []byte{1, 2, 3}
	if _, err := f.Encode(short); err != inet.ErrBufTooSmall {
		t.Fatalf("short buffer: %v", err)
	}
	if !bytes.Equal(short, []byte{1, 2, 3}) {
		t.Fatalf("short slice modified: % x", short)
	}
}
