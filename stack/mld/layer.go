package mld

import (
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ipv6"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
)

// Protocol defaults (RFC 3810 §9).
const (
	DefaultRobustness                = 2
	DefaultUnsolicitedReportInterval = time.Second
	DefaultQueryInterval             = 125 * time.Second
	DefaultQueryResponseInterval     = 10 * time.Second
	// MaxGroups bounds the groups reported, as ipv6.MaxGroups.
	MaxGroups = 32
)

// Config configures a Layer; zero fields take the defaults.
type Config struct {
	// Robustness is the Robustness Variable: how many times a state
	// change is reported (RFC 3810 §9.1).
	Robustness int
	// UnsolicitedReportInterval bounds the random time between those
	// reports (§9.11).
	UnsolicitedReportInterval time.Duration
	// Rand supplies the random delays; New fails without it.
	Rand io.Reader
}

// Link is where reports go: the ipv6.Link (Neighbor Discovery maps the
// multicast destinations to 33:33 groups).
type Link interface {
	Output(dst inet.Addr, b *pkt.Buf) error
	Headroom() int
}

// Addrs gives the link-local address reports are sent from; while there
// is none, they go from :: (RFC 3810 §5.2.13). *ndp.Layer implements it.
type Addrs interface {
	LinkLocal() (inet.Addr, bool)
}

// group is a group joined, or left with its leave still being reported.
type group struct {
	used    bool
	addr    inet.Addr
	joined  bool // false: left, TO_IN({}) reports still to send
	changes int  // state change reports still to send (§6.1)
	queried bool // a group-specific query wants an answer (§6.2)
}

// Layer is the MLD host of one interface. Join and Leave come from the
// IPv6 layer's group hook; Input takes the queries (ICMPv6 type 130).
// All methods are called with the stack lock held.
type Layer struct {
	link   Link
	addrs  Addrs
	q      *timer.Queue
	cfg    Config
	rnd    *rand.ChaCha8
	groups [MaxGroups]group

	changeT timer.Entry // the next state change report
	respT   timer.Entry // the answer to a query
	general bool        // respT answers a general query
	v1Until time.Time   // MLDv1 compatibility mode until then (§8.2.1)
	tx      *pkt.Buf
	records []RecordFields
	rep     ReportFields // the report being sent: encoding it through a field allocates nothing
	v1m     V1Fields
	stats   Stats
}

// New returns the layer sending through link from the link-local
// address addrs gives. Its timers run on q. It fails when cfg.Rand
// does.
func New(link Link, addrs Addrs, q *timer.Queue, cfg Config) (*Layer, error) {
	if cfg.Robustness <= 0 {
		cfg.Robustness = DefaultRobustness
	}
	if cfg.UnsolicitedReportInterval <= 0 {
		cfg.UnsolicitedReportInterval = DefaultUnsolicitedReportInterval
	}
	if cfg.Rand == nil {
		return nil, errNoRand
	}
	var seed [32]byte
	if _, err := io.ReadFull(cfg.Rand, seed[:]); err != nil {
		return nil, xerr.Wrap("mld: Config.Rand", err)
	}
	l := &Layer{link: link, addrs: addrs, q: q, cfg: cfg, rnd: rand.NewChaCha8(seed),
		records: make([]RecordFields, 0, MaxGroups)}
	// The largest report: every group in one record of 20 bytes.
	l.tx = pkt.New(link.Headroom()+ipv6.HeaderLen+len(hopByHop)+ReportLen+MaxGroups*RecordLen, 0)
	l.changeT.Init(l.onChange)
	l.respT.Init(l.onRespond)
	return l, nil
}

var errNoRand = errors.New("mld: Config.Rand not set")

// reported reports whether g is a group MLD speaks about: not ff02::1
// and not of the reserved or interface-local scope (RFC 3810 §6).
func reported(g inet.Addr) bool {
	s := g.Scope()
	return g.IsMulticast() && g != inet.IPv6AllNodes && s != 0 && s != inet.ScopeInterfaceLocal
}

func (l *Layer) find(g inet.Addr) int {
	for k := range l.groups {
		if l.groups[k].used && l.groups[k].addr == g {
			return k
		}
	}
	return -1
}

// Join reports that we listen to g (RFC 3810 §6.1): a state change
// report at once, Robustness-1 more at random intervals.
func (l *Layer) Join(g inet.Addr) {
	if !reported(g) {
		return
	}
	k := l.find(g)
	if k < 0 {
		for j := range l.groups {
			if !l.groups[j].used {
				k = j
				break
			}
		}
		if k < 0 {
			l.stats.GroupsFull++
			return
		}
	}
	l.groups[k] = group{used: true, addr: g, joined: true, changes: l.cfg.Robustness}
	l.changed()
}

// Leave reports that we no longer listen to g: TO_IN({}) reports (MLDv1:
// Done), as for a join.
func (l *Layer) Leave(g inet.Addr) {
	k := l.find(g)
	if k < 0 {
		return
	}
	l.groups[k].joined, l.groups[k].changes, l.groups[k].queried = false, l.cfg.Robustness, false
	l.changed()
}

// changed sends the pending state changes now and arms the timer for
// the next round.
func (l *Layer) changed() {
	l.sendChanges()
	l.armChange(l.q.Now())
}

func (l *Layer) armChange(now time.Time) {
	for k := range l.groups {
		if l.groups[k].used && l.groups[k].changes > 0 {
			l.q.Schedule(&l.changeT, now.Add(l.randomDelay(l.cfg.UnsolicitedReportInterval)))
			return
		}
	}
	l.q.Stop(&l.changeT)
}

func (l *Layer) onChange(now time.Time) {
	l.sendChanges()
	l.armChange(now)
}

// sendChanges sends one state change report with a record for every
// group with reports still to send (MLDv1: one message per group).
func (l *Layer) sendChanges() {
	l.records = l.records[:0]
	for k := range l.groups {
		g := &l.groups[k]
		if !g.used || g.changes == 0 {
			continue
		}
		g.changes--
		if l.v1() {
			l.sendV1(g.addr, g.joined)
		} else {
			typ := ChangeToExclude
			if !g.joined {
				typ = ChangeToInclude
			}
			l.records = append(l.records, RecordFields{Type: typ, Group: g.addr})
		}
		if !g.joined && g.changes == 0 {
			*g = group{}
		}
	}
	l.sendReport()
}

// randomDelay is a random duration in [0, d).
func (l *Layer) randomDelay(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(l.rnd.Uint64() % uint64(d))
}

// v1 reports whether an MLDv1 querier was heard lately (§8.2.1).
func (l *Layer) v1() bool { return !l.v1Until.IsZero() && l.q.Now().Before(l.v1Until) }

// Groups appends the groups joined and reported to dst.
func (l *Layer) Groups(dst []inet.Addr) []inet.Addr {
	for k := range l.groups {
		if g := &l.groups[k]; g.used && g.joined {
			dst = append(dst, g.addr)
		}
	}
	return dst
}
