//go:build linux

package stack_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/ndp"
)

// ndKernel is our stack, with its defaults, on a TAP with IPv6: the
// kernel is a peer that knows nothing about us in advance and resolves
// us by Neighbor Discovery, as we resolve it. Every frame is recorded.
type ndKernel struct {
	s       *stack.Stack
	tp      *taptest.TAP
	capture string
	w       *pcap.Writer
}

func newNDKernel(t *testing.T, cfg stack.Config) *ndKernel {
	t.Helper()
	taptest.Require(t, "ping", "tshark")
	tp := taptest.NewWith(t, taptest.Options{IPv6: true})
	k := &ndKernel{tp: tp, capture: filepath.Join(t.TempDir(), "nd.pcap")}
	w, err := pcap.Create(k.capture, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k.w = w
	cfg.Addr = tp.Ours
	s, err := stack.New(pcap.Wrap(tp.Dev, w, clock.Real{}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); w.Close() })
	k.s = s
	return k
}

// tshark prints fields of the captured packets that match filter.
func (k *ndKernel) tshark(t *testing.T, filter string, fields ...string) []string {
	t.Helper()
	k.w.Flush()
	args := []string{"-r", k.capture, "-Y", filter, "-T", "fields", "-E", "separator=/s"}
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

// ping runs the kernel's ping -6; every reply must come.
func (k *ndKernel) ping(t *testing.T, dst string) {
	t.Helper()
	out, err := exec.Command("ping", "-6", "-n", "-c", "3", "-i", "0.2", "-W", "3", dst).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3 received") {
		t.Fatalf("ping -6 %s: %v\n%s\nND %+v\ncapture:\n%s", dst, err, out, k.s.Stats().ND,
			strings.Join(k.tshark(t, "ipv6", "frame.time_relative", "ipv6.src", "ipv6.dst", "_ws.col.Info"), "\n"))
	}
}

// want fails t unless the capture holds exactly n packets matching
// filter (n < 0: at least one), and returns their fields.
func (k *ndKernel) want(t *testing.T, what string, n int, filter string, fields ...string) []string {
	t.Helper()
	if len(fields) == 0 {
		fields = []string{"frame.number"}
	}
	got := k.tshark(t, filter, fields...)
	if n < 0 && len(got) == 0 || n >= 0 && len(got) != n {
		t.Fatalf("%s: %d packets match %q (want %d): %q\ncapture:\n%s", what, len(got), filter, n, got,
			strings.Join(k.tshark(t, "ipv6", "frame.time_relative", "ipv6.src", "ipv6.dst", "_ws.col.Info"), "\n"))
	}
	return got
}

