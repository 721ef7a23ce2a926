package tcp

import (
	"sync"
	"testing"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// liveNet joins two Layers on the real clock; a goroutine per direction
// delivers segments, so blocking API calls can be tested.
type liveNet struct {
	ends [2]*liveEnd
	wg   sync.WaitGroup
	stop chan struct{}
}

type liveEnd struct {
	mu   sync.Mutex
	l    *Layer
	addr inet.Addr
	qmu  sync.Mutex
	q    [][]byte
	sig  chan struct{}
	peer *liveEnd
	drop func([]byte) bool
}

func (e *liveEnd) Write(src, dst inet.Addr, proto uint8, b *pkt.Buf, _ transport.WriteOptions) error {
	p := make([]byte, b.Len())
	b.CopyTo(p)
	if e.drop != nil && e.drop(p) {
		return nil
	}
	o := e.peer
	o.qmu.Lock()
	o.q = append(o.q, p)
	o.qmu.Unlock()
	select {
	case o.sig <- struct{}{}:
	default:
	}
	return nil
}
func (e *liveEnd) Headroom() int                       { return 34 }
func (e *liveEnd) Offloads() netif.Offloads            { return netif.Offloads{} }
func (e *liveEnd) MTU(inet.Addr) int                   { return 1500 }
func (e *liveEnd) PortUnreachable(*transport.Packet)   {}
func (e *liveEnd) Source(inet.Addr) (inet.Addr, error) { return e.addr, nil }
func (e *liveEnd) deliverLoop(stop chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-stop:
			return
		case <-e.sig:
		}
		for {
			e.qmu.Lock()
			q := e.q
			e.q = nil
			e.qmu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, p := range q {
				e.mu.Lock()
				e.l.Deliver(&transport.Packet{Src: e.peer.addr, Dst: e.addr, Payload: p})
				e.mu.Unlock()
			}
		}
	}
}

func newLiveNet(t testing.TB, cfg Config) *liveNet {
	n := &liveNet{stop: make(chan struct{})}
	for i, a := range []inet.Addr{addrA, addrB} {
		e := &liveEnd{addr: a, sig: make(chan struct{}, 1)}
		q := timer.New(clock.Real{}, &e.mu)
		e.l = mustNew(e, q, &e.mu, seededReader(uint64(i)+100), cfg)
		n.ends[i] = e
	}
	n.ends[0].peer, n.ends[1].peer = n.ends[1], n.ends[0]
	for _, e := range n.ends {
		n.wg.Add(1)
		go e.deliverLoop(n.stop, &n.wg)
	}
	t.Cleanup(func() {
		close(n.stop)
		n.wg.Wait()
	})
	return n
}
