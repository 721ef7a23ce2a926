package tcp

import "time"

// CongestionControl selects the congestion control algorithm.
type CongestionControl uint8

// Congestion control algorithms.
const (
	// CUBIC is RFC 9438 (the default).
	CUBIC CongestionControl = iota
	// NewReno is RFC 5681 with RFC 6582 recovery.
	NewReno
)

// Config holds the tunables of a Layer. Zero fields take the defaults
// documented on each field.
type Config struct {
	// MSS is the largest segment payload we accept; default IP MTU - 40.
	MSS int
	// SendBuffer is the per-connection send buffer size; default 256 KiB.
	SendBuffer int
	// RecvBuffer is the per-connection receive buffer size; default 256 KiB.
	// With RecvAutoTune it is the bound the window may grow to.
	RecvBuffer int
	// RecvAutoTune turns on receive-window auto-tuning (dynamic
	// right-sizing, as Linux's tcp_rcv_space_adjust): a connection starts
	// by offering RecvBufferInitial and doubles its window, up to
	// RecvBuffer, whenever the application read at least half of it within
	// one smoothed RTT, i.e. when the window limits the transfer. Off by
	// default: every connection offers RecvBuffer.
	RecvAutoTune bool
	// RecvBufferInitial is the starting window under RecvAutoTune;
	// default 64 KiB (at most RecvBuffer).
	RecvBufferInitial int
	// MaxMemory bounds the buffer memory of all connections; default 64 MiB.
	// Over it, received data that needs a new buffer is dropped.
	MaxMemory int
	// MinRTO is the lower RTO bound; default 200ms (RFC 6298 allows less
	// than its 1s, as Linux does).
	MinRTO time.Duration
	// MaxRTO is the upper RTO bound; default 120s.
	MaxRTO time.Duration
	// InitialRTO is the RTO before any RTT sample; default 1s (RFC 6298 §2.1).
	InitialRTO time.Duration
	// SynRetries bounds SYN retransmissions of Dial; default 6.
	SynRetries int
	// SynAckRetries bounds SYN-ACK retransmissions; default 5.
	SynAckRetries int
	// TimeWait is the TIME_WAIT duration (2*MSL); default 60s.
	TimeWait time.Duration
	// DelayedAck is the delayed-ACK timeout (RFC 9293 §3.8.6.3, <= 500ms);
	// default 40ms.
	DelayedAck time.Duration
	// QuickAcks is how many segments are ACKed at once at connection start;
	// default 16.
	QuickAcks int
	// UserTimeout aborts a connection whose data stays unacknowledged this
	// long (RFC 5482 semantics), or whose zero-window probes go
	// unanswered this long (probes the peer answers keep it open, RFC
	// 9293 §3.8.6.1); default 5 min.
	UserTimeout time.Duration
	// KeepAlive turns keepalive on for new connections (default off).
	KeepAlive bool
	// KeepIdle is the idle time before the first probe; default 2h.
	KeepIdle time.Duration
	// KeepInterval is the time between probes; default 75s.
	KeepInterval time.Duration
	// KeepCount is how many unanswered probes abort; default 9.
	KeepCount int
	// MaxTimeWait bounds the connections kept in TIME_WAIT; default 32768.
	MaxTimeWait int
	// Backlog bounds a listener's accept queue; default 128.
	Backlog int
	// MaxHalfOpen bounds a listener's SYN_RECEIVED connections; default 256.
	// Beyond it SYN cookies are used (unless DisableSynCookies).
	MaxHalfOpen int
	// DisableSynCookies drops SYNs instead of answering with a cookie.
	DisableSynCookies bool
	// CongestionControl picks the algorithm; default CUBIC.
	CongestionControl CongestionControl
	// DisableSACK, DisableTimestamps and DisableWindowScale turn off the
	// corresponding options.
	DisableSACK, DisableTimestamps, DisableWindowScale bool
	// DisableTLP turns off the tail loss probe (RFC 8985 §7), which is on
	// for connections that negotiated SACK: when no ACK has come for about
	// two round trips, one segment (new data, or the last one sent again)
	// goes out to draw the ACK that starts fast recovery, instead of
	// waiting for the retransmission timeout.
	DisableTLP bool
	// DisableOffload computes every checksum and sends segments of at
	// most the MSS even when the device offers checksum offload and TSO
	// (netif.Offloads), which are used by default.
	DisableOffload bool
	// TLPMaxAckDelay is the peer's delayed-ACK allowance that the probe
	// timeout adds when at most one segment is in flight (RFC 8985 §7.2
	// TLP.max_ack_delay, the worst-case delayed-ACK timer); default 200ms.
	TLPMaxAckDelay time.Duration
	// ChallengeAckLimit is the global RFC 5961 §7 challenge-ACK limit per
	// second; default 1000. Each connection is further limited to
	// ChallengeAckLimit/10 (at least 10) per second.
	ChallengeAckLimit int
	// InvalidAckInterval is the least time between two duplicate ACKs a
	// connection sends in answer to segments that fail PAWS (RFC 7323
	// §5.3) or the acceptability test (RFC 9293 §3.10.7.4), so junk
	// segments cannot make it emit one ACK each (ACK storms, reflection;
	// RFC 5961 §10, Linux's tcp_invalid_ratelimit). Default 500ms;
	// negative: no limit. Suppressed ACKs are counted in
	// Stats.OutOfWindowAcksLimited. Not limited by it: old duplicates
	// carrying data or a FIN, ending at or before RCV.NXT and less than
	// RecvBuffer behind it (a retransmission whose ACK was lost, a
	// retransmitted FIN in TIME_WAIT, a 1-byte keepalive probe), which are
	// always answered; zero-length keepalive probes (SEG.SEQ = RCV.NXT-1),
	// which have a budget of their own so that junk cannot starve them;
	// and SYNs, which get RFC 5961 §4 challenge ACKs under
	// ChallengeAckLimit.
	InvalidAckInterval time.Duration
	// EphemeralLow and EphemeralHigh bound local ports chosen by Dial;
	// default 49152-65535 (RFC 6056 §3.2).
	EphemeralLow, EphemeralHigh uint16
	// NoDelay disables Nagle on new connections (default: Nagle on).
	NoDelay bool
	// DeviceQuantum is how many bytes a connection may hand the device
	// in its turn while connections wait for a busy device (txsched.go;
	// the segment that reaches it goes whole); default 64 KiB: one TSO
	// segment, or 45 of 1448 bytes. Smaller turns share the device more
	// finely but cost a turn (and a wake-up of the application) per few
	// segments: with 4096 bulk flows over memlink, turns of two segments
	// moved a third of what turns of 64 KiB did.
	DeviceQuantum int
	// DeviceRetry is how long after a device refused a segment
	// (netif.ErrBusy) TCP tries again when the device does not report
	// room itself (netif.TxRoomNotifier); default 1ms. With one that
	// does, ten times as long guards against a report that never comes.
	DeviceRetry time.Duration
}