// TestKernelND6: the stack comes up on its own (link-local address after
// DAD, MLDv2 reports, router solicitations), takes a static global
// address after DAD, and the kernel and we find and ping each other by
// Neighbor Discovery alone. tshark reads the ND and MLD fields back.
func TestKernelND6(t *testing.T) {
	k := newNDKernel(t, stack.Config{})
	ll := waitAddr6(t, k.s, "our link-local address", preferredLL).Prefix.Addr
	mac := k.s.Device().MAC()
	b := k.tp.Prefix6.Addr().As16()
	b[15] = 0x15
	g := inet.AddrFrom16(b)
	if err := k.s.AddAddr6(inet.Prefix6{Addr: g, Bits: 64}); err != nil {
		t.Fatal(err)
	}
	waitAddr6(t, k.s, "our global address", func(a ndp.AddrInfo) bool { return a.Prefix.Addr == g && a.Status == ndp.AddrPreferred })

	// We resolve the kernel (we know nothing of it yet), then the kernel,
	// its neighbor table flushed of what our solicitations taught it,
	// resolves us.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dst := range []netip.Addr{k.tp.KernelLL, k.tp.Kernel6} {
		if _, err := k.s.Ping(ctx, inet.AddrFromNetip(dst), []byte("hello kernel")); err != nil {
			t.Fatalf("our ping of %v: %v (ND %+v)", dst, err, k.s.Stats().ND)
		}
	}
	taptest.Run(t, "ip", "-6", "neigh", "flush", "dev", k.tp.Name)
	k.ping(t, ll.String()+"%"+k.tp.Name)
	k.ping(t, g.String())
	// The kernel learned us by ND, not from a permanent entry.
	neigh, _ := exec.Command("ip", "-6", "neigh", "show", "dev", k.tp.Name).CombinedOutput()
	for _, a := range []inet.Addr{ll, g} {
		if !strings.Contains(string(neigh), a.String()+" lladdr "+mac.String()) || strings.Contains(string(neigh), "PERMANENT") {
			t.Fatalf("the kernel's neighbors:\n%s", neigh)
		}
	}

	macS := mac.String()
	// DAD: from ::, to the solicited-node group, with a nonce (RFC 7527)
	// and no link-layer address, hop limit 255.
	for _, a := range []inet.Addr{ll, g} {
		k.want(t, "our DAD probe for "+a.String(), 1, "icmpv6.type == 135 && ipv6.src == :: && ipv6.hlim == 255 && icmpv6.nd.ns.target_address == "+a.String()+
			" && ipv6.dst == "+inet.SolicitedNode(a).String()+" && icmpv6.opt.nonce && !icmpv6.opt.linkaddr && eth.src == "+macS)
		// MLDv2: a CHANGE_TO_EXCLUDE report for its solicited-node group,
		// hop limit 1, router alert, to ff02::16.
		k.want(t, "our MLDv2 report for "+a.String(), -1, "icmpv6.type == 143 && ipv6.hlim == 1 && ipv6.opt.router_alert == 0 && ipv6.dst == ff02::16"+
			" && icmpv6.mldr.mar.record_type == 4 && icmpv6.mldr.mar.multicast_address == "+inet.SolicitedNode(a).String()+" && eth.src == "+macS)
		// The kernel solicited us and we answered: solicited, override,
		// our link-layer address.
		k.want(t, "the kernel's solicitation for "+a.String(), -1, "icmpv6.type == 135 && icmpv6.nd.ns.target_address == "+a.String()+" && !(ipv6.src == ::)")
		k.want(t, "our advertisement of "+a.String(), -1, "icmpv6.type == 136 && ipv6.hlim == 255 && icmpv6.nd.na.target_address == "+a.String()+
			" && icmpv6.nd.na.flag.s == 1 && icmpv6.nd.na.flag.o == 1 && icmpv6.nd.na.flag.r == 0 && icmpv6.opt.linkaddr == "+macS)
	}
	// ff02::1 is never reported (RFC 3810 §6).
	k.want(t, "a report of ff02::1", 0, "icmpv6.type == 143 && icmpv6.mldr.mar.multicast_address == ff02::1")
	// Router solicitation from our link-local address, with our MAC.
	k.want(t, "our router solicitation", -1, "icmpv6.type == 133 && ipv6.src == "+ll.String()+" && ipv6.dst == ff02::2 && ipv6.hlim == 255 && icmpv6.opt.linkaddr == "+macS)
	// We solicited the kernel's addresses with our link-layer address.
	for _, a := range []netip.Addr{k.tp.KernelLL, k.tp.Kernel6} {
		k.want(t, "our solicitation for "+a.String(), -1, "icmpv6.type == 135 && eth.src == "+macS+" && ipv6.hlim == 255 && icmpv6.nd.ns.target_address == "+a.String()+
			" && icmpv6.opt.linkaddr == "+macS)
	}
}

// radvd runs Debian's radvd on the TAP with a private configuration and
// pidfile, stopped when t ends.
func radvd(t *testing.T, tp *taptest.TAP, conf string) {
	t.Helper()
	require.Commands(t, "radvd", "radvd")
	dir := t.TempDir()
	path := filepath.Join(dir, "radvd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "radvd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("radvd", "-n", "-C", path, "-p", filepath.Join(dir, "radvd.pid"), "-m", "stderr", "-d", "1", "-u", "root")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		log.Close()
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("radvd log:\n%s", b)
		}
	})
}

