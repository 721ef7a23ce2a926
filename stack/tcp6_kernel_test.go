//go:build linux

package stack_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/internal/testkit/stacktest"
)

// checkTCP6 checks, from the capture, that the handshake went over
// IPv6 with an MSS of 1440 each way (the TAP's 1500 less 60) and the
// other options, and that large segments (offloads) flowed both ways.
func (k *kernel6) checkTCP6(t *testing.T) {
	t.Helper()
	syns := k.tshark(t, "ipv6 && tcp.flags.syn==1", "ipv6.src", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval")
	if len(syns) < 2 {
		t.Fatalf("want a SYN and a SYN-ACK over IPv6, got %q", syns)
	}
	for _, l := range syns[:2] {
		f := strings.Split(l, "\t")
		if len(f) < 5 || f[1] != "1440" || f[2] == "" || f[3] == "" || f[4] == "" {
			t.Fatalf("SYN over IPv6 without MSS 1440, window scale, SACK-permitted and timestamps: %q", l)
		}
	}
	large := k.tshark(t, "ipv6 && frame.len > 1514 && tcp.len > 1440", "ipv6.src")
	out, in := 0, 0
	for _, src := range large {
		if src == k.g.String() {
			out++
		} else {
			in++
		}
	}
	st := k.s.Stats().TCP
	t.Logf("IPv6 frames > 1514 bytes: %d sent, %d received; TCP over IPv6: %d segments in, %d out, %d TSO, %d large in",
		out, in, st.IPv6.SegmentsIn, st.IPv6.SegmentsOut, st.IPv6.LargeSegmentsOut, st.IPv6.LargeSegmentsIn)
	if st.IPv6.SegmentsIn == 0 || st.IPv6.SegmentsIn != st.SegmentsIn {
		t.Errorf("TCP segments in: %d over IPv6 of %d", st.IPv6.SegmentsIn, st.SegmentsIn)
	}
	if out == 0 || in == 0 || st.IPv6.LargeSegmentsOut == 0 || st.IPv6.LargeSegmentsIn == 0 {
		t.Error("with the TAP's offloads, TSO6 segments must flow both ways")
	}
}

// TestKernel6ClientToOurListener: the kernel connects to our listener
// over IPv6 and 100 MiB go each way (8 MiB under -race), SHA-256
// checked.
func TestKernel6ClientToOurListener(t *testing.T) {
	size := quick(require.FullSize(t, kernelFull, kernelRace))
	k := newKernel6(t)
	ln, err := k.s.TCP().Listen(5006)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	kc, err := net.DialTimeout("tcp6", netip.AddrPortFrom(k.g.Netip(), 5006).String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ours := <-accepted
	if ours == nil {
		t.FailNow()
	}
	defer ours.Close()
	if ra := ours.RemoteAddr().(*net.TCPAddr); ra.AddrPort().Addr() != k.tp.Kernel6 {
		t.Fatalf("accepted from %v, want the kernel's %v", ra, k.tp.Kernel6)
	}
	exchange(t, ours, kc, size)
	k.checkTCP6(t)
}

// TestOurClient6ToKernelListener: we connect to a kernel listener over
// IPv6; 100 MiB each way, SHA-256 checked.
func TestOurClient6ToKernelListener(t *testing.T) {
	size := quick(require.FullSize(t, kernelFull, kernelRace))
	k := newKernel6(t)
	kl, err := net.Listen("tcp6", netip.AddrPortFrom(k.tp.Kernel6, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := kl.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ours, err := k.s.TCP().Dial(ctx, kl.Addr().(*net.TCPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	kc := <-accepted
	if kc == nil {
		t.FailNow()
	}
	defer kc.Close()
	if la := ours.LocalAddr().(*net.TCPAddr); la.AddrPort().Addr() != k.g.Netip() {
		t.Fatalf("our end is %v, want our global address %v (RFC 6724 source selection)", la, k.g)
	}
	exchange(t, ours, kc, size)
	k.checkTCP6(t)
}

// TestKernelUDP6Echo: a kernel socket sends datagrams of every size up
// to a full 1452-byte payload to our dual-stack UDP socket over IPv6,
// which echoes them; each comes back intact, with a checksum over the
// IPv6 pseudo-header that the kernel verified.
func TestKernelUDP6Echo(t *testing.T) {
	k := newKernel6(t)
	srv, err := k.s.UDP().Bind(netip.AddrPortFrom(netip.Addr{}, 7))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := srv.ReadFromAddrPort(buf)
			if err != nil {
				return
			}
			srv.WriteToAddrPort(buf[:n], from)
		}
	}()
	kc, err := net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(k.g.Netip(), 7)))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	buf := make([]byte, 2048)
	for _, n := range []int{0, 1, 7, 100, 1000, 1452} {
		msg := make([]byte, n)
		stacktest.Stream(uint64(n), int64(n)).Read(msg)
		kc.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := kc.Write(msg); err != nil {
			t.Fatal(err)
		}
		got, err := kc.Read(buf)
		if err != nil || string(buf[:got]) != string(msg) {
			t.Fatalf("%d-byte echo: %d bytes back, %v", n, got, err)
		}
	}
	st := k.s.Stats().UDP
	if st.IPv6.InDatagrams != 6 || st.IPv6.OutDatagrams != 6 || st.IPv6.DropChecksum != 0 {
		t.Fatalf("UDP over IPv6: %+v", st.IPv6)
	}
	if bad := k.tshark(t, "udp && udp.checksum.status == \"Bad\"", "frame.number"); len(bad) > 0 {
		t.Fatalf("%d UDP datagrams with a bad checksum in the capture", len(bad))
	}
	if z := k.tshark(t, "ipv6 && udp && udp.checksum == 0", "frame.number"); len(z) > 0 {
		t.Fatalf("%d UDP datagrams over IPv6 without a checksum", len(z))
	}
}
