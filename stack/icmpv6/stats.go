package icmpv6

// Stats are the layer's counters. ErrorsIn and ErrorsOut are indexed by
// ICMPv6 type (1 destination unreachable, 2 packet too big, 3 time
// exceeded, 4 parameter problem).
type Stats struct {
	Received          uint64 // messages handed up by ipv6
	EchoRequestsIn    uint64
	EchoRepliesOut    uint64
	EchoRepliesIn     uint64
	EchoRequestsOut   uint64
	Handled           uint64 // messages passed to a registered handler (ND, MLD)
	ErrorsIn          [5]uint64
	ErrorsOut         [5]uint64
	RateLimited       uint64 // errors and multicast echo replies not sent: bucket empty
	Suppressed        uint64 // errors not sent: RFC 4443 §2.4 (e) rules
	SendErrors        uint64 // replies or errors ipv6 refused
	DropShort         uint64 // shorter than 8 bytes
	DropChecksum      uint64 // bad checksum
	DropSource        uint64 // from :: or our own address, not to an ND or MLD handler
	DropBadQuote      uint64 // error quoting less than an IPv6 header
	DropPTBTooSmall   uint64 // Packet Too Big with an MTU under 1280 (RFC 8201 §4)
	DropUnknownError  uint64 // error types we do not know
	DropUnknownType   uint64 // informational types nobody handles
	DropMulticastEcho uint64 // echo requests to multicast with IgnoreMulticastEcho
}
