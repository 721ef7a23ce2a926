//go:build tamago && arm

package usbarmory

// Setting the clock: a step, then slews.

import (
	"sync"
	"time"

	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

// TamaGo has one clock: the runtime's nanotime is both its monotonic
// clock and its wall clock (runtime/os_tamago.go: walltime is nanotime),
// here tamago's imx6ul.ARM.GetTime(), Counter()*TimerMultiplier +
// TimerOffset. Setting the wall time therefore moves the monotonic clock
// too.
//
// StepClock adds to TimerOffset. SlewClock scales TimerMultiplier by
// 1 ± 1/2000 (500 ppm), moving TimerOffset so that the clock is
// continuous at the count where the rate changes, and a timer puts the
// nominal rate back (the same way) once the amount is applied. The clock
// never runs backwards. The idle governor converts deadlines to counts
// with the multiplier in force (irq.go).
var (
	slewMu    sync.Mutex
	nominal   float64     // the multiplier before any slew
	slewTimer *time.Timer // ends the slew in progress
	slewGen   int         // which slew slewTimer ends
	slewUntil time.Time
	slewLeft  time.Duration // the slew's amount, for SlewPending
)

// setRate makes the multiplier m, keeping GetTime continuous at the
// current count. Nothing can run between these stores and nanotime's
// reads (one core, no asynchronous preemption).
func setRate(m float64) {
	cpu := imx6ul.ARM
	c := float64(cpu.Counter())
	cpu.TimerOffset += int64(c*cpu.TimerMultiplier) - int64(c*m)
	cpu.TimerMultiplier = m
}

// StepClock moves the runtime's clock (wall and monotonic) forward or
// back by d at once. A backward step delays every runtime timer armed
// before it; internal/boardrun only steps forward.
func StepClock(d time.Duration) {
	imx6ul.ARM.TimerOffset += int64(d)
}

// SlewClock moves the runtime's clock by d at 500 ppm (2000 s for each
// second), replacing any slew still in progress, as adjtime(2) does.
func SlewClock(d time.Duration) {
	slewMu.Lock()
	defer slewMu.Unlock()
	if nominal == 0 {
		nominal = imx6ul.ARM.TimerMultiplier
	}
	if slewTimer != nil {
		slewTimer.Stop()
		slewTimer = nil
	}
	slewGen++
	slewLeft = 0
	if d == 0 || nominal == 0 {
		setRate(nominal)
		return
	}
	rate := 1 + 1.0/2000
	if d < 0 {
		rate = 1 - 1.0/2000
	}
	setRate(nominal * rate)
	// In 2000·|d| of nominal time the clock gains (or loses) |d|.
	dur := d.Abs() * 2000
	gen := slewGen
	slewLeft, slewUntil = d, time.Now().Add(dur+d)
	slewTimer = time.AfterFunc(dur+d, func() {
		slewMu.Lock()
		defer slewMu.Unlock()
		if gen == slewGen {
			setRate(nominal)
			slewTimer, slewLeft = nil, 0
		}
	})
}

// SlewPending is roughly what the slew in progress has still to apply.
func SlewPending() time.Duration {
	slewMu.Lock()
	defer slewMu.Unlock()
	if slewLeft == 0 {
		return 0
	}
	left := time.Until(slewUntil)
	return time.Duration(float64(slewLeft) * max(float64(left), 0) / float64(slewLeft.Abs()*2000+slewLeft))
}
