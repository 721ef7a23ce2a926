package stacktest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/arp"
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/icmp"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv4"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/tcp"
)

// FuzzLimits returns cfg with every resource bound the Oracle checks set
// explicitly, and small, so that a fuzzer can reach them: 8 ARP entries
// and 4 queued packets (2 per address), 16 KiB and 4 datagrams of IPv4
// reassembly, 16 KiB, 8 KiB per packet and 4 packets of IPv6
// reassembly, 4 path MTU entries, 4 half-open connections per listener,
// 8 in TIME_WAIT, 1 MiB of TCP buffers, 4 KiB of UDP receive queue per
// socket.
func FuzzLimits(cfg stack.Config) stack.Config {
	cfg.ARP.CacheSize, cfg.ARP.PendingPerAddr, cfg.ARP.PendingTotal = 8, 2, 4
	cfg.IPv4.ReasmMemory, cfg.IPv4.ReasmDatagrams = 16<<10, 4
	cfg.IPv6.ReasmMemory, cfg.IPv6.ReasmPacketMemory, cfg.IPv6.ReasmPackets, cfg.IPv6.PMTUEntries = 16<<10, 8<<10, 4, 4
	cfg.TCP.MaxHalfOpen, cfg.TCP.MaxTimeWait, cfg.TCP.MaxMemory = 4, 8, 1<<20
	cfg.UDP.RecvBuffer = 4 << 10
	return cfg
}

// Oracle judges a stack under fuzzing after each input, the same way for
// every whole-stack fuzz target (stack's FuzzStackInput, test/hostile's
// FuzzInput and frame torture):
//
//   - everything it sent parses with the stack's own parsers and every
//     checksum holds (CheckFrames);
//   - its resource gauges are within their configured bounds (Bounds);
//   - it is still alive: it answers a fresh ICMP echo request from the
//     peer with the same identifier, sequence number and data (and an
//     ICMPv6 one when IP6 is set), a SYN to a listening port with a
//     SYN-ACK, and a SYN to a closed port with an RST (RFC 9293
//     §3.10.7.1).
//
// The Oracle speaks as Peer, an on-link host, through Inject, and reads
// what the stack sent through Take.
type Oracle struct {
	Stack *stack.Stack
	// Config is what the stack was built with; the ARP, IPv4 and UDP
	// bounds must be set explicitly (FuzzLimits). TCP's come from the
	// layer's effective configuration.
	Config  stack.Config
	MAC     inet.MAC   // the stack's
	IP      inet.Addr4 // the stack's
	PeerMAC inet.MAC
	PeerIP  inet.Addr4
	// IP6 is one of the stack's IPv6 addresses and PeerIP6 the peer's,
	// on the same link (the zero Addr: no IPv6 probe). Until Neighbor
	// Discovery resolves it, PeerIP6 must be the peer MAC's EUI-64
	// address (stacktest.EUI64).
	IP6, PeerIP6 inet.Addr
	// Inject hands a frame to the stack.
	Inject func(frame []byte)
	// Take returns the frames the stack sent since the last call.
	Take func() [][]byte
	// Advance moves the stack's virtual clock forward.
	Advance func(time.Duration)
	// Listeners are the stack's TCP listening ports; the SYN probe goes
	// to the first. ClosedPort has neither listener nor connection (0:
	// no RST probe).
	Listeners  []uint16
	ClosedPort uint16

	probe uint16 // probes sent: identifiers, ports and data differ
}

// Check runs the oracle; call it after each fuzz input (and whatever
// virtual time the target lets pass). It fails t with what went wrong.
func (o *Oracle) Check(t testing.TB) {
	t.Helper()
	o.sent(t, "after the input")
	if err := o.Bounds(); err != nil {
		t.Fatal(err)
	}
	o.ping(t)
	if o.IP6 != (inet.Addr{}) {
		o.ping6(t)
	}
	if len(o.Listeners) > 0 {
		o.synProbe(t, o.Listeners[0], true)
	}
	if o.ClosedPort != 0 {
		o.synProbe(t, o.ClosedPort, false)
	}
	if err := o.Bounds(); err != nil {
		t.Fatal("after the probes: ", err)
	}
}

