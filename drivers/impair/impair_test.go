package impair

import (
	"bytes"
	"math"
	"math/bits"
	"slices"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/netif"
)

func TestLossRateAndDeterminism(t *testing.T) {
	const n, p = 20000, 0.1
	run := func(seed uint64) ([]uint32, Counters) {
		d, s, _ := newTx(Spec{Loss: p, Seed: seed})
		sendN(d, n)
		var seqs []uint32
		for _, f := range s.frames() {
			seqs = append(seqs, seqOf(f))
		}
		return seqs, d.Faults().Tx
	}
	a, st := run(1)
	if st.Frames != n || int(st.Lost)+len(a) != n {
		t.Fatalf("counters %+v, %d delivered", st, len(a))
	}
	// 3 standard deviations of the binomial: sqrt(n p (1-p)) = 42.
	if rate := float64(st.Lost) / n; math.Abs(rate-p) > 3*math.Sqrt(p*(1-p)/n) {
		t.Fatalf("loss rate %.4f, want %.2f", rate, p)
	}
	if b, _ := run(1); !slices.Equal(a, b) {
		t.Fatal("same seed, different losses")
	}
	if c, _ := run(2); slices.Equal(a, c) {
		t.Fatal("different seeds, same losses")
	}
}

func TestDupMakesExactCopies(t *testing.T) {
	d, s, _ := newTx(Spec{Dup: 1})
	sendN(d, 10)
	got := s.frames()
	if len(got) != 20 || d.Faults().Tx.Duplicated != 10 {
		t.Fatalf("%d frames for 10 sent, counters %+v", len(got), d.Faults().Tx)
	}
	for i := 0; i < 20; i += 2 {
		want := frame(uint32(i/2), 100).Bytes()
		if !bytes.Equal(got[i], want) || !bytes.Equal(got[i+1], want) {
			t.Fatalf("copies of frame %d differ from the original", i/2)
		}
	}
}

func TestCorruptFlipsOneBit(t *testing.T) {
	d, s, _ := newTx(Spec{Corrupt: 1, Seed: 7})
	sendN(d, 200)
	got := s.frames()
	if len(got) != 200 || d.Faults().Tx.Corrupted != 200 {
		t.Fatalf("%d frames, counters %+v", len(got), d.Faults().Tx)
	}
	positions := map[int]bool{}
	for i, f := range got {
		want := frame(uint32(i), 100).Bytes()
		diff := 0
		for j := range f {
			if x := f[j] ^ want[j]; x != 0 {
				diff += bits.OnesCount8(x)
				positions[j] = true
				if j < netif.EthernetHeaderLen {
					t.Fatalf("frame %d: Ethernet header byte %d corrupted", i, j)
				}
			}
		}
		if diff != 1 {
			t.Fatalf("frame %d: %d bits differ, want 1", i, diff)
		}
	}
	if len(positions) < 20 {
		t.Fatalf("corruption hit only %d distinct bytes", len(positions))
	}
}

func TestCorruptDoesNotTouchCallerBuffer(t *testing.T) {
	d, _, _ := newTx(Spec{Corrupt: 1})
	b := frame(1, 100)
	d.Transmit(b)
	if !bytes.Equal(b.Bytes(), frame(1, 100).Bytes()) {
		t.Fatal("the caller's Buf was modified")
	}
}

func TestReorder(t *testing.T) {
	d, s, clk := newTx(Spec{Reorder: 0.2, Seed: 3})
	const n = 1000
	sendN(d, n)
	clk.Advance(time.Second) // release a frame still held at the end
	var seqs []uint32
	for _, f := range s.frames() {
		seqs = append(seqs, seqOf(f))
	}
	if len(seqs) != n {
		t.Fatalf("%d of %d frames delivered", len(seqs), n)
	}
	inversions := 0
	for i := 1; i < n; i++ {
		if seqs[i] < seqs[i-1] {
			inversions++
		}
	}
	r := d.Faults().Tx.Reordered
	// Each held frame swaps with the next one; the last frame, if held,
	// has nothing to swap with and leaves after the hold time.
	if inversions == 0 || uint64(inversions) != r && uint64(inversions)+1 != r {
		t.Fatalf("%d inversions, %d reordered", inversions, r)
	}
	sorted := slices.Clone(seqs)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != uint32(i) {
			t.Fatalf("frame %d missing or duplicated", i)
		}
	}
}

func TestReorderHoldTimeout(t *testing.T) {
	d, s, clk := newTx(Spec{Reorder: 1, ReorderHold: 3 * time.Millisecond})
	sendN(d, 1)
	clk.Advance(2 * time.Millisecond)
	if len(s.frames()) != 0 {
		t.Fatal("held frame sent before the hold time")
	}
	clk.Advance(time.Millisecond)
	if len(s.frames()) != 1 {
		t.Fatal("held frame not sent after the hold time")
	}
}

