package enet

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

var _ netif.Device = (*Device)(nil)

// fakePort is a port with a scripted receive queue. A nil entry stands for
// a frame the MAC rejected: Rx returns nil and the error count goes up.
type fakePort struct {
	mu       sync.Mutex
	rxq      [][]byte
	rxErrs   uint32
	txErrs   uint32
	sent     [][]byte
	ready    bool
	irqOn    bool
	acks     int
	link     bool
	linkAsks int
	hashHi   uint32
	hashLo   uint32
}

func (p *fakePort) SetGroupHash(high, low uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hashHi, p.hashLo = high, low
}

func (p *fakePort) Tx(f []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, append([]byte(nil), f...))
}

func (p *fakePort) TxReady() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.ready }

func (p *fakePort) Rx() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.rxq) == 0 {
		return nil
	}
	f := p.rxq[0]
	p.rxq = p.rxq[1:]
	if f == nil {
		p.rxErrs++
	}
	return f
}

func (p *fakePort) RxErrors() uint32    { p.mu.Lock(); defer p.mu.Unlock(); return p.rxErrs }
func (p *fakePort) TxErrors() uint32    { p.mu.Lock(); defer p.mu.Unlock(); return p.txErrs }
func (p *fakePort) AckRx()              { p.mu.Lock(); defer p.mu.Unlock(); p.acks++ }
func (p *fakePort) EnableRxIRQ(on bool) { p.mu.Lock(); defer p.mu.Unlock(); p.irqOn = on }
func (p *fakePort) LinkUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.linkAsks++
	return p.link
}

// receive queues frames and raises the interrupt the way the board does.
func (p *fakePort) receive(d *Device, frames ...[]byte) {
	p.mu.Lock()
	p.rxq = append(p.rxq, frames...)
	on := p.irqOn
	p.mu.Unlock()
	if on {
		d.Interrupt()
	}
}

var testMAC = inet.MAC{0x02, 0, 0, 0, 0, 1}

func newTestDevice(t *testing.T) (*Device, *fakePort) {
	t.Helper()
	p := &fakePort{ready: true, irqOn: true, link: true}
	d := newDevice(p, testMAC)
	go d.serve()
	t.Cleanup(func() {
		d.Close()
		<-d.stopped
	})
	return d, p
}

func frame(n int, fill byte) []byte {
	f := bytes.Repeat([]byte{fill}, n)
	copy(f, inet.BroadcastMAC[:])
	return f
}

func TestDeviceIdentity(t *testing.T) {
	d, _ := newTestDevice(t)
	if d.MAC() != testMAC || d.MTU() != 1500 || d.Headroom() != 0 {
		t.Fatalf("MAC %v MTU %d Headroom %d, want %v 1500 0", d.MAC(), d.MTU(), d.Headroom(), testMAC)
	}
}

func TestTransmitGathersAttachmentsAndPads(t *testing.T) {
	d, p := newTestDevice(t)
	b := pkt.New(64, 0)
	copy(b.Append(14), frame(14, 0))
	b.Attach([]byte("hello, "))
	b.Attach([]byte("world"))
	if err := d.Transmit(b); err != nil {
		t.Fatal(err)
	}
	if len(p.sent) != 1 {
		t.Fatalf("sent %d frames, want 1", len(p.sent))
	}
	got := p.sent[0]
	want := append(frame(14, 0), "hello, world"...)
	want = append(want, make([]byte, MinFrameLen-len(want))...)
	if !bytes.Equal(got, want) {
		t.Fatalf("sent\n%x\nwant\n%x", got, want)
	}
	if s := d.Stats(); s.TxFrames != 1 || s.TxBytes != 26 {
		t.Fatalf("stats %+v, want 1 frame of 26 bytes", s)
	}
}

func TestTransmitPadsWithZeroesAfterALongerFrame(t *testing.T) {
	d, p := newTestDevice(t)
	long := pkt.New(MaxFrameLen, 0)
	copy(long.Append(MaxFrameLen), frame(MaxFrameLen, 0xee))
	short := pkt.New(64, 0)
	copy(short.Append(20), frame(20, 0x11))
	for _, b := range []*pkt.Buf{long, short} {
		if err := d.Transmit(b); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.sent[1][20:]; !bytes.Equal(got, make([]byte, MinFrameLen-20)) {
		t.Fatalf("padding %x, want zeroes", got)
	}
	if len(p.sent[0]) != MaxFrameLen {
		t.Fatalf("full frame sent as %d bytes", len(p.sent[0]))
	}
}

func TestTransmitRefusals(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		busy  bool
		close bool
		want  error
	}{
		{"too big", MaxFrameLen + 1, false, false, netif.ErrTooBig},
		{"runt", netif.EthernetHeaderLen - 1, false, false, ErrRunt},
		{"ring full", 60, true, false, netif.ErrBusy},
		{"closed", 60, false, true, netif.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, p := newTestDevice(t)
			p.ready = !tt.busy
			if tt.close {
				d.Close()
			}
			b := pkt.New(MaxFrameLen+8, 0)
			b.Append(tt.size)
			if err := d.Transmit(b); !errors.Is(err, tt.want) {
				t.Fatalf("Transmit = %v, want %v", err, tt.want)
			}
			if len(p.sent) != 0 {
				t.Fatalf("a refused frame reached the port")
			}
			if s := d.Stats(); !tt.close && s.TxDropped != 1 {
				t.Fatalf("TxDropped = %d, want 1", s.TxDropped)
			}
		})
	}
}

