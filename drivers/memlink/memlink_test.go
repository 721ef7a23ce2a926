package memlink

import (
	"bytes"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

const timeout = 5 * time.Second

var (
	macA = inet.MAC{2, 0, 0, 0, 0, 0xa}
	macB = inet.MAC{2, 0, 0, 0, 0, 0xb}
	macC = inet.MAC{2, 0, 0, 0, 0, 0xc}
)

// frame builds an Ethernet frame dst|src|0x88b5|payload, with the payload
// attached by reference when attach is set.
func frame(dst, src inet.MAC, payload []byte, attach bool) *pkt.Buf {
	b := pkt.New(2048, 0)
	h := b.Append(14)
	copy(h, dst[:])
	copy(h[6:], src[:])
	h[12], h[13] = 0x88, 0xb5
	if attach {
		b.Attach(payload)
	} else {
		copy(b.Append(len(payload)), payload)
	}
	return b
}

// collector returns a handler that copies frames into a channel.
func collector(n int) (netif.Handler, chan []byte) {
	ch := make(chan []byte, n)
	return func(f []byte, _ netif.RxMeta) { ch <- append([]byte(nil), f...) }, ch
}

func recv(t *testing.T, ch chan []byte) []byte {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(timeout):
		t.Fatal("no frame delivered")
		return nil
	}
}

func TestUnicastAndFlood(t *testing.T) {
	s := NewSwitch(Config{})
	defer s.Close()
	a, b, c := s.NewPort(macA, 0), s.NewPort(macB, 0), s.NewPort(macC, 0)
	ha, cha := collector(8)
	hb, chb := collector(8)
	hc, chc := collector(8)
	a.SetHandler(ha)
	b.SetHandler(hb)
	c.SetHandler(hc)

	want := frame(macB, macA, []byte("hello"), true)
	if err := a.Transmit(want); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, chb); !bytes.Equal(got[:14], want.Bytes()) || string(got[14:]) != "hello" {
		t.Fatalf("b got %x", got)
	}
	// A broadcast from C reaches A and B but not C.
	if err := c.Transmit(frame(inet.BroadcastMAC, macC, []byte("all"), false)); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan []byte{cha, chb} {
		if got := recv(t, ch); !bytes.Equal(got[14:], []byte("all")) {
			t.Fatalf("broadcast payload %q", got[14:])
		}
	}
	// A unicast to B is flushed after the broadcast if C saw anything; to
	// check C got nothing, send C a frame and make sure it is the first.
	if err := a.Transmit(frame(macC, macA, []byte("c"), false)); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, chc); !bytes.Equal(got[14:], []byte("c")) {
		t.Fatalf("c got %q first; its own broadcast came back or unicast leaked", got[14:])
	}
	if len(cha) != 0 || len(chb) != 0 {
		t.Fatalf("unicast to C leaked: a=%d b=%d", len(cha), len(chb))
	}
	if st := a.Stats(); st.TxFrames != 2 || st.RxFrames != 1 {
		t.Fatalf("a stats %+v", st)
	}
}

func TestLearning(t *testing.T) {
	s := NewSwitch(Config{})
	defer s.Close()
	a, b, c := s.NewPort(macA, 0), s.NewPort(macB, 0), s.NewPort(macC, 0)
	_, cha := collector(8)
	hb, chb := collector(8)
	hc, chc := collector(8)
	b.SetHandler(hb)
	c.SetHandler(hc)
	a.SetHandler(func([]byte, netif.RxMeta) {})
	// A frame from a bridged host X behind C teaches the switch X's port.
	macX := inet.MAC{2, 9, 9, 9, 9, 9}
	if err := c.Transmit(frame(inet.BroadcastMAC, macX, nil, false)); err != nil {
		t.Fatal(err)
	}
	recv(t, chb)
	if err := b.Transmit(frame(macX, macB, []byte("x"), false)); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, chc); string(got[14:]) != "x" {
		t.Fatalf("c got %q", got[14:])
	}
	if len(cha) != 0 {
		t.Fatal("learned unicast was flooded")
	}
	_ = a
}