func TestDelay(t *testing.T) {
	d, s, clk := newTx(Spec{Delay: 5 * time.Millisecond})
	sendN(d, 3)
	clk.Advance(5*time.Millisecond - 1)
	if len(s.frames()) != 0 {
		t.Fatal("frames sent before the delay")
	}
	clk.Advance(1)
	if got := s.frames(); len(got) != 3 || seqOf(got[2]) != 2 {
		t.Fatalf("%d frames after the delay", len(got))
	}
	if clk.Pending() != 0 {
		t.Fatalf("%d timers left armed", clk.Pending())
	}
}

func TestJitterKeepsOrderAndBounds(t *testing.T) {
	s := &sink{}
	clk := virtualClock()
	var at []time.Duration
	rec := &recorder{sink: s, clk: clk, at: &at}
	d := Wrap(rec, Spec{Delay: 10 * time.Millisecond, Jitter: 4 * time.Millisecond, Seed: 9, Dir: Tx}, clk)
	for i := range 200 {
		d.Transmit(frame(uint32(i), 100))
		clk.Advance(time.Millisecond)
	}
	clk.Advance(time.Second)
	if len(at) != 200 {
		t.Fatalf("%d of 200 sent", len(at))
	}
	spread := map[time.Duration]bool{}
	for i, a := range at {
		delay := a - time.Duration(i)*time.Millisecond
		if delay < 6*time.Millisecond || delay > 14*time.Millisecond+time.Millisecond {
			t.Fatalf("frame %d delayed %v", i, delay)
		}
		if i > 0 && a < at[i-1] {
			t.Fatalf("frame %d sent before frame %d", i, i-1)
		}
		spread[delay] = true
	}
	if len(spread) < 10 {
		t.Fatalf("jitter produced only %d distinct delays", len(spread))
	}
}

func TestRateLimit(t *testing.T) {
	// 1 Mbit/s and 1250-byte frames: one frame per 10ms after a burst of one.
	d, s, clk := newTx(Spec{Rate: 1_000_000, Burst: 1250})
	for i := range 100 {
		d.Transmit(frame(uint32(i), 1250))
	}
	if got := len(s.frames()); got != 1 {
		t.Fatalf("%d frames at once, want the burst of 1", got)
	}
	clk.Advance(500 * time.Millisecond)
	if got := len(s.frames()); got != 51 {
		t.Fatalf("%d frames after 500ms at 1 Mbit/s, want 51", got)
	}
	clk.Advance(time.Second)
	if got := len(s.frames()); got != 100 || d.Faults().Tx.RateQueued != 99 {
		t.Fatalf("%d frames in the end, counters %+v", got, d.Faults().Tx)
	}

	d, s, _ = newTx(Spec{Rate: 1_000_000, Burst: 1250, Limit: 10})
	for i := range 100 {
		d.Transmit(frame(uint32(i), 1250))
	}
	if st := d.Faults().Tx; st.RateDropped != 89 || st.RateQueued != 10 {
		t.Fatalf("bounded queue: counters %+v", st)
	}
}

func TestReceiveDirection(t *testing.T) {
	s := &sink{keep: true}
	clk := virtualClock()
	d := Wrap(s, Spec{Delay: time.Millisecond, Dup: 1, Dir: Rx}, clk)
	var got [][]byte
	d.SetHandler(func(f []byte, _ netif.RxMeta) { got = append(got, append([]byte(nil), f...)) })
	d.Transmit(frame(1, 100))
	if len(s.frames()) != 1 {
		t.Fatal("dir=rx impaired the transmit direction")
	}
	in := frame(2, 100).Bytes()
	s.h(in, netif.RxMeta{})
	if len(got) != 0 {
		t.Fatal("received frame not delayed")
	}
	clk.Advance(time.Millisecond)
	if len(got) != 2 || !bytes.Equal(got[0], in) || !bytes.Equal(got[1], in) {
		t.Fatalf("%d frames received, want 2 copies", len(got))
	}
	if st := d.Faults(); st.Rx.Duplicated != 1 || st.Tx != (Counters{}) {
		t.Fatalf("faults %+v", st)
	}
}

func TestZeroAllocsWhileHolding(t *testing.T) {
	s := &sink{}
	clk := virtualClock()
	d := Wrap(s, Spec{Delay: time.Millisecond, Reorder: 0.1, Dup: 0.1, Corrupt: 0.1, Loss: 0.1, Rate: 1e9, Dir: Tx}, clk)
	b := frame(1, 1000)
	for range 1000 { // warm up: allocate the holding buffers
		d.Transmit(b)
		clk.Advance(time.Millisecond)
	}
	if n := testing.AllocsPerRun(1000, func() {
		d.Transmit(b)
		clk.Advance(time.Millisecond)
	}); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

func TestClose(t *testing.T) {
	d, s, clk := newTx(Spec{Delay: time.Millisecond})
	sendN(d, 5)
	d.Close()
	clk.Advance(time.Second)
	if len(s.frames()) != 0 || clk.Pending() != 0 {
		t.Fatal("held frames sent after Close")
	}
	if err := d.Transmit(frame(0, 100)); err != netif.ErrClosed {
		t.Fatalf("Transmit after Close: %v", err)
	}
}
