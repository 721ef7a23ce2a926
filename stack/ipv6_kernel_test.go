//go:build linux

package stack_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/icmpv6"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ndp"
)

// kernel6 is our stack on a TAP with IPv6 on, the kernel as the peer:
// our link-local and global (in the TAP's fd00:199:N::/64) addresses are
// EUI-64 ones, static (no DAD); each side resolves the other with
// Neighbor Discovery. Every frame is recorded in capture.
type kernel6 struct {
	s       *stack.Stack
	tp      *taptest.TAP
	ll, g   inet.Addr
	capture string
	w       *pcap.Writer
}

func newKernel6(t *testing.T) *kernel6 {
	t.Helper()
	taptest.Require(t, "ping", "tshark")
	tp := taptest.NewWith(t, taptest.Options{IPv6: true})
	k := &kernel6{tp: tp, capture: filepath.Join(t.TempDir(), "ipv6.pcap")}
	w, err := pcap.Create(k.capture, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k.w = w
	s, err := stack.New(pcap.Wrap(tp.Dev, w, clock.Real{}), stack.Config{Addr: tp.Ours})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); w.Close() })
	k.s = s
	mac := s.Device().MAC()
	k.ll = stacktest.EUI64(inet.MustParseAddr("fe80::"), mac)
	k.g = stacktest.EUI64(inet.AddrFromNetip(tp.Prefix6.Addr()), mac)
	s.Locker().Lock()
	for _, a := range []inet.Addr{k.ll, k.g} {
		// Through Neighbor Discovery, which answers for them and puts
		// the /64 on-link; without DAD, as the kernel knows them already.
		if err := s.LayersLocked().ND.AddStatic(inet.Prefix6{Addr: a, Bits: 64}, ndp.NoDAD); err != nil {
			t.Fatal(err)
		}
	}
	s.Locker().Unlock()
	return k
}

