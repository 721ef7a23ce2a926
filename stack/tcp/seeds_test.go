package tcp

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestFaultSeeds runs short lossy transfers over many seeds. Set
// MIRAGO_SEEDS=n for n seeds (default 3).
func TestFaultSeeds(t *testing.T) {
	n := 3
	if v, err := strconv.Atoi(os.Getenv("MIRAGO_SEEDS")); err == nil {
		n = v
	}
	cfgs := []Config{{}, {CongestionControl: NewReno}, {DisableSACK: true}, {DisableTimestamps: true}, {SendBuffer: 16 << 10, RecvBuffer: 8 << 10}}
	for s := 0; s < n; s++ {
		cfg := cfgs[s%len(cfgs)]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			f := lossy
			f.loss = []float64{0.01, 0.05, 0.15}[s%3]
			net := newTestNet(t, uint64(1000+s), faults{}, cfg, cfg)
			a, b := net.connect(80)
			net.f = f
			transfer(t, net, a, b, 256<<10, 2*time.Minute, 10*time.Hour) // 15% loss can lose 7 retransmissions in a row (25.6s RTO)
			// Both sides sent FIN; the close must complete despite loss.
			ok := net.run(30*time.Minute, func() bool {
				return a.stateLocked(net, 0) == Closed && b.stateLocked(net, 1) == Closed
			})
			if !ok {
				t.Fatalf("close did not complete: A %s / B %s", a.debugString(), b.debugString())
			}
			for i := 0; i < 2; i++ {
				st := net.ends[i].l.lockedStats()
				if st.Memory != 0 || len(net.ends[i].l.conns) != 0 {
					t.Fatalf("side %d: memory %d, %d conns left", i, st.Memory, len(net.ends[i].l.conns))
				}
			}
		})
	}
}
