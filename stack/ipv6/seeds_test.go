package ipv6

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
)

// The fuzz seed corpora under testdata/fuzz are written by this test
// when MIRAGO_WRITE_SEEDS=1 (go test -run TestWriteFuzzSeeds), from the
// same builders the unit tests use; otherwise it checks that every seed
// it would write is there, unchanged.

var (
	fzOurAddr = inet.MustParseAddr("2001:db8::15")
	fzOurLL   = inet.MustParseAddr("fe80::1")
	fzPeer    = inet.MustParseAddr("2001:db8::2")
	fzPeerLL  = inet.MustParseAddr("fe80::2")
)

// icmp6 is an ICMPv6 message of type typ (body after the 4 bytes of
// rest) in a packet from src to dst with the checksum right.
func icmp6(src, dst inet.Addr, typ, code uint8, rest uint32, body []byte) []byte {
	m := make([]byte, 8+len(body))
	m[0], m[1] = typ, code
	binary.BigEndian.PutUint32(m[4:], rest)
	copy(m[8:], body)
	binary.BigEndian.PutUint16(m[2:], checksum.Checksum(m, checksum.Pseudo(src, dst, inet.ProtoICMPv6, len(m))))
	return packet(Fields{NextHeader: inet.ProtoICMPv6, Src: src, Dst: dst, HopLimit: 255}, m)
}

// rec is one record of FuzzIPv6Input: flags 0x8000 (advance the clock
// 10s after it), 0x4000 (a multicast frame).
func rec(flags uint16, p []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, flags|uint16(len(p)))
	return append(b, p...)
}

