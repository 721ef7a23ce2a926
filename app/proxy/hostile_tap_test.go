//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/internal/testkit/taptest"
)

// sendAndRead connects to addr, writes b (unless nil), optionally
// half-closes, and reads until the connection ends; it returns what
// ended it and how long that took.
func sendAndRead(t *testing.T, addr netip.AddrPort, b []byte, halfClose bool) (error, time.Duration) {
	t.Helper()
	c, err := net.DialTimeout("tcp4", addr.String(), 5*time.Second)
	if err != nil {
		return err, 0
	}
	defer c.Close()
	start := time.Now()
	if b != nil {
		c.Write(b)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	_, err, took := readErr(t, c, 10*time.Second)
	_ = took
	return err, time.Since(start)
}

// Hostile PROXY headers are refused with a reset and counted, each
// without reaching the upstream; a source outside proxy_from cannot even
// connect; a header that never completes is cut by proxy_timeout.
func TestProxyHostileProxyHeaders(t *testing.T) {
	tp := taptest.New(t)
	up := newNameServer(t, tp, "up")
	r := startTOML(t, tp, fmt.Sprintf(`
[listener.lb]
port = 8081
pool = "p"
accept_proxy = true
proxy_from = [%q]
proxy_timeout = "500ms"
allow = ["0.0.0.0/0"]
[listener.strict]
port = 8082
pool = "p"
accept_proxy = true
proxy_from = ["192.0.2.1"]
[pool.p]
upstreams = [%q]
`, tp.Kernel, up.addr))
	lb := netip.AddrPortFrom(tp.OursAddr(), 8081)
	v2 := func(verCmd, fam byte, length uint16, body []byte) []byte {
		b := append([]byte("\r\n\r\n\x00\r\nQUIT\n"), verCmd, fam)
		b = binary.BigEndian.AppendUint16(b, length)
		return append(b, body...)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"truncated v1", []byte("PROXY TCP4 192.0.2.9 10.0.0.1 55")},
		{"v1 over 107 bytes", []byte("PROXY UNKNOWN " + strings.Repeat("x", 120) + "\r\n")},
		{"v1 bad address", []byte("PROXY TCP4 192.0.2.999 10.0.0.1 1 2\r\n")},
		{"bad signature", []byte("PROXY\r\nTCP4 1.2.3.4\r\n")},
		{"not a header", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"v2 bad signature", append([]byte("\r\n\r\n\x00\r\nQUIX\n"), 0x21, 0x11, 0, 12)},
		{"v2 version 1", v2(0x11, 0x11, 12, make([]byte, 12))},
		{"v2 length too long", v2(0x21, 0x11, 60000, nil)},
		{"v2 length under the address block", v2(0x21, 0x11, 4, make([]byte, 4))},
		{"v2 truncated", v2(0x21, 0x11, 12, make([]byte, 6))},
		{"v2 bad TLV", v2(0x21, 0x11, 15, append(make([]byte, 12), 0x02, 0x00, 0x09))},
	} {
		before := r.p.Stats().RefusedProxy
		err, took := sendAndRead(t, lb, tc.b, true)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: %v, want a reset", tc.name, err)
		}
		stacktest.WaitFor(t, tc.name+" counted", 5*time.Second, func() bool { return r.p.Stats().RefusedProxy == before+1 })
		if took > 5*time.Second {
			t.Errorf("%s: refused after %v", tc.name, took)
		}
	}
	// Never finished (no half-close): cut when proxy_timeout passes.
	before := r.p.Stats().RefusedProxy
	err, took := sendAndRead(t, lb, []byte("PROXY TCP4 192."), false)
	if !errors.Is(err, syscall.ECONNRESET) || took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("unfinished header: %v after %v, want a reset after the 500ms proxy_timeout", err, took)
	}
	stacktest.WaitFor(t, "counted", 5*time.Second, func() bool { return r.p.Stats().RefusedProxy == before+1 })
	// From a source not in proxy_from: refused at SYN time.
	hdr := []byte(fmt.Sprintf("PROXY TCP4 192.0.2.9 %s 5555 8082\r\n", tp.OursAddr()))
	if err, _ := sendAndRead(t, netip.AddrPortFrom(tp.OursAddr(), 8082), hdr, true); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("header from a source not allowed: %v, want connection refused", err)
	}
	if n := r.p.pools["p"].conns.Load(); n != 0 {
		t.Errorf("%d connections reached the upstream", n)
	}
	if st := r.p.Stats(); st.RefusedACL != 1 {
		t.Errorf("refusals at SYN time: %+v", st)
	}
}

