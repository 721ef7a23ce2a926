package hostile

import (
	"testing"

	"github.com/mirago/mirago/stack"
)

// TestHarnessEstablished checks the harness itself: a scripted peer
// connects and data flows both ways.
func TestHarnessEstablished(t *testing.T) {
	v := newVictim(t, stack.Config{})
	ln := v.listen(80)
	p := establish(v, ln, peerIP, 40000, false)
	p.alive()
	p.alive()
	q := establish(v, ln, peerIP, 40001, true)
	q.alive()
	p.alive()
}
