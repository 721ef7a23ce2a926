package arp

// Stats counts ARP traffic, drops by reason and cache activity.
type Stats struct {
	RequestsSent       uint64
	RepliesSent        uint64
	GratuitousSent     uint64 // announcements and defences
	RequestsReceived   uint64 // well-formed requests
	RepliesReceived    uint64 // well-formed replies
	GratuitousReceived uint64 // spa == tpa
	Conflicts          uint64 // another MAC claimed one of our addresses
	Ignored            uint64 // well formed, but not for us and about no cached address, or our own echo

	DropShort        uint64
	DropHardwareType uint64
	DropProtocolType uint64
	DropHardwareLen  uint64
	DropProtocolLen  uint64
	DropOp           uint64
	DropSenderMAC    uint64 // multicast, broadcast or zero sha
	DropSenderIP     uint64 // multicast or class E spa (240/4, which includes broadcast)
	DropUnsolicited  uint64 // reply aimed at one of our addresses about an address with no cache entry (nothing asked): possible spoofing

	CacheSize          int    // entries in use now
	Learned            uint64 // entries created from requests aimed at us
	Evictions          uint64 // entries evicted to make room
	Expired            uint64 // entries aged out (RFC 1122 §2.3.2.1)
	Pending            int    // packets queued now
	PendingDrops       uint64 // queued packets dropped: overflow, failure, eviction
	ResolutionFailures uint64 // addresses that did not answer MaxRetries requests
	TxErrors           uint64 // ARP packets the link refused
}

// StatsLocked returns a snapshot of the counters.
func (l *Layer) StatsLocked() Stats {
	s := l.stats
	s.CacheSize = l.cache.n
	s.Pending = l.pend.Used()
	return s
}
