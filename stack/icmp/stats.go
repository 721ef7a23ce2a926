package icmp

// Stats are the layer's counters. ErrorsIn and ErrorsOut are indexed by
// ICMP type (3 destination unreachable, 4 source quench, 5 redirect, 11
// time exceeded, 12 parameter problem).
type Stats struct {
	Received          uint64 // messages handed up by ip
	EchoRequestsIn    uint64
	EchoRepliesOut    uint64
	EchoRepliesIn     uint64
	EchoRequestsOut   uint64
	ErrorsIn          [13]uint64
	ErrorsOut         [13]uint64
	RateLimited       uint64 // errors not sent: bucket empty
	Suppressed        uint64 // errors not sent: RFC 1122 §3.2.2 rules
	SendErrors        uint64 // replies or errors ip refused
	DropShort         uint64 // shorter than 8 bytes
	DropChecksum      uint64 // bad checksum
	DropBadQuote      uint64 // error quoting less than a whole IP header
	DropUnknownType   uint64 // types we do not handle
	DropBroadcastEcho uint64 // echo requests to broadcast: no reply
}
