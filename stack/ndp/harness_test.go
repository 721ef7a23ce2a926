package ndp

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/ethernet"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// macUs is our MAC in these tests; llUs its EUI-64 link-local address.
var (
	macUs = macH
	llUs  = llH
)

type sentFrame struct {
	at time.Time
	b  []byte
}

// fakeDev is a netif.Device recording transmitted frames.
type fakeDev struct {
	clk    *clock.Virtual
	record bool
	sent   []sentFrame
	mtu    int
}

func (d *fakeDev) MAC() inet.MAC            { return macUs }
func (d *fakeDev) MTU() int                 { return d.mtu }
func (d *fakeDev) Headroom() int            { return 12 }
func (d *fakeDev) Offloads() netif.Offloads { return netif.Offloads{} }
func (d *fakeDev) LinkUp() bool             { return true }
func (d *fakeDev) SetHandler(netif.Handler) {}
func (d *fakeDev) Stats() netif.Stats       { return netif.Stats{} }
func (d *fakeDev) Close() error             { return nil }
func (d *fakeDev) Transmit(b *pkt.Buf) error {
	if b.Headroom() < 12 {
		return pkt.ErrNoHeadroom
	}
	if d.record {
		f := make([]byte, b.Len())
		b.CopyTo(f)
		d.sent = append(d.sent, sentFrame{d.clk.Now(), f})
	}
	return nil
}

// fakeIP is the IPv6 layer's address table, groups and settings.
type fakeIP struct {
	addrs    map[inet.Addr]ipv6.AddrState
	bits     map[inet.Addr]int
	groups   map[inet.Addr]int
	mtu      int
	hopLimit uint8
	log      []string
}

func newFakeIP() *fakeIP {
	return &fakeIP{addrs: map[inet.Addr]ipv6.AddrState{}, bits: map[inet.Addr]int{}, groups: map[inet.Addr]int{}}
}

func (f *fakeIP) AddAddrLocked(p inet.Prefix6, st ipv6.AddrState) error {
	if len(f.addrs) == MaxAddrs {
		return ipv6ErrFull
	}
	f.addrs[p.Addr], f.bits[p.Addr] = st, p.Bits
	f.log = append(f.log, "add "+p.String())
	return nil
}

func (f *fakeIP) SetAddrStateLocked(a inet.Addr, st ipv6.AddrState) error {
	if _, ok := f.addrs[a]; !ok {
		return ErrNoSuchAddr
	}
	f.addrs[a] = st
	return nil
}

func (f *fakeIP) RemoveAddrLocked(a inet.Addr) error {
	if _, ok := f.addrs[a]; !ok {
		return ErrNoSuchAddr
	}
	delete(f.addrs, a)
	delete(f.bits, a)
	f.log = append(f.log, "remove "+a.String())
	return nil
}

func (f *fakeIP) JoinGroupLocked(g inet.Addr) error { f.groups[g]++; return nil }
func (f *fakeIP) SetMTU(mtu int) error              { f.mtu = mtu; return nil }
func (f *fakeIP) SetHopLimitLocked(h uint8)         { f.hopLimit = h }
func (f *fakeIP) LeaveGroupLocked(g inet.Addr) error {
	if f.groups[g]--; f.groups[g] <= 0 {
		delete(f.groups, g)
	}
	return nil
}

var ipv6ErrFull = ErrTooManyAddr

// sink records DeliverError calls.
type sink struct{ got []inet.Addr }

func (s *sink) DeliverError(kind transport.ErrorKind, mtu int, from inet.Addr, quoted ipv6.Header) {
	if kind == transport.HostUnreachable {
		s.got = append(s.got, inet.AddrFrom16([16]byte(quoted[24:40])))
	}
}

type dupReport struct {
	a     inet.Addr
	from  inet.MAC
	inUse bool
}

// harness is one ND layer over a fake device in virtual time.
type harness struct {
	t           *testing.T
	mu          sync.Mutex
	clk         *clock.Virtual
	q           *timer.Queue
	dev         *fakeDev
	eth         *ethernet.Layer
	ip          *fakeIP
	nd          *Layer
	sink        sink
	dups        []dupReport
	unreachable []inet.Addr
	mtus        []int
}

// secret is the RFC 7217 key of the harness' layers.
var secret = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, clk: clock.NewVirtual(t0), ip: newFakeIP()}
	h.q = timer.New(h.clk, &h.mu)
	h.dev = &fakeDev{clk: h.clk, record: true, mtu: 1500}
	h.eth = ethernet.New(h.dev)
	if cfg.Rand == nil {
		cfg.Rand = rand.NewChaCha8([32]byte{7})
	}
	if cfg.StableSecret == ([16]byte{}) {
		cfg.StableSecret = secret
	}
	cfg.OnDuplicate = func(a inet.Addr, m inet.MAC, inUse bool) { h.dups = append(h.dups, dupReport{a, m, inUse}) }
	cfg.OnUnreachable = func(a inet.Addr) { h.unreachable = append(h.unreachable, a) }
	cfg.OnMTU = func(m int) { h.mtus = append(h.mtus, m) }
	nd, err := New(h.eth, h.ip, h.q, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.nd = nd
	h.nd.SetErrorSink(&h.sink)
	return h
}

