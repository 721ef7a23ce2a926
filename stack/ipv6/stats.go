package ipv6

// Stats are the layer's counters.
type Stats struct {
	Received     uint64 // packets handed to Input
	Delivered    uint64 // packets delivered to a transport
	Sent         uint64 // packets passed to the link (fragments count once each)
	NoNextHeader uint64 // packets ending in No Next Header (RFC 8200 §4.7)

	FragmentsReceived    uint64 // fragments taken into reassembly
	AtomicFragments      uint64 // atomic fragments, processed on their own (RFC 6946)
	Reassembled          uint64 // packets completed by reassembly
	ReasmTimeouts        uint64 // partial packets expired
	ReasmDrops           uint64 // partial packets dropped for want of memory
	ReasmOverlaps        uint64 // partial packets dropped for overlapping fragments (RFC 5722)
	ReasmInconsistent    uint64 // partial packets dropped for fragments past the last, or two last ones
	ReasmDeadFragments   uint64 // fragments of a dropped packet (overlap, inconsistent, per-packet cap) dropped until its timeout
	ReasmDuplicates      uint64 // exact duplicate fragments ignored
	ReasmBadLength       uint64 // fragments not a multiple of 8 with M set, or past 65535 (RFC 8200 §4.5)
	ReasmIncompleteChain uint64 // first fragments without the whole header chain (RFC 7112)
	ReasmPacketCap       uint64 // partial packets dropped over the per-packet memory cap
	ReasmEvicted         uint64 // partial packets evicted to stay within the caps
	FragmentedSent       uint64 // packets sent as fragments
	FragmentsSent        uint64 // fragments sent
	ReasmPending         uint64 // partial packets held now (snapshot)
	ReasmMemory          uint64 // bytes held by partial packets now (snapshot)

	ControlErrors     uint64 // ICMPv6 errors handed to transports
	ControlErrorDrops uint64 // ICMPv6 errors with no transport, not about us, or with no upper-layer header
	PMTUUpdates       uint64 // path MTUs lowered by Packet Too Big
	PMTUEntries       uint64 // path MTU cache entries now (snapshot)

	DropShort          uint64 // shorter than 40 bytes
	DropVersion        uint64 // version not 6
	DropLength         uint64 // payload length past the data
	DropSource         uint64 // multicast, loopback or IPv4-mapped source; :: or ours but not ICMPv6
	DropNotForUs       uint64 // destination not ours, tentative, or a group not joined
	DropTruncated      uint64 // an extension header past the end
	DropChainTooLong   uint64 // more than MaxExtHeaders, or longer than MaxChainLen
	DropHopByHop       uint64 // Hop-by-Hop header not first (RFC 8200 §4.3)
	DropRH0            uint64 // routing header type 0 with segments left (RFC 5095)
	DropRouting        uint64 // other routing header with segments left (we do not route)
	DropNestedFragment uint64 // a Fragment header after a Fragment header
	DropBadOption      uint64 // malformed option TLV
	DropUnknownOption  uint64 // unrecognised option whose type says discard
	DropTooManyOptions uint64 // more than MaxOptions in one header
	DropPadding        uint64 // more than 7 bytes of padding in a row, or PadN not zero
	SkippedOptions     uint64 // unrecognised options skipped (type 00xxxxxx)
	DropProtocol       uint64 // no transport for the upper-layer protocol
	DropNoRoute        uint64 // output to an address of the wrong family, :: or ::1
	DropNoAddress      uint64 // output with no usable source address
	DropTooBig         uint64 // output over the path MTU with DontFragment, or over 65535
	DropLinkError      uint64 // output the link refused
}
