package impair

// Counters counts the faults injected in one direction.
type Counters struct {
	Frames      uint64 // frames offered to the impairment
	Lost        uint64 // dropped by Loss
	Duplicated  uint64 // sent twice by Dup
	Reordered   uint64 // held back by Reorder
	Corrupted   uint64 // one bit flipped by Corrupt
	Delayed     uint64 // held by Delay or Jitter
	RateQueued  uint64 // held by the rate limit until tokens were available
	RateDropped uint64 // dropped by the rate limit: its queue was full
	Overflow    uint64 // dropped because all Limit holding buffers were in use
}

// Stats holds the counters of both directions.
type Stats struct {
	Tx, Rx Counters
}
