// Package bytering places variable-size frames in one byte slab, first in
// first out: the transmit rings of drivers/tap and drivers/virtio and the
// receive rings of drivers/memlink, whose frames range from a 60-byte ACK
// to a 64 KiB TSO segment. Fixed slots would have to be 64 KiB each.
//
// Positions are free-running byte counts: the writer's w only grows, and
// so does r, the end of the oldest frame still in use (the reader frees
// frames in order). A frame never wraps: one that does not fit before the
// end of the slab starts at its beginning, and the bytes skipped count as
// part of it.
package bytering

// Place returns the position at which n bytes go in a slab of size bytes,
// given the write position w and the read position r, and reports
// whether they fit; the frame is slab[start%size:][:n] and the next write
// position is start+n.
func Place(size int, w, r uint64, n int) (start uint64, ok bool) {
	if n < 0 || n > size {
		return 0, false
	}
	start = w
	if off := int(w % uint64(size)); off+n > size {
		start += uint64(size - off)
	}
	return start, start+uint64(n)-r <= uint64(size)
}
