package sntp

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

func abs(d time.Duration) time.Duration { return d.Abs() }

// The first reply steps the clock from 1970 to the server's time; later
// offsets are slewed at 500 ppm, so the clock never jumps again.
func TestFirstSyncStepsThenSlews(t *testing.T) {
	var synced []Status
	h := newHarness(t, Config{OnSync: func(s Status) { synced = append(synced, s) }}, srvA)
	h.start()
	h.run(time.Second)
	st := h.c.Status()
	if !st.Synced || st.Server != srvA || st.Stratum != 2 || len(synced) != 1 {
		t.Fatalf("after the first poll: %+v (%d syncs)", st, len(synced))
	}
	if e := h.clockError(); abs(e) > 2*time.Nanosecond {
		t.Fatalf("clock off by %v after the step", e)
	}
	if st.Delay != 10*time.Millisecond {
		t.Fatalf("delay %v, want 10ms", st.Delay)
	}
	if s := h.c.Stats(); s.Steps != 1 || s.Slews != 0 || s.Requests != 1 || s.Replies != 1 {
		t.Fatalf("stats %+v", s)
	}
	// The servers' time moves 300 ms ahead of ours.
	h.servers[srvA].offset += 300 * time.Millisecond
	prev := h.clock().Now()
	for i := 0; i < 2000; i++ {
		h.run(time.Second)
		now := h.clock().Now()
		if d := now.Sub(prev); d < time.Second-500*time.Microsecond || d > time.Second+500*time.Microsecond {
			t.Fatalf("second %d: the clock moved %v", i, d)
		}
		prev = now
	}
	s := h.c.Stats()
	if s.Steps != 1 || s.Slews == 0 {
		t.Fatalf("stats after the server moved: %+v", s)
	}
	if e := h.clockError(); abs(e) > time.Millisecond {
		t.Fatalf("clock off by %v 2000 s later", e)
	}
	if st := h.c.Status(); st.Poll <= DefaultMinPoll {
		t.Fatalf("poll interval %v did not back off once in step", st.Poll)
	}
}

// Unanswered polls back off exponentially to MaxPoll, each spread by at
// most ±1/8, and never come faster than every 15 s even when MinPoll
// asks for it.
func TestBackoffAndJitter(t *testing.T) {
	h := newHarness(t, Config{}, srvA)
	h.servers[srvA].silent = true
	h.start()
	h.run(3 * time.Hour)
	reqs := h.requests()
	// Until the first sync the backoff starts at the 15 s floor.
	want := []time.Duration{30, 60, 120, 240, 480, 960, 1024, 1024}
	if len(reqs) < len(want)+1 {
		t.Fatalf("%d requests in 3 h", len(reqs))
	}
	same := 0
	for i, w := range want {
		gap := reqs[i+1].at.Sub(reqs[i].at) - DefaultTimeout
		p := w * time.Second
		if gap < p-p/8 || gap > p+p/8 {
			t.Errorf("poll %d came %v after the last timeout, want %v ±1/8", i+1, gap, p)
		}
		if gap == p {
			same++
		}
	}
	if same == len(want) {
		t.Error("no jitter")
	}
	s := h.c.Stats()
	if s.Timeouts != uint64(len(reqs)) || s.Failed != uint64(len(reqs)) || s.Replies != 0 || h.c.Status().Synced {
		t.Fatalf("stats %+v", s)
	}

	h2 := newHarness(t, Config{MinPoll: time.Second, MaxPoll: time.Second}, srvA)
	h2.servers[srvA].silent = true
	h2.start()
	h2.run(10 * time.Minute)
	reqs = h2.requests()
	for i := 1; i < len(reqs); i++ {
		if gap := reqs[i].at.Sub(reqs[i-1].at); gap < MinPollFloor {
			t.Fatalf("requests %v apart with MinPoll 1s", gap)
		}
	}
	if len(reqs) < 10*60/int(MinPollFloor*9/8/time.Second+DefaultTimeout/time.Second) {
		t.Fatalf("only %d requests in 10 min at the 15 s floor", len(reqs))
	}
}