// sent takes and checks what the stack sent.
func (o *Oracle) sent(t testing.TB, when string) []Sent {
	t.Helper()
	c := NewFrameChecker(o.MAC, o.IP)
	c.SetIPv6(o.addrs6()...)
	var out []Sent
	for i, f := range o.Take() {
		s, err := c.Add(f)
		if err != nil {
			t.Fatalf("%s: frame %d sent: %v", when, i+1, err)
		}
		out = append(out, s)
	}
	if err := c.Pending(); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	return out
}

// addrs6 are the stack's IPv6 addresses.
func (o *Oracle) addrs6() []inet.Addr {
	l := o.Stack.Locker()
	l.Lock()
	defer l.Unlock()
	ip := o.Stack.LayersLocked().IPv6
	if ip == nil {
		return nil
	}
	var out []inet.Addr
	for _, a := range ip.AddrsLocked(nil) {
		out = append(out, a.Prefix.Addr)
	}
	return out
}

// Bounds checks the stack's gauges against the configured bounds.
func (o *Oracle) Bounds() error {
	c := o.Config
	if c.ARP.CacheSize == 0 || c.ARP.PendingTotal == 0 || c.IPv4.ReasmMemory == 0 || c.IPv4.ReasmDatagrams == 0 || c.UDP.RecvBuffer == 0 ||
		c.IPv6.ReasmMemory == 0 || c.IPv6.ReasmPackets == 0 || c.IPv6.PMTUEntries == 0 {
		return fmt.Errorf("oracle: the stack's ARP, IPv4 and IPv6 reassembly, path MTU and UDP bounds must be set explicitly (stacktest.FuzzLimits)")
	}
	st := o.Stack.Stats()
	tc := o.Stack.TCP().Config()
	var bad []string
	check := func(what string, v, limit int) {
		if v > limit {
			bad = append(bad, fmt.Sprintf("%s %d > %d", what, v, limit))
		}
	}
	check("ARP cache entries", st.ARP.CacheSize, c.ARP.CacheSize)
	check("ARP queued packets", st.ARP.Pending, c.ARP.PendingTotal)
	check("IPv4 reassembly bytes", int(st.IP.ReasmMemory), c.IPv4.ReasmMemory)
	check("IPv4 partial datagrams", int(st.IP.ReasmPending), c.IPv4.ReasmDatagrams)
	check("IPv6 reassembly bytes", int(st.IPv6.ReasmMemory), c.IPv6.ReasmMemory)
	check("IPv6 partial packets", int(st.IPv6.ReasmPending), c.IPv6.ReasmPackets)
	check("IPv6 path MTU entries", int(st.IPv6.PMTUEntries), c.IPv6.PMTUEntries)
	check("TCP half-open connections", st.TCP.States[tcp.SynReceived], max(1, len(o.Listeners))*tc.MaxHalfOpen)
	check("TCP connections in TIME_WAIT", st.TCP.States[tcp.TimeWait], tc.MaxTimeWait)
	check("TCP buffer bytes", st.TCP.Memory, tc.MaxMemory)
	// Each socket's ring holds at most RecvBuffer; the pool keeps at most
	// one free block per power-of-two size class up to RecvBuffer.
	check("UDP receive queue bytes", st.UDP.RecvMemory, int(st.UDP.OpenSockets)*c.UDP.RecvBuffer)
	check("UDP pooled bytes", st.UDP.PoolMemory, 2*c.UDP.RecvBuffer)
	if bad != nil {
		return fmt.Errorf("bounds broken: %v", bad)
	}
	return nil
}

// exchange injects f and returns the checked frames the stack sent in
// response. If the stack has to resolve the peer first (its ARP entry
// was evicted or poisoned by the input), the oracle answers as the peer,
// also letting a second pass of virtual time run its retries.
func (o *Oracle) exchange(t testing.TB, f []byte, done func([]Sent) bool) ([]Sent, bool) {
	t.Helper()
	o.Inject(f)
	all := o.sent(t, "answering a probe")
	for round := 0; round < 3 && !done(all); round++ {
		// Answer as the peer: a reply to a request, or (for a request the
		// stack sent before the probe and will not repeat within its
		// interval) a reply all the same, which resolves the pending
		// entry.
		o.Inject(o.arpReply())
		if o.IP6 != (inet.Addr{}) {
			o.Inject(o.neighborAdvert())
		}
		all = append(all, o.sent(t, "answering a probe")...)
		if done(all) {
			break
		}
		o.Advance(1100 * time.Millisecond) // RFC 1122 §2.3.2.1: 1 request/s per address
		all = append(all, o.sent(t, "answering a probe")...)
	}
	return all, done(all)
}

