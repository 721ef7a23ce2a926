//go:build tamago && arm

package main

import (
	"fmt"
	"time"

	qemuvirt "github.com/mirago/mirago/board/qemu-virt"
)

// clockCheck steps and slews the board's clock as an NTP sync does
// (internal/boardrun): time.Now follows the step; sleeping afterwards
// still takes the right time by the raw counter (the idle governor's
// alarm accounts for the offset); a slew gains or loses its amount at
// 500 ppm and then stops.
func clockCheck() error {
	raw := qemuvirt.Uptime // the counter, which no step or slew moves
	const day = 24 * time.Hour
	t0, r0 := pair(raw)
	qemuvirt.StepClock(day)
	t1, r1 := pair(raw)
	if d := t1.Sub(t0) - (r1 - r0); (d - day).Abs() > time.Millisecond {
		return fmt.Errorf("a step of %v moved time.Now by %v", day, d)
	}
	r0 = raw()
	time.Sleep(50 * time.Millisecond)
	if d := raw() - r0; d < 49*time.Millisecond || d > 500*time.Millisecond {
		return fmt.Errorf("after the step, time.Sleep(50ms) took %v", d)
	}
	for _, amount := range []time.Duration{time.Millisecond, -time.Millisecond} {
		t0, r0 := pair(raw)
		qemuvirt.SlewClock(amount) // 2 s at 500 ppm
		time.Sleep(time.Second)
		half := qemuvirt.SlewPending()
		time.Sleep(2 * time.Second)
		t1, r1 := pair(raw)
		gained := t1.Sub(t0) - (r1 - r0)
		fmt.Printf("boottest: slew of %v: gained %v (%v pending after 1 s)\n", amount, gained, half)
		if (gained-amount).Abs() > 100*time.Microsecond || !midway(half, amount) || qemuvirt.SlewPending() != 0 {
			return fmt.Errorf("slew of %v: gained %v, %v pending after 1 s", amount, gained, half)
		}
	}
	fmt.Println("boottest: clock step and slew ok")
	return nil
}

// pair reads time.Now and the raw counter together: within 20 µs of
// each other, retrying if QEMU's thread was descheduled between them (the
// counter follows the host's clock, so a stall would show as an error).
func pair(raw func() time.Duration) (time.Time, time.Duration) {
	for range 100 {
		a := raw()
		t := time.Now()
		b := raw()
		if b-a < 20*time.Microsecond {
			return t, a + (b-a)/2
		}
	}
	return time.Now(), raw()
}

// midway reports whether a slew of amount, 1 s into its 2 s, has some
// but not all of it still to apply (how much depends on how long the
// sleep took).
func midway(pending, amount time.Duration) bool {
	return pending != 0 && (pending > 0) == (amount > 0) && pending.Abs() < amount.Abs()
}