// TestKernelSLAAC6FromRadvd: Debian's radvd advertises the TAP's prefix,
// an MTU and a DNS server; the stack takes a SLAAC address with a stable
// identifier, the router, the MTU and the RDNSS server, and the kernel
// pings the SLAAC address.
func TestKernelSLAAC6FromRadvd(t *testing.T) {
	k := newNDKernel(t, stack.Config{})
	waitAddr6(t, k.s, "our link-local address", preferredLL)
	dns := netip.AddrFrom16(func() [16]byte { b := k.tp.Prefix6.Addr().As16(); b[15] = 0x53; return b }())
	radvd(t, k.tp, "interface "+k.tp.Name+` {
	AdvSendAdvert on;
	MinRtrAdvInterval 3;
	MaxRtrAdvInterval 4;
	AdvDefaultLifetime 600;
	AdvLinkMTU 1400;
	AdvCurHopLimit 48;
	prefix `+k.tp.Prefix6.String()+` {
		AdvOnLink on;
		AdvAutonomous on;
		AdvValidLifetime 3600;
		AdvPreferredLifetime 1800;
	};
	RDNSS `+dns.String()+` {
		AdvRDNSSLifetime 600;
	};
};
`)
	slaac := waitAddr6(t, k.s, "a SLAAC address", func(a ndp.AddrInfo) bool {
		return a.Kind == ndp.KindSLAAC && a.Status == ndp.AddrPreferred
	})
	g := slaac.Prefix.Addr
	if !k.tp.Prefix6.Contains(g.Netip()) {
		t.Fatalf("SLAAC address %v not in %v", g, k.tp.Prefix6)
	}
	if b := g.As16(); b[11] == 0xff && b[12] == 0xfe {
		t.Fatalf("SLAAC address %v has an EUI-64 identifier, not an RFC 7217 one", g)
	}
	if left := time.Until(slaac.ValidUntil); left < 3500*time.Second || left > 3600*time.Second {
		t.Fatalf("valid for %v", left)
	}
	if r := k.s.Routers6(); len(r) != 1 || r[0].Netip() != k.tp.KernelLL {
		t.Fatalf("routers %v, want %v", r, k.tp.KernelLL)
	}
	stacktest.WaitFor(t, "the RDNSS server", 10*time.Second, func() bool {
		d := k.s.DNSServers6()
		return len(d) == 1 && d[0].Addr.Netip() == dns
	})
	k.s.Locker().Lock()
	mtu := k.s.LayersLocked().IPv6.LinkMTU()
	k.s.Locker().Unlock()
	if mtu != 1400 {
		t.Fatalf("link MTU %d", mtu)
	}
	k.ping(t, g.String())
	// tshark: radvd's advertisement as it came, and our DAD for the
	// SLAAC address.
	ra := k.want(t, "radvd's advertisement", -1, "icmpv6.type == 134 && ipv6.hlim == 255 && ipv6.src == "+k.tp.KernelLL.String(),
		"icmpv6.opt.prefix", "icmpv6.opt.mtu", "icmpv6.opt.rdnss", "icmpv6.nd.ra.router_lifetime", "icmpv6.nd.ra.cur_hop_limit")
	want := strings.Join([]string{k.tp.Prefix6.Addr().String(), "1400", dns.String(), "600", "48"}, " ")
	if ra[0] != want {
		t.Fatalf("RA fields %q, want %q", ra[0], want)
	}
	k.want(t, "our DAD probe for the SLAAC address", 1, "icmpv6.type == 135 && ipv6.src == :: && icmpv6.nd.ns.target_address == "+g.String()+" && icmpv6.opt.nonce")
	k.want(t, "our MLDv2 report for its group", -1, "icmpv6.type == 143 && icmpv6.mldr.mar.multicast_address == "+inet.SolicitedNode(g).String())
	if st := k.s.Stats().ND; st.RAReceived == 0 || st.SLAACAddrs != 1 || st.DADSucceeded < 2 {
		t.Fatalf("ND %+v", st)
	}
}

// TestKernelDAD6Conflict: configured with the kernel's own address, the
// stack finds it in use by DAD (the kernel defends it), does not take it
// and reports it.
func TestKernelDAD6Conflict(t *testing.T) {
	k := newNDKernel(t, stack.Config{})
	theirs := inet.AddrFromNetip(k.tp.Kernel6)
	done := make(chan struct{}, 1)
	k.s.SetDuplicateHook6(func(a inet.Addr, from inet.MAC, inUse bool) {
		if a == theirs && !inUse && from == k.tp.KernelMAC {
			select {
			case done <- struct{}{}:
			default:
			}
		}
	})
	if err := k.s.AddAddr6(inet.Prefix6{Addr: theirs, Bits: 64}); err != nil {
		t.Fatal(err)
	}
	waitAddr6(t, k.s, "the duplicate", func(a ndp.AddrInfo) bool { return a.Prefix.Addr == theirs && a.Status == ndp.AddrDuplicate })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no report")
	}
	k.want(t, "the kernel's defence", -1, "icmpv6.type == 136 && ipv6.dst == ff02::1 && icmpv6.nd.na.target_address == "+theirs.String()+
		" && eth.src == "+k.tp.KernelMAC.String())
	// The kernel keeps its address: it answers our ping from our
	// link-local address.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	waitAddr6(t, k.s, "our link-local address", preferredLL)
	if _, err := k.s.Ping(ctx, inet.AddrFromNetip(k.tp.KernelLL), nil); err != nil {
		t.Fatal(err)
	}
}
