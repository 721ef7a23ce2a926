//go:build linux

package stack_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/drivers/tap"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/netif"
)

// The kernel-peer tests move 100 MiB each way; under the race detector
// 8 MiB (require.FullSize: make norace runs the 100 MiB), and
// MIRAGO_QUICK=1 shrinks it for quick local runs.
const kernelFull, kernelRace = 100 << 20, 8 << 20

func quick(n int64) int64 {
	if os.Getenv("MIRAGO_QUICK") != "" {
		return min(n, 8<<20)
	}
	return n
}

// tapStack puts our stack on a fresh TAP, recording a pcap and optionally
// impairing our side of the link. With plain, the TAP carries no
// virtio-net header and so no offloads; by default it has the kernel's
// checksum offload and TSO both ways.
func tapStack(t *testing.T, spec string, plain bool) (*stack.Stack, *taptest.TAP, *pcap.Writer, string) {
	t.Helper()
	tp := taptest.New(t)
	if plain {
		tp.Dev.Close()
		dev, err := tap.Open(tp.Name, tap.Options{MTU: 1500, SetMTU: true, BringUp: true, PlainFrames: true})
		if err != nil {
			t.Fatal(err)
		}
		tp.Dev = dev
		taptest.Run(t, "ip", "addr", "replace", tp.Kernel.String()+"/24", "dev", tp.Name)
	}
	if got := tp.Dev.Offloads(); plain != (got == netif.Offloads{}) || !plain && (got.TSO4Max == 0 || !got.RxChecksum || got.LargeReceive == 0) {
		t.Fatalf("TAP offloads %+v (plain frames %v)", got, plain)
	}
	capture := filepath.Join(t.TempDir(), "tcp.pcap")
	// Headers only: the SYN options are what the test reads back.
	w, err := pcap.Create(capture, pcap.Options{SnapLen: 128})
	if err != nil {
		t.Fatal(err)
	}
	dev := stacktest.Impair(t, pcap.Wrap(tp.Dev, w, clock.Real{}), spec, 0)
	s, err := stack.New(dev, stack.Config{Addr: tp.Ours})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); w.Close() })
	return s, tp, w, capture
}

// synOptions returns the TCP options of every SYN in the capture, as
// tshark prints them.
func synOptions(t *testing.T, capture string) string {
	out, err := exec.Command("tshark", "-r", capture, "-c", "100", "-Y", "tcp.flags.syn==1",
		"-T", "fields", "-e", "tcp.flags.ack", "-e", "tcp.options.mss_val",
		"-e", "tcp.options.wscale.shift", "-e", "tcp.options.sack_perm",
		"-e", "tcp.options.timestamp.tsval").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	return string(out)
}

// checkNegotiated asserts that both SYNs carried MSS, window scale, SACK
// permitted and timestamps.
func checkNegotiated(t *testing.T, w *pcap.Writer, capture string) {
	t.Helper()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	out := synOptions(t, capture)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("want a SYN and a SYN-ACK in the capture, got:\n%s", out)
	}
	for _, l := range lines[:2] {
		f := strings.Split(l, "\t")
		if len(f) < 5 || f[1] == "" || f[2] == "" || f[3] == "" || f[4] == "" {
			t.Fatalf("SYN without MSS, window scale, SACK-permitted and timestamps: %q", l)
		}
	}
}

// largeFrames counts the frames of the capture longer than an Ethernet
// MTU, from us (src) and to us, as tshark reads them: TSO segments we
// handed the kernel, and segments it handed us unsegmented.
func largeFrames(t *testing.T, w *pcap.Writer, capture string, us netip.Addr) (out, in int) {
	t.Helper()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("tshark", "-r", capture, "-Y", "frame.len > 1514 and tcp.len > 1460",
		"-T", "fields", "-e", "ip.src").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, b)
	}
	for _, l := range strings.Fields(string(b)) {
		if l == us.String() {
			out++
		} else {
			in++
		}
	}
	return out, in
}