func (o *Oracle) ping(t testing.TB) {
	t.Helper()
	o.probe++
	id, seq := uint16(0x0ace), o.probe
	data := fmt.Appendf(nil, "oracle probe %d", o.probe)
	m := make([]byte, icmp.HeaderLen+len(data))
	(&icmp.Fields{Type: icmp.TypeEchoRequest, Rest: icmp.Echo(id, seq), Body: data}).Encode(m)
	_, ok := o.exchange(t, o.ipFrame(inet.ProtoICMP, m), func(s []Sent) bool {
		for _, x := range s {
			if x.ICMP != nil && x.IP.Dst() == o.PeerIP && x.ICMP.Type() == icmp.TypeEchoReply &&
				x.ICMP.ID() == id && x.ICMP.Seq() == seq && bytes.Equal(x.ICMP.Body(), data) {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("the stack is not alive: no echo reply to ping %d from %v (stats %+v)", seq, o.PeerIP, o.Stack.Stats())
	}
}

func (o *Oracle) ping6(t testing.TB) {
	t.Helper()
	o.probe++
	id, seq := uint16(0x6ace), o.probe
	data := fmt.Appendf(nil, "oracle IPv6 probe %d", o.probe)
	m := make([]byte, icmpv6.HeaderLen+len(data))
	(&icmpv6.Fields{Type: icmpv6.TypeEchoRequest, Rest: icmpv6.Echo(id, seq), Body: data}).Encode(m)
	icmpv6.SetChecksum(m, o.PeerIP6, o.IP6, 0, 0)
	_, ok := o.exchange(t, o.ip6Frame(inet.ProtoICMPv6, m), func(s []Sent) bool {
		for _, x := range s {
			if x.ICMPv6 != nil && x.IP6.Dst() == o.PeerIP6 && x.IP6.Src() == o.IP6 && x.ICMPv6.Type() == icmpv6.TypeEchoReply &&
				x.ICMPv6.ID() == id && x.ICMPv6.Seq() == seq && bytes.Equal(x.ICMPv6.Body(), data) {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("the stack is not alive: no ICMPv6 echo reply to ping %d from %v (stats %+v)", seq, o.PeerIP6, o.Stack.Stats().IPv6)
	}
}

// ip6Frame wraps an upper-layer message from the peer to the stack's IP6.
func (o *Oracle) ip6Frame(proto uint8, payload []byte) []byte {
	f := make([]byte, ethernet.HeaderLen+ipv6.HeaderLen+len(payload))
	(&ethernet.Fields{Dst: o.MAC, Src: o.PeerMAC, Type: inet.EtherTypeIPv6}).Encode(f)
	(&ipv6.Fields{PayloadLen: uint16(len(payload)), NextHeader: proto, HopLimit: 64, Src: o.PeerIP6, Dst: o.IP6}).Encode(f[ethernet.HeaderLen:])
	copy(f[ethernet.HeaderLen+ipv6.HeaderLen:], payload)
	return f
}

// neighborAdvert is the peer's unsolicited Neighbor Advertisement of
// PeerIP6 with its MAC (override set), to the stack: what resolves the
// peer for the stack's Neighbor Discovery, like arpReply for ARP.
func (o *Oracle) neighborAdvert() []byte {
	m := make([]byte, 32)
	m[0] = icmpv6.TypeNeighborAdvert
	m[4] = 0x60 // solicited, override (RFC 4861 §4.4)
	a := o.PeerIP6.As16()
	copy(m[8:24], a[:])
	m[24], m[25] = 2, 1 // target link-layer address option (RFC 4861 §4.6.1)
	copy(m[26:32], o.PeerMAC[:])
	icmpv6.SetChecksum(m, o.PeerIP6, o.IP6, 0, 0)
	f := o.ip6Frame(inet.ProtoICMPv6, m)
	f[ethernet.HeaderLen+7] = 255 // hop limit 255 (RFC 4861 §7.1.2)
	return f
}

// synProbe sends a SYN to port and expects a SYN-ACK (listening) or an
// RST (closed) acknowledging it. A SYN-ACK is answered with an RST, so
// that probes leave no half-open connection behind.
func (o *Oracle) synProbe(t testing.TB, port uint16, listening bool) {
	t.Helper()
	o.probe++
	sport, iss := 20000+o.probe%40000, uint32(o.probe)*7919
	f := tcp.Fields{SrcPort: sport, DstPort: port, Seq: iss, Flags: tcp.FlagSYN, Window: 65535}
	opts := []byte{2, 4, 0x05, 0xb4} // MSS 1460
	want := uint8(tcp.FlagSYN | tcp.FlagACK)
	if !listening {
		want = tcp.FlagRST | tcp.FlagACK
	}
	_, ok := o.exchange(t, o.ipFrame(inet.ProtoTCP, o.segment(f, opts)), func(s []Sent) bool {
		for _, x := range s {
			if x.TCP != nil && x.IP != nil && x.IP.Dst() == o.PeerIP && x.TCP.SrcPort() == port && x.TCP.DstPort() == sport &&
				x.TCP.Flags()&(tcp.FlagSYN|tcp.FlagACK|tcp.FlagRST) == want && x.TCP.Ack() == iss+1 {
				return true
			}
		}
		return false
	})
	if !ok {
		what := "SYN-ACK from listening"
		if !listening {
			what = "RST from closed"
		}
		t.Fatalf("the stack is not alive: no %s port %d to a SYN from %v:%d (stats %+v)", what, port, o.PeerIP, sport, o.Stack.Stats().TCP)
	}
	if listening {
		rst := tcp.Fields{SrcPort: sport, DstPort: port, Seq: iss + 1, Flags: tcp.FlagRST}
		o.Inject(o.ipFrame(inet.ProtoTCP, o.segment(rst, nil)))
		o.sent(t, "after the RST ending a probe")
	}
}

// segment encodes a TCP segment from the peer to the stack, checksum
// included.
func (o *Oracle) segment(f tcp.Fields, opts []byte) []byte {
	b := make([]byte, tcp.HeaderLen+len(opts))
	f.Options = opts
	f.Encode(b)
	s := checksum.Pseudo(inet.AddrFrom4(o.PeerIP), inet.AddrFrom4(o.IP), inet.ProtoTCP, len(b))
	binary.BigEndian.PutUint16(b[16:], checksum.Checksum(b, s))
	return b
}

// ipFrame wraps a transport message from the peer to the stack.
func (o *Oracle) ipFrame(proto uint8, payload []byte) []byte {
	f := make([]byte, ethernet.HeaderLen+ipv4.HeaderLen+len(payload))
	(&ethernet.Fields{Dst: o.MAC, Src: o.PeerMAC, Type: inet.EtherTypeIPv4}).Encode(f)
	(&ipv4.Fields{TotalLen: uint16(ipv4.HeaderLen + len(payload)),
		ID: o.probe, TTL: 64, Protocol: proto, Src: o.PeerIP, Dst: o.IP}).Encode(f[ethernet.HeaderLen:])
	copy(f[ethernet.HeaderLen+ipv4.HeaderLen:], payload)
	return f
}

// arpReply is the peer's ARP reply to the stack.
func (o *Oracle) arpReply() []byte {
	f := make([]byte, ethernet.HeaderLen+arp.PacketLen)
	(&ethernet.Fields{Dst: o.MAC, Src: o.PeerMAC, Type: inet.EtherTypeARP}).Encode(f)
	(&arp.Fields{Op: arp.OpReply, SenderMAC: o.PeerMAC, SenderIP: o.PeerIP, TargetMAC: o.MAC, TargetIP: o.IP}).Encode(f[ethernet.HeaderLen:])
	return f
}
