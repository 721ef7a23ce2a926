package pkt

// CopyAt copies len(dst) bytes of the packet (contiguous part, then
// attachments) starting at byte off into dst, and returns how many it
// copied: fewer when the packet ends first. Fragmentation uses it.
func (b *Buf) CopyAt(dst []byte, off int) int {
	n := 0
	seg := func(p []byte) {
		if n == len(dst) {
			return
		}
		if off >= len(p) {
			off -= len(p)
			return
		}
		n += copy(dst[n:], p[off:])
		off = 0
	}
	seg(b.data[b.head:b.tail])
	for _, p := range b.ext[:b.next] {
		seg(p)
	}
	return n
}