func TestTransmitDoesNotAllocate(t *testing.T) {
	p := &fakePort{ready: true}
	d := newDevice(p, testMAC)
	nop := &nopTx{}
	d.port = nop
	b := pkt.New(128, 0)
	b.Append(14)
	payload := make([]byte, 1000)
	if a := testing.AllocsPerRun(100, func() {
		b.Reset(0)
		b.Append(14)
		b.Attach(payload)
		if err := d.Transmit(b); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("Transmit allocates %v times per frame", a)
	}
}

// nopTx is a port that accepts every frame and keeps none.
type nopTx struct{ fakePort }

func (*nopTx) Tx([]byte)     {}
func (*nopTx) TxReady() bool { return true }

func TestReceiveDrainsInOrderAndRearms(t *testing.T) {
	d, p := newTestDevice(t)
	got := make(chan []byte, 100)
	d.SetHandler(func(f []byte, _ netif.RxMeta) { got <- append([]byte(nil), f...) })

	var frames [][]byte
	for i := range 2*rxBudget + 3 { // more than one budget
		frames = append(frames, frame(60, byte(i)))
	}
	p.receive(d, frames...)
	for i, want := range frames {
		select {
		case f := <-got:
			if !bytes.Equal(f, want) {
				t.Fatalf("frame %d: got fill %#x, want %#x", i, f[59], want[59])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("frame %d never handed up", i)
		}
	}
	stacktest.WaitFor(t, "interrupt unmasked", 5*time.Second, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.irqOn && p.acks > 0 })
	if s := d.Stats(); s.RxFrames != uint64(len(frames)) || s.RxBytes != uint64(60*len(frames)) {
		t.Fatalf("stats %+v", s)
	}
}

func TestReceiveCountsRejectedFramesAndGoesOn(t *testing.T) {
	d, p := newTestDevice(t)
	got := make(chan []byte, 10)
	d.SetHandler(func(f []byte, _ netif.RxMeta) { got <- append([]byte(nil), f...) })
	p.receive(d, frame(60, 1), nil, nil, frame(60, 2))
	for _, fill := range []byte{1, 2} {
		select {
		case f := <-got:
			if f[59] != fill {
				t.Fatalf("got frame %#x, want %#x", f[59], fill)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("frame %#x stuck behind a rejected frame", fill)
		}
	}
	stacktest.WaitFor(t, "RxErrors = 2", 5*time.Second, func() bool { return d.Stats().RxErrors == 2 })
}

func TestReceiveDropsWithoutHandlerAndRunts(t *testing.T) {
	d, p := newTestDevice(t)
	p.receive(d, frame(60, 1))
	stacktest.WaitFor(t, "dropped without handler", 5*time.Second, func() bool { return d.Stats().RxDropped == 1 })
	d.SetHandler(func([]byte, netif.RxMeta) { t.Error("runt handed up") })
	p.receive(d, make([]byte, netif.EthernetHeaderLen-1))
	stacktest.WaitFor(t, "runt dropped", 5*time.Second, func() bool { return d.Stats().RxDropped == 2 })
	d.SetHandler(nil)
	p.receive(d, frame(60, 1))
	stacktest.WaitFor(t, "dropped after SetHandler(nil)", 5*time.Second, func() bool { return d.Stats().RxDropped == 3 })
}

func TestLinkUpWakesReceive(t *testing.T) {
	d, p := newTestDevice(t)
	got := make(chan struct{}, 1)
	d.SetHandler(func([]byte, netif.RxMeta) { got <- struct{}{} })
	// A frame whose interrupt was lost (tamago's MDIO clears EIR).
	p.mu.Lock()
	p.rxq = append(p.rxq, frame(60, 1))
	p.mu.Unlock()
	if !d.LinkUp() {
		t.Fatal("LinkUp = false")
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("frame not drained after LinkUp")
	}
}

func TestCloseStopsReceive(t *testing.T) {
	p := &fakePort{ready: true, irqOn: true}
	d := newDevice(p, testMAC)
	go d.serve()
	d.Close()
	d.Close()
	select {
	case <-d.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("receive goroutine still running after Close")
	}
	if p.irqOn {
		t.Fatal("interrupt still unmasked after Close")
	}
	if d.LinkUp() {
		t.Fatal("LinkUp after Close")
	}
}

func TestConcurrentTransmit(t *testing.T) {
	d, p := newTestDevice(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			b := pkt.New(128, 0)
			for range 50 {
				b.Reset(0)
				copy(b.Append(64), frame(64, byte(g)))
				if err := d.Transmit(b); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(p.sent) != 200 || d.Stats().TxFrames != 200 {
		t.Fatalf("sent %d, counted %d, want 200", len(p.sent), d.Stats().TxFrames)
	}
	for _, f := range p.sent {
		if !bytes.Equal(f, frame(64, f[63])) {
			t.Fatalf("frame mixed up by concurrent senders: %x", f)
		}
	}
}

func TestTxErrorsCounted(t *testing.T) {
	d, p := newTestDevice(t)
	p.mu.Lock()
	p.txErrs = 3
	p.mu.Unlock()
	if s := d.Stats(); s.TxErrors != 3 {
		t.Fatalf("TxErrors = %d, want 3", s.TxErrors)
	}
	p.mu.Lock()
	p.txErrs = 5
	p.mu.Unlock()
	b := pkt.New(64, 0)
	b.Append(60)
	if err := d.Transmit(b); err != nil {
		t.Fatal(err)
	}
	if s := d.Stats(); s.TxErrors != 5 {
		t.Fatalf("TxErrors = %d, want 5", s.TxErrors)
	}
}