// Hostile ClientHellos on an SNI listener: fragmented ones are routed
// (they are valid); oversized, malformed and never-finished ones are
// reset and counted, the last when hello_timeout passes.
func TestProxyHostileClientHellos(t *testing.T) {
	tp := taptest.New(t)
	a, d := newNameServer(t, tp, "A"), newNameServer(t, tp, "D")
	r := startTOML(t, tp, fmt.Sprintf(`
[listener.tls]
port = 8443
pool = "d"
hello_timeout = "500ms"
max_hello = 2048
[listener.tls.sni]
"a.test" = "a"
[pool.a]
upstreams = [%q]
[pool.d]
upstreams = [%q]
`, a.addr, d.addr))
	addr := netip.AddrPortFrom(tp.OursAddr(), 8443)
	hello := clientHello(t, "a.test")
	if line := lineAfter(t, addr, hello); line != "A" {
		t.Fatalf("a whole ClientHello: %q", line)
	}
	// Fragmented into 7-byte records, and written a few bytes at a time.
	frag := refragment(hello, 7)
	c, err := net.DialTimeout("tcp4", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < len(frag); i += 50 {
		c.Write(frag[i:min(i+50, len(frag))])
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "A\n" {
		t.Fatalf("a fragmented ClientHello: %q, %v", buf, err)
	}
	c.Close()

	big := append([]byte{22, 3, 1, 0x10, 0x00, 1, 0, 0x0f, 0xfc}, make([]byte, 100)...) // claims 4092 bytes
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"oversized", big},
		{"not TLS", []byte("GET / HTTP/1.0\r\n\r\n")},
		{"alert record", []byte{21, 3, 3, 0, 2, 2, 40}},
		{"server_hello", append([]byte{22, 3, 3, 0, 4, 2, 0, 0, 0}, 0)},
		{"truncated", hello[:len(hello)/2]},
	} {
		before := r.p.Stats().RefusedHello
		if err, _ := sendAndRead(t, addr, tc.b, true); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: %v, want a reset", tc.name, err)
		}
		stacktest.WaitFor(t, tc.name+" counted", 5*time.Second, func() bool { return r.p.Stats().RefusedHello == before+1 })
	}
	before := r.p.Stats().RefusedHello
	err, took := sendAndRead(t, addr, hello[:20], false)
	if !errors.Is(err, syscall.ECONNRESET) || took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("a ClientHello never finished: %v after %v, want a reset after the 500ms hello_timeout", err, took)
	}
	stacktest.WaitFor(t, "counted", 5*time.Second, func() bool { return r.p.Stats().RefusedHello == before+1 })
}

// refragment re-cuts the handshake bytes of TLS records into records of
// at most size bytes.
func refragment(b []byte, size int) []byte {
	var msg []byte
	for len(b) >= 5 {
		n := int(binary.BigEndian.Uint16(b[3:5]))
		msg = append(msg, b[5:5+n]...)
		b = b[5+n:]
	}
	var out []byte
	for len(msg) > 0 {
		k := min(size, len(msg))
		out = append(out, 22, 3, 1, byte(k>>8), byte(k))
		out = append(out, msg[:k]...)
		msg = msg[k:]
	}
	return out
}
