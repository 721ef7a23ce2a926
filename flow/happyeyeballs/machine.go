package happyeyeballs

import (
	"net/netip"
	"time"
)

// RFC 8305's recommended values.
const (
	// DefaultResolutionDelay is how long an A answer waits for the AAAA
	// one (§3, §8: 50 ms).
	DefaultResolutionDelay = 50 * time.Millisecond
	// DefaultAttemptDelay is the time between connection attempts (§5,
	// §8: 250 ms; never under 10 ms, §5).
	DefaultAttemptDelay = 250 * time.Millisecond
	// minAttemptDelay is §5's floor.
	minAttemptDelay = 10 * time.Millisecond
)

// family indexes the two address families.
type family int

const (
	v6 family = iota
	v4
)

// machine is the algorithm's state: it is told what happened (answers,
// attempt results) and the time, and says which attempts to start and
// when it next needs to be polled.
type machine struct {
	resolutionDelay, attemptDelay time.Duration

	// asked says which families were queried; answered which have
	// answered (with addresses or not).
	asked, answered [2]bool
	got             [2]int    // addresses each answer gave
	firstAnswer     time.Time // when the first answer came (the A one: the resolution delay runs from it)

	queue    []netip.Addr // addresses not tried yet, in the order to try them
	tried    int          // attempts started
	inFlight int          // attempts started and not finished
	lastAt   time.Time    // when the last attempt started
	lastDone bool         // the last attempt started has failed
	lastAddr netip.Addr   // the address of the last attempt
	started  bool         // connecting has begun
	won      bool
}

func newMachine(resolutionDelay, attemptDelay time.Duration, askV6, askV4 bool) *machine {
	if resolutionDelay <= 0 {
		resolutionDelay = DefaultResolutionDelay
	}
	if attemptDelay <= 0 {
		attemptDelay = DefaultAttemptDelay
	}
	attemptDelay = max(attemptDelay, minAttemptDelay)
	return &machine{resolutionDelay: resolutionDelay, attemptDelay: attemptDelay, asked: [2]bool{askV6, askV4}}
}

// answer takes the answer for family f (its addresses, possibly none) at
// now, merging them into the queue by §4's interleaving.
func (m *machine) answer(f family, addrs []netip.Addr, now time.Time) {
	if m.answered[f] {
		return
	}
	m.answered[f] = true
	if m.firstAnswer.IsZero() {
		m.firstAnswer = now
	}
	var fresh []netip.Addr
	for _, a := range addrs {
		if a.Is4() != (f == v4) || a.Is4In6() {
			continue // an answer of the other family: not what was asked
		}
		fresh = append(fresh, a)
	}
	m.got[f] = len(fresh)
	// The next address is of the family not tried last: IPv6 to begin
	// with (§4: First Address Family Count 1), then alternating.
	first := v6
	if m.tried > 0 && !m.lastAddr.Is4() {
		first = v4
	}
	m.queue = interleave(m.queue, fresh, f, first)
}

// interleave merges fresh addresses of family f into the queue q (which
// holds the other family's remaining addresses, or none), alternating
// families and starting with first.
func interleave(q, fresh []netip.Addr, f, first family) []netip.Addr {
	if len(fresh) == 0 {
		return q
	}
	a, b := fresh, q // a: first's addresses
	if f != first {
		a, b = q, fresh
	}
	out := make([]netip.Addr, 0, len(q)+len(fresh))
	for i := 0; i < len(a) || i < len(b); i++ {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

// resolving reports whether an answer is still awaited.
func (m *machine) resolving() bool {
	return m.asked[v6] && !m.answered[v6] || m.asked[v4] && !m.answered[v4]
}

// ready reports whether connecting may begin at now (§3): once every
// answer is in; or the AAAA answer is, with addresses; or a positive A
// answer came first and the resolution delay after it ran out.
func (m *machine) ready(now time.Time) bool {
	if m.started {
		return true
	}
	switch {
	case !m.resolving():
	case m.answered[v6]:
		if m.got[v6] == 0 {
			return false // no IPv6 address: wait for the A answer
		}
	case m.answered[v4] && m.got[v4] > 0 && !now.Before(m.firstAnswer.Add(m.resolutionDelay)):
	default:
		return false
	}
	m.started = true
	return true
}

// next returns the address to start an attempt on at now, if one is due,
// and the attempt's number: the first attempt once ready, another a
// Connection Attempt Delay after the last one started or at once when
// that one failed (§5: earlier attempts go on meanwhile).
func (m *machine) next(now time.Time) (netip.Addr, int, bool) {
	if m.won || len(m.queue) == 0 || !m.ready(now) {
		return netip.Addr{}, 0, false
	}
	if m.tried > 0 && !m.lastDone && now.Before(m.lastAt.Add(m.attemptDelay)) {
		return netip.Addr{}, 0, false
	}
	a := m.queue[0]
	m.queue = m.queue[1:]
	m.tried++
	m.inFlight++
	m.lastAt, m.lastDone, m.lastAddr = now, false, a
	return a, m.tried - 1, true
}

// failed records that attempt n failed.
func (m *machine) failed(n int) {
	m.inFlight--
	if n == m.tried-1 {
		m.lastDone = true
	}
}

// succeeded records that an attempt connected: the machine is done.
func (m *machine) succeeded() { m.inFlight--; m.won = true }

// exhausted reports whether nothing can succeed any more: no answer
// awaited, nothing left to try and nothing in flight.
func (m *machine) exhausted() bool {
	return !m.won && !m.resolving() && len(m.queue) == 0 && m.inFlight == 0
}

// deadline returns when the machine next needs polling without an event
// (the end of the resolution delay, or the next attempt's start), or the
// zero time.
func (m *machine) deadline() time.Time {
	switch {
	case m.won:
	case !m.started && m.answered[v4] && m.got[v4] > 0 && !m.answered[v6]:
		return m.firstAnswer.Add(m.resolutionDelay)
	case m.started && len(m.queue) > 0 && !m.lastDone && m.tried > 0:
		return m.lastAt.Add(m.attemptDelay)
	}
	return time.Time{}
}
