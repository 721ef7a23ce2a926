package flowtcp_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mirago/mirago/flow/flowtest"
)

// Probes beyond flowtest.Run: several goroutines blocked in the same
// call on one connection must all be woken (net.Conn allows concurrent
// Reads and Writes).

func TestTCPWaiters(t *testing.T) {
	st := newStacks(t)
	const n = 3
	run := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			flowtest.CheckGoroutines(t)
			fn(t)
		})
	}
	collect := func(t *testing.T, errs chan error, what string, ok func(error) bool) {
		t.Helper()
		timer := time.NewTimer(wait)
		defer timer.Stop()
		for i := range n {
			select {
			case err := <-errs:
				if !ok(err) {
					t.Errorf("%s #%d: %v", what, i, err)
				}
			case <-timer.C:
				t.Fatalf("%s: %d of %d calls still blocked after %v", what, n-i, n, wait)
			}
		}
	}
	run("CloseUnblocksAllReads", func(t *testing.T) {
		a, b := st.tcpPair(t)
		defer b.Close()
		errs := make(chan error, n)
		for range n {
			go func() {
				_, err := a.Read(make([]byte, 8))
				errs <- err
			}()
		}
		// Not synchronisation: the readers may or may not have blocked
		// yet (both must end with net.ErrClosed); the pause only makes
		// it likely that they did, so that the probe bites.
		time.Sleep(20 * time.Millisecond)
		a.Close()
		collect(t, errs, "Read across Close", func(err error) bool { return errors.Is(err, net.ErrClosed) })
	})
	run("DeadlineUnblocksAllReads", func(t *testing.T) {
		a, b := st.tcpPair(t)
		defer a.Close()
		defer b.Close()
		errs := make(chan error, n)
		for range n {
			go func() {
				_, err := a.Read(make([]byte, 8))
				errs <- err
			}()
		}
		time.Sleep(20 * time.Millisecond) // as above: not synchronisation
		a.SetReadDeadline(time.Unix(1, 0))
		collect(t, errs, "Read across a past deadline", func(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) })
	})
	run("CloseUnblocksAllWrites", func(t *testing.T) {
		a, b := st.tcpPair(t)
		defer b.Close()
		errs := make(chan error, n)
		big := make([]byte, 16<<20) // more than both buffers: blocks
		for range n {
			go func() {
				_, err := a.Write(big)
				errs <- err
			}()
		}
		time.Sleep(50 * time.Millisecond) // as above: not synchronisation
		a.Close()
		collect(t, errs, "Write across Close", func(err error) bool { return errors.Is(err, net.ErrClosed) })
	})
	run("ConcurrentWritersAllFinish", func(t *testing.T) {
		a, b := st.tcpPair(t)
		defer a.Close()
		defer b.Close()
		const size = 1 << 20
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := a.Write(bytes.Repeat([]byte{byte('A' + i)}, size))
				errs <- err
			}()
		}
		got := make(chan int64, 1)
		go func() {
			m, _ := io.CopyN(io.Discard, b, n*size)
			got <- m
		}()
		collect(t, errs, "concurrent Write", func(err error) bool { return err == nil })
		if m := <-got; m != n*size {
			t.Fatalf("peer read %d bytes, want %d", m, n*size)
		}
	})
}
