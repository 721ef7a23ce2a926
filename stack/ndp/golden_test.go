package ndp

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"reflect"
	"testing"

	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
)

// Golden frames from linux-nd.pcap (testdata/linux-nd.sh): Linux 6.x as
// the host H (52:54:00:12:34:56) and as the router R (radvd,
// 52:54:00:00:00:01), N (52:54:00:00:00:02) the better first hop.
var (
	// goldenDADNS is H's DAD probe for its link-local address, with the
	// enhanced DAD nonce (RFC 7527) (frame 7).
	goldenDADNS = "3333ff12345652540012345686dd6000000000203aff00000000000000000000000000000000ff0200000000000000000001ff123456870050f000000000fe80000000000000505400fffe1234560e01cdc7ac16eb2a"
	// goldenRS is H's router solicitation (frame 14).
	goldenRS = "33330000000252540012345686dd6000000000103afffe80000000000000505400fffe123456ff020000000000000000000000000002850071b5000000000101525400123456"
	// goldenRA is radvd's advertisement (frame 18): prefix, RDNSS, MTU,
	// source link-layer address, preference high.
	goldenRA = "33330000000152540000000186dd600d960500683afffe80000000000000505400fffe000001ff0200000000000000000000000000018600997a4008070800007530000003e8030440c000015180000038400000000020010db800010000000000000000000019050000000004b020010db800010000000000000000005320010db800010000000000000000005405010000000005780101525400000001"
	// goldenNS is R resolving H's global address (frame 35).
	goldenNS = "3333ff12345652540000000186dd6000000000203afffe80000000000000505400fffe000001ff0200000000000000000001ff1234568700f3940000000020010db800010000505400fffe1234560101525400000001"
	// goldenNA is H's answer (frame 36): solicited, override, target
	// link-layer address.
	goldenNA = "52540000000152540012345686dd6000000000203aff20010db800010000505400fffe123456fe80000000000000505400fffe0000018800de236000000020010db800010000505400fffe1234560201525400123456"
	// goldenRedirect is R redirecting H's ping to 2001:db8:2::1 to N
	// (frame 37), with the redirected header.
	goldenRedirect = "52540012345652540000000186dd6000000000a03afffe80000000000000505400fffe00000120010db800010000505400fffe1234568900f51300000000fe80000000000000505400fffe00000220010db80002000000000000000000010201525400000002040e000000000000600713be00403a4020010db800010000505400fffe12345620010db80002000000000000000000018000fdec1e3b00013a75176b0000000065760e0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637"
	// goldenUnicastNS is R's reachability probe of H (frame 41).
	goldenUnicastNS = "52540012345652540000000186dd6000000000203afffe80000000000000505400fffe000001fe80000000000000505400fffe1234568700d2fd00000000fe80000000000000505400fffe1234560101525400000001"
	// goldenProbeNA is H's answer to it: solicited, no option (frame 42).
	goldenProbeNA = "52540000000152540012345686dd6000000000183afffe80000000000000505400fffe123456fe80000000000000505400fffe0000018800e55b40000000fe80000000000000505400fffe123456"
)

var (
	macH  = inet.MAC{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	macR  = inet.MAC{0x52, 0x54, 0x00, 0x00, 0x00, 0x01}
	macN  = inet.MAC{0x52, 0x54, 0x00, 0x00, 0x00, 0x02}
	llH   = addr("fe80::5054:ff:fe12:3456")
	llR   = addr("fe80::5054:ff:fe00:1")
	llN   = addr("fe80::5054:ff:fe00:2")
	globH = addr("2001:db8:1:0:5054:ff:fe12:3456")
)

func addr(s string) inet.Addr { return inet.AddrFromNetip(netip.MustParseAddr(s)) }

// icmpOf returns the ICMPv6 message of a golden Ethernet frame carrying
// an IPv6 packet with no extension header, and its addresses.
func icmpOf(t *testing.T, frameHex string) (src, dst inet.Addr, m []byte) {
	t.Helper()
	f, err := hex.DecodeString(frameHex)
	if err != nil {
		t.Fatal(err)
	}
	ip := f[14:]
	if ip[6] != inet.ProtoICMPv6 || ip[7] != 255 {
		t.Fatalf("not ICMPv6 with hop limit 255: % x", ip[:8])
	}
	src, dst = inet.AddrFrom16([16]byte(ip[8:24])), inet.AddrFrom16([16]byte(ip[24:40]))
	m = ip[40:]
	if !icmpv6.Message(m).ValidChecksum(src, dst) {
		t.Fatal("golden checksum does not verify")
	}
	return src, dst, m
}

// opts encodes options back to back.
func opts(os ...interface {
	Len() int
	Encode([]byte) (int, error)
}) []byte {
	var b []byte
	for _, o := range os {
		p := make([]byte, o.Len())
		if _, err := o.Encode(p); err != nil {
			panic(err)
		}
		b = append(b, p...)
	}
	return b
}

// encoder is a message Fields.
type encoder interface {
	Len() int
	Encode([]byte) (int, error)
}

// checkEncode encodes f, sets the checksum for src->dst and compares
// with want.
func checkEncode(t *testing.T, f encoder, src, dst inet.Addr, want []byte) {
	t.Helper()
	b := make([]byte, f.Len())
	n, err := f.Encode(b)
	if err != nil || n != len(b) {
		t.Fatalf("Encode: %d, %v", n, err)
	}
	icmpv6.SetChecksum(b, src, dst, 0, 0)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded\n% x\nwant\n% x", b, want)
	}
	if _, err := f.Encode(b[:len(b)-1]); err != inet.ErrBufTooSmall {
		t.Fatalf("short buffer: %v", err)
	}
}

