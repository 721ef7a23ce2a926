package mld

import (
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// Input handles one MLD message (ICMPv6 types 130, 131, 132, 143) whose
// checksum held. Queries must come from a link-local address (RFC 3810
// §5.1.14) with hop limit 1 (§5); the reports of other listeners need
// nothing from a host (§6, no report suppression in MLDv2) and are
// counted. The code is ignored (§5.1.2).
func (l *Layer) Input(src, dst inet.Addr, hopLimit uint8, m []byte) {
	if len(m) < 1 {
		l.stats.DropShort++
		return
	}
	if m[0] != TypeQuery {
		l.stats.OthersReports++
		return
	}
	q, err := ParseQuery(m)
	if err != nil {
		l.stats.DropShort++
		return
	}
	switch {
	case !src.IsLinkLocalUnicast():
		l.stats.DropSource++
		return
	case hopLimit != mldHopLimit:
		l.stats.DropHopLimit++
		return
	}
	g := q.Group()
	if !g.IsUnspecified() && !g.IsMulticast() {
		l.stats.DropGroup++
		return
	}
	l.stats.QueriesReceived++
	now := l.q.Now()
	if !q.IsV2() {
		// An MLDv1 querier: talk MLDv1 for Older Version Querier
		// Present Timeout (§8.2.1, §9.12).
		l.stats.V1QueriesReceived++
		l.v1Until = now.Add(time.Duration(l.cfg.Robustness)*DefaultQueryInterval + DefaultQueryResponseInterval)
	}
	delay := l.randomDelay(q.MaxRespDelay())
	at := now.Add(delay)
	pending := l.respT.Pending()
	if pending && l.general && !l.q.When(&l.respT).After(at) {
		return // an earlier answer to a general query covers it (§6.2, 1)
	}
	if g.IsUnspecified() {
		l.general = true
		l.q.Schedule(&l.respT, at)
		return
	}
	k := l.find(g)
	if k < 0 || !l.groups[k].joined {
		return
	}
	l.groups[k].queried = true
	if !pending || l.q.When(&l.respT).After(at) {
		l.q.Schedule(&l.respT, at)
	}
}

// onRespond answers the queries: a current state report with a
// MODE_IS_EXCLUDE record for every group (general) or for the groups
// asked about (RFC 3810 §6.3). We listen to every source of every group
// we join, so a query that names sources gets the same answer.
func (l *Layer) onRespond(time.Time) {
	l.records = l.records[:0]
	for k := range l.groups {
		g := &l.groups[k]
		if !g.used || !g.joined || !(l.general || g.queried) {
			continue
		}
		g.queried = false
		if l.v1() {
			l.sendV1(g.addr, true)
			continue
		}
		l.records = append(l.records, RecordFields{Type: ModeIsExclude, Group: g.addr})
	}
	l.general = false
	l.sendReport()
}

// Stats counts MLD traffic and drops by reason.
type Stats struct {
	ReportsSent       uint64 // MLDv2 reports
	V1Sent            uint64 // MLDv1 reports and dones
	QueriesReceived   uint64
	V1QueriesReceived uint64
	OthersReports     uint64 // reports of other listeners (nothing to do)
	DropShort         uint64 // malformed queries
	DropSource        uint64 // queries not from a link-local address
	DropHopLimit      uint64 // queries with a hop limit other than 1
	DropGroup         uint64 // queries about a unicast address
	GroupsFull        uint64 // groups not reported: MaxGroups reached
	TxErrors          uint64
}

// StatsLocked returns a snapshot of the counters.
func (l *Layer) StatsLocked() Stats { return l.stats }