func inputSeeds() map[string][]byte {
	u := func(src, dst inet.Addr, nh uint8, chain []byte) []byte {
		return packet(Fields{NextHeader: nh, Src: src, Dst: dst}, chain)
	}
	d := udpWhole(1400)
	fr := func(id uint32, off, end int, more bool) []byte {
		return u(fzPeer, fzOurAddr, inet.ProtoFragment, frag(inet.ProtoUDP, off, more, id, d[off:end]))
	}
	rh0 := cat([]byte{inet.ProtoUDP, 2, 0, 1, 0, 0, 0, 0}, sl(fzPeer), udpBody("x"))
	ours := u(fzOurAddr, fzPeer, inet.ProtoUDP, udpBody("sent by us"))
	snm := inet.SolicitedNode(fzOurAddr)
	ns := icmp6(inet.IPv6Unspecified, snm, 135, 0, 0, sl(fzOurAddr))
	mld := packet(Fields{NextHeader: inet.ProtoHopByHop, Src: fzPeerLL, Dst: inet.IPv6AllMLDv2, HopLimit: 1},
		cat(ext(inet.ProtoICMPv6, OptRouterAlert, 2, 0, 0), icmp6(fzPeerLL, inet.IPv6AllMLDv2, 143, 0, 0, nil)[40:]))
	dopts := func(n int) []byte {
		var b []byte
		for range n - 1 {
			b = append(b, ext(inet.ProtoDestOpts)...)
		}
		return append(b, ext(inet.ProtoUDP)...)
	}
	return map[string][]byte{
		"echo":           rec(0, icmp6(fzPeer, fzOurAddr, 128, 0, 0x00070001, seq(56))),
		"echo_all_nodes": rec(0x4000, icmp6(fzPeerLL, inet.IPv6AllNodes, 128, 0, 0x00070002, seq(8))),
		"udp":            rec(0, u(fzPeer, fzOurAddr, inet.ProtoUDP, udpBody("hello"))),
		"udp_link_local": rec(0, u(fzPeerLL, fzOurLL, inet.ProtoUDP, udpBody("hello"))),
		"fragments":      cat(rec(0, fr(1, 1232, len(d), false)), rec(0, fr(1, 0, 1232, true)), rec(0, fr(1, 0, 1232, true))),
		"overlap":        cat(rec(0, fr(2, 0, 1232, true)), rec(0, fr(2, 1224, len(d), false)), rec(0, fr(2, 1232, len(d), false))),
		"fragment_timeout": cat(rec(0x8000, fr(3, 0, 1232, true)), rec(0x8000, fr(3, 1232, 1240, true)),
			rec(0x8000, []byte{}), rec(0x8000, []byte{}), rec(0x8000, []byte{}), rec(0x8000, []byte{})),
		"tiny_fragment":     rec(0, fr(4, 0, 100, true)),
		"incomplete_chain":  rec(0, u(fzPeer, fzOurAddr, inet.ProtoFragment, frag(inet.ProtoTCP, 0, true, 5, seq(8)))),
		"nested_fragment":   rec(0, u(fzPeer, fzOurAddr, inet.ProtoFragment, frag(inet.ProtoFragment, 0, false, 6, frag(inet.ProtoUDP, 0, false, 7, udpBody("x"))))),
		"atomic_fragment":   rec(0, u(fzPeer, fzOurAddr, inet.ProtoFragment, frag(inet.ProtoUDP, 0, false, 8, udpBody("atomic")))),
		"rh0":               rec(0, u(fzPeer, fzOurAddr, inet.ProtoRouting, rh0)),
		"unknown_option_10": rec(0x4000, u(fzPeerLL, inet.IPv6AllNodes, inet.ProtoDestOpts, cat(ext(inet.ProtoUDP, 0x9e, 0), udpBody("x")))),
		"unknown_option_11": rec(0, u(fzPeer, fzOurAddr, inet.ProtoHopByHop, cat(ext(inet.ProtoUDP, 0xde, 0), udpBody("x")))),
		"jumbo":             rec(0, u(fzPeer, fzOurAddr, inet.ProtoHopByHop, cat(ext(inet.ProtoUDP, OptJumbo, 4, 0, 1, 0, 0), udpBody("x")))),
		"hbh_not_first":     rec(0, u(fzPeer, fzOurAddr, inet.ProtoDestOpts, cat(ext(inet.ProtoHopByHop), ext(inet.ProtoUDP), udpBody("x")))),
		"nine_headers":      rec(0, u(fzPeer, fzOurAddr, inet.ProtoDestOpts, cat(dopts(9), udpBody("x")))),
		"unknown_next":      rec(0, u(fzPeer, fzOurAddr, 99, seq(8))),
		"no_next":           rec(0, u(fzPeer, fzOurAddr, inet.ProtoNoNext, nil)),
		"mld_report":        rec(0x4000, mld),
		"dad_ns":            rec(0x4000, ns),
		"ptb":               cat(rec(0, icmp6(fzPeer, fzOurAddr, 2, 0, 1400, ours)), rec(0, icmp6(fzPeer, fzOurAddr, 2, 0, 1000, ours))),
		"port_unreachable":  rec(0, icmp6(fzPeer, fzOurAddr, 1, 4, 0, ours)),
		"from_multicast":    rec(0, u(inet.IPv6AllRouters, fzOurAddr, inet.ProtoUDP, udpBody("x"))),
	}
}

func headerSeeds() map[string][]byte {
	return map[string][]byte{
		"linux_echo": goldenEcho,
		"chain": packet(Fields{NextHeader: inet.ProtoHopByHop, Src: fzPeer, Dst: fzOurAddr},
			cat(ext(inet.ProtoDestOpts, OptRouterAlert, 2, 0, 0), ext(inet.ProtoRouting, 0x9e, 1, 0),
				[]byte{inet.ProtoFragment, 2, 0, 0, 0, 0, 0, 0}, sl(fzPeer), frag(inet.ProtoUDP, 8, true, 7, seq(16)))),
		"quoted_short": goldenEcho[:48],
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	write := os.Getenv("MIRAGO_WRITE_SEEDS") == "1"
	for target, seeds := range map[string]map[string][]byte{"FuzzIPv6Input": inputSeeds(), "FuzzParseHeader": headerSeeds()} {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, b := range seeds {
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			path := filepath.Join(dir, name)
			if write {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s: missing or stale (MIRAGO_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds rewrites it): %v", path, err)
			}
		}
	}
}
