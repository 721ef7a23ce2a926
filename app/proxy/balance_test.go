package main

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mirago/mirago/app/proxy/config"
)

// testPool is a pool of upstreams named a, b, c, ... with the weights.
func testPool(b config.Balance, weights ...int) *pool {
	pc := config.NewPool("p")
	pc.Balance = b
	for i, w := range weights {
		pc.Upstreams = append(pc.Upstreams, config.Upstream{Addr: fmt.Sprintf("10.0.0.%d:80", i+1), Weight: w})
	}
	return newPool(pc, nil)
}

func all(int) bool { return true }

func name(i int) string { return string(rune('a' + i)) }

// picks returns the upstreams picked n times in a row, as letters.
func picks(p *pool, n int, client netip.Addr, eligible func(int) bool) string {
	var b strings.Builder
	for range n {
		p.mu.Lock()
		i := p.pickLocked(client, eligible)
		p.mu.Unlock()
		if i < 0 {
			b.WriteByte('-')
			continue
		}
		b.WriteString(name(i))
	}
	return b.String()
}

// Smooth weighted round robin spreads a heavy upstream out (nginx's
// example: weights 5, 1, 1 give a a b a c a a), and skips ineligible
// ones without losing the proportions of the others.
func TestRoundRobin(t *testing.T) {
	p := testPool(config.RoundRobin, 5, 1, 1)
	if got := picks(p, 14, netip.Addr{}, all); got != "aabacaaaabacaa" {
		t.Fatalf("5,1,1: %s", got)
	}
	p = testPool(config.RoundRobin, 1, 1, 1)
	if got := picks(p, 6, netip.Addr{}, all); got != "abcabc" {
		t.Fatalf("1,1,1: %s", got)
	}
	notB := func(i int) bool { return i != 1 }
	if got := picks(p, 6, netip.Addr{}, notB); strings.Count(got, "a") != 3 || strings.Count(got, "c") != 3 {
		t.Fatalf("b down: %s", got)
	}
	if got := picks(p, 1, netip.Addr{}, func(int) bool { return false }); got != "-" {
		t.Fatalf("none eligible: %s", got)
	}
}

// Least connections takes the upstream with the fewest open connections
// per weight; ties go in turn.
func TestLeastConn(t *testing.T) {
	p := testPool(config.LeastConn, 1, 1, 2)
	if got := picks(p, 3, netip.Addr{}, all); got != "abc" {
		t.Fatalf("all idle, ties in turn: %s", got)
	}
	p.ups[0].active.Store(3)
	p.ups[1].active.Store(1)
	p.ups[2].active.Store(3) // 3/2 = 1.5 per weight
	if got := picks(p, 1, netip.Addr{}, all); got != "b" {
		t.Fatalf("b has the fewest: %s", got)
	}
	p.ups[1].active.Store(2) // b: 2, c: 1.5
	if got := picks(p, 1, netip.Addr{}, all); got != "c" {
		t.Fatalf("c has the fewest per weight: %s", got)
	}
	if got := picks(p, 1, netip.Addr{}, func(i int) bool { return i == 0 }); got != "a" {
		t.Fatalf("only a eligible: %s", got)
	}
}

// Source hashing: a client keeps its upstream; clients spread in
// proportion to the weights; when an upstream is not eligible only its
// clients move, and they spread over the others.
func TestSourceHash(t *testing.T) {
	p := testPool(config.Source, 1, 1, 2)
	const n = 20000
	first := make([]int, n)
	counts := make([]int, 3)
	for i := range n {
		c := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		first[i] = p.sourceHash(c, all)
		if again := p.sourceHash(c, all); again != first[i] {
			t.Fatalf("client %v moved from %d to %d", c, first[i], again)
		}
		counts[first[i]]++
	}
	for i, w := range []float64{0.25, 0.25, 0.5} {
		if got := float64(counts[i]) / n; got < w-0.02 || got > w+0.02 {
			t.Errorf("upstream %s got %.3f of the clients, want %.2f", name(i), got, w)
		}
	}
	notC := func(i int) bool { return i != 2 }
	moved := []int{0, 0}
	for i := range n {
		c := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		now := p.sourceHash(c, notC)
		if first[i] != 2 && now != first[i] {
			t.Fatalf("client %v of %s moved to %s when c went down", c, name(first[i]), name(now))
		}
		if first[i] == 2 {
			moved[now]++
		}
	}
	if moved[0] < counts[2]/3 || moved[1] < counts[2]/3 {
		t.Errorf("c's clients went %v to a and b, not spread", moved)
	}
}

// HAProxy's rise and fall: down after fall failures in a row, up after
// rise passes in a row; a pass or a failure breaks the other's run.
func TestHealthState(t *testing.T) {
	var h healthState
	up := true
	var trace strings.Builder
	for _, ok := range []bool{false, false, true, false, false, false, true, true, false, true, true, true} {
		up = h.observe(up, ok, 2, 3)
		if up {
			trace.WriteByte('U')
		} else {
			trace.WriteByte('D')
		}
	}
	// fail fail pass | fail fail fail -> down | pass pass -> up? rise 2: up after 2nd
	// pass | fail | pass pass -> stays up.
	if got := trace.String(); got != "UUUUUDDUUUUU" {
		t.Fatalf("trace %s", got)
	}
	var h2 healthState
	if h2.observe(false, true, 1, 1) != true || h2.observe(true, false, 1, 1) != false {
		t.Fatal("rise 1, fall 1")
	}
}

func TestRouter(t *testing.T) {
	pools := map[string]*pool{"a": testPool(config.RoundRobin, 1), "w": testPool(config.RoundRobin, 1),
		"deep": testPool(config.RoundRobin, 1), "d": testPool(config.RoundRobin, 1)}
	r := newRouter([]config.Route{{Name: "a.example", Pool: "a"}, {Name: "*.example", Pool: "w"},
		{Name: "*.deep.example", Pool: "deep"}}, pools, pools["d"])
	for name, want := range map[string]string{
		"a.example": "a", "b.example": "w", "x.y.example": "w", "z.deep.example": "deep", "deep.example": "w",
		"example": "d", "other.org": "d", "": "d",
	} {
		if got := r.route(name); got != pools[want] {
			t.Errorf("route(%q) is not pool %s", name, want)
		}
	}
}
