package main

import (
	"math"
	"net/netip"

	"github.com/mirago/mirago/app/proxy/config"
)

// balancer picks an upstream for a new connection among those eligible
// (healthy and not yet tried for this client). It is called with the
// pool's lock held; its state is the upstreams' rr and the pool's next.

// pick returns the index of the upstream to try, or -1 if none is
// eligible.
func (p *pool) pickLocked(client netip.Addr, eligible func(i int) bool) int {
	switch p.cfg.Balance {
	case config.LeastConn:
		return p.leastConnLocked(eligible)
	case config.Source:
		return p.sourceHash(client, eligible)
	}
	return p.roundRobinLocked(eligible)
}

// roundRobinLocked is nginx's smooth weighted round robin: every eligible
// upstream gains its weight, the one with the most is taken and pays the
// total back. Over sum(weights) picks each is taken weight times, spread
// out (weights 5,1,1 give a a b a c a a, not a a a a a b c).
func (p *pool) roundRobinLocked(eligible func(i int) bool) int {
	best, total := -1, 0
	for i, u := range p.ups {
		if !eligible(i) {
			continue
		}
		u.rr += u.weight
		total += u.weight
		if best < 0 || u.rr > p.ups[best].rr {
			best = i
		}
	}
	if best >= 0 {
		p.ups[best].rr -= total
	}
	return best
}

// leastConnLocked takes the eligible upstream with the fewest open
// connections per unit of weight; ties go round robin, starting after
// the last one taken, so that equal upstreams share new connections.
func (p *pool) leastConnLocked(eligible func(i int) bool) int {
	n := len(p.ups)
	best := -1
	for k := range n {
		i := (p.next + k) % n
		if !eligible(i) {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		// a/wa < b/wb without division.
		u, b := p.ups[i], p.ups[best]
		if u.active.Load()*int64(b.weight) < b.active.Load()*int64(u.weight) {
			best = i
		}
	}
	if best >= 0 {
		p.next = best + 1
	}
	return best
}

// sourceHash is weighted rendezvous hashing (highest random weight) of
// the client's address: each upstream scores -ln(h)/weight for a hash h
// in (0,1) of the address and the upstream's key, and the lowest score
// wins. A client keeps its upstream for as long as that one is eligible,
// the clients of an upstream that goes down spread over the others in
// proportion to their weights, and nobody else moves.
func (p *pool) sourceHash(client netip.Addr, eligible func(i int) bool) int {
	best, bestScore := -1, math.Inf(1)
	a := client.Unmap().As16()
	for i, u := range p.ups {
		if !eligible(i) {
			continue
		}
		h := mix(u.key ^ fnv(a[:]))
		// 53 random bits, shifted into (0, 1).
		x := (float64(h>>11) + 0.5) / (1 << 53)
		if s := -math.Log(x) / float64(u.weight); s < bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// fnv is 64-bit FNV-1a.
func fnv(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// mix is splitmix64's finaliser: it spreads FNV's weak low bits.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