// A server that does not answer is passed over for the next one within
// the same poll.
func TestFailover(t *testing.T) {
	h := newHarness(t, Config{}, srvA, srvB)
	h.servers[srvA].silent = true
	h.start()
	h.run(DefaultTimeout + time.Second)
	reqs := h.requests()
	if len(reqs) != 2 || reqs[0].to != srvA || reqs[1].to != srvB || reqs[1].at.Sub(reqs[0].at) != DefaultTimeout {
		t.Fatalf("requests %+v", reqs)
	}
	if st := h.c.Status(); !st.Synced || st.Server != srvB {
		t.Fatalf("status %+v", st)
	}
	// A socket error moves on at once too.
	h.mu.Lock()
	h.sendErr = errRefused
	h.mu.Unlock()
	h.run(20 * time.Minute)
	if s := h.c.Stats(); s.SendErrors == 0 || s.Failed == 0 {
		t.Fatalf("stats after send errors: %+v", s)
	}
}

// Kiss-o'-death: RATE backs off and holds the server off; DENY and RSTR
// stop every request to it; any other code only drops the reply. A kiss
// is honoured only with our nonce (a spoofed one is just dropped).
func TestKissOfDeath(t *testing.T) {
	kiss := func(code string) func(*Fields) {
		return func(f *Fields) { f.Stratum, f.RefID = 0, [4]byte([]byte(code)) }
	}
	h := newHarness(t, Config{}, srvA, srvB)
	h.start()
	h.run(time.Second) // synced from A; poll 64 s
	h.servers[srvA].tamper = kiss("RATE")
	before := len(h.requests())
	h.run(2 * DefaultMinPoll)
	reqs := h.requests()[before:]
	if len(reqs) != 2 || reqs[0].to != srvA || reqs[1].to != srvB {
		t.Fatalf("after the RATE: %+v", reqs)
	}
	var hold time.Time
	h.inClient(func(c *Client) { hold = c.holdoff[srvA] })
	// RATE doubled the interval (64 s to 128 s) and holds A off for it
	// from its reply (10 ms after the request).
	if s := h.c.Stats(); s.KissRate != 1 || s.Rejected[RejectKiss] != 1 || !hold.Equal(reqs[0].at.Add(10*time.Millisecond+2*DefaultMinPoll)) {
		t.Fatalf("hold-off until %v (RATE at %v), stats %+v", hold.Sub(vstart), reqs[0].at.Sub(vstart), s)
	}
	if st := h.c.Status(); st.Server != srvB || st.Poll < 2*DefaultMinPoll {
		t.Fatalf("status %+v", st)
	}
	// Afterwards it is asked again (first in preference).
	h.run(time.Hour)
	askedA := 0
	for _, r := range h.requests()[before:] {
		if r.to == srvA {
			askedA++
			if r.at.Before(hold) && r.nonce != reqs[0].nonce {
				t.Fatalf("A asked at %v, during its hold-off", r.at.Sub(vstart))
			}
		}
	}
	if askedA < 2 || h.c.Stats().KissRate != uint64(askedA) {
		t.Fatalf("A asked %d times after its hold-off; stats %+v", askedA, h.c.Stats())
	}

	for _, code := range []string{"DENY", "RSTR"} {
		h := newHarness(t, Config{}, srvA, srvB)
		h.servers[srvA].tamper = kiss(code)
		h.start()
		h.run(3 * time.Hour)
		asked := 0
		for _, r := range h.requests() {
			if r.to == srvA {
				asked++
			}
		}
		s := h.c.Stats()
		if asked != 1 || s.KissDeny+s.KissRstr != 1 || !h.c.Status().Synced {
			t.Fatalf("%s: A asked %d times, stats %+v", code, asked, s)
		}
	}

	h = newHarness(t, Config{}, srvA)
	h.servers[srvA].tamper = kiss("XXXX")
	h.start()
	h.run(time.Second)
	if s := h.c.Stats(); s.KissOther != 1 || h.c.Status().Synced {
		t.Fatalf("other kiss: %+v", s)
	}
	h.servers[srvA].tamper = nil
	h.run(10 * time.Minute)
	if !h.c.Status().Synced {
		t.Fatal("an unknown kiss code stopped the server being used")
	}
}

