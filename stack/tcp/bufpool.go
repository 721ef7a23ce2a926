package tcp

// Buffer memory comes in power-of-two blocks from minBlock up to the
// configured buffer size. A connection's ring starts at the smallest block
// that holds its data (or, when the previous ring of that direction was
// busier, at the size that one reached, so that a bulk flow whose ring
// drains between reads does not regrow it from 4 KiB each time) and grows
// (one copy) as more is queued, up to Config.SendBuffer / RecvBuffer; it
// is returned when it drains. So memory follows what is actually buffered:
// an idle connection holds none, and a request/response connection holds a
// few KiB, not the full window. The blocks are recycled by
// internal/blockpool.
const minBlock = 4 << 10

// decayHint is the class a direction's next ring starts at, given the
// previous hint and the class the ring just released needed: up at once,
// down one class per ring, so a bulk flow whose ring sometimes drains
// early keeps its size while a connection that turned to small messages
// goes back to small rings after a few.
func decayHint(hint uint8, cls int) uint8 {
	if cls >= int(hint) {
		return uint8(cls)
	}
	return hint - 1
}
