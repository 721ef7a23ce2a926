package boardrun

import (
	"testing"

	"github.com/mirago/mirago/stack"
)

func TestLimits(t *testing.T) {
	const KiB, MiB = 1 << 10, 1 << 20
	tests := []struct {
		heap                         uint64
		tcpMem, tcpBuf, timeWait     int
		halfOpen, udpBuf, reasm, arp int
		reasmDatagrams               int
	}{
		// A 32 MiB qemu-virt VM: about 27 MiB of heap room.
		{27 * MiB, 27 * MiB / 4, 256 * KiB, 3456, 256, 256 * KiB, 256 * KiB, 432, 64},
		// 12 MiB of room (a 16 MiB VM).
		{12 * MiB, 3 * MiB, 192 * KiB, 1536, 192, 192 * KiB, 192 * KiB, 192, 48},
		// Tiny: every floor.
		{1 * MiB, 1 * MiB, 16 * KiB, 128, 64, 64 * KiB, 64 * KiB, 64, 16},
		// 512 MiB and more: the stack's host defaults.
		{500 * MiB, 64 * MiB, 256 * KiB, 32768, 256, 256 * KiB, 256 * KiB, 512, 64},
	}
	for _, tc := range tests {
		var c stack.Config
		Limits(&c, tc.heap)
		got := []int{c.TCP.MaxMemory, c.TCP.SendBuffer, c.TCP.RecvBuffer, c.TCP.MaxTimeWait, c.TCP.MaxHalfOpen,
			c.UDP.RecvBuffer, c.IPv4.ReasmMemory, c.ARP.CacheSize, c.IPv4.ReasmDatagrams}
		want := []int{tc.tcpMem, tc.tcpBuf, tc.tcpBuf, tc.timeWait, tc.halfOpen, tc.udpBuf, tc.reasm, tc.arp, tc.reasmDatagrams}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("heap %d MiB: limit %d = %d, want %d (config %+v)", tc.heap>>20, i, got[i], want[i], c)
			}
		}
	}
}

// TestLimitsKeepsSetFields: a limit the settings already chose stays.
func TestLimitsKeepsSetFields(t *testing.T) {
	var c stack.Config
	c.TCP.SendBuffer = 4096
	c.UDP.RecvBuffer = 1 << 20
	Limits(&c, 27<<20)
	if c.TCP.SendBuffer != 4096 || c.UDP.RecvBuffer != 1<<20 || c.TCP.RecvBuffer != 256<<10 {
		t.Fatalf("got send %d udp %d recv %d", c.TCP.SendBuffer, c.UDP.RecvBuffer, c.TCP.RecvBuffer)
	}
}