// Replies that fail a check are counted by reason, never move the clock,
// and end the exchange with that server.
func TestBadReplies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(*Fields)
		raw    func([]byte) []byte
		reason Reason
		ends   bool // the exchange ends at once (else it times out)
	}{
		{"client mode", func(f *Fields) { f.Mode = ModeClient }, nil, RejectMode, true},
		{"broadcast mode", func(f *Fields) { f.Mode = ModeBroadcast }, nil, RejectMode, true},
		{"leap alarm", func(f *Fields) { f.Leap = LeapAlarm }, nil, RejectUnsynced, true},
		{"stratum 16", func(f *Fields) { f.Stratum = 16 }, nil, RejectUnsynced, true},
		{"zero transmit", func(f *Fields) { f.Transmit = 0 }, nil, RejectTime, true},
		{"zero receive", func(f *Fields) { f.Receive = 0 }, nil, RejectTime, true},
		{"negative round trip", func(f *Fields) { f.Transmit = TimestampOf(f.Receive.Time().Add(time.Second)) }, nil, RejectDelay, true},
		{"root distance", func(f *Fields) { f.RootDispersion = ShortOf(2 * time.Second) }, nil, RejectDistance, true},
		{"short", nil, func(b []byte) []byte { return b[:40] }, RejectShort, false},
		{"version 0", nil, func(b []byte) []byte { b[0] &^= 7 << 3; return b }, RejectVersion, false},
		{"no origin", func(f *Fields) { f.Origin = 0 }, nil, RejectOrigin, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{}, srvA, srvB)
			h.servers[srvB].silent = true
			h.servers[srvA].tamper, h.servers[srvA].raw = tc.tamper, tc.raw
			h.start()
			h.run(time.Second)
			s := h.c.Stats()
			if s.Rejected[tc.reason] != 1 || s.Replies != 0 || s.Steps != 0 || h.c.Status().Synced || h.clock().Stepped() {
				t.Fatalf("stats %+v", s)
			}
			reqs := h.requests()
			if tc.ends && (len(reqs) != 2 || reqs[1].to != srvB || reqs[1].at.Sub(reqs[0].at) != 10*time.Millisecond) {
				t.Fatalf("the exchange did not end on the bad reply: %+v", reqs)
			}
			if !tc.ends && len(reqs) != 1 {
				t.Fatalf("a reply that cannot be trusted ended the exchange: %+v", reqs)
			}
		})
	}
}

