package tcp

import "github.com/mirago/mirago/stack/inet"

// State is a connection state (RFC 9293 §3.3.2).
type State uint8

// Connection states.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
	numStates
)

// NumStates is the number of states (the length of Stats.States).
const NumStates = int(numStates)

var stateNames = [numStates]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"}

// String returns the RFC 9293 name, e.g. "ESTABLISHED".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// synchronized reports whether s is past the handshake (§3.5).
func (s State) synchronized() bool { return s >= Established }

// DropReason says why an inbound segment was dropped.
type DropReason uint8

// Drop reasons, indexes into Stats.Drops.
const (
	DropChecksum DropReason = iota
	DropBadOffset
	DropNoListener
	DropOutOfWindow
	DropPAWS
	DropBacklogFull
	DropMemory
	DropBadAck
	DropOOOFull
	DropBroadcast // to or from a broadcast or multicast address (RFC 1122 §4.2.3.10)
	DropOther
	NumDropReasons
)

var dropNames = [NumDropReasons]string{"checksum", "bad-offset", "no-listener", "out-of-window",
	"paws", "backlog-full", "memory", "bad-ack", "ooo-full", "broadcast", "other"}

// String names the reason.
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// Counters are the layer's counters kept per address family.
type Counters struct {
	SegmentsIn, SegmentsOut uint64
	LargeSegmentsIn         uint64 // segments longer than our MSS (merged by the device: netif.Offloads.LargeReceive)
	LargeSegmentsOut        uint64 // TSO segments handed to the device to cut (netif.Offloads.TSO4Max, TSO6Max)
	ChecksumsOffloaded      uint64 // segments whose checksum the device checked or is to compute
	AcksBatched             uint64 // ACKs deferred to the end of a receive batch (netif.RxMeta.More)
	Splices                 uint64 // connection pairs spliced (SpliceConns), counted by the first one's family
	DeviceBusy              uint64 // segments kept for a later turn because the device was busy (netif.ErrBusy; txsched.go)
	Retransmits             uint64 // segments retransmitted
	RTOEvents               uint64 // retransmission timeouts
	FastRetransmits         uint64 // loss recoveries entered on duplicate ACKs/SACK
	SpuriousRetransmits     uint64 // fast retransmits undone (RFC 3522 Eifel)
	TailLossProbes          uint64 // tail loss probes sent (RFC 8985 §7.3)
	TailLossProbeRepairs    uint64 // probe retransmissions that repaired a loss (RFC 8985 §7.4.2): cwnd reduced
	ResetsSent, ResetsRecv  uint64
	ChallengeAcks           uint64 // RFC 5961 challenge ACKs sent
	ChallengeAcksLimited    uint64 // challenge ACKs suppressed by rate limits
	OutOfWindowAcksLimited  uint64 // ACKs to out-of-window or PAWS-failed segments suppressed (Config.InvalidAckInterval)
	ListenFiltered          uint64 // connection attempts refused by a Listener filter (SetFilter)
	SynCookiesSent          uint64
	SynCookiesValid         uint64
	SynCookiesInvalid       uint64
	WindowGrowths           uint64 // receive windows doubled by RecvAutoTune
	ActiveOpens             uint64
	PassiveOpens            uint64
	Timeouts                uint64 // connections aborted by a timeout
	Drops                   [NumDropReasons]uint64
	// Conns is the connections now open (in any state but CLOSED and
	// LISTEN). A gauge.
	Conns int
}

func (c *Counters) add(o *Counters) {
	c.SegmentsIn += o.SegmentsIn
	c.SegmentsOut += o.SegmentsOut
	c.LargeSegmentsIn += o.LargeSegmentsIn
	c.LargeSegmentsOut += o.LargeSegmentsOut
	c.ChecksumsOffloaded += o.ChecksumsOffloaded
	c.AcksBatched += o.AcksBatched
	c.Splices += o.Splices
	c.DeviceBusy += o.DeviceBusy
	c.Retransmits += o.Retransmits
	c.RTOEvents += o.RTOEvents
	c.FastRetransmits += o.FastRetransmits
	c.SpuriousRetransmits += o.SpuriousRetransmits
	c.TailLossProbes += o.TailLossProbes
	c.TailLossProbeRepairs += o.TailLossProbeRepairs
	c.ResetsSent += o.ResetsSent
	c.ResetsRecv += o.ResetsRecv
	c.ChallengeAcks += o.ChallengeAcks
	c.ChallengeAcksLimited += o.ChallengeAcksLimited
	c.OutOfWindowAcksLimited += o.OutOfWindowAcksLimited
	c.ListenFiltered += o.ListenFiltered
	c.SynCookiesSent += o.SynCookiesSent
	c.SynCookiesValid += o.SynCookiesValid
	c.SynCookiesInvalid += o.SynCookiesInvalid
	c.WindowGrowths += o.WindowGrowths
	c.ActiveOpens += o.ActiveOpens
	c.PassiveOpens += o.PassiveOpens
	c.Timeouts += o.Timeouts
	for i := range c.Drops {
		c.Drops[i] += o.Drops[i]
	}
	c.Conns += o.Conns
}

// Stats are the layer's counters.
type Stats struct {
	// Counters are both families' (IPv4's are these less IPv6's).
	Counters
	// IPv6 is the IPv6 share of Counters.
	IPv6   Counters
	States [numStates]int // current connections per state (and listeners in LISTEN)
	Memory int            // buffer bytes in use
	// DeviceEpisodes is how many times the device refused a segment
	// after accepting every one before (txsched.go): each such episode
	// ends when the connections that waited have had their turns.
	DeviceEpisodes uint64
}

// fam is the index of a's family in Layer.cnt: 0 for IPv4, 1 for IPv6.
func fam(a inet.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// cnt returns the counters of a's family.
func (l *Layer) cnt(a inet.Addr) *Counters { return &l.cnts[fam(a)] }

// cnt returns the counters of c's family.
func (c *Conn) cnt() *Counters { return &c.l.cnts[fam(c.id.raddr)] }

// drop counts a segment from or to a dropped for r.
func (l *Layer) drop(a inet.Addr, r DropReason) { l.cnts[fam(a)].Drops[r]++ }
