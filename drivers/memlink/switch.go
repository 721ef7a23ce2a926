// Package memlink is an in-memory Ethernet switch whose ports are
// netif.Devices. Tests and benchmarks run several stacks in one process over
// it.
//
// Transmit copies the frame into a bounded ring of preallocated buffers that
// belongs to each receiving port and returns; one delivery goroutine per port
// calls the port's Handler. Delivery is therefore asynchronous from the
// sender's point of view, which matters: a stack transmits with its lock
// held and receives by taking that lock, so a synchronous link between two
// stacks would deadlock.
//
// The switch learns source addresses (bounded) on top of each port's own
// MAC, delivers unicast frames to the port that owns the destination, and
// floods broadcast, multicast and unknown unicast frames to every other
// port. It never sends a frame back out of the port it came from.
//
// A full ring drops the frame at the tail (counted as RxDropped on the
// receiving port and in the switch's Dropped counter). With
// Config.Backpressure, unicast Transmit returns netif.ErrBusy instead, and
// the sending port reports room (netif.TxRoomNotifier) once that ring has
// drained to half; it never blocks, see Config.Backpressure for why.
package memlink

import (
	"sync"
	"sync/atomic"

	"github.com/mirago/mirago/stack/inet"
)

// Defaults for Config fields left zero.
const (
	DefaultRingSize = 256
	DefaultMTU      = 1500
	// maxLearned bounds the learning table so that frames with random
	// source addresses cannot grow it without limit.
	maxLearned = 1024
)

// Config configures a Switch.
type Config struct {
	// RingSize is the number of frames each port can queue (default 256).
	RingSize int
	// Backpressure makes a unicast Transmit to a port whose ring is full
	// return netif.ErrBusy (counted in the sender's TxDropped) instead of
	// reporting success and dropping the frame, as Linux's veth stops its
	// queue when the peer's ring is full; once that ring has drained to
	// half of its frames and bytes, the sender's SetTxRoom function runs
	// on the sender's delivery goroutine, so its stack can send what it
	// kept (stack/tcp keeps refused segments rather than take them as
	// lost).
	//
	// Transmit never blocks waiting for space. Blocking would deadlock:
	// stack A's goroutine holds A's lock while it waits for room in B's
	// ring, B's delivery goroutine holds B's lock in its handler while it
	// waits for room in A's ring, and A's ring only drains through A's
	// handler, which needs A's lock. ErrBusy lets the sender decide
	// (retry later or drop) without holding anything.
	Backpressure bool
	// Offload gives every port the offloads of a virtio-net device
	// (netif.Offloads): TSO frames of up to 64 KiB go whole to the
	// receiving port, and checksums left partial arrive marked verified,
	// as between two guests on one Linux host. It tests the stack's TSO
	// and large-receive paths in one process.
	Offload bool
}

// Switch connects ports. It is safe for concurrent use.
type Switch struct {
	cfg Config

	mu      sync.Mutex            // serialises table updates
	tab     atomic.Pointer[table] // copy-on-write; read on every frame without locking
	dropped atomic.Uint64
	closed  bool
}

// table maps addresses to ports. It is immutable once published, so the
// transmit path reads it without a lock and without allocating.
type table struct {
	ports []*Port
	macs  map[inet.MAC]*Port
	small []entry // the same as macs while it is short: a scan beats hashing
}

type entry struct {
	mac  inet.MAC
	port *Port
}

// smallTable is the size up to which lookup scans a slice.
const smallTable = 16

// lookup returns the port that owns mac, or nil.
func (t *table) lookup(mac inet.MAC) *Port {
	if t.small != nil || len(t.macs) == 0 {
		for i := range t.small {
			if t.small[i].mac == mac {
				return t.small[i].port
			}
		}
		return nil
	}
	return t.macs[mac]
}

// publish rebuilds the scan slice from macs and makes t current.
func (s *Switch) publish(t *table) {
	t.small = nil
	if len(t.macs) <= smallTable {
		t.small = make([]entry, 0, len(t.macs))
		for k, v := range t.macs {
			t.small = append(t.small, entry{k, v})
		}
	}
	s.tab.Store(t)
}

// NewSwitch returns an empty switch.
func NewSwitch(cfg Config) *Switch {
	if cfg.RingSize <= 0 {
		cfg.RingSize = DefaultRingSize
	}
	s := &Switch{cfg: cfg}
	s.publish(&table{macs: map[inet.MAC]*Port{}})
	return s
}

// NewPort attaches a new port with address mac and the given MTU (0 means
// 1500) and starts its delivery goroutine. It returns nil after Close.
func (s *Switch) NewPort(mac inet.MAC, mtu int) *Port {
	if mtu <= 0 {
		mtu = DefaultMTU
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	p := newPort(s, mac, mtu, s.cfg.RingSize)
	old := s.tab.Load()
	t := old.clone()
	t.ports = append(t.ports, p)
	t.macs[mac] = p
	s.publish(t)
	go p.deliver()
	return p
}

// Dropped reports how many frames the switch dropped because a receiving
// ring was full or the frame did not fit the receiver's MTU.
func (s *Switch) Dropped() uint64 { return s.dropped.Load() }

// Close closes every port and waits for their delivery goroutines to end.
func (s *Switch) Close() error {
	s.mu.Lock()
	s.closed = true
	ports := s.tab.Load().ports
	s.mu.Unlock()
	for _, p := range ports {
		p.Close()
	}
	return nil
}

func (t *table) clone() *table {
	n := &table{
		ports: append([]*Port(nil), t.ports...),
		macs:  make(map[inet.MAC]*Port, len(t.macs)+1),
	}
	for k, v := range t.macs {
		n.macs[k] = v
	}
	return n
}

// learn records that src is reachable through p. Only changes allocate; a
// known address costs one map lookup.
func (s *Switch) learn(src inet.MAC, p *Port) {
	if src == p.mac || src.IsMulticast() || src.IsZero() {
		return // the port's own address is in the table from the start
	}
	if s.tab.Load().lookup(src) == p {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.tab.Load()
	if old.macs[src] == p || len(old.macs) >= maxLearned+len(old.ports) {
		return
	}
	if q, ok := old.macs[src]; ok && q.mac == src {
		return // a port's own address is not taken over by another port
	}
	t := old.clone()
	t.macs[src] = p
	s.publish(t)
}

// remove detaches p and forgets every address learned on it.
func (s *Switch) remove(p *Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.tab.Load()
	t := &table{macs: make(map[inet.MAC]*Port, len(old.macs))}
	for _, q := range old.ports {
		if q != p {
			t.ports = append(t.ports, q)
		}
	}
	for k, v := range old.macs {
		if v != p {
			t.macs[k] = v
		}
	}
	s.publish(t)
}
