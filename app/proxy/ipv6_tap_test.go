//go:build linux

package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/flow/proxyproto"
	"github.com/mirago/mirago/internal/metrics/metricstest"
	"github.com/mirago/mirago/internal/testkit/dnsmasqtest"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netcfg"
)

// tap6 is our stack on a TAP with IPv6 on both sides: our link-local and
// global (in the TAP's fd00:199:N::/64) addresses, every frame recorded.
type tap6 struct {
	s       *stack.Stack
	tp      *taptest.TAP
	ours6   netip.Addr
	capture string
	w       *pcap.Writer
}

func newTap6(t *testing.T) *tap6 {
	t.Helper()
	tp := taptest.NewWith(t, taptest.Options{IPv6: true})
	k := &tap6{tp: tp, capture: filepath.Join(t.TempDir(), "proxy6.pcap")}
	w, err := pcap.Create(k.capture, pcap.Options{SnapLen: 256})
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
	ll, g := stacktest.AddressOn6(t, s, inet.AddrFromNetip(tp.Prefix6.Addr()))
	for _, a := range []inet.Addr{ll, g} {
		tp.Neighbor6(t, a.Netip(), s.Device().MAC())
	}
	k.ours6 = g.Netip()
	return k
}

// tshark prints fields of the capture's packets matching filter.
func (k *tap6) tshark(t *testing.T, filter string, fields ...string) []string {
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

// blobServerOn serves size deterministic bytes at /blob on the kernel
// address a (port 0: any), returning its address and the bytes' SHA-256.
func blobServerOn(t *testing.T, a netip.Addr, size int64) (netip.AddrPort, [32]byte) {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		io.Copy(w, stacktest.Stream(7, size))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h := sha256.New()
	io.Copy(h, stacktest.Stream(7, size))
	return ln.Addr().(*net.TCPAddr).AddrPort(), [32]byte(h.Sum(nil))
}

// checkFamilies reads the proxy's metrics: one client connection of
// family client, one upstream connection of family upstream.
func checkFamilies(t *testing.T, at netip.AddrPort, client, upstream string) {
	t.Helper()
	m := metricstest.Scrape(t, at)
	other := map[string]string{"ipv4": "ipv6", "ipv6": "ipv4"}
	for k, want := range map[string]float64{
		`mirago_proxy_listener_connections{listener="main",family="` + client + `"}`:        1,
		`mirago_proxy_listener_connections{listener="main",family="` + other[client] + `"}`: 0,
		`mirago_proxy_pool_connections{pool="main",family="` + upstream + `"}`:              1,
		`mirago_proxy_pool_connections{pool="main",family="` + other[upstream] + `"}`:       0,
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if m[`mirago_tcp_passive_opens{family="`+client+`"}`] < 1 || m[`mirago_tcp_active_opens{family="`+upstream+`"}`] < 1 {
		t.Errorf("TCP opens by family: passive %v over %s, active %v over %s", m[`mirago_tcp_passive_opens{family="`+client+`"}`], client,
			m[`mirago_tcp_active_opens{family="`+upstream+`"}`], upstream)
	}
}

// curl over IPv6 through the proxy to an IPv4 upstream: 100 MiB intact
// (MIRAGO_QUICK=1: 8 MiB), the client and the listener's connection
// counted as IPv6, the upstream's as IPv4, the access log naming the
// IPv6 client.
func TestProxyCurl6ToIPv4Upstream(t *testing.T) {
	taptest.Require(t, "curl", "tshark")
	k := newTap6(t)
	size := bigSize()
	up, want := blobServerOn(t, k.tp.Kernel, size)
	r := startProxy(t, k.s, k.tp, Config{Upstream: up.String(), Metrics: 9100, IdleTimeout: 30 * time.Second})
	url := "http://" + netip.AddrPortFrom(k.ours6, 8080).String() + "/blob"
	got, n := curlThrough(t, url)
	if n != size || got != want {
		t.Fatalf("curl %s: %d bytes (want %d), sha256 match %v", url, n, size, got == want)
	}
	stacktest.WaitFor(t, "the connection log line", 10*time.Second, func() bool {
		return strings.Contains(r.logs.String(), `msg="proxy conn closed"`)
	})
	line := logLine(r.logs.String(), "proxy conn closed")
	if !strings.Contains(line, "client=["+k.tp.Kernel6.String()+"]:") || !strings.Contains(line, "upstream="+up.String()) {
		t.Errorf("access log line: %s", line)
	}
	checkFamilies(t, netip.AddrPortFrom(k.tp.OursAddr(), 9100), "ipv6", "ipv4")
	if syn := k.tshark(t, "ipv6 && tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==8080", "ipv6.src"); len(syn) != 1 || syn[0] != k.tp.Kernel6.String() {
		t.Errorf("curl's SYN over IPv6 in the capture: %q", syn)
	}
}

// curl over IPv4 through the proxy to an upstream at an IPv6 literal.
func TestProxyCurl4ToIPv6Upstream(t *testing.T) {
	taptest.Require(t, "curl", "tshark")
	k := newTap6(t)
	size := bigSize()
	up, want := blobServerOn(t, k.tp.Kernel6, size)
	r := startProxy(t, k.s, k.tp, Config{Upstream: up.String(), Metrics: 9100, IdleTimeout: 30 * time.Second})
	got, n := curlThrough(t, "http://"+r.addr.String()+"/blob")
	if n != size || got != want {
		t.Fatalf("curl: %d bytes (want %d), sha256 match %v", n, size, got == want)
	}
	checkFamilies(t, netip.AddrPortFrom(k.tp.OursAddr(), 9100), "ipv4", "ipv6")
	if syn := k.tshark(t, "ipv6 && tcp.flags.syn==1 && tcp.flags.ack==0", "ipv6.src", "ipv6.dst", "tcp.options.mss_val"); len(syn) != 1 ||
		syn[0] != k.ours6.String()+"\t"+k.tp.Kernel6.String()+"\t1440" {
		t.Errorf("our SYN to the upstream over IPv6, with MSS 1440: %q", syn)
	}
}

// An upstream by name, resolved through dnsmasq over IPv6: the AAAA
// record wins (Happy Eyeballs prefers IPv6), a name with only an A
// record goes over IPv4; the DNS queries went over IPv6, as tshark reads
// them back.
func TestProxyUpstreamByNameOverIPv6(t *testing.T) {
	taptest.Require(t, "curl", "tshark")
	k := newTap6(t)
	dnsmasqtest.Start(t, k.tp, 0)
	blob6, want := blobServerOn(t, k.tp.Kernel6, 1<<20)
	blob4, _ := blobServerOn(t, k.tp.Kernel, 1<<20)
	f, err := (Config{Listen: 8080, Upstream: fmt.Sprintf("%s:%d", dnsmasqtest.UpstreamName, blob6.Port()), Metrics: 9100,
		MaxConns: 10, MaxPerClient: 10, ConnectTimeout: 5 * time.Second, Grace: 2 * time.Second}).File()
	if err != nil {
		t.Fatal(err)
	}
	resolver := netcfg.NewResolver(k.s, netcfg.StaticServers(netip.AddrPortFrom(k.tp.Kernel6, 53)))
	r := startFileWith(t, k.s, k.tp, f, Options{Resolver: resolver, Families: k.s.Reachable})
	got, n := curlThrough(t, "http://"+r.addr.String()+"/blob")
	if n != 1<<20 || got != want {
		t.Fatalf("through upstream.test: %d bytes, sha256 match %v", n, got == want)
	}
	checkFamilies(t, netip.AddrPortFrom(k.tp.OursAddr(), 9100), "ipv4", "ipv6")
	r.stop()
	// The name with an A record only: IPv4.
	f2, _ := (Config{Listen: 8081, Upstream: fmt.Sprintf("%s:%d", dnsmasqtest.Upstream4Name, blob4.Port()),
		MaxConns: 10, MaxPerClient: 10, ConnectTimeout: 5 * time.Second, Grace: 2 * time.Second}).File()
	r2 := startFileWith(t, k.s, k.tp, f2, Options{Resolver: resolver, Families: k.s.Reachable})
	if _, n := curlThrough(t, "http://"+r2.addr.String()+"/blob"); n != 1<<20 {
		t.Fatalf("through upstream4.test: %d bytes", n)
	}
	qs := k.tshark(t, "dns.flags.response==0", "ipv6.src", "dns.qry.name", "dns.qry.type")
	var aaaa, a int
	for _, q := range qs {
		f := strings.Split(q, "\t")
		if len(f) != 3 || f[0] != k.ours6.String() {
			t.Errorf("DNS query not over IPv6 from our address: %q", q)
			continue
		}
		switch f[2] {
		case "28":
			aaaa++
		case "1":
			a++
		}
	}
	if aaaa < 2 || a < 2 {
		t.Errorf("DNS queries: %d AAAA, %d A; want both for both names: %q", aaaa, a, qs)
	}
	if ans := k.tshark(t, "dns.flags.response==1 && dns.aaaa", "dns.aaaa"); len(ans) == 0 || !strings.Contains(strings.Join(ans, " "), k.tp.Kernel6.String()) {
		t.Errorf("no AAAA answer with %v in the capture: %q", k.tp.Kernel6, ans)
	}
}

// PROXY protocol with an IPv6 client: v1 says TCP6, v2 AF_INET6, each
// naming the client and the address it connected to.
func TestProxySendProxy6(t *testing.T) {
	taptest.Require(t, "tshark")
	k := newTap6(t)
	ln := kernelListener(t, k.tp)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 232)
				n, _ := c.Read(buf)
				h, _, err := proxyproto.Parse(buf[:n], 0)
				if err != nil {
					fmt.Fprintf(c, "error: %v\n", err)
					return
				}
				raw := ""
				if h.Version == 1 {
					raw = strings.TrimSpace(string(buf[:n]))
				}
				fmt.Fprintf(c, "v%d %s %s %q\n", h.Version, h.Source, h.Dest, raw)
			}()
		}
	}()
	for _, v := range []string{"v1", "v2"} {
		r := startProxy(t, k.s, k.tp, Config{Listen: 8090 + uint16(v[1]-'0'), Upstream: ln.Addr().String(), SendProxy: v})
		to := netip.AddrPortFrom(k.ours6, r.addr.Port())
		c, err := net.DialTimeout("tcp6", to.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		want := fmt.Sprintf("%s %s %s", v, c.LocalAddr(), to)
		if err != nil || !strings.HasPrefix(line, want) {
			t.Errorf("%s: upstream saw %q (%v), want %q", v, line, err, want)
		}
		if v == "v1" && !strings.Contains(line, `"PROXY TCP6 `+k.tp.Kernel6.String()+" "+k.ours6.String()+" ") {
			t.Errorf("v1 header: %s", line)
		}
		r.stop()
	}
}

