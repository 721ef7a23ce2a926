package ipv4

// Stats are the layer's counters.
type Stats struct {
	Received  uint64 // datagrams handed to Input
	Delivered uint64 // datagrams delivered to a transport
	Sent      uint64 // datagrams passed to the link (fragments count once each)

	FragmentsReceived uint64 // fragments accepted into reassembly
	Reassembled       uint64 // datagrams completed by reassembly
	ReasmTimeouts     uint64 // partial datagrams expired
	ReasmDrops        uint64 // fragments or partial datagrams dropped (overlap, limits, bad)
	ReasmOverlaps     uint64 // partial datagrams dropped for overlapping fragments
	ReasmDuplicates   uint64 // exact duplicate fragments ignored
	ReasmTiny         uint64 // tiny first fragments dropped (RFC 1858)
	ReasmEvicted      uint64 // partial datagrams evicted to stay within the caps
	FragmentedSent    uint64 // datagrams sent as fragments
	FragmentsSent     uint64 // fragments sent
	ReasmPending      uint64 // partial datagrams held now (snapshot)
	ReasmMemory       uint64 // bytes held by partial datagrams now (snapshot)
	ControlErrors     uint64 // ICMP errors handed to transports
	ControlErrorDrops uint64 // ICMP errors with no transport or not about us

	DropShort       uint64 // shorter than 20 bytes
	DropVersion     uint64 // version not 4
	DropIHL         uint64 // IHL < 5 or past the data
	DropLength      uint64 // total length inconsistent
	DropChecksum    uint64 // header checksum wrong
	DropSource      uint64 // source not a unique host (0/8, 127/8, 224/4, 240/4, a broadcast), or ours
	DropNotForUs    uint64 // destination not ours (we do not forward)
	DropSourceRoute uint64 // LSRR/SSRR present (RFC 1122 §3.2.1.8: we drop)
	DropOptions     uint64 // malformed options
	DropProtocol    uint64 // no transport for the protocol
	DropNoRoute     uint64 // output with no route
	DropTooBig      uint64 // output larger than the MTU with DF, or > 65535
	DropLinkError   uint64 // output the link refused
}