// checkOffload asserts, from the capture and the counters, that large
// segments flowed both ways with offloads and never without them.
func checkOffload(t *testing.T, s *stack.Stack, w *pcap.Writer, capture string, us netip.Addr, plain bool) {
	t.Helper()
	out, in := largeFrames(t, w, capture, us)
	st := s.Stats().TCP
	t.Logf("frames > 1514 bytes: %d sent, %d received; TCP: %d TSO segments out, %d large in, %d checksums offloaded",
		out, in, st.LargeSegmentsOut, st.LargeSegmentsIn, st.ChecksumsOffloaded)
	if plain {
		if out+in != 0 || st.LargeSegmentsOut+st.LargeSegmentsIn+st.ChecksumsOffloaded != 0 {
			t.Error("large segments or offloaded checksums without offloads")
		}
		return
	}
	if out == 0 || in == 0 || st.LargeSegmentsOut == 0 || st.LargeSegmentsIn == 0 || st.ChecksumsOffloaded == 0 {
		t.Error("with offloads, large segments must flow both ways and checksums be offloaded")
	}
}

func kernelClientToUs(t *testing.T, spec string, size int64, plain bool) {
	taptest.Require(t, "tshark") // checkNegotiated reads the SYNs' options back with it
	s, tp, w, capture := tapStack(t, spec, plain)
	ln, err := s.TCP().Listen(5001)
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
	kc, err := net.DialTimeout("tcp4", netip.AddrPortFrom(tp.OursAddr(), 5001).String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ours := <-accepted
	if ours == nil {
		t.FailNow()
	}
	defer ours.Close()
	exchange(t, ours, kc, size)
	checkNegotiated(t, w, capture)
	checkOffload(t, s, w, capture, tp.OursAddr(), plain)
}

func usToKernelListener(t *testing.T, spec string, size int64, plain bool) {
	taptest.Require(t, "tshark") // checkNegotiated reads the SYNs' options back with it
	s, tp, w, capture := tapStack(t, spec, plain)
	kl, err := net.Listen("tcp4", netip.AddrPortFrom(tp.Kernel, 0).String())
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
	ours, err := s.TCP().Dial(ctx, kl.Addr().(*net.TCPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	kc := <-accepted
	if kc == nil {
		t.FailNow()
	}
	defer kc.Close()
	exchange(t, ours, kc, size)
	checkNegotiated(t, w, capture)
	checkOffload(t, s, w, capture, tp.OursAddr(), plain)
}

// Each of these moves 100 MiB each way, SHA-256 checked: with the TAP's
// offloads (checksums and TSO both ways) and without them.
func TestKernelClientToOurListener(t *testing.T) {
	kernelClientToUs(t, "", quick(require.FullSize(t, kernelFull, kernelRace)), false)
}
func TestOurClientToKernelListener(t *testing.T) {
	usToKernelListener(t, "", quick(require.FullSize(t, kernelFull, kernelRace)), false)
}
func TestKernelClientToOurListenerNoOffload(t *testing.T) {
	kernelClientToUs(t, "", quick(require.FullSize(t, kernelFull, kernelRace)), true)
}
func TestOurClientToKernelListenerNoOffload(t *testing.T) {
	usToKernelListener(t, "", quick(require.FullSize(t, kernelFull, kernelRace)), true)
}

const kernelImpair = "loss=0.01,reorder=0.01,dup=0.005,corrupt=0.001,seed=7"

// With faults injected on our side of the TAP; a large frame is lost,
// duplicated, delayed or corrupted whole.
func TestKernelClientToOurListenerImpaired(t *testing.T) {
	kernelClientToUs(t, kernelImpair, quick(require.FullSize(t, kernelFull, kernelRace)), false)
}
func TestOurClientToKernelListenerImpaired(t *testing.T) {
	usToKernelListener(t, kernelImpair, quick(require.FullSize(t, kernelFull, kernelRace)), false)
}
