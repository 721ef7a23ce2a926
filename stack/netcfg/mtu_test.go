package netcfg_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/dhcp"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netcfg"
)

// warnLog is a logging.Logger keeping the Warn messages with their
// arguments.
type warnLog struct {
	mu    sync.Mutex
	warns []string
}

func (l *warnLog) Debug(string, ...any) {}
func (l *warnLog) Info(string, ...any)  {}
func (l *warnLog) Error(msg string, args ...any) {
	l.Warn(msg, args...)
}
func (l *warnLog) Warn(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.warns = append(l.warns, msg+" "+fmt.Sprint(args...))
}

func (l *warnLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.warns...)
}

func (l *warnLog) mtuWarnings() int {
	n := 0
	for _, w := range l.all() {
		if strings.Contains(w, "lease MTU out of range") {
			n++
		}
	}
	return n
}

// TestLeaseMTU checks how the lease's interface MTU (option 26) is applied
// to a client with a 1500-byte device: values in 576..1500 become the IP
// MTU, others are ignored with one warning, and the device MTU comes back
// on Stop. At 1000, a 1400-byte UDP datagram leaves in fragments of at
// most 1000 bytes and a new TCP connection advertises MSS 960.
func TestLeaseMTU(t *testing.T) {
	tests := []struct {
		name     string
		leaseMTU int32 // 0: no option 26
		want     int
		warned   bool
	}{
		{"1000 applied", 1000, 1000, false},
		{"576 applied", 576, 576, false},
		{"1500 is the device MTU", 1500, 1500, false},
		{"absent", 0, 1500, false},
		{"300 below 576 ignored", 300, 1500, true},
		{"68 (RFC 2132 minimum) ignored", 68, 1500, true},
		{"9000 above the device MTU ignored", 9000, 1500, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sw := memlink.NewSwitch(memlink.Config{})
			t.Cleanup(func() { sw.Close() })
			srv := newFakeServer(t, sw)
			srv.mtu.Store(tc.leaseMTU)
			port := stacktest.NewRecordingPort(sw.NewPort(clientMAC, 1500))
			s, err := stack.New(port, stack.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			log := &warnLog{}
			d, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{Clock: clock.NewVirtual(time.Unix(1_000_000, 0)), Log: log})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			l, err := d.WaitBound(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if l.MTU != int(tc.leaseMTU) || d.MTU() != int(tc.leaseMTU) {
				t.Fatalf("lease MTU %d (DHCP.MTU %d), want %d", l.MTU, d.MTU(), tc.leaseMTU)
			}
			if got := s.MTU(); got != tc.want {
				t.Fatalf("stack MTU %d, want %d", got, tc.want)
			}
			if n := log.mtuWarnings(); (n == 1) != tc.warned || n > 1 {
				t.Fatalf("%d MTU warnings, want warned=%v: %q", n, tc.warned, log.all())
			}
			if tc.leaseMTU == 1000 {
				checkTraffic(t, srv, s, port, 1000)
			}
			d.Stop()
			if got := s.MTU(); got != 1500 {
				t.Fatalf("stack MTU %d after Stop, want 1500", got)
			}
		})
	}
}

// checkTraffic sends a 1400-byte UDP datagram and opens a TCP connection
// from the client stack s to the server, and checks the datagrams port
// sent against mtu.
func checkTraffic(t *testing.T, srv *fakeServer, s *stack.Stack, port *stacktest.RecordingPort, mtu int) {
	t.Helper()
	sink, err := srv.s.UDP().Bind(netip.MustParseAddrPort("0.0.0.0:9"))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ln, err := srv.s.TCP().Listen(5001)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	read := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		read <- n
	}()
	port.Take()

	c, err := s.UDP().Dial(netip.MustParseAddrPort("10.0.0.1:9"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte{0x5a}, 1400)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2000)
	sink.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := sink.ReadFromAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) {
		t.Fatalf("server read %d bytes, %v; want the 1400-byte datagram", n, err)
	}
	frags := 0
	for _, o := range port.Take() {
		if o.Proto != inet.ProtoUDP {
			continue
		}
		if o.TotalLen > mtu {
			t.Fatalf("sent a %d-byte UDP datagram at MTU %d", o.TotalLen, mtu)
		}
		if o.Frag {
			frags++
		}
	}
	if frags != 2 {
		t.Fatalf("1400-byte UDP datagram sent in %d fragments, want 2", frags)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tc, err := s.TCP().Dial(ctx, netip.MustParseAddrPort("10.0.0.1:5001"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Write(bytes.Repeat([]byte{0xa5}, 20_000)); err != nil {
		t.Fatal(err)
	}
	tc.Close()
	select {
	case n := <-read:
		if n != 20_000 {
			t.Fatalf("server read %d bytes, want 20000", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not read the stream to its end")
	}
	syns, largest := 0, 0
	for _, o := range port.Take() {
		if o.Proto != inet.ProtoTCP {
			continue
		}
		if o.TotalLen > mtu {
			t.Fatalf("sent a %d-byte TCP segment at MTU %d", o.TotalLen, mtu)
		}
		largest = max(largest, o.TotalLen)
		if o.SYN {
			syns++
			if o.MSS != mtu-40 {
				t.Fatalf("SYN MSS %d, want %d", o.MSS, mtu-40)
			}
		}
	}
	if syns != 1 || largest < mtu-100 {
		t.Fatalf("%d SYNs sent, largest segment %d bytes; want 1 SYN and full-size segments", syns, largest)
	}
}

// A renewal changes the applied MTU: a lease without option 26, or with
// an unusable one, after a lease with MTU 1000 gives the device MTU back;
// the next lease with 1000 lowers it again. The warning about an unusable
// value is logged once, not at every renewal.
func TestLeaseMTURenewal(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	t.Cleanup(func() { sw.Close() })
	srv := newFakeServer(t, sw)
	srv.mtu.Store(1000)
	s, err := stack.New(sw.NewPort(clientMAC, 1500), stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := clock.NewVirtual(time.Unix(1_000_000, 0))
	tick := func() { clk.Advance(time.Second) }
	log := &warnLog{}
	var bounds atomic.Int32
	d, err := netcfg.StartDHCP(s, netcfg.DHCPConfig{Clock: clk, Log: log, OnBound: func(dhcp.Lease) { bounds.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.WaitBound(ctx); err != nil {
		t.Fatal(err)
	}
	if s.MTU() != 1000 {
		t.Fatalf("MTU %d, want 1000", s.MTU())
	}
	renewTo := func(leaseMTU int32, want int) {
		t.Helper()
		srv.mtu.Store(leaseMTU)
		n := bounds.Load()
		until(t, fmt.Sprintf("a renewal with MTU %d", leaseMTU), tick, func() bool {
			l, ok := d.Lease()
			return bounds.Load() > n && ok && l.MTU == int(leaseMTU)
		})
		if got := s.MTU(); got != want {
			t.Fatalf("lease MTU %d: stack MTU %d, want %d", leaseMTU, got, want)
		}
	}
	renewTo(0, 1500)
	renewTo(1000, 1000)
	renewTo(300, 1500)
	renewTo(300, 1500) // renewed with the same value: no second warning
	if n := log.mtuWarnings(); n != 1 {
		t.Fatalf("%d warnings about MTU 300, want 1: %q", n, log.all())
	}
	renewTo(1400, 1400)
}