func TestGoldenNS(t *testing.T) {
	for _, tc := range []struct {
		name, frame string
		want        NSFields
	}{
		{"DAD with nonce", goldenDADNS, NSFields{llH, opts(&NonceFields{[6]byte{0xcd, 0xc7, 0xac, 0x16, 0xeb, 0x2a}})}},
		{"multicast resolution", goldenNS, NSFields{globH, opts(&LinkAddrFields{OptSourceLinkAddr, macR})}},
		{"unicast probe", goldenUnicastNS, NSFields{llH, opts(&LinkAddrFields{OptSourceLinkAddr, macR})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst, m := icmpOf(t, tc.frame)
			v, err := ParseNS(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Fields(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parsed %+v\nwant   %+v", got, tc.want)
			}
			checkEncode(t, &tc.want, src, dst, m)
		})
	}
}

func TestGoldenNA(t *testing.T) {
	for _, tc := range []struct {
		name, frame string
		want        NAFields
	}{
		{"solicited with TLLA", goldenNA, NAFields{Solicited: true, Override: true, Target: globH, Options: opts(&LinkAddrFields{OptTargetLinkAddr, macH})}},
		{"probe answer", goldenProbeNA, NAFields{Solicited: true, Target: llH, Options: []byte{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst, m := icmpOf(t, tc.frame)
			v, err := ParseNA(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Fields(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parsed %+v\nwant   %+v", got, tc.want)
			}
			checkEncode(t, &tc.want, src, dst, m)
		})
	}
}

func TestGoldenRS(t *testing.T) {
	src, dst, m := icmpOf(t, goldenRS)
	v, err := ParseRS(m)
	if err != nil {
		t.Fatal(err)
	}
	want := RSFields{opts(&LinkAddrFields{OptSourceLinkAddr, macH})}
	if got := v.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	checkEncode(t, &want, src, dst, m)
}

func TestGoldenRA(t *testing.T) {
	src, dst, m := icmpOf(t, goldenRA)
	v, err := ParseRA(m)
	if err != nil {
		t.Fatal(err)
	}
	pi := PrefixInfoFields{64, true, true, 86400, 14400, addr("2001:db8:1::")}
	rd := RDNSSFields{1200, []inet.Addr{addr("2001:db8:1::53"), addr("2001:db8:1::54")}}
	mtu := MTUFields{1400}
	sll := LinkAddrFields{OptSourceLinkAddr, macR}
	want := RAFields{CurHopLimit: 64, Flags: 1 << 3, RouterLifetime: 1800, ReachableTime: 30000, RetransTimer: 1000,
		Options: opts(&pi, &rd, &mtu, &sll)}
	if got := v.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v\nwant   %+v", got, want)
	}
	if v.Preference() != 1 || v.Flags()&(FlagManaged|FlagOther) != 0 {
		t.Fatalf("preference %d, flags %#x", v.Preference(), v.Flags())
	}
	checkEncode(t, &want, src, dst, m)

	// The options, each through its own view.
	o := v.Options()
	var op Option
	op, o = o.Next()
	p, err := ParsePrefixInfo(op)
	if err != nil || p.Fields() != pi {
		t.Fatalf("prefix %+v, %v", p.Fields(), err)
	}
	op, o = o.Next()
	r, err := ParseRDNSS(op)
	if err != nil || !reflect.DeepEqual(r.Fields(), rd) {
		t.Fatalf("rdnss %+v, %v", r.Fields(), err)
	}
	op, o = o.Next()
	mo, err := ParseMTU(op)
	if err != nil || mo.Fields() != mtu {
		t.Fatalf("mtu %+v, %v", mo.Fields(), err)
	}
	op, o = o.Next()
	l, err := ParseLinkAddr(op)
	if err != nil || l.Fields() != sll || len(o) != 0 {
		t.Fatalf("slla %+v, %v, %d left", l.Fields(), err, len(o))
	}
}

func TestGoldenRedirect(t *testing.T) {
	src, dst, m := icmpOf(t, goldenRedirect)
	v, err := ParseRedirect(m)
	if err != nil {
		t.Fatal(err)
	}
	o := v.Options()
	_, o = o.Next()
	op, _ := o.Next()
	rh, err := ParseRedirectedHeader(op)
	if err != nil || len(rh.Packet()) != 104 || rh.Packet()[0] != 0x60 {
		t.Fatalf("redirected header: %d bytes, %v", len(rh.Packet()), err)
	}
	want := RedirectFields{Target: llN, Dest: addr("2001:db8:2::1"),
		Options: opts(&LinkAddrFields{OptTargetLinkAddr, macN}, &RedirectedHeaderFields{rh.Packet()})}
	if got := v.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("parsed %+v\nwant   %+v", got, want)
	}
	checkEncode(t, &want, src, dst, m)
}
