package gvnet

import (
	"runtime"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// RingSize is the number of frames each link end can queue, the same as
// drivers/memlink's DefaultRingSize.
const RingSize = 256

// spinRounds matches drivers/memlink: how many times an idle delivery
// goroutine yields before it sleeps.
const spinRounds = 32

// Link is one end of an in-memory Ethernet link between two gVisor stacks,
// built like drivers/memlink so that both stacks run over the same link
// mechanics:
//
//   - WritePackets copies each outbound frame once, on the sender's
//     goroutine, into a buffer of gVisor's own pool (memlink copies into a
//     slot of the receiver's preallocated ring), and queues it on the peer's
//     bounded ring (RingSize frames; a full ring drops the frame at the tail,
//     as memlink does without Backpressure).
//   - Each end has one delivery goroutine that hands frames to the stack one
//     at a time, in order. An idle delivery goroutine yields spinRounds
//     times before it parks, and a sender wakes it only if it parked: the
//     same policy as memlink.
//   - The receiver gets the copied buffer by reference (gVisor's
//     PacketBuffer takes ownership), so there is exactly one copy per frame,
//     as on memlink.
//
// The frames carry Ethernet headers: the stack's NIC is ethernet.New(link),
// so gVisor does Ethernet and ARP just as mirago does on memlink.
type Link struct {
	mtu  uint32 // frame MTU: IP MTU + 14
	addr tcpip.LinkAddress
	peer *Link

	dispatcher atomic.Pointer[dispatcherBox]
	rx         *ring

	closeOnce sync.Once
	done      chan struct{}
	exited    chan struct{}

	// Dropped counts frames dropped because this end's ring was full.
	Dropped atomic.Uint64

	capture atomic.Pointer[captureBox]
}

// SetCapture makes the delivery goroutine hand every frame to f before the
// stack sees it (for tests that read what the stacks send).
func (l *Link) SetCapture(f func(frame []byte)) { l.capture.Store(&captureBox{f}) }

type dispatcherBox struct{ d stack.NetworkDispatcher }

var _ stack.LinkEndpoint = (*Link)(nil)

// NewLinkPair returns two connected link ends with the given IP MTU and MACs.
func NewLinkPair(mtu int, a, b tcpip.LinkAddress) (*Link, *Link) {
	x, y := newLink(mtu, a), newLink(mtu, b)
	x.peer, y.peer = y, x
	go x.deliver()
	go y.deliver()
	return x, y
}

func newLink(mtu int, addr tcpip.LinkAddress) *Link {
	return &Link{
		mtu:    uint32(mtu + header.EthernetMinimumSize),
		addr:   addr,
		rx:     newRing(RingSize),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// MTU implements stack.LinkEndpoint; ethernet.Endpoint subtracts the
// 14-byte header from it.
func (l *Link) MTU() uint32 { return l.mtu }

// SetMTU implements stack.LinkEndpoint.
func (l *Link) SetMTU(mtu uint32) { l.mtu = mtu }

// MaxHeaderLength implements stack.LinkEndpoint; ethernet.Endpoint adds its
// own header length.
func (*Link) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint.
func (l *Link) LinkAddress() tcpip.LinkAddress { return l.addr }

// SetLinkAddress implements stack.LinkEndpoint.
func (l *Link) SetLinkAddress(a tcpip.LinkAddress) { l.addr = a }

// Capabilities implements stack.LinkEndpoint: none (checksums are computed
// and verified in software, as in mirago).
func (*Link) Capabilities() stack.LinkEndpointCapabilities { return 0 }

// Attach implements stack.LinkEndpoint.
func (l *Link) Attach(d stack.NetworkDispatcher) {
	if d == nil {
		l.dispatcher.Store(nil)
		return
	}
	l.dispatcher.Store(&dispatcherBox{d})
}

// IsAttached implements stack.LinkEndpoint.
func (l *Link) IsAttached() bool { return l.dispatcher.Load() != nil }

// Wait implements stack.LinkEndpoint: it waits for the delivery goroutine
// after Close.
func (l *Link) Wait() {
	select {
	case <-l.done:
		<-l.exited
	default:
	}
}

// ARPHardwareType implements stack.LinkEndpoint; ethernet.Endpoint reports
// Ethernet.
func (*Link) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint (the Ethernet header is added by
// ethernet.Endpoint).
func (*Link) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint.
func (*Link) ParseHeader(*stack.PacketBuffer) bool { return true }

// SetOnCloseAction implements stack.LinkEndpoint.
func (*Link) SetOnCloseAction(func()) {}

// Close implements stack.LinkEndpoint: it stops the delivery goroutine and
// waits for it.
func (l *Link) Close() {
	l.closeOnce.Do(func() {
		close(l.done)
		<-l.exited
		l.rx.drain()
	})
}

// WritePackets implements stack.LinkEndpoint: one copy per frame into the
// peer's ring.
func (l *Link) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	q := l.peer
	n := 0
	for _, pkt := range pkts.AsSlice() {
		select {
		case <-q.done:
			return n, &tcpip.ErrClosedForSend{}
		default:
		}
		v := pkt.ToView() // the one copy
		if !q.rx.push(v) {
			v.Release()
			q.Dropped.Add(1)
		}
		n++
	}
	return n, nil
}

// deliver hands queued frames to the stack, one at a time and in order.
func (l *Link) deliver() {
	defer close(l.exited)
	r := l.rx
	head := r.head.Load()
	for {
		tail := r.tail.Load()
		for spin := 0; head == tail && spin < spinRounds; spin++ {
			runtime.Gosched()
			tail = r.tail.Load()
		}
		if head == tail {
			if !r.wait(head, l.done) {
				return
			}
			continue
		}
		for ; head != tail; head++ {
			select {
			case <-l.done:
				return
			default:
			}
			v := r.take(head)
			r.head.Store(head + 1)
			if f := loadCapture(&l.capture); f != nil {
				f(v.AsSlice())
			}
			if b := l.dispatcher.Load(); b != nil {
				pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithView(v)})
				b.d.DeliverNetworkPacket(0, pkt)
				pkt.DecRef()
			} else {
				v.Release()
			}
		}
	}
}

// ring is drivers/memlink's ring holding owned views instead of slab slots.
type ring struct {
	mu       sync.Mutex
	slots    []*buffer.View
	size     uint64
	seenHead uint64

	_        [64]byte
	tail     atomic.Uint64
	sleeping atomic.Bool
	_        [52]byte
	head     atomic.Uint64
	_        [56]byte
	wake     chan struct{}
}

func newRing(n int) *ring {
	return &ring{slots: make([]*buffer.View, n), size: uint64(n), wake: make(chan struct{}, 1)}
}

func (r *ring) push(v *buffer.View) bool {
	r.mu.Lock()
	t := r.tail.Load()
	if t-r.seenHead >= r.size {
		r.seenHead = r.head.Load()
		if t-r.seenHead >= r.size {
			r.mu.Unlock()
			return false
		}
	}
	r.slots[t%r.size] = v
	r.tail.Store(t + 1)
	r.mu.Unlock()
	if r.sleeping.Load() && r.sleeping.Swap(false) {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (r *ring) take(pos uint64) *buffer.View {
	i := pos % r.size
	v := r.slots[i]
	r.slots[i] = nil
	return v
}

func (r *ring) wait(head uint64, done <-chan struct{}) bool {
	r.sleeping.Store(true)
	if r.tail.Load() != head {
		if !r.sleeping.Swap(false) {
			<-r.wake
		}
		return true
	}
	select {
	case <-r.wake:
		return true
	case <-done:
		return false
	}
}

// drain releases frames left in the ring after the consumer stopped.
func (r *ring) drain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, v := range r.slots {
		if v != nil {
			v.Release()
			r.slots[i] = nil
		}
	}
}
