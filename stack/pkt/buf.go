// Package pkt holds Buf, the outbound packet buffer that every layer of the
// stack shares.
//
// A Buf is built back to front. The top layer reserves headroom for every
// header below it, writes its own header and payload, and each lower layer
// then prepends its header in place with Prepend. The driver receives the
// finished frame and may prepend its own device header (for example the
// 12-byte virtio-net header) into what headroom is left. A segment is thus
// written once, straight into the buffer the driver sends.
//
// A Buf can also carry up to two payload slices by reference after its
// contiguous bytes. TCP uses them to send from its send buffer without
// copying (two slices, because a ring buffer wraps). Drivers gather them
// (writev, a DMA copy, or a copy on the in-memory link).
package pkt

import "errors"

// ErrNoHeadroom is returned by Prepend when a layer asks for more headroom
// than the buffer was reserved with. It is a programming error in the stack,
// reported rather than panicking, because a panic on bare metal stops the
// board.
var ErrNoHeadroom = errors.New("pkt: not enough headroom")

// Buf is an outbound packet. The zero value is an empty buffer with no
// capacity; use New or Reset.
type Buf struct {
	data []byte // backing array
	head int    // first byte of the contiguous part
	tail int    // one past the last byte of the contiguous part

	// ext holds payload carried by reference after data[head:tail].
	ext  [2][]byte
	next int // number of ext slices in use

	off offload // work left to the device (offload.go)
}

// New returns a Buf with capacity size and headroom bytes reserved in front.
func New(size, headroom int) *Buf {
	b := &Buf{data: make([]byte, size)}
	b.Reset(headroom)
	return b
}

// Reset empties b and reserves headroom bytes in front. headroom is clamped
// to the buffer's capacity.
func (b *Buf) Reset(headroom int) {
	if headroom > len(b.data) {
		headroom = len(b.data)
	}
	if headroom < 0 {
		headroom = 0
	}
	b.head, b.tail = headroom, headroom
	b.ext = [2][]byte{}
	b.next = 0
	b.off = offload{}
}

// Cap is the size of the backing array.
func (b *Buf) Cap() int { return len(b.data) }

// Headroom is how many bytes can still be prepended.
func (b *Buf) Headroom() int { return b.head }

// Tailroom is how many bytes can still be appended to the contiguous part.
func (b *Buf) Tailroom() int { return len(b.data) - b.tail }

// Prepend grows the contiguous part by n bytes at the front and returns them
// for the caller to fill. It returns ErrNoHeadroom, leaving b unchanged, when
// fewer than n bytes of headroom are left.
func (b *Buf) Prepend(n int) ([]byte, error) {
	if n < 0 || n > b.head {
		return nil, ErrNoHeadroom
	}
	b.head -= n
	return b.data[b.head : b.head+n : b.head+n], nil
}

// Append grows the contiguous part by n bytes at the back and returns them.
// It returns nil when n bytes do not fit or when by-reference payload has
// already been attached (appended bytes would land in front of it).
func (b *Buf) Append(n int) []byte {
	if n < 0 || n > len(b.data)-b.tail || b.next > 0 {
		return nil
	}
	b.tail += n
	return b.data[b.tail-n : b.tail : b.tail]
}

// TrimFront removes n bytes from the front of the contiguous part, giving
// them back as headroom. It reports false if fewer than n bytes are there.
func (b *Buf) TrimFront(n int) bool {
	if n < 0 || n > b.tail-b.head {
		return false
	}
	b.head += n
	return true
}

// Attach adds p after the contiguous bytes, by reference. At most two slices
// can be attached; Attach reports false when both are in use. Empty slices
// are ignored. The caller keeps p unchanged until the Buf has been sent.
func (b *Buf) Attach(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	if b.next == len(b.ext) {
		return false
	}
	b.ext[b.next] = p
	b.next++
	return true
}

// Bytes returns the contiguous part: the headers, and any payload that was
// appended rather than attached.
func (b *Buf) Bytes() []byte { return b.data[b.head:b.tail] }

// Attached returns the by-reference payload slices, in order. The result
// aliases b and is valid until the next Reset.
func (b *Buf) Attached() [][]byte { return b.ext[:b.next] }

// Len is the total length of the packet: contiguous bytes plus attachments.
func (b *Buf) Len() int {
	n := b.tail - b.head
	for _, p := range b.ext[:b.next] {
		n += len(p)
	}
	return n
}

// CopyTo copies the whole packet (contiguous part then attachments) into
// dst and returns the number of bytes copied, which is less than Len when
// dst is too short.
func (b *Buf) CopyTo(dst []byte) int {
	n := copy(dst, b.data[b.head:b.tail])
	for _, p := range b.ext[:b.next] {
		n += copy(dst[n:], p)
	}
	return n
}

// Flatten copies any attached payload into the contiguous part, so that
// Bytes is the whole packet. It reports false if the tailroom is too small.
// Layers that must rewrite payload bytes (fragmentation, fault injection)
// use it; the fast path does not.
func (b *Buf) Flatten() bool {
	if b.next == 0 {
		return true
	}
	need := 0
	for _, p := range b.ext[:b.next] {
		need += len(p)
	}
	if need > len(b.data)-b.tail {
		return false
	}
	for _, p := range b.ext[:b.next] {
		b.tail += copy(b.data[b.tail:], p)
	}
	b.ext = [2][]byte{}
	b.next = 0
	return true
}
