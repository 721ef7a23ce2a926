package hostile

import (
	"testing"

	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
)

// Case 11: the land attack (src == dst) and other impossible sources:
// dropped at IP, never answered, no state created.
func TestLandAttack(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	for _, src := range []inet.Addr4{victimIP, {127, 0, 0, 1}, {0, 0, 0, 0}, {255, 255, 255, 255}, bcastIP, {224, 0, 0, 1}, {10, 0, 0, 0}} {
		before := v.stats()
		for _, flags := range []uint8{fSYN, fSYN | fACK, fACK, fRST} {
			s := seg{sport: 80, dport: 80, seq: 1, ack: 1, flags: flags, win: 1024}
			f := eth(victimMAC, peerMAC, ethIPv4, ip(iph{src: src, dst: victimIP, proto: 6}, tcpb(src, victimIP, s)))
			noPanic(t, "land", f, func() { v.inject(f) })
			echo := eth(victimMAC, peerMAC, ethIPv4, ip(iph{src: src, dst: victimIP, proto: 1}, icmpb(8, 0, 1, []byte("land"))))
			noPanic(t, "land echo", echo, func() { v.inject(echo) })
		}
		for _, o := range v.sent() {
			if o.arp == nil {
				t.Errorf("source %v: victim answered: % x", src, o.raw)
			}
		}
		after := v.stats()
		if after.TCP.SegmentsIn != before.TCP.SegmentsIn && src != (inet.Addr4{10, 0, 0, 0}) {
			t.Errorf("source %v: segment reached TCP", src)
		}
		if after.TCP.States[tcp.SynReceived] != 0 {
			t.Errorf("source %v: half-open state created", src)
		}
	}
	p.alive()
}