// do runs f with the stack lock held.
func (h *harness) do(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

// started starts the layer and lets the link-local address through DAD
// and the router solicitations go; the frames sent are forgotten.
func (h *harness) started() *harness {
	h.do(h.nd.Start)
	h.clk.Advance(MaxRtrSolicitationDelay + 2*RetransTimer + MaxRtrSolicitations*RtrSolicitationInterval)
	h.take()
	if _, ok := h.addr(llUs); !ok {
		h.t.Fatal("no link-local address after start")
	}
	return h
}

// addr returns our address a's entry.
func (h *harness) addr(a inet.Addr) (AddrInfo, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ai := range h.nd.Addrs(nil) {
		if ai.Prefix.Addr == a {
			return ai, true
		}
	}
	return AddrInfo{}, false
}

func (h *harness) stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nd.StatsLocked()
}

// take returns and forgets the frames sent so far.
func (h *harness) take() []sentFrame {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.dev.sent
	h.dev.sent = nil
	return s
}

// input delivers an ND message as the ICMPv6 layer would.
func (h *harness) input(src, dst inet.Addr, m []byte) { h.inputHop(src, dst, 255, m) }

func (h *harness) inputHop(src, dst inet.Addr, hop uint8, m []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nd.Input(src, dst, hop, false, m)
}

// output sends an IPv6 packet from src to dst with payload p.
func (h *harness) output(src, dst inet.Addr, p ...byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := pkt.New(h.nd.Headroom()+ipv6.HeaderLen+len(p), h.nd.Headroom())
	m := b.Append(ipv6.HeaderLen + len(p))
	f := ipv6.Fields{PayloadLen: uint16(len(p)), NextHeader: 59, HopLimit: 64, Src: src, Dst: dst}
	f.Encode(m)
	copy(m[ipv6.HeaderLen:], p)
	err := h.nd.Output(dst, b)
	clear(b.Bytes()) // the caller reuses b
	return err
}

// msg encodes a message Fields.
func msg(f encoder) []byte {
	b := make([]byte, f.Len())
	if _, err := f.Encode(b); err != nil {
		panic(err)
	}
	return b
}

// sent is a frame we sent, decoded.
type sent struct {
	dstMAC   inet.MAC
	src, dst inet.Addr
	hop      uint8
	payload  []byte // after the IPv6 header
}

func decode(t *testing.T, s sentFrame) sent {
	t.Helper()
	fr, err := ethernet.ParseFrame(s.b)
	if err != nil || fr.Type() != inet.EtherTypeIPv6 || fr.Src() != macUs {
		t.Fatalf("frame % x: not IPv6 from us", s.b)
	}
	ip := fr.Payload()
	if len(ip) < 40 || ip[0]>>4 != 6 || int(binary.BigEndian.Uint16(ip[4:]))+40 != len(ip) {
		t.Fatalf("bad IPv6 header % x", ip)
	}
	return sent{fr.Dst(), inet.AddrFrom16([16]byte(ip[8:24])), inet.AddrFrom16([16]byte(ip[24:40])), ip[7], ip[40:]}
}

// wantND checks that s is an ND message of type typ from src to dst at
// mac, with hop limit 255 and a valid checksum, and returns it.
func wantND(t *testing.T, s sentFrame, typ uint8, src, dst inet.Addr, mac inet.MAC) []byte {
	t.Helper()
	d := decode(t, s)
	if d.dstMAC != mac || d.src != src || d.dst != dst || d.hop != 255 || len(d.payload) == 0 || d.payload[0] != typ {
		t.Fatalf("sent %v->%v (%v) hop %d type %d; want type %d %v->%v (%v)", d.src, d.dst, d.dstMAC, d.hop, d.payload[0], typ, src, dst, mac)
	}
	if !icmpv6.Message(d.payload).ValidChecksum(src, dst) {
		t.Fatal("bad ICMPv6 checksum")
	}
	return d.payload
}

// ofType keeps the frames carrying ICMPv6 type typ.
func ofType(fs []sentFrame, typ uint8) []sentFrame {
	var out []sentFrame
	for _, f := range fs {
		if len(f.b) > 54 && f.b[14+6] == inet.ProtoICMPv6 && f.b[54] == typ {
			out = append(out, f)
		}
	}
	return out
}

// na builds an advertisement for target with an optional TLLA.
func na(target inet.Addr, solicited, override, router bool, tll ...inet.MAC) []byte {
	f := NAFields{Router: router, Solicited: solicited, Override: override, Target: target}
	if len(tll) > 0 {
		f.Options = opts(&LinkAddrFields{OptTargetLinkAddr, tll[0]})
	}
	return msg(&f)
}

// nsFrom builds a solicitation for target with an optional SLLA.
func ns(target inet.Addr, sll ...inet.MAC) []byte {
	f := NSFields{Target: target}
	if len(sll) > 0 {
		f.Options = opts(&LinkAddrFields{OptSourceLinkAddr, sll[0]})
	}
	return msg(&f)
}

// ra builds a router advertisement.
func ra(lifetime uint16, options ...[]byte) []byte {
	f := RAFields{CurHopLimit: 64, RouterLifetime: lifetime, Options: bytes.Join(options, nil)}
	return msg(&f)
}

func sllOpt(m inet.MAC) []byte { return opts(&LinkAddrFields{OptSourceLinkAddr, m}) }

func prefixOpt(p string, valid, preferred uint32) []byte {
	return opts(&PrefixInfoFields{64, true, true, valid, preferred, addr(p)})
}

// neighbor returns a's cache entry.
func (h *harness) neighbor(a inet.Addr) (Neighbor, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.nd.Neighbors(nil), func(n Neighbor) bool { return n.Addr == a })
	if i < 0 {
		return Neighbor{}, false
	}
	return h.nd.Neighbors(nil)[i], true
}
