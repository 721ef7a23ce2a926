package netif

import "sync/atomic"

// Stats is a snapshot of a device's counters.
type Stats struct {
	RxFrames  uint64 // frames handed to the handler
	RxBytes   uint64
	RxDropped uint64 // frames dropped: no handler, no buffer, too large
	RxErrors  uint64 // frames the hardware reported as bad
	TxFrames  uint64 // frames accepted by Transmit
	TxBytes   uint64
	TxDropped uint64 // frames refused: busy, link down, too large
	TxErrors  uint64 // frames the device failed to send
}

// Counters is the live, concurrency-safe form of Stats that drivers embed.
type Counters struct {
	RxFrames, RxBytes, RxDropped, RxErrors atomic.Uint64
	TxFrames, TxBytes, TxDropped, TxErrors atomic.Uint64
}

// Snapshot returns the current values.
func (c *Counters) Snapshot() Stats {
	return Stats{
		RxFrames: c.RxFrames.Load(), RxBytes: c.RxBytes.Load(),
		RxDropped: c.RxDropped.Load(), RxErrors: c.RxErrors.Load(),
		TxFrames: c.TxFrames.Load(), TxBytes: c.TxBytes.Load(),
		TxDropped: c.TxDropped.Load(), TxErrors: c.TxErrors.Load(),
	}
}

// CountRx records one frame handed up.
func (c *Counters) CountRx(n int) {
	c.RxFrames.Add(1)
	c.RxBytes.Add(uint64(n))
}

// CountTx records one frame sent.
func (c *Counters) CountTx(n int) {
	c.TxFrames.Add(1)
	c.TxBytes.Add(uint64(n))
}
