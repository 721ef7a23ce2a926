package happyeyeballs

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// outcome is what connecting to one address does in a simulation: it
// ends after d, connected or failed; never ends when d < 0.
type outcome struct {
	d  time.Duration
	ok bool
}

var never = outcome{d: -1}

// scenario is one simulated Dial in virtual time: when each answer comes
// and with what, and what each address does.
type scenario struct {
	aaaaAt, aAt time.Duration // -1: not asked
	aaaa, a     []string
	conn        map[string]outcome
}

// simulate runs the machine through s, as Dial would but in virtual
// time, and returns the attempts as "time addr" and the winner.
func simulate(t *testing.T, s scenario) (attempts []string, winner string, winAt time.Duration) {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newMachine(0, 0, s.aaaaAt >= 0, s.aAt >= 0)
	type ev struct {
		at   time.Duration
		kind string // "aaaa", "a", "done"
		addr string
		n    int
		ok   bool
	}
	var evs []ev
	if s.aaaaAt >= 0 {
		evs = append(evs, ev{at: s.aaaaAt, kind: "aaaa"})
	}
	if s.aAt >= 0 {
		evs = append(evs, ev{at: s.aAt, kind: "a"})
	}
	parse := func(list []string) []netip.Addr {
		var out []netip.Addr
		for _, x := range list {
			out = append(out, netip.MustParseAddr(x))
		}
		return out
	}
	now := time.Duration(0)
	for step := 0; step < 1000; step++ {
		for {
			a, n, ok := m.next(t0.Add(now))
			if !ok {
				break
			}
			attempts = append(attempts, fmt.Sprintf("%v %s", now, a))
			o, known := s.conn[a.String()]
			if !known {
				t.Fatalf("no outcome for %s", a)
			}
			if o.d >= 0 {
				evs = append(evs, ev{at: now + o.d, kind: "done", addr: a.String(), n: n, ok: o.ok})
			}
		}
		if m.exhausted() {
			return attempts, "", 0
		}
		// The next event: the earliest scheduled one or the machine's
		// deadline.
		slices.SortStableFunc(evs, func(x, y ev) int { return int(x.at - y.at) })
		next := time.Duration(-1)
		if d := m.deadline(); !d.IsZero() {
			next = d.Sub(t0)
		}
		if len(evs) > 0 && (next < 0 || evs[0].at <= next) {
			e := evs[0]
			evs = evs[1:]
			now = e.at
			switch e.kind {
			case "aaaa":
				m.answer(v6, parse(s.aaaa), t0.Add(now))
			case "a":
				m.answer(v4, parse(s.a), t0.Add(now))
			default:
				if e.ok {
					m.succeeded()
					return attempts, e.addr, now
				}
				m.failed(e.n)
			}
			continue
		}
		if next < 0 {
			t.Fatalf("stuck: no event and no deadline; attempts %v", attempts)
		}
		if next < now {
			t.Fatalf("deadline %v in the past (now %v)", next, now)
		}
		now = next
	}
	t.Fatal("no end")
	return
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestMachine(t *testing.T) {
	ok := func(d int) outcome { return outcome{d: ms(d), ok: true} }
	fail := func(d int) outcome { return outcome{d: ms(d)} }
	for _, c := range []struct {
		name     string
		s        scenario
		attempts string
		winner   string
		at       time.Duration
	}{
		{
			// §3: AAAA answered first: connect at once, over IPv6.
			name:     "aaaa first, IPv6 works",
			s:        scenario{aaaaAt: ms(10), aAt: ms(20), aaaa: []string{"2001:db8::1"}, a: []string{"192.0.2.1"}, conn: map[string]outcome{"2001:db8::1": ok(5), "192.0.2.1": ok(1)}},
			attempts: "10ms 2001:db8::1",
			winner:   "2001:db8::1", at: ms(15),
		},
		{
			// §5: IPv6 blackholed: IPv4 250 ms after, and it wins.
			name:     "IPv6 blackholed",
			s:        scenario{aaaaAt: ms(10), aAt: ms(20), aaaa: []string{"2001:db8::1"}, a: []string{"192.0.2.1"}, conn: map[string]outcome{"2001:db8::1": never, "192.0.2.1": ok(5)}},
			attempts: "10ms 2001:db8::1, 260ms 192.0.2.1",
			winner:   "192.0.2.1", at: ms(265),
		},
		{
			// An attempt that fails starts the next at once.
			name:     "IPv6 refused",
			s:        scenario{aaaaAt: ms(10), aAt: ms(20), aaaa: []string{"2001:db8::1"}, a: []string{"192.0.2.1"}, conn: map[string]outcome{"2001:db8::1": fail(30), "192.0.2.1": ok(5)}},
			attempts: "10ms 2001:db8::1, 40ms 192.0.2.1",
			winner:   "192.0.2.1", at: ms(45),
		},
		{
			// §3: A first: wait 50 ms for AAAA; it comes in time.
			name:     "A first, AAAA within the resolution delay",
			s:        scenario{aaaaAt: ms(40), aAt: ms(10), aaaa: []string{"2001:db8::1"}, a: []string{"192.0.2.1"}, conn: map[string]outcome{"2001:db8::1": ok(5), "192.0.2.1": ok(1)}},
			attempts: "40ms 2001:db8::1",
			winner:   "2001:db8::1", at: ms(45),
		},
		{
			// A first, AAAA late: IPv4 at 60 ms (10 + 50), IPv6 joins the
			// list when it comes and gets its turn 250 ms later.
			name:     "A first, AAAA late",
			s:        scenario{aaaaAt: ms(100), aAt: ms(10), aaaa: []string{"2001:db8::1"}, a: []string{"192.0.2.1"}, conn: map[string]outcome{"2001:db8::1": ok(5), "192.0.2.1": never}},
			attempts: "60ms 192.0.2.1, 310ms 2001:db8::1",
			winner:   "2001:db8::1", at: ms(315),
		},
		{
			// AAAA answered without addresses: wait for A, then go.
			name:     "no AAAA records",
			s:        scenario{aaaaAt: ms(5), aAt: ms(30), a: []string{"192.0.2.1"}, conn: map[string]outcome{"192.0.2.1": ok(5)}},
			attempts: "30ms 192.0.2.1",
			winner:   "192.0.2.1", at: ms(35),
		},
		{
			// A answered without addresses first: no resolution delay.
			name:     "no A records",
			s:        scenario{aaaaAt: ms(30), aAt: ms(5), aaaa: []string{"2001:db8::1"}, conn: map[string]outcome{"2001:db8::1": ok(5)}},
			attempts: "30ms 2001:db8::1",
			winner:   "2001:db8::1", at: ms(35),
		},
		{
			// §4: interleaved, IPv6 first; every attempt hangs, so they
			// go 250 ms apart.
			name: "interleaving",
			s: scenario{aaaaAt: ms(1), aAt: ms(2), aaaa: []string{"2001:db8::1", "2001:db8::2", "2001:db8::3"}, a: []string{"192.0.2.1", "192.0.2.2"},
				conn: map[string]outcome{"2001:db8::1": never, "2001:db8::2": never, "2001:db8::3": ok(1), "192.0.2.1": never, "192.0.2.2": never}},
			attempts: "1ms 2001:db8::1, 251ms 192.0.2.1, 501ms 2001:db8::2, 751ms 192.0.2.2, 1.001s 2001:db8::3",
			winner:   "2001:db8::3", at: ms(1002),
		},
		{
			// The latest attempt fails while an older one hangs: the
			// next starts at once.
			name: "latest fails, older hangs",
			s: scenario{aaaaAt: ms(0), aAt: ms(0), aaaa: []string{"2001:db8::1", "2001:db8::2"}, a: []string{"192.0.2.1"},
				conn: map[string]outcome{"2001:db8::1": never, "192.0.2.1": fail(10), "2001:db8::2": ok(100)}},
			attempts: "0s 2001:db8::1, 250ms 192.0.2.1, 260ms 2001:db8::2",
			winner:   "2001:db8::2", at: ms(360),
		},
		{
			// Only IPv4 reachable (AAAA not asked): no waiting at all.
			name:     "IPv4 only",
			s:        scenario{aaaaAt: -1, aAt: ms(7), a: []string{"192.0.2.1"}, conn: map[string]outcome{"192.0.2.1": ok(3)}},
			attempts: "7ms 192.0.2.1",
			winner:   "192.0.2.1", at: ms(10),
		},
		{
			name:     "everything fails",
			s:        scenario{aaaaAt: ms(1), aAt: ms(2), aaaa: []string{"2001:db8::1"}, a: []string{"192.0.2.1"}, conn: map[string]outcome{"2001:db8::1": fail(5), "192.0.2.1": fail(5)}},
			attempts: "1ms 2001:db8::1, 6ms 192.0.2.1",
		},
		{
			name:     "no addresses",
			s:        scenario{aaaaAt: ms(1), aAt: ms(2)},
			attempts: "",
		},
		{
			// An answer of the wrong family is ignored.
			name:     "wrong family in an answer",
			s:        scenario{aaaaAt: ms(1), aAt: ms(2), aaaa: []string{"192.0.2.9"}, a: []string{"192.0.2.1", "2001:db8::9"}, conn: map[string]outcome{"192.0.2.1": ok(1)}},
			attempts: "2ms 192.0.2.1",
			winner:   "192.0.2.1", at: ms(3),
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			attempts, winner, at := simulate(t, c.s)
			if got := strings.Join(attempts, ", "); got != c.attempts || winner != c.winner || at != c.at {
				t.Errorf("attempts %q, winner %q at %v\nwant     %q, winner %q at %v", got, winner, at, c.attempts, c.winner, c.at)
			}
		})
	}
}
