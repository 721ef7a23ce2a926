// DMA memory as the driver sees it.

package virtio

// Memory hands out memory that the device can reach by DMA.
type Memory interface {
	// Alloc returns size bytes of zeroed memory aligned to align (a power
	// of two) and the bus address the device uses for its first byte. The
	// memory stays allocated for the life of the driver.
	//
	// On hardware without coherent DMA the memory must be uncached, or the
	// driver would need cache maintenance around each ring and buffer
	// access; see ring.go for where it would go. QEMU under TCG is coherent.
	Alloc(size, align int) (buf []byte, bus uint64, err error)
}
