package tcp

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

// Stats are the layer's counters.
type Stats struct {
	SegmentsIn, SegmentsOut uint64
	LargeSegmentsIn         uint64 // segments longer than our MSS (merged by the device: netif.Offloads.LargeReceive)
	LargeSegmentsOut        uint64 // TSO segments handed to the device to cut (netif.Offloads.TSO4Max)
	ChecksumsOffloaded      uint64 // segments whose checksum the device checked or is to compute
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
	States                  [numStates]int // current connections per state
	Memory                  int            // buffer bytes in use
}

func (l *Layer) drop(r DropReason) { l.stats.Drops[r]++ }
