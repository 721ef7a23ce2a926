package tcp

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

// spliceRig is a proxy in virtual time: on side A a client (cl) and an
// upstream server (up); on side B the proxy's two connections, bIn
// (accepted from cl) and bOut (dialled to up), spliced.
type spliceRig struct {
	n               *testNet
	cl, up, in, out *Conn
	sp              *Splice
	moved           [2]int
}

func newSpliceRig(t *testing.T, f faults) *spliceRig {
	n := newTestNet(t, 7, f, Config{}, Config{})
	r := &spliceRig{n: n}
	r.cl, r.in = n.connect(80)
	// B dials A's listener on 81.
	ln, err := n.ends[0].l.Listen(81)
	if err != nil {
		t.Fatal(err)
	}
	n.lockedDo(1, func(l *Layer) { r.out = l.startDial(addrA, 81) })
	if !n.run(time.Minute, func() bool {
		var ok bool
		n.lockedDo(0, func(*Layer) { ok = len(ln.queue) > 0 })
		n.lockedDo(1, func(*Layer) { ok = ok && r.out.state == Established })
		return ok
	}) {
		t.Fatal("upstream handshake did not complete")
	}
	if r.up, err = ln.AcceptTCP(); err != nil {
		t.Fatal(err)
	}
	count := func(i int) func(int) { return func(k int) { r.moved[i] += k } }
	if r.sp, err = SpliceConns(r.in, r.out, [2]func(int){count(0), count(1)}); err != nil {
		t.Fatal(err)
	}
	return r
}

// exchange writes ab at the client and ba at the upstream (then a FIN
// each if closeAB, closeBA) and reads at the other ends, in virtual time,
// until wantAB and wantBA bytes and the FINs asked for arrived.
func (r *spliceRig) exchange(t *testing.T, ab, ba []byte, wantAB, wantBA int, closeAB, closeBA bool) (gotAB, gotBA []byte) {
	t.Helper()
	buf := make([]byte, 64<<10)
	drain := func(c *Conn, got *[]byte, eof *bool) {
		for {
			k, fin := c.tryRead(buf)
			*got = append(*got, buf[:k]...)
			*eof = *eof || fin
			if k == 0 {
				return
			}
		}
	}
	var eofAB, eofBA bool
	ok := r.n.run(10*time.Minute, func() bool {
		r.n.lockedDo(0, func(*Layer) {
			ab = ab[r.cl.tryWrite(ab):]
			if len(ab) == 0 && closeAB {
				r.cl.shutWrite()
			}
			ba = ba[r.up.tryWrite(ba):]
			if len(ba) == 0 && closeBA {
				r.up.shutWrite()
			}
			drain(r.up, &gotAB, &eofAB)
			drain(r.cl, &gotBA, &eofBA)
		})
		return len(gotAB) >= wantAB && len(gotBA) >= wantBA && (eofAB || !closeAB) && (eofBA || !closeBA)
	})
	if !ok {
		t.Fatalf("exchange stalled: %d of %d bytes a->b (EOF %v), %d of %d b->a (EOF %v)", len(gotAB), wantAB, eofAB, len(gotBA), wantBA, eofBA)
	}
	return gotAB, gotBA
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestSpliceMovesBothWays: data both ways, half-closes passed on, over
// a clean and a lossy, reordering link.
func TestSpliceMovesBothWays(t *testing.T) {
	for _, f := range []faults{{}, {loss: 0.02, reorder: 0.05, jitter: 5 * time.Millisecond, delay: time.Millisecond}} {
		r := newSpliceRig(t, f)
		ab, ba := randomBytes(1<<20, 1), randomBytes(300<<10, 2)
		gotAB, gotBA := r.exchange(t, ab, ba, len(ab), len(ba), true, true)
		if !bytes.Equal(gotAB, ab) || !bytes.Equal(gotBA, ba) {
			t.Fatalf("faults %+v: data changed on the way", f)
		}
		select {
		case <-r.sp.Done():
		default:
			t.Fatal("splice not done after both FINs")
		}
		st := r.sp.Stop()
		if st.Bytes != [2]int64{int64(len(ab)), int64(len(ba))} || !st.EOF[0] || !st.EOF[1] || st.Err != [2]error{} {
			t.Errorf("status %+v", st)
		}
		if r.moved != [2]int{len(ab), len(ba)} {
			t.Errorf("onMove counted %v", r.moved)
		}
	}
}

// TestSpliceHalfClose: one direction ends (FIN passed on) while the
// other keeps moving.
func TestSpliceHalfClose(t *testing.T) {
	r := newSpliceRig(t, faults{})
	r.exchange(t, []byte("request"), nil, 7, 0, true, false)
	select {
	case <-r.sp.Done():
		t.Fatal("splice done with one direction open")
	default:
	}
	ba := randomBytes(200<<10, 3)
	_, got := r.exchange(t, nil, ba, 0, len(ba), false, true)
	if !bytes.Equal(got, ba) {
		t.Fatal("response changed on the way")
	}
	<-r.sp.Done()
}

// TestSpliceBackpressure: a destination that does not read stops the
// splice once its window and our send ring are full; the source's data
// then waits in our receive ring, whose window closes, and nothing is
// lost when the reader comes back.
func TestSpliceBackpressure(t *testing.T) {
	r := newSpliceRig(t, faults{})
	ab := randomBytes(4<<20, 4)
	src := ab
	r.n.run(time.Minute, func() bool {
		r.n.lockedDo(0, func(*Layer) { src = src[r.cl.tryWrite(src):] })
		return false
	})
	var inLen, outLen, upLen int
	r.n.lockedDo(1, func(*Layer) { inLen, outLen = r.in.rxLen(), r.out.txLen() })
	r.n.lockedDo(0, func(*Layer) { upLen = r.up.rxLen() })
	if inLen == 0 || outLen == 0 || upLen == 0 || len(src) == 0 {
		t.Fatalf("not backed up: %d unsent at the client, %d in the proxy's receive ring, %d in its send ring, %d at the upstream", len(src), inLen, outLen, upLen)
	}
	if st := r.sp.Stop(); !st.Pending[0] {
		t.Error("status: no data pending a->b")
	}
	// Stop leaves the data where it is: a new splice carries on.
	var err error
	if r.sp, err = SpliceConns(r.in, r.out, [2]func(int){}); err != nil {
		t.Fatal(err)
	}
	rest, _ := r.exchange(t, src, nil, len(ab), 0, true, false)
	// rest holds everything the upstream read, from the first byte.
	if !bytes.Equal(rest, ab) {
		t.Fatalf("%d bytes arrived, want %d intact", len(rest), len(ab))
	}
}

// TestSpliceReset: a reset on either side ends the splice and says which
// end was reset, so that the caller resets the other.
func TestSpliceReset(t *testing.T) {
	for _, upstream := range []bool{true, false} {
		r := newSpliceRig(t, faults{})
		r.exchange(t, []byte("ping"), []byte("pong"), 4, 4, false, false)
		r.n.lockedDo(0, func(*Layer) {
			c := r.cl
			if upstream {
				c = r.up
			}
			c.abortRST(ErrClosed)
		})
		r.n.run(time.Minute, func() bool {
			select {
			case <-r.sp.Done():
				return true
			default:
				return false
			}
		})
		st := r.sp.Stop()
		// The upstream's reset is met reading b (direction 1's source).
		want := 0
		if upstream {
			want = 1
		}
		if !st.SrcReset[want] || st.Err[want] == nil || st.ErrAtDst[want] {
			t.Errorf("upstream reset %v: status %+v", upstream, st)
		}
	}
}