// tshark runs tshark on the capture with a display filter and prints
// fields, one line per packet.
func (k *kernel6) tshark(t *testing.T, filter string, fields ...string) []string {
	t.Helper()
	k.w.Flush()
	args := []string{"-r", k.capture, "-Y", filter, "-T", "fields"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// ping runs the kernel's ping -6 and fails t unless every reply came.
func (k *kernel6) ping(t *testing.T, dst string, size, count int) {
	t.Helper()
	out, err := exec.Command("ping", "-6", "-n", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "3",
		"-s", strconv.Itoa(size), dst).CombinedOutput()
	if err != nil || !strings.Contains(string(out), strconv.Itoa(count)+" received") {
		link, _ := os.ReadFile("/proc/net/dev_snmp6/" + k.tp.Name)
		neigh, _ := exec.Command("ip", "-6", "neigh", "show", "dev", k.tp.Name).CombinedOutput()
		t.Logf("%s\n%s\n%s", link, neigh, strings.Join(k.tshark(t, "ipv6", "frame.time_relative", "ipv6.src", "ipv6.dst", "_ws.col.Info"), "\n"))
		t.Fatalf("ping -6 -s %d %s: %v\n%s\nour IPv6 %+v\nICMPv6 %+v", size, dst, err, out, k.s.Stats().IPv6, k.s.Stats().ICMPv6)
	}
}

// TestKernelPing6: the kernel pings our link-local and global addresses,
// with 56-byte and 20000-byte requests (those come in fragments, which we
// reassemble, and our replies leave in fragments, which the kernel
// reassembles); we ping the kernel the same way. tshark reads the
// capture back: every echo reply, whole, fragments both ways.
func TestKernelPing6(t *testing.T) {
	k := newKernel6(t)
	k.ping(t, k.g.String(), 56, 3)
	k.ping(t, k.ll.String()+"%"+k.tp.Name, 56, 3)
	k.ping(t, k.g.String(), 20000, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := bytes.Repeat([]byte("mirago over IPv6"), 1250)
	for _, dst := range []netip.Addr{k.tp.Kernel6, k.tp.KernelLL} {
		for _, data := range [][]byte{[]byte("hello kernel"), big} {
			if _, err := k.s.Ping(ctx, inet.AddrFromNetip(dst), data); err != nil {
				t.Fatalf("our ping of %v with %d bytes: %v (IPv6 %+v)\ncapture:\n%s", dst, len(data), err, k.s.Stats().IPv6,
					strings.Join(k.tshark(t, "ipv6", "frame.number", "ipv6.src", "ipv6.dst", "ipv6.nxt", "icmpv6.type", "eth.dst"), "\n"))
			}
		}
	}
	st := k.s.Stats()
	if st.IPv6.Reassembled < 4 || st.IPv6.FragmentedSent < 4 || st.ICMPv6.EchoRepliesOut < 8 || st.ICMPv6.EchoRepliesIn != 4 {
		t.Errorf("IPv6 %+v\nICMPv6 %+v", st.IPv6, st.ICMPv6)
	}
	// tshark: our replies to the kernel's 8 requests, and the kernel's to
	// our 4; the 20000-byte ones reassembled from fragments each way.
	ours := k.tshark(t, "icmpv6.type == 129 && ipv6.src == "+k.g.String()+" || icmpv6.type == 129 && ipv6.src == "+k.ll.String(), "icmpv6.echo.sequence_number")
	theirs := k.tshark(t, "icmpv6.type == 129 && ipv6.dst == "+k.g.String()+" || icmpv6.type == 129 && ipv6.dst == "+k.ll.String(), "ipv6.plen")
	if len(ours) != 8 || len(theirs) != 4 {
		t.Errorf("tshark: %d echo replies from us (want 8), %d to us (want 4)", len(ours), len(theirs))
	}
	bigOurs := k.tshark(t, "icmpv6.type == 129 && ipv6.src == "+k.g.String()+" && ipv6.reassembled.length == 20008", "frame.number")
	bigTheirs := k.tshark(t, "icmpv6.type == 129 && ipv6.dst == "+k.g.String()+" && ipv6.reassembled.length == 20008", "frame.number")
	if len(bigOurs) != 2 || len(bigTheirs) != 1 {
		t.Errorf("tshark: %d reassembled 20000-byte replies from us (want 2), %d to us (want 1)", len(bigOurs), len(bigTheirs))
	}
	// The kernel found us by Neighbor Discovery: our advertisements of
	// both addresses answered its solicitations.
	for _, a := range []inet.Addr{k.g, k.ll} {
		if na := k.tshark(t, "icmpv6.type == 136 && icmpv6.nd.na.target_address == "+a.String(), "frame.number"); len(na) == 0 {
			t.Errorf("tshark: no Neighbor Advertisement of %v", a)
		}
	}
}

// TestKernelUDP6Fragmented: a 20000-byte UDP datagram each way between
// our stack and a kernel socket: our fragments reassembled by the kernel,
// the kernel's by us; the capture, read back by tshark, shows the
// fragments and the whole datagrams with correct UDP checksums.
func TestKernelUDP6Fragmented(t *testing.T) {
	k := newKernel6(t)
	msg := make([]byte, 20000)
	stacktest.Stream(20, int64(len(msg))).Read(msg)
	kc, err := net.ListenUDP("udp6", &net.UDPAddr{IP: k.tp.Kernel6.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	kport := kc.LocalAddr().(*net.UDPAddr).Port
	ours, err := k.s.UDP().Bind(netip.MustParseAddrPort("[::]:9000"))
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	oc, err := k.s.UDP().Dial(netip.AddrPortFrom(k.tp.Kernel6, uint16(kport)))
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	// Ours to the kernel, then the kernel's to ours.
	buf := make([]byte, 65536)
	if _, err := oc.Write(msg); err != nil {
		t.Fatal(err)
	}
	kc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := kc.ReadFromUDP(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) || from.AddrPort().Addr() != k.g.Netip() {
		t.Fatalf("kernel read %d bytes from %v: %v (our IPv6 %+v)\ncapture:\n%s", n, from, err, k.s.Stats().IPv6,
			strings.Join(k.tshark(t, "ipv6", "frame.number", "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.fraghdr.offset", "eth.dst", "_ws.col.Info"), "\n"))
	}
	if _, err := kc.WriteToUDP(msg, &net.UDPAddr{IP: k.g.Netip().AsSlice(), Port: 9000}); err != nil {
		t.Fatal(err)
	}
	ours.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, src, err := ours.ReadFromAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:n], msg) || src.Addr() != k.tp.Kernel6 {
		t.Fatalf("we read %d bytes from %v: %v (IPv6 %+v)", n, src, err, k.s.Stats().IPv6)
	}
	if st := k.s.Stats().IPv6; st.FragmentedSent != 1 || st.Reassembled != 1 || st.FragmentsSent != 14 {
		t.Errorf("IPv6 %+v", st)
	}
	// tshark: the fragments each way, and each datagram whole with a good
	// checksum once reassembled.
	for _, dir := range []struct{ src, dst string }{{k.g.String(), k.tp.Kernel6.String()}, {k.tp.Kernel6.String(), k.g.String()}} {
		frags := k.tshark(t, "ipv6.src == "+dir.src+" && ipv6.dst == "+dir.dst+" && ipv6.fraghdr", "ipv6.fraghdr.offset")
		whole := k.tshark(t, "ipv6.src == "+dir.src+" && udp.length == 20008", "udp.checksum.status")
		if len(frags) != 14 || len(whole) != 1 {
			t.Errorf("%s -> %s: tshark sees %d fragments and %d whole datagrams", dir.src, dir.dst, len(frags), len(whole))
		}
	}
	out, err := exec.Command("tshark", "-r", k.capture, "-o", "udp.check_checksum:TRUE", "-Y", "udp.checksum.status == \"Bad\"").Output()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("tshark finds bad UDP checksums: %v\n%s", err, out)
	}
}

// TestKernelPortUnreachable6: the kernel answers a datagram to a closed
// port with an ICMPv6 port unreachable, which our stack hands to the
// connected UDP socket that sent it (RFC 4443 §3.1, RFC 1122 §4.1.3.3);
// and we answer the kernel's datagram to a closed port of ours the same
// way, which the kernel's connected socket reports as refused.
func TestKernelPortUnreachable6(t *testing.T) { kernelPortUnreachable6(t, newKernel6(t)) }

func kernelPortUnreachable6(t *testing.T, k *kernel6) {
	kc, err := net.ListenUDP("udp6", &net.UDPAddr{IP: k.tp.Kernel6.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	closed := kc.LocalAddr().(*net.UDPAddr).Port
	kc.Close()
	oc, err := k.s.UDP().Dial(netip.AddrPortFrom(k.tp.Kernel6, uint16(closed)))
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	if _, err := oc.Write([]byte("anyone there?")); err != nil {
		t.Fatal(err)
	}
	oc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := oc.Read(make([]byte, 100)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("read after the kernel's port unreachable: %v (ICMPv6 %+v)", err, k.s.Stats().ICMPv6)
	}
	if st := k.s.Stats(); st.ICMPv6.ErrorsIn[icmpv6.TypeDestUnreachable] != 1 || st.IPv6.ControlErrors != 1 {
		t.Errorf("ICMPv6 %+v\nIPv6 %+v", st.ICMPv6, st.IPv6)
	}
	// The kernel's connected socket to a closed port of ours.
	kd, err := net.DialUDP("udp6", &net.UDPAddr{IP: k.tp.Kernel6.AsSlice()}, &net.UDPAddr{IP: k.g.Netip().AsSlice(), Port: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer kd.Close()
	kd.Write([]byte("knock"))
	kd.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := kd.Read(make([]byte, 100)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("the kernel's read after our port unreachable: %v (ICMPv6 %+v)", err, k.s.Stats().ICMPv6)
	}
	got := k.tshark(t, "icmpv6.type == 1 && icmpv6.code == 4", "ipv6.src", "icmpv6.checksum.status")
	if len(got) != 2 {
		t.Errorf("tshark: %d port unreachables, want 2: %q", len(got), got)
	}
	for _, l := range got {
		if !strings.HasSuffix(l, "\t1") && !strings.HasSuffix(l, "\tGood") {
			t.Errorf("tshark: %q", l)
		}
	}
}