// MSSFloor is the smallest send MSS used: a peer MSS option below it
// (including 0), or a smaller path MTU, is raised to it. 88 is Linux's
// floor (48 payload bytes plus 40 of options): it keeps tiny-MSS peers and
// low PMTUs working while bounding the per-byte cost a peer can force
// (CVE-2019-11479). Without an MSS option the RFC 9293 §3.7.1 default 536
// is used.
const MSSFloor = 88

func (c *Config) setDefaults(mtu int) {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	if mtu <= 0 {
		mtu = 1500
	}
	def(&c.MSS, mtu-40)
	c.MSS = max(min(c.MSS, 65495), MSSFloor)
	def(&c.SendBuffer, 256<<10)
	def(&c.RecvBuffer, 256<<10)
	c.SendBuffer = max(c.SendBuffer, 2*c.MSS)
	c.RecvBuffer = max(min(c.RecvBuffer, 1<<30), 2*c.MSS)
	def(&c.RecvBufferInitial, 64<<10)
	c.RecvBufferInitial = max(min(c.RecvBufferInitial, c.RecvBuffer), 2*c.MSS)
	def(&c.MaxMemory, 64<<20)
	defd(&c.MinRTO, 200*time.Millisecond)
	defd(&c.MaxRTO, 120*time.Second)
	defd(&c.InitialRTO, time.Second)
	def(&c.SynRetries, 6)
	def(&c.SynAckRetries, 5)
	defd(&c.TimeWait, 60*time.Second)
	defd(&c.DelayedAck, 40*time.Millisecond)
	defd(&c.TLPMaxAckDelay, 200*time.Millisecond)
	c.DelayedAck = min(c.DelayedAck, 500*time.Millisecond)
	def(&c.QuickAcks, 16)
	defd(&c.UserTimeout, 5*time.Minute)
	defd(&c.KeepIdle, 2*time.Hour)
	defd(&c.KeepInterval, 75*time.Second)
	def(&c.KeepCount, 9)
	def(&c.Backlog, 128)
	def(&c.MaxTimeWait, 32768)
	def(&c.MaxHalfOpen, 256)
	def(&c.ChallengeAckLimit, 1000)
	def(&c.DeviceQuantum, 64<<10)
	defd(&c.DeviceRetry, time.Millisecond)
	if c.InvalidAckInterval == 0 {
		c.InvalidAckInterval = 500 * time.Millisecond
	}
	if c.EphemeralLow == 0 {
		c.EphemeralLow = 49152
	}
	if c.EphemeralHigh == 0 || c.EphemeralHigh < c.EphemeralLow {
		c.EphemeralHigh = 65535
	}
}