func TestErrors(t *testing.T) {
	s := NewSwitch(Config{})
	a := s.NewPort(macA, 100)
	if err := a.Transmit(frame(macB, macA, make([]byte, 101), true)); !errors.Is(err, netif.ErrTooBig) {
		t.Fatalf("oversized: %v", err)
	}
	if err := a.Transmit(pkt.New(10, 0)); !errors.Is(err, ErrShortFrame) {
		t.Fatalf("short: %v", err)
	}
	a.SetLinkUp(false)
	if err := a.Transmit(frame(macB, macA, nil, false)); !errors.Is(err, netif.ErrLinkDown) || a.LinkUp() {
		t.Fatalf("link down: %v", err)
	}
	s.Close()
	if err := a.Transmit(frame(macB, macA, nil, false)); !errors.Is(err, netif.ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
	if s.NewPort(macB, 0) != nil {
		t.Fatal("NewPort after Close")
	}
}

// The receiver's handler holds slot 0 while four more frames arrive in a
// four-slot ring: the fifth is dropped, or refused with ErrBusy.
func TestTailDropAndBackpressure(t *testing.T) {
	for _, bp := range []bool{false, true} {
		s := NewSwitch(Config{RingSize: 4, Backpressure: bp})
		a, b := s.NewPort(macA, 0), s.NewPort(macB, 0)
		entered, release := make(chan struct{}), make(chan struct{})
		got := make(chan []byte, 16)
		b.SetHandler(func(f []byte, _ netif.RxMeta) {
			if f[14] == 0 {
				close(entered)
				<-release
			}
			got <- append([]byte(nil), f...)
		})
		send := func(i byte) error { return a.Transmit(frame(macB, macA, []byte{i}, false)) }
		if err := send(0); err != nil {
			t.Fatal(err)
		}
		<-entered // slot 0 is lent to the handler and still occupied
		for i := byte(1); i < 4; i++ {
			if err := send(i); err != nil {
				t.Fatal(err)
			}
		}
		err := send(4)
		if bp && !errors.Is(err, netif.ErrBusy) || !bp && err != nil {
			t.Fatalf("backpressure=%v: full ring gave %v", bp, err)
		}
		if bp && a.Stats().TxDropped != 1 || !bp && (b.Stats().RxDropped != 1 || s.Dropped() != 1) {
			t.Fatalf("backpressure=%v: counters a=%+v b=%+v", bp, a.Stats(), b.Stats())
		}
		close(release)
		for i := byte(0); i < 4; i++ {
			if f := recv(t, got); f[14] != i {
				t.Fatalf("frame %d out of order: %d", i, f[14])
			}
		}
		s.Close()
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s := NewSwitch(Config{})
	for i := range 8 {
		p := s.NewPort(inet.MAC{2, 0, 0, 0, 1, byte(i)}, 0)
		p.SetHandler(func([]byte, netif.RxMeta) {})
	}
	s.NewPort(macA, 0).Transmit(frame(inet.BroadcastMAC, macA, nil, false))
	s.Close()
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after Close", before, runtime.NumGoroutine())
		}
		runtime.Gosched()
	}
}

func TestZeroAllocs(t *testing.T) {
	s := NewSwitch(Config{})
	defer s.Close()
	a, b := s.NewPort(macA, 0), s.NewPort(macB, 0)
	done := make(chan struct{}, 1)
	b.SetHandler(func([]byte, netif.RxMeta) { done <- struct{}{} })
	f := frame(macB, macA, make([]byte, 1400), true)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := a.Transmit(f); err != nil {
			t.Fatal(err)
		}
		<-done
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame", allocs)
	}
}

// With Backpressure, a port whose frame was refused is told once the
// receiving ring has drained to half: its SetTxRoom function runs on its
// own delivery goroutine, not before the receiver freed half the ring.
func TestBackpressureRoom(t *testing.T) {
	s := NewSwitch(Config{RingSize: 8, Backpressure: true})
	defer s.Close()
	a, b := s.NewPort(macA, 0), s.NewPort(macB, 0)
	var handled atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	b.SetHandler(func(f []byte, _ netif.RxMeta) {
		if f[14] == 0 {
			close(entered)
			<-release
		}
		handled.Add(1)
	})
	room := make(chan int32, 4)
	if !a.SetTxRoom(func() { room <- handled.Load() }) {
		t.Fatal("SetTxRoom: a memlink port reports room")
	}
	send := func(i byte) error { return a.Transmit(frame(macB, macA, []byte{i}, false)) }
	if err := send(0); err != nil {
		t.Fatal(err)
	}
	<-entered
	for i := byte(1); i < 8; i++ {
		if err := send(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(8); !errors.Is(err, netif.ErrBusy) {
		t.Fatalf("full ring: %v, want ErrBusy", err)
	}
	close(release)
	select {
	case n := <-room:
		if n < 4 {
			t.Fatalf("room reported after %d of 8 frames were handled, want at least 4", n)
		}
	case <-time.After(timeout):
		t.Fatal("no room notification")
	}
	if err := send(8); err != nil {
		t.Fatalf("after room: %v", err)
	}
	if a.SetTxRoom(nil); len(room) != 0 {
		t.Fatalf("%d more notifications without a refusal", len(room))
	}
}
