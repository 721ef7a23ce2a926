// Boot phases: when each step of bring-up finished, for the console.

//go:build tamago && arm

package qemuvirt

import "time"

// Phase is one step of bring-up and when it finished.
type Phase struct {
	Name string
	At   time.Duration // since reset: the generic timer counts from 0 when QEMU starts the machine
}

// phases are recorded by mark as bring-up goes; a fixed array, because
// the first ones are taken in hwinit1, before package initialisation.
var (
	phases  [16]Phase
	nPhases int
)

// mark records that the step name has just finished.
func mark(name string) {
	if nPhases < len(phases) {
		phases[nPhases] = Phase{Name: name, At: Uptime()}
		nPhases++
	}
}

// Uptime is the time since reset, from the generic timer's count.
func Uptime() time.Duration {
	return time.Duration(ARM.Counter() * (1e9 / timerFreq))
}

// BootPhases returns the bring-up steps recorded so far, in order:
// "runtime" (the Go runtime's own set-up, up to hwinit1), "mmu", "dma",
// "virtio scan", "entropy" (hwinit1), then "gic" (Init) and "virtio-net"
// (Net).
func BootPhases() []Phase { return append([]Phase(nil), phases[:nPhases]...) }
