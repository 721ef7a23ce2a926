package hostile

import (
	"context"
	crand "crypto/rand"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
)

// Case 8: predictability (NUMBER:JACK: ISNs and ephemeral ports an
// off-path attacker can guess).

// isns collects the victim's ISNs for n passive opens from peer ports
// 10000.., advancing virtual time by step between them.
func isns(t *testing.T, v *victim, n int, step time.Duration) []uint32 {
	ln := v.listen(80)
	defer ln.Close()
	out := make([]uint32, 0, n)
	for i := 0; i < n; i++ {
		port := uint16(10000 + i)
		v.inject(tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 1, flags: fSYN, win: 1000}))
		for _, s := range v.sentTCP() {
			if s.flags == fSYN|fACK && s.dport == port {
				out = append(out, s.seq)
			}
		}
		v.inject(tcpFrame(peerIP, seg{sport: port, dport: 80, seq: 2, flags: fRST}))
		if step > 0 {
			v.clk.Advance(step)
		}
	}
	if len(out) != n {
		t.Fatalf("%d ISNs for %d SYNs", len(out), n)
	}
	return out
}

// checkNoConstantDiff fails if consecutive values repeat a difference
// often: a counter, or a clock with a fixed step, would.
func checkNoConstantDiff(t *testing.T, what string, xs []uint32, mod uint32) {
	t.Helper()
	count := map[uint32]int{}
	worst, worstN := uint32(0), 0
	for i := 1; i < len(xs); i++ {
		d := xs[i] - xs[i-1]
		if mod != 0 {
			d = (xs[i] + mod - xs[i-1]) % mod
		}
		count[d]++
		if count[d] > worstN {
			worst, worstN = d, count[d]
		}
	}
	// With random values over a space of size S, a given difference
	// repeats about λ = n/S times (Poisson). For 10^4 ports over 2^14 the
	// largest of the 2^14 bins reaches 6 in about 40% of random runs, but
	// 10 with probability about 2e-5; a constant step repeats thousands
	// of times.
	limit := 5
	if mod != 0 {
		limit = max(9, 4*len(xs)/int(mod))
	}
	if worstN > limit {
		t.Errorf("%s: difference %d occurs %d times in %d values", what, worst, worstN, len(xs))
	}
}

func TestISNUnpredictable(t *testing.T) {
	n := 10000
	for _, step := range []time.Duration{0, time.Millisecond} {
		v := newVictim(t, stack.Config{})
		xs := isns(t, v, n, step)
		checkNoConstantDiff(t, "ISN step "+step.String(), xs, 0)
	}
	// Across restarts (another secret), at the same virtual time, the same
	// 4-tuple gets a different ISN: with another seed, and with crypto/rand.
	a := isns(t, newVictim(t, stack.Config{Rand: rand.NewChaCha8([32]byte{1})}), 100, 0)
	b := isns(t, newVictim(t, stack.Config{Rand: rand.NewChaCha8([32]byte{2})}), 100, 0)
	c := isns(t, newVictim(t, stack.Config{Rand: crand.Reader}), 100, 0)
	d := isns(t, newVictim(t, stack.Config{Rand: crand.Reader}), 100, 0)
	for _, pair := range [][2][]uint32{{a, b}, {a, c}, {c, d}} {
		same := 0
		for i := range pair[0] {
			if pair[0][i] == pair[1][i] {
				same++
			}
		}
		if same > 1 {
			t.Errorf("%d of 100 ISNs equal across restarts", same)
		}
	}
}

// dialPorts opens n active connections (a pre-cancelled context: Dial
// sends its SYN and gives up) and returns the source ports and ISNs of
// the SYNs. dst gives the destination of the i-th dial.
func dialPorts(t *testing.T, v *victim, n int, dst func(i int) netip.AddrPort) (ports, seqs []uint32) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < n; i++ {
		v.s.TCP().Dial(ctx, dst(i))
		for _, s := range v.sentTCP() {
			if s.flags == fSYN {
				ports = append(ports, uint32(s.sport))
				seqs = append(seqs, s.seq)
			}
		}
	}
	if len(ports) != n {
		t.Fatalf("%d SYNs for %d dials", len(ports), n)
	}
	return ports, seqs
}

func offNet(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 443)
}

func TestEphemeralPortsUnpredictable(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ports, seqs := dialPorts(t, v, 10000, offNet)
	checkNoConstantDiff(t, "ports to distinct destinations", ports, 16384)
	checkNoConstantDiff(t, "active ISNs", seqs, 0)
	for _, p := range ports {
		if p < 49152 {
			t.Fatalf("port %d outside the ephemeral range", p)
		}
	}
	// Across restarts the same destination gets other ports.
	w := newVictim(t, stack.Config{Rand: crand.Reader})
	ports2, _ := dialPorts(t, w, 100, offNet)
	same := 0
	for i := range ports2 {
		if ports2[i] == ports[i] {
			same++
		}
	}
	if same > 3 {
		t.Errorf("%d of 100 ports equal across restarts", same)
	}
}

// TestEphemeralPortsSameDestination: successive connections to one
// destination should not use ports a fixed step apart. With RFC 6056
// algorithm 3 the step is 1, so whoever learns one port (say, an on-path
// observer of one connection, or a server that sees it) knows the next
// ones to that destination; algorithm 5 (random increments, §3.3.5)
// avoids it, and stack/tcp's pickPort uses it.
func TestEphemeralPortsSameDestination(t *testing.T) {
	v := newVictim(t, stack.Config{})
	dst := netip.AddrPortFrom(netip.AddrFrom4(inet.Addr4{198, 18, 0, 1}), 443)
	ports, _ := dialPorts(t, v, 2000, func(int) netip.AddrPort { return dst })
	count := map[uint32]int{}
	for i := 1; i < len(ports); i++ {
		count[(ports[i]+16384-ports[i-1])%16384]++
	}
	for d, c := range count {
		if c > len(ports)/2 {
			t.Errorf("%d of %d successive ports to one destination differ by exactly %d "+
				"(as RFC 6056 algorithm 3 does, incrementing next_ephemeral by 1); want random increments (algorithm 5)", c, len(ports)-1, d)
		}
	}
}
