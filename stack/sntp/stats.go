package sntp

import (
	"net/netip"
	"time"
)

// Reason is why a received datagram was not used.
type Reason uint8

// Reasons for rejecting a datagram (RFC 4330 §5, RFC 5905 §8 and
// Appendix A.5.1.1's packet tests).
const (
	RejectShort    Reason = iota // shorter than the 48-byte header
	RejectVersion                // version not 1 to 4
	RejectSource                 // not from the server asked, or nothing asked
	RejectOrigin                 // origin timestamp is not our nonce: spoofed, stale or duplicate
	RejectMode                   // not mode 4 (server)
	RejectKiss                   // stratum 0: kiss-o'-death (also counted by code)
	RejectUnsynced               // leap indicator 3 or stratum 16 and above
	RejectTime                   // a zero receive or transmit timestamp
	RejectDelay                  // round trip negative or above Config.MaxDelay
	RejectDistance               // root delay/2 + root dispersion above 1.5 s (RFC 5905 MAXDIST)
	RejectPanic                  // offset beyond Config.PanicThreshold after the first sync
	NumReasons
)

var reasonNames = [NumReasons]string{"short", "version", "source", "origin", "mode", "kiss", "unsynced", "time", "delay", "distance", "panic"}

// String names the reason (the label of the metric).
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Stats are the client's counters.
type Stats struct {
	Requests   uint64 // requests sent
	SendErrors uint64 // requests the socket refused
	Received   uint64 // datagrams received
	Overflow   uint64 // of those, dropped because the input queue was full
	Replies    uint64 // replies accepted and applied
	Timeouts   uint64 // requests that got no usable reply in time
	Rejected   [NumReasons]uint64
	// Kiss-o'-death codes received (RFC 5905 §7.4), from the server asked
	// and with our nonce.
	KissRate, KissDeny, KissRstr, KissOther uint64
	Steps                                   uint64 // clock steps (the first sync, and large offsets with StepLarge)
	Slews                                   uint64 // slews started
	Polls                                   uint64 // polls begun
	Failed                                  uint64 // polls in which no server gave a usable reply
}

// Status is the client's view of time.
type Status struct {
	// Synced is true once a reply has set the clock.
	Synced bool
	// Server gave the last sample; Stratum and RefID are its.
	Server  netip.AddrPort
	Stratum uint8
	RefID   [4]byte
	// Offset is the last sample's offset (server minus our clock, before
	// it was corrected) and Delay its round trip.
	Offset, Delay time.Duration
	// LastSync is the disciplined clock's time of the last sample.
	LastSync time.Time
	// Poll is the current poll interval (before jitter).
	Poll time.Duration
}

// MetricLabel names the elements of Stats' arrays for a metrics endpoint
// (internal/metrics.Struct): Rejected by reason.
func (Stats) MetricLabel(path string, i int) (name, value string) {
	if path == "Rejected" {
		return "reason", Reason(i).String()
	}
	return "", ""
}

// Metrics is what a metrics endpoint shows of a client: its counters and,
// as gauges, its status (MetricGauges names them). Give it to
// internal/metrics.Struct as any: the metrics endpoint does not import
// this package.
type Metrics struct {
	Stats
	Synced                      bool
	Stratum                     uint8
	OffsetSeconds, DelaySeconds float64 // the last sample's
	PollSeconds                 float64
}

// MetricGauges names the fields of Metrics that are gauges besides the
// floats, for internal/metrics.Struct.
func MetricGauges() map[string]bool { return map[string]bool{"Synced": true, "Stratum": true} }

// Metrics returns the counters and status.
func (c *Client) Metrics() Metrics {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.status
	return Metrics{
		Stats: c.stats, Synced: st.Synced, Stratum: st.Stratum,
		OffsetSeconds: st.Offset.Seconds(), DelaySeconds: st.Delay.Seconds(), PollSeconds: st.Poll.Seconds(),
	}
}