// Spoofed replies (wrong origin, wrong source) are dropped and counted
// and the real reply is still taken; a replay of it afterwards is too.
func TestSpoofedReplies(t *testing.T) {
	h := newHarness(t, Config{}, srvA)
	h.servers[srvA].delay = 50 * time.Millisecond
	h.start()
	h.c.sync()
	reqs := h.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests %+v", reqs)
	}
	evil := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	forge := func(origin Timestamp) []byte {
		f := Fields{Version: 4, Mode: ModeServer, Stratum: 1, RefID: [4]byte{'G', 'P', 'S', 0},
			Origin: origin, Receive: TimestampOf(evil), Transmit: TimestampOf(evil)}
		b := make([]byte, HeaderLen)
		f.Encode(b)
		return b
	}
	h.c.Input(forge(reqs[0].nonce+1), srvA)                                  // a guessed origin
	h.c.Input(forge(reqs[0].nonce), netip.MustParseAddrPort("10.6.6.6:123")) // right nonce, wrong host
	h.c.Input(forge(reqs[0].nonce), netip.MustParseAddrPort("10.0.0.1:124")) // wrong port
	h.c.Input(forge(0), srvA)
	h.run(time.Second)
	s := h.c.Stats()
	if s.Rejected[RejectOrigin] != 2 || s.Rejected[RejectSource] != 2 || s.Replies != 1 {
		t.Fatalf("stats %+v", s)
	}
	if e := h.clockError(); abs(e) > 2*time.Nanosecond {
		t.Fatalf("clock off by %v: a forgery was used", e)
	}
	// The genuine reply once more (a replay or a duplicate).
	reply := make([]byte, HeaderLen)
	(&Fields{Version: 4, Mode: ModeServer, Stratum: 2, Origin: reqs[0].nonce, Receive: TimestampOf(evil), Transmit: TimestampOf(evil)}).Encode(reply)
	h.c.Input(reply, srvA)
	h.c.sync()
	if s := h.c.Stats(); s.Rejected[RejectSource]+s.Rejected[RejectOrigin] != 5 || s.Replies != 1 {
		t.Fatalf("replay: %+v", s)
	}
	if e := h.clockError(); abs(e) > 2*time.Nanosecond {
		t.Fatalf("clock off by %v after a replay", e)
	}
	// Nonces are random: no two requests share one.
	h.run(3 * time.Hour)
	seen := map[Timestamp]bool{}
	for _, r := range h.requests() {
		if seen[r.nonce] || r.nonce == 0 {
			t.Fatalf("nonce %#x reused", uint64(r.nonce))
		}
		seen[r.nonce] = true
	}
}

// After the first sync, an offset beyond the panic threshold is refused
// (the clock keeps its time), unless StepLarge is set.
func TestPanicThreshold(t *testing.T) {
	for _, stepLarge := range []bool{false, true} {
		h := newHarness(t, Config{StepLarge: stepLarge}, srvA)
		h.start()
		h.run(time.Second)
		h.servers[srvA].offset += 2000 * time.Second
		h.run(10 * time.Minute)
		s := h.c.Stats()
		e := h.clockError()
		if !stepLarge && (s.Rejected[RejectPanic] == 0 || s.Steps != 1 || abs(e+2000*time.Second) > time.Millisecond) {
			t.Fatalf("refusing: error %v, stats %+v", e, s)
		}
		if stepLarge && (s.Rejected[RejectPanic] != 0 || s.Steps != 2 || abs(e) > time.Millisecond) {
			t.Fatalf("StepLarge: error %v, stats %+v", e, s)
		}
	}
}

// The server list is read at every poll: a server added later (a DHCP
// lease, a name re-resolved) is used, and bogus entries are skipped.
func TestServersChange(t *testing.T) {
	var list []netip.AddrPort
	h := newHarness(t, Config{Servers: func() []netip.AddrPort { return list }}, srvA)
	h.start()
	h.run(time.Minute)
	if len(h.requests()) != 0 {
		t.Fatal("requests without servers")
	}
	list = []netip.AddrPort{
		netip.MustParseAddrPort("0.0.0.0:123"), netip.MustParseAddrPort("255.255.255.255:123"),
		netip.MustParseAddrPort("224.0.1.1:123"), netip.MustParseAddrPort("10.0.0.1:0"), srvA, srvA,
	}
	h.run(2 * time.Minute)
	reqs := h.requests()
	for _, r := range reqs {
		if r.to != srvA {
			t.Fatalf("request to %v", r.to)
		}
	}
	if len(reqs) == 0 || !h.c.Status().Synced {
		t.Fatalf("requests %+v", reqs)
	}
}

// Requests carry nothing of ours but the nonce (RFC 4330 §5 client
// request; our clock's reading never leaves).
func TestRequestIsMinimal(t *testing.T) {
	h := newHarness(t, Config{}, srvA).start()
	h.run(time.Hour)
	for _, r := range h.requests() {
		want := make([]byte, HeaderLen)
		(&Fields{Version: 4, Mode: ModeClient, Transmit: r.nonce}).Encode(want)
		if !bytes.Equal(r.raw, want) {
			t.Fatalf("request % x", r.raw)
		}
	}
}
