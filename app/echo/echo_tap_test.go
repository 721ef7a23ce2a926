//go:build linux

package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
)

// TestKernelPeerPingAndUDPEcho runs the echo app's UDP service on our
// stack over a TAP and uses the Linux kernel as the peer: its own ping, and
// a kernel UDP socket sending a short datagram and a 20 KB one that the
// kernel fragments (and reassembles our fragmented echo). The pcap of the
// exchange must open in tshark.
func TestKernelPeerPingAndUDPEcho(t *testing.T) {
	taptest.Require(t, "ping", "tshark") // tshark cross-checks the capture
	tp := taptest.New(t)
	capture := filepath.Join(t.TempDir(), "echo.pcap")
	w, err := pcap.Create(capture, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := stack.New(pcap.Wrap(tp.Dev, w, clock.Real{}), stack.Config{Addr: tp.Ours})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, s, Config{Port: 7, Log: slog.Default()}) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	})
	defer stop()

	out, err := exec.Command("ping", "-c", "3", "-i", "0.2", "-W", "2", tp.OursAddr().String()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3 received") {
		t.Fatalf("kernel ping: %v\n%s", err, out)
	}

	conn, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(tp.OursAddr(), 7)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	big := make([]byte, 20000)
	for i := range big {
		big[i] = byte(i * 31)
	}
	buf := make([]byte, 65536)
	for _, msg := range [][]byte{[]byte("hello, mirago"), big} {
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("echo of %d bytes: %v", len(msg), err)
		}
		if !bytes.Equal(buf[:n], msg) {
			t.Fatalf("echo of %d bytes came back as %d different bytes", len(msg), n)
		}
	}
	if st := s.Stats().IP; st.Reassembled == 0 || st.FragmentedSent == 0 {
		t.Fatalf("20 KB exchange did not fragment both ways: %+v", st)
	}

	stop()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := pcap.ReadFile(capture)
	if err != nil || len(recs) == 0 {
		t.Fatalf("pcap read back: %d records, %v", len(recs), err)
	}
	fields, err := exec.Command("tshark", "-r", capture, "-T", "fields", "-e", "icmp.type", "-e", "udp.dstport").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark cannot read the capture: %v\n%s", err, fields)
	}
	replies := strings.Count(string(fields), "0\t")
	if replies < 3 || !strings.Contains(string(fields), "\t7") {
		t.Fatalf("tshark saw %d echo replies and no UDP to port 7:\n%s", replies, fields)
	}
}
