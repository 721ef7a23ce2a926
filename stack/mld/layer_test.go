package mld

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
)

var (
	t0   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	llUs = addr("fe80::5054:ff:fe12:3456")
	llQ  = addr("fe80::5054:ff:fe00:fe")
	snUs = addr("ff02::1:ff12:3456")
)

type sentPkt struct {
	at  time.Time
	dst inet.Addr
	b   []byte // the IPv6 packet
}

// fakeLink records what MLD sends.
type fakeLink struct {
	clk   *clock.Virtual
	sent  []sentPkt
	count int // packets when not recording
	quiet bool
}

func (f *fakeLink) Headroom() int { return 26 }
func (f *fakeLink) Output(dst inet.Addr, b *pkt.Buf) error {
	if f.quiet {
		f.count++
		return nil
	}
	p := make([]byte, b.Len())
	b.CopyTo(p)
	f.sent = append(f.sent, sentPkt{f.clk.Now(), dst, p})
	return nil
}

type fakeAddrs struct{ ll inet.Addr }

func (a *fakeAddrs) LinkLocal() (inet.Addr, bool) { return a.ll, !a.ll.IsUnspecified() }

type harness struct {
	mu    sync.Mutex
	clk   *clock.Virtual
	link  *fakeLink
	addrs *fakeAddrs
	l     *Layer
}

func newHarness(ll inet.Addr) *harness {
	h := &harness{clk: clock.NewVirtual(t0), addrs: &fakeAddrs{ll}}
	h.link = &fakeLink{clk: h.clk}
	q := timer.New(h.clk, &h.mu)
	h.l, _ = New(h.link, h.addrs, q, Config{Rand: rand.NewChaCha8([32]byte{3})})
	return h
}

