package tcp

// Acknowledgments per receive batch.
//
// A driver that hands up several frames at once (the used ring of one
// virtio-net interrupt, a TAP read that found the next frame already
// queued) marks every frame but the last of the batch with
// netif.RxMeta.More, and the stack tells TCP (SetBatchLocked). While
// more frames follow, the acknowledgment that RFC 9293 §3.8.6.3 and RFC
// 5681 §4.2 ask for every second full-sized segment (and the one for a
// segment the device merged, or for the quick ACKs of a new connection)
// is not sent at once: it waits for the end of the batch, where one
// cumulative ACK covers every segment of it (EndBatchLocked). Linux
// does the same, per NAPI poll and per GRO-merged segment. The ACK waits
// no longer than the driver takes to hand up frames it already holds: no
// timer, no other event. ACKs the receiver owes for other reasons (a
// segment out of order or filling a gap, out of window, a FIN, a window
// update) still go at once, and a segment the connection sends meanwhile
// carries the acknowledgment and clears it.

// SetBatchLocked tells TCP whether more frames of the current receive
// batch follow the one about to be delivered. The stack calls it before
// every frame it hands to the layers below, with the frame's
// netif.RxMeta.More, and calls EndBatchLocked after the last.
func (l *Layer) SetBatchLocked(more bool) { l.more = more }

// EndBatchLocked sends the acknowledgments deferred to the end of the
// receive batch (see SetBatchLocked).
func (l *Layer) EndBatchLocked() {
	l.more = false
	if len(l.ackBatch) == 0 {
		return
	}
	set := l.cacheNow()
	for i, c := range l.ackBatch {
		l.ackBatch[i] = nil
		if c.f&fAckBatch == 0 {
			continue // an ACK went out meanwhile, or the connection ended
		}
		c.f &^= fAckBatch
		if c.state.synchronized() {
			c.f |= fAckNow
			c.output()
		}
	}
	l.ackBatch = l.ackBatch[:0]
	l.uncache(set)
}

// ackAtBatchEnd acknowledges now, or at the end of the receive batch when
// more frames of it follow.
func (c *Conn) ackAtBatchEnd() {
	l := c.l
	if !l.more {
		c.f |= fAckNow
		return
	}
	// The delayed-ACK timer (usually already armed: sendSegment leaves it
	// running) only backs up a driver that marked a frame More and then
	// handed up no other.
	c.f |= fDelAck
	if c.f&fAckBatch == 0 {
		c.f |= fAckBatch
		l.ackBatch = append(l.ackBatch, c)
		c.cnt().AcksBatched++
	}
}
