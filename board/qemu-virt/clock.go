// Setting the clock: a step, then slews (the runtime's nanotime, timer.go).

//go:build tamago && arm

package qemuvirt

import "time"

// TamaGo has one clock: the runtime's nanotime is both its monotonic
// clock and its wall clock (runtime/os_tamago.go: walltime is nanotime),
// here ARM.Counter()*16 ns + ARM.TimerOffset. Setting the wall time
// therefore moves the monotonic clock too.
//
// StepClock adds to TimerOffset. SlewClock makes the clock run 1/2000
// (500 ppm) fast or slow from now until the amount is applied, then at
// its nominal rate again, with no timer involved: nanotime adds the slew
// done so far, which is continuous and increasing at every count, so
// the clock never runs backwards.
//
// The slew state is written by SlewClock in one goroutine without a
// preemption point between the stores (TamaGo has one core and no
// asynchronous preemption), and read by nanotime.
var slew slewState

// slewExtra is the slew applied at count c (ns).
func slewExtra(c int64) int64 { return slew.extra(c) }

// StepClock moves the runtime's clock (wall and monotonic) forward or
// back by d at once. A backward step delays every runtime timer armed
// before it; internal/boardrun only steps forward.
func StepClock(d time.Duration) {
	ARM.TimerOffset += int64(d)
}

// SlewClock moves the runtime's clock by d at 500 ppm (2000 s for each
// second), replacing any slew still in progress, as adjtime(2) does.
func SlewClock(d time.Duration) {
	c := int64(ARM.Counter())
	ARM.TimerOffset += slew.start(c, d) // fold what the last one applied
}

// SlewPending is what the slew in progress has still to apply.
func SlewPending() time.Duration { return slew.pending(int64(ARM.Counter())) }

// alarmCount is the count at which nanotime reaches ns, as near as the
// slew in progress lets it be known now (within 1/2000 of the wait).
func alarmCount(ns int64) int64 {
	return (ns - ARM.TimerOffset - slewExtra(int64(ARM.Counter()))) / (1e9 / timerFreq)
}