func (h *harness) do(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

func (h *harness) take() []sentPkt {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.link.sent
	h.link.sent = nil
	return s
}

// report checks that p is an MLDv2 report from src and returns it.
func report(t *testing.T, p sentPkt, src inet.Addr) ReportFields {
	t.Helper()
	ip := p.b
	if p.dst != inet.IPv6AllMLDv2 || ip[6] != inet.ProtoHopByHop || ip[7] != 1 || !bytes.Equal(ip[40:48], hopByHop[:]) {
		t.Fatalf("not an MLD packet to ff02::16 with hop limit 1: % x", ip[:48])
	}
	if s := inet.AddrFrom16([16]byte(ip[8:24])); s != src {
		t.Fatalf("from %v, want %v", s, src)
	}
	if !icmpv6.Message(ip[48:]).ValidChecksum(src, inet.IPv6AllMLDv2) {
		t.Fatal("bad checksum")
	}
	r, err := ParseReport(ip[48:])
	if err != nil {
		t.Fatal(err)
	}
	return r.Fields()
}

func TestJoinMatchesLinux(t *testing.T) {
	// With the same addresses, our join report is Linux's, byte for byte.
	h := newHarness(llUs)
	h.do(func() { h.l.Join(snUs) })
	s := h.take()
	if len(s) != 1 {
		t.Fatalf("%d reports at once", len(s))
	}
	want, _ := hex.DecodeString(goldenJoin)
	if !bytes.Equal(s[0].b, want[14:]) {
		t.Fatalf("sent\n% x\nLinux\n% x", s[0].b, want[14:])
	}
	// Robustness 2: one more within the unsolicited report interval.
	h.clk.Advance(DefaultUnsolicitedReportInterval)
	s = h.take()
	if len(s) != 1 || !bytes.Equal(s[0].b, want[14:]) {
		t.Fatalf("%d retransmissions", len(s))
	}
	h.clk.Advance(time.Minute)
	if len(h.take()) != 0 {
		t.Fatal("more than Robustness reports")
	}
}

func TestJoinBeforeLinkLocalFromUnspecified(t *testing.T) {
	h := newHarness(inet.IPv6Unspecified)
	h.do(func() { h.l.Join(snUs) })
	s := h.take()
	if len(s) != 1 {
		t.Fatalf("%d reports", len(s))
	}
	r := report(t, s[0], inet.IPv6Unspecified)
	if len(r.Records) != 1 || !sameRecord(r.Records[0], ChangeToExclude, snUs) {
		t.Fatalf("report %+v", r)
	}
}

func TestAllNodesNeverReported(t *testing.T) {
	h := newHarness(llUs)
	h.do(func() {
		h.l.Join(inet.IPv6AllNodes)
		h.l.Join(addr("ff01::5")) // interface-local
	})
	h.clk.Advance(time.Minute)
	if len(h.take()) != 0 {
		t.Fatal("reported ff02::1 or an interface-local group")
	}
}

func TestLeave(t *testing.T) {
	h := newHarness(llUs)
	h.do(func() { h.l.Join(snUs) })
	h.clk.Advance(time.Minute)
	h.take()
	h.do(func() { h.l.Leave(snUs) })
	h.clk.Advance(time.Minute)
	s := h.take()
	if len(s) != 2 {
		t.Fatalf("%d leave reports", len(s))
	}
	for _, p := range s {
		if r := report(t, p, llUs); len(r.Records) != 1 || r.Records[0].Type != ChangeToInclude {
			t.Fatalf("report %+v", r)
		}
	}
	h.do(func() {
		if g := h.l.Groups(nil); len(g) != 0 || h.l.find(snUs) >= 0 {
			t.Fatalf("groups %v after leaving", g)
		}
	})
}

func TestGeneralQueryAnswered(t *testing.T) {
	h := newHarness(llUs)
	other := addr("ff02::1:ff00:7")
	h.do(func() {
		h.l.Join(snUs)
		h.l.Join(other)
	})
	h.clk.Advance(time.Minute)
	h.take()
	src, dst, m := mldOf(t, goldenQuery)
	src = llQ
	h.do(func() { h.l.Input(src, dst, 1, m) })
	h.clk.Advance(10 * time.Second) // Maximum Response Delay
	s := h.take()
	if len(s) != 1 {
		t.Fatalf("%d answers", len(s))
	}
	r := report(t, s[0], llUs)
	if len(r.Records) != 2 || !sameRecord(r.Records[0], ModeIsExclude, snUs) || r.Records[1].Group != other {
		t.Fatalf("answer %+v", r)
	}
	// With one group, the answer is Linux's.
	h.do(func() { h.l.Leave(other) })
	h.clk.Advance(time.Minute)
	h.take()
	h.do(func() { h.l.Input(src, dst, 1, m) })
	h.clk.Advance(10 * time.Second)
	want, _ := hex.DecodeString(goldenCurrent)
	if s = h.take(); len(s) != 1 || !bytes.Equal(s[0].b, want[14:]) {
		t.Fatalf("answer\n% x\nLinux\n% x", s[0].b, want[14:])
	}
}

func TestGroupQuery(t *testing.T) {
	h := newHarness(llUs)
	other := addr("ff02::1:ff00:7")
	h.do(func() {
		h.l.Join(snUs)
		h.l.Join(other)
	})
	h.clk.Advance(time.Minute)
	h.take()
	f := QueryFields{MaxRespCode: 1000, Group: other, QRV: 2, QQIC: 125}
	m := make([]byte, f.Len())
	f.Encode(m)
	h.do(func() { h.l.Input(llQ, other, 1, m) })
	h.clk.Advance(time.Second)
	s := h.take()
	if len(s) != 1 {
		t.Fatalf("%d answers", len(s))
	}
	if r := report(t, s[0], llUs); len(r.Records) != 1 || !sameRecord(r.Records[0], ModeIsExclude, other) {
		t.Fatalf("answer %+v", r)
	}
}

func TestQueryValidity(t *testing.T) {
	h := newHarness(llUs)
	h.do(func() { h.l.Join(snUs) })
	h.clk.Advance(time.Minute)
	h.take()
	_, dst, m := mldOf(t, goldenQuery)
	h.do(func() {
		h.l.Input(addr("2001:db8::1"), dst, 1, m)
		h.l.Input(llQ, dst, 2, m)
		h.l.Input(llQ, dst, 1, m[:26])
	})
	h.clk.Advance(time.Minute)
	if s := h.l.StatsLocked(); len(h.take()) != 0 || s.DropSource != 1 || s.DropHopLimit != 1 || s.DropShort != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMLDv1Compatibility(t *testing.T) {
	h := newHarness(llUs)
	h.do(func() { h.l.Join(snUs) })
	h.clk.Advance(time.Minute)
	h.take()
	f := QueryFields{V1: true, MaxRespCode: 1000}
	m := make([]byte, f.Len())
	f.Encode(m)
	h.do(func() { h.l.Input(llQ, inet.IPv6AllNodes, 1, m) })
	h.clk.Advance(time.Second)
	s := h.take()
	if len(s) != 1 || s[0].dst != snUs || s[0].b[48] != TypeReportV1 {
		t.Fatalf("answer to an MLDv1 query: %d packets", len(s))
	}
	h.do(func() { h.l.Leave(snUs) })
	s = h.take()
	if len(s) != 1 || s[0].dst != inet.IPv6AllRouters || s[0].b[48] != TypeDoneV1 {
		t.Fatalf("leave in MLDv1 mode: %d packets", len(s))
	}
	// Older Version Querier Present Timeout: back to MLDv2.
	h.clk.Advance(2*DefaultQueryInterval + DefaultQueryResponseInterval)
	h.take()
	h.do(func() { h.l.Join(snUs) })
	if s = h.take(); len(s) != 1 || s[0].dst != inet.IPv6AllMLDv2 {
		t.Fatal("still MLDv1 after the timeout")
	}
}

func TestGroupsBounded(t *testing.T) {
	h := newHarness(llUs)
	h.do(func() {
		for i := range MaxGroups + 5 {
			h.l.Join(addr("ff02::1:ff00:" + strconv.FormatInt(int64(i+1), 16)))
		}
	})
	if s := h.l.StatsLocked(); s.GroupsFull != 5 {
		t.Fatalf("stats %+v", s)
	}
	// Every group fits one answer to a general query.
	h.clk.Advance(time.Minute)
	h.take()
	_, dst, m := mldOf(t, goldenQuery)
	h.do(func() { h.l.Input(llQ, dst, 1, m) })
	h.clk.Advance(10 * time.Second)
	s := h.take()
	if r := report(t, s[0], llUs); len(s) != 1 || len(r.Records) != MaxGroups {
		t.Fatalf("%d records", len(r.Records))
	}
}

func sameRecord(r RecordFields, typ uint8, g inet.Addr) bool {
	return r.Type == typ && r.Group == g && len(r.Sources) == 0
}

func TestQueryNoAllocs(t *testing.T) {
	h := newHarness(llUs)
	h.do(func() { h.l.Join(snUs) })
	h.clk.Advance(time.Minute)
	_, dst, m := mldOf(t, goldenQuery)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.link.quiet = true
	n := testing.AllocsPerRun(1000, func() {
		h.l.Input(llQ, dst, 1, m)
		h.l.onRespond(h.clk.Now())
	})
	if n != 0 || h.link.count < 1000 {
		t.Fatalf("%v allocations per query and answer (%d answers)", n, h.link.count)
	}
}
