package ipv6

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/inet"
)

// TestExtHeadersTshark writes the extension headers our encoders build
// into a capture and has Wireshark's dissector read them back: an
// independent check of the field layouts the golden tests fix.
func TestExtHeadersTshark(t *testing.T) {
	require.Commands(t, "tshark", "tshark")
	capture := filepath.Join(t.TempDir(), "ext.pcap")
	w, err := pcap.Create(capture, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(p []byte) []byte {
		f := make([]byte, 14+len(p))
		mac := inet.MulticastMAC(inet.IPv6AllNodes)
		copy(f, mac[:])
		copy(f[6:], peerMAC[:])
		f[12], f[13] = 0x86, 0xdd
		copy(f[14:], p)
		return f
	}
	rh := RoutingFields{NextHeader: inet.ProtoUDP, RoutingType: 0, SegmentsLeft: 1, Data: cat([]byte{0, 0, 0, 0}, sl(ourAddr))}
	rb := make([]byte, rh.Len())
	rh.Encode(rb)
	frames := [][]byte{
		// 1: Hop-by-Hop (Router Alert), Destination Options (an unknown
		// option of type 0x1e, padded), then UDP.
		packet(Fields{TrafficClass: 0xb8, FlowLabel: 0x12345, NextHeader: inet.ProtoHopByHop, Src: peerAddr, Dst: ourAddr},
			cat(ext(inet.ProtoDestOpts, OptRouterAlert, 2, 0, 0), ext(inet.ProtoUDP, 0x1e, 3, 1, 2, 3), udpBody("x"))),
		// 2: RH0 with one address, segments left 1.
		packet(Fields{NextHeader: inet.ProtoRouting, Src: peerAddr, Dst: ourAddr}, cat(rb, udpBody("y"))),
		// 3: a later fragment with M set.
		packet(Fields{NextHeader: inet.ProtoFragment, Src: peerAddr, Dst: ourAddr}, frag(inet.ProtoUDP, 1448, true, 0xdeadbeef, seq(16))),
	}
	for _, p := range frames {
		w.WriteFrame(time.Unix(0, 0), frame(p))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", capture, "-T", "fields", "-E", "separator=;",
		"-e", "ipv6.tclass", "-e", "ipv6.flow", "-e", "ipv6.plen", "-e", "ipv6.nxt",
		"-e", "ipv6.opt.type", "-e", "ipv6.opt.router_alert",
		"-e", "ipv6.routing.type", "-e", "ipv6.routing.segleft", "-e", "ipv6.routing.src.addr",
		"-e", "ipv6.fraghdr.offset", "-e", "ipv6.fraghdr.more", "-e", "ipv6.fraghdr.ident", "-e", "ipv6.fraghdr.nxt").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{
		// traffic class, flow label, 8+8+9 bytes, Hop-by-Hop; the option
		// types: Router Alert, PadN, 0x1e, Pad1; Router Alert value 0 (MLD).
		"0x000000b8;0x012345;25;0;0x05,0x01,0x1e,0x00;0;;;;;;;",
		// 24+9 bytes; routing type 0, segments left 1, the address.
		"0x00000000;0x000000;33;43;;;0;1;2001:db8::15;;;;",
		// 8+16 bytes; offset 1448/8 = 181, M, the ID, UDP.
		"0x00000000;0x000000;24;44;;;;;;181;1;0xdeadbeef;17",
	}
	if len(lines) != len(want) {
		t.Fatalf("tshark read %d frames:\n%s", len(lines), out)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("frame %d: tshark reads\n%s\nwant\n%s", i+1, lines[i], want[i])
		}
	}
}
