package stack_test

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
)

// A board steps its runtime clock forward by decades when NTP first
// answers; every timer armed on the old time then falls due at once, as
// after a long suspend. Stack.StepClock shifts the stack's time bases
// first, so its timers keep their remaining time and connections live on.
// The virtual clock stands in for the board's: Advance(d) is the step.
func TestStepClock(t *testing.T) {
	const decades = 56 * 365 * 24 * time.Hour
	for _, shift := range []bool{true, false} {
		sw := memlink.NewSwitch(memlink.Config{})
		defer sw.Close()
		clk := clock.NewVirtual(time.Unix(30, 0))
		mk := func(mac byte, addr string, c clock.Clock) *stack.Stack {
			p, _ := inet.ParsePrefix4(addr)
			s, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, mac}, 1500), stack.Config{Addr: p, Clock: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		a := mk(1, "10.0.0.1/24", clk)
		b := mk(2, "10.0.0.2/24", nil)
		ln, err := b.TCP().Listen(7)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err == nil {
				io.Copy(c, c)
				c.Close()
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := a.TCP().Dial(ctx, netip.MustParseAddrPort("10.0.0.2:7"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetKeepAlive(true)
		peer := inet.MustParseAddr4("10.0.0.2")
		lookup := func() bool {
			a.Locker().Lock()
			defer a.Locker().Unlock()
			_, ok := a.LayersLocked().ARP.LookupLocked(peer)
			return ok
		}
		if !lookup() {
			t.Fatal("no ARP entry for the peer")
		}
		if shift {
			a.StepClock(decades, func() {})
		}
		clk.Advance(decades) // the board's clock jumps
		if got := lookup(); got != shift {
			t.Fatalf("shift %v: ARP entry present after the step: %v", shift, got)
		}
		if !shift {
			continue
		}
		buf := []byte("after the step")
		if _, err := conn.Write(buf); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(buf))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(conn, got); err != nil || string(got) != string(buf) {
			t.Fatalf("echo after the step: %q, %v", got, err)
		}
		if st := a.Stats(); st.TCP.RTOEvents != 0 {
			t.Fatalf("the step fired %d RTOs", st.TCP.RTOEvents)
		}
	}
}
