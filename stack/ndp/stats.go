package ndp

// Stats counts ND traffic, drops by reason, the neighbor cache and
// address autoconfiguration.
type Stats struct {
	Received          uint64 // ND messages handed to Input
	NSReceived        uint64 // well-formed solicitations
	NAReceived        uint64 // well-formed advertisements
	RAReceived        uint64 // router advertisements processed
	RedirectsReceived uint64 // redirects followed
	NSSent            uint64 // resolution and NUD solicitations
	NASent            uint64
	RSSent            uint64
	DADProbesSent     uint64

	DropShort          uint64 // shorter than the message's fixed part
	DropType           uint64 // not an ND type
	DropCode           uint64 // ICMP code not 0
	DropOptionLen      uint64 // an option of length 0 or past the end
	DropOption         uint64 // a link-layer address option of the wrong length, or a malformed option of a known type (skipped in RAs)
	DropHopLimit       uint64 // hop limit below 255: forwarded, maybe forged off-link
	DropFragmented     uint64 // came in fragments (RFC 6980)
	DropSource         uint64 // RA or redirect not from a link-local address; DAD solicitation to a unicast address or with a link-layer address
	DropTarget         uint64 // multicast target; redirect to a target neither link-local nor the destination
	DropSolicited      uint64 // solicited advertisement sent to a multicast address
	DropRedirectSource uint64 // redirect not from the router we use for its destination
	NSNotForUs         uint64 // solicitations for addresses not (or not yet) ours
	NAIgnored          uint64 // advertisements about addresses we have no entry for
	RSIgnored          uint64 // router solicitations (hosts ignore them)
	RAIgnored          uint64 // advertisements with router discovery off, or from our own address

	CacheSize          int    // entries in use now
	Incomplete         int    // entries waiting for resolution now
	Learned            uint64 // entries created from solicitations, advertisements, redirects
	LearnRefused       uint64 // entries not created: the cache held only neighbors in use
	Evictions          uint64 // entries evicted to make room
	Expired            uint64 // unused STALE entries removed
	Pending            int    // packets queued now
	PendingDrops       uint64 // queued packets dropped: overflow, failure, eviction
	ResolutionFailures uint64 // neighbors that did not answer MaxMulticastSolicit solicitations
	ProbeFailures      uint64 // neighbors that stopped answering (NUD)
	NoRoute            uint64 // packets with no next hop
	NoSource           uint64 // solicitations not sent: no usable address yet
	TxErrors           uint64 // ND packets the link refused

	Routers           int    // default routers now
	RoutersFull       uint64 // routers not added: the list was full
	PrefixesFull      uint64 // on-link prefixes not added: the list was full
	PrefixIgnored     uint64 // prefix options for the link-local prefix or of length 0
	RedirectsReplaced uint64 // redirects dropped for newer ones
	MTUIgnored        uint64 // MTU options below 1280 or above the device's
	ParamClamped      uint64 // reachable or retransmission times out of bounds, clamped
	DNSIgnored        uint64 // RDNSS servers not kept: not unicast, or the list was full of longer-lived ones

	DADStarted        uint64
	DADSucceeded      uint64
	DADFailed         uint64 // duplicates found
	DADLoopedBack     uint64 // our own probes seen again (RFC 7527)
	Conflicts         uint64 // other nodes claiming addresses we use
	SLAACAddrs        uint64 // addresses formed from prefixes
	SLAACIgnored      uint64 // prefixes not used for SLAAC: link-local, not /64, preferred > valid
	ValidLifetimeKept uint64 // valid lifetimes not shortened (RFC 4862 §5.5.3 (e))
	AddrRefused       uint64 // addresses not added: table full
	AddrExpired       uint64 // addresses whose valid lifetime ran out
}

// StatsLocked returns a snapshot of the counters.
func (l *Layer) StatsLocked() Stats {
	s := l.stats
	s.CacheSize = l.cache.n
	s.Incomplete = l.cache.incomplete
	s.Pending = l.pend.Used()
	s.Routers = l.routers.n
	return s
}