// The default ACL is our own prefixes of both families: an IPv6 client
// of the TAP's prefix gets through; with -allow naming IPv4 networks
// only, it is refused at SYN time and counted.
func TestProxyACL6(t *testing.T) {
	k := newTap6(t)
	ln := kernelListener(t, k.tp)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}
	}()
	r := startProxy(t, k.s, k.tp, Config{Upstream: ln.Addr().String()})
	to := netip.AddrPortFrom(k.ours6, 8080)
	c, err := net.DialTimeout("tcp6", to.String(), 5*time.Second)
	if err != nil {
		t.Fatalf("IPv6 client of our own prefix: %v", err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping"))
	var b [4]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || string(b[:]) != "ping" {
		t.Fatalf("round trip: %q, %v", b, err)
	}
	c.Close()
	r.stop()

	r = startProxy(t, k.s, k.tp, Config{Listen: 8081, Upstream: ln.Addr().String(), Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if _, err := net.DialTimeout("tcp6", netip.AddrPortFrom(k.ours6, 8081).String(), 5*time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("IPv6 client outside -allow: %v, want connection refused", err)
	}
	if st := r.p.Stats(); st.RefusedACL != 1 {
		t.Fatalf("refusals: %+v", st)
	}
	r.stop()

	r = startProxy(t, k.s, k.tp, Config{Listen: 8082, Upstream: ln.Addr().String(), Allow: []netip.Prefix{netip.PrefixFrom(k.tp.Kernel6, 128)}})
	if c, err := net.DialTimeout("tcp6", netip.AddrPortFrom(k.ours6, 8082).String(), 5*time.Second); err != nil {
		t.Fatalf("IPv6 client in an IPv6 -allow entry: %v", err)
	} else {
		c.Close()
	}
}
