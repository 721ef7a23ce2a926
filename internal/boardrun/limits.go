package boardrun

import "github.com/mirago/mirago/stack"

// The stack's memory limits on a board come from the memory its Go heap
// can grow into (the board's HeapRoom: RAM less the image, the boot
// stack and the DMA region), so that one image runs in a 32 MiB VM and
// makes use of a larger one. Each limit is a share of that room H,
// clamped between a floor that keeps the protocol working and the
// stack's host default, which a machine with H of 256 MiB or more gets:
//
//	TCP.MaxMemory      H/4       in [1 MiB, 64 MiB]   all connections' send and receive buffers
//	TCP.SendBuffer,
//	TCP.RecvBuffer     H/64      in [16 KiB, 256 KiB] one connection's buffers (window)
//	TCP.MaxTimeWait    H/8 KiB   in [128, 32768]      TIME_WAIT keeps the connection (~750 B idle)
//	TCP.MaxHalfOpen    H/64 KiB  in [64, 256]         SYN_RECEIVED connections per listener (cookies beyond)
//	UDP.RecvBuffer     H/64      in [64 KiB, 256 KiB] one socket's receive queue (truesize)
//	IPv4.ReasmMemory   H/64      in [64 KiB, 256 KiB] partial datagrams in reassembly
//	IPv4.ReasmDatagrams ReasmMemory/4 KiB in [16, 64]
//	ARP.CacheSize      H/64 KiB  in [64, 512]         neighbour entries
//
// So a 32 MiB qemu-virt VM (H about 27 MiB) gets 6.7 MiB of TCP buffers
// in all, 256 KiB windows, 3,400 TIME_WAIT slots, 256 half-open; the
// buffers of an idle connection are given back (TCP's are grown lazily),
// so what bounds the number of idle connections is the connection and
// its goroutine, not these limits. Fields already set in cfg are kept.

// Limits sets the memory limits in cfg that are still zero from heap,
// the bytes the Go heap can grow into (see above).
func Limits(cfg *stack.Config, heap uint64) {
	share := func(div, lo, hi uint64) int { return int(min(max(heap/div, lo), hi)) }
	set := func(f *int, v int) {
		if *f == 0 {
			*f = v
		}
	}
	const KiB, MiB = 1 << 10, 1 << 20
	set(&cfg.TCP.MaxMemory, share(4, 1*MiB, 64*MiB))
	set(&cfg.TCP.SendBuffer, share(64, 16*KiB, 256*KiB))
	set(&cfg.TCP.RecvBuffer, share(64, 16*KiB, 256*KiB))
	set(&cfg.TCP.MaxTimeWait, share(8*KiB, 128, 32768))
	set(&cfg.TCP.MaxHalfOpen, share(64*KiB, 64, 256))
	set(&cfg.UDP.RecvBuffer, share(64, 64*KiB, 256*KiB))
	set(&cfg.IPv4.ReasmMemory, share(64, 64*KiB, 256*KiB))
	set(&cfg.IPv4.ReasmDatagrams, min(max(cfg.IPv4.ReasmMemory/(4*KiB), 16), 64))
	set(&cfg.ARP.CacheSize, share(64*KiB, 64, 512))
}
