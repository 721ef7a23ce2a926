package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/memlink"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/internal/testkit/stacktest"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/tcp"
)

// pair is two stacks on an in-memory switch: the server at 10.0.0.1 and
// the client at 10.0.0.2.
func pair(t *testing.T) (srv, cli *stack.Stack) { return stacktest.Pair(t) }

// testApp is an app's families: one counter.
func testApp() []Family {
	return []Family{{Name: "mirago_test_requests", Help: "test", Type: Counter, Samples: []Sample{{Value: 7}}}}
}

type endpoint struct {
	srv  *server
	cli  *stack.Stack
	addr netip.AddrPort
	stop func() // cancels the context and waits for serve to return
}

// start serves metrics on port 9100 of a fresh pair's server stack;
// tweak adjusts the server's limits first.
func start(t *testing.T, tweak func(*server)) *endpoint {
	t.Helper()
	s, cli := pair(t)
	ln, err := s.TCP().Listen(9100)
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(s, testApp, nil)
	if tweak != nil {
		tweak(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.serve(ctx, ln) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return &endpoint{srv: srv, cli: cli, addr: netip.MustParseAddrPort("10.0.0.1:9100"), stop: stop}
}

func (e *endpoint) dial(t *testing.T) *tcp.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.cli.TCP().Dial(ctx, e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *endpoint) httpClient() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				ap, err := netip.ParseAddrPort(addr)
				if err != nil {
					return nil, err
				}
				return e.cli.TCP().Dial(ctx, ap)
			},
		},
	}
}

// exchange sends req over a new connection in writes of at most chunk
// bytes (0: one write), half-closes if closeWrite, and returns all the
// server sends until it closes.
func (e *endpoint) exchange(t *testing.T, req []byte, chunk int, closeWrite bool) []byte {
	t.Helper()
	c := e.dial(t)
	c.SetNoDelay(true)
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if chunk == 0 {
		chunk = max(len(req), 1)
	}
	for p := req; len(p) > 0; {
		n := min(chunk, len(p))
		if _, err := c.Write(p[:n]); err != nil {
			t.Fatalf("write: %v", err)
		}
		p = p[n:]
	}
	if closeWrite {
		c.CloseWrite()
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (after %d bytes: %q)", err, len(got), got)
	}
	return got
}

// response parses raw as the answer to a request with method and checks
// the framing every answer has: Connection: close, a Content-Length that
// matches the body (HEAD: no body), nothing after the body.
func response(t *testing.T, raw []byte, method string) (*http.Response, []byte) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("response %q: %v", raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Errorf("%d bytes after the response: %q", len(rest), rest)
	}
	// ReadResponse takes Connection out of the header into Close.
	if !resp.Close || !bytes.Contains(raw, []byte("\r\nConnection: close\r\n")) {
		t.Errorf("no Connection: close: %q", raw[:min(len(raw), 200)])
	}
	cl, err := strconv.Atoi(resp.Header.Get("Content-Length"))
	if err != nil {
		t.Errorf("Content-Length %q", resp.Header.Get("Content-Length"))
	}
	if method == "HEAD" {
		if len(body) != 0 {
			t.Errorf("HEAD response with a body: %q", body)
		}
	} else if cl != len(body) {
		t.Errorf("Content-Length %d, body %d bytes", cl, len(body))
	}
	return resp, body
}

// checkExposition checks that body parses and holds the stack's counters,
// the app's family and the endpoint's own counters.
func checkExposition(t *testing.T, body []byte) map[string]float64 {
	t.Helper()
	m, err := Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	for _, k := range []string{`mirago_ip_received{family="ipv4"}`, `mirago_tcp_passive_opens{family="ipv4"}`, `mirago_tcp_states{state="LISTEN"}`, "mirago_metrics_scrapes", "mirago_metrics_refused"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %s in exposition", k)
		}
	}
	if m[`mirago_ip_received{family="ipv4"}`] < 1 || m[`mirago_tcp_passive_opens{family="ipv4"}`] < 1 || m[`mirago_tcp_states{state="LISTEN"}`] != 1 {
		t.Errorf("stack counters implausible: ip received %v, passive opens %v, listen %v",
			m[`mirago_ip_received{family="ipv4"}`], m[`mirago_tcp_passive_opens{family="ipv4"}`], m[`mirago_tcp_states{state="LISTEN"}`])
	}
	if m["mirago_test_requests"] != 7 {
		t.Errorf("app family: mirago_test_requests = %v", m["mirago_test_requests"])
	}
	return m
}

// net/http's client reads GET, HEAD and POST answers.
func TestServeNetHTTPClient(t *testing.T) {
	e := start(t, nil)
	c := e.httpClient()
	url := "http://" + e.addr.String() + "/metrics"

	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType || resp.ContentLength != int64(len(body)) || !resp.Close {
		t.Fatalf("GET: %s, type %q, length %d for %d bytes, close %v", resp.Status, resp.Header.Get("Content-Type"), resp.ContentLength, len(body), resp.Close)
	}
	checkExposition(t, body)

	resp, err = c.Head("http://" + e.addr.String() + "/anything?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType || resp.ContentLength < int64(len(body))/2 {
		t.Fatalf("HEAD: %s, type %q, length %d (GET body %d)", resp.Status, resp.Header.Get("Content-Type"), resp.ContentLength, len(body))
	}

	resp, err = c.Post(url, "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}

	// The endpoint counted the two scrapes and the rejected POST.
	resp, err = c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	m := checkExposition(t, body)
	if m["mirago_metrics_scrapes"] != 2 || m["mirago_metrics_rejected"] != 1 || m["mirago_metrics_refused"] != 0 {
		t.Errorf("own counters: scrapes %v rejected %v refused %v", m["mirago_metrics_scrapes"], m["mirago_metrics_rejected"], m["mirago_metrics_refused"])
	}
}

// HEAD's Content-Length is the length of the body GET sends for the same
// state, and HEAD sends no body. A stack with no traffic keeps the state
// still between the two.
func TestRespondHeadMatchesGet(t *testing.T) {
	sw := memlink.NewSwitch(memlink.Config{})
	defer sw.Close()
	s, err := stack.New(sw.NewPort(inet.MAC{2, 0, 0, 0, 0, 1}, 1500), stack.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := newServer(s, testApp, nil)
	get, st := srv.respond([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
	head, st2 := srv.respond([]byte("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
	if st != 200 || st2 != 200 {
		t.Fatalf("status %d, %d", st, st2)
	}
	resp, body := response(t, get, "GET")
	hresp, _ := response(t, head, "HEAD")
	if resp.Header.Get("Content-Type") != ContentType || hresp.Header.Get("Content-Type") != ContentType {
		t.Errorf("Content-Type %q, %q", resp.Header.Get("Content-Type"), hresp.Header.Get("Content-Type"))
	}
	if hresp.ContentLength != int64(len(body)) {
		t.Errorf("HEAD Content-Length %d, GET body %d bytes", hresp.ContentLength, len(body))
	}
	if !bytes.HasPrefix(get, head) || len(get) != len(head)+len(body) {
		t.Errorf("HEAD response is not GET's head:\n%q\n%q", head, get[:len(get)-len(body)])
	}
	if _, err := Parse(bytes.NewReader(body)); err != nil {
		t.Error(err)
	}
}

// Every error status comes with the same framing and a short body.
func TestErrorResponses(t *testing.T) {
	for _, status := range []int{400, 405, 431, 505} {
		resp, body := response(t, errorResponse(status, false), "GET")
		if resp.StatusCode != status || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			string(body) != strconv.Itoa(status)+" "+statusText(status)+"\n" {
			t.Errorf("%d: %s %v %q", status, resp.Status, resp.Header, body)
		}
		if (resp.Header.Get("Allow") == "GET, HEAD") != (status == 405) {
			t.Errorf("%d: Allow %q", status, resp.Header.Get("Allow"))
		}
		resp, _ = response(t, errorResponse(status, true), "HEAD")
		if resp.StatusCode != status {
			t.Errorf("HEAD %d: %s", status, resp.Status)
		}
	}
}

// withHeadLen pads a GET head with a header field to exactly n bytes.
func withHeadLen(n int) string {
	const pre, post = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ", "\r\n\r\n"
	return pre + strings.Repeat("a", n-len(pre)-len(post)) + post
}

// Requests over the wire, well-formed and not: the right status or a
// close without an answer, never a hang or a panic.
func TestServeRequests(t *testing.T) {
	garbage := make([]byte, 2000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	e := start(t, nil)
	for _, tc := range []struct {
		name       string
		req        string
		chunk      int  // write size, 0: one write
		closeWrite bool // half-close after the request
		method     string
		status     int // 0: closed without an answer
	}{
		{name: "get", req: "GET /metrics HTTP/1.1\r\nHost: 10.0.0.1:9100\r\nAccept: */*\r\n\r\n", method: "GET", status: 200},
		{name: "any path", req: "GET /a/b?c=d HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 200},
		{name: "http/1.0 without host", req: "GET /metrics HTTP/1.0\r\n\r\n", method: "GET", status: 200},
		{name: "http/1.2", req: "GET / HTTP/1.2\r\nHost: x\r\n\r\n", method: "GET", status: 200},
		{name: "lf only", req: "GET /metrics HTTP/1.1\nHost: x\n\n", method: "GET", status: 200},
		{name: "mixed line endings", req: "GET /metrics HTTP/1.1\r\nHost: x\n\r\n", method: "GET", status: 200},
		{name: "leading empty lines", req: "\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 200},
		{name: "split in 1-byte writes", req: "GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8.5.0\r\n\r\n", chunk: 1, method: "GET", status: 200},
		{name: "split in 7-byte writes", req: "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", chunk: 7, method: "HEAD", status: 200},
		{name: "head", req: "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", method: "HEAD", status: 200},
		{name: "field value whitespace", req: "GET / HTTP/1.1\r\nHost:x\r\nX-A: \t b \r\nX-B:\r\n\r\n", method: "GET", status: 200},
		{name: "head of 8 KiB", req: withHeadLen(maxHeadBytes), method: "GET", status: 200},
		{name: "pipelined second request", req: "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 200},

		{name: "post with body", req: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", method: "POST", status: 405},
		{name: "post chunked", req: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", method: "POST", status: 405},
		{name: "put large body", req: "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("b", 20000), method: "PUT", status: 405},
		{name: "lower-case method", req: "get / HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 405},
		{name: "options", req: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", method: "OPTIONS", status: 405},

		{name: "missing version", req: "GET /\r\n\r\n", method: "GET", status: 400},
		{name: "http/0.9", req: "GET /\r\n", closeWrite: true, method: "GET", status: 400},
		{name: "missing target", req: "GET HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "double space", req: "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "trailing space", req: "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "tab separator", req: "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "lower-case version", req: "GET / http/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "two-digit version", req: "GET / HTTP/1.10\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "version without minor", req: "GET / HTTP/2\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "control in target", req: "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "non-ascii target", req: "GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "no host", req: "GET / HTTP/1.1\r\n\r\n", method: "GET", status: 400},
		{name: "two hosts", req: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", method: "GET", status: 400},
		{name: "two hosts http/1.0", req: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", method: "GET", status: 400},
		{name: "space before colon", req: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", method: "GET", status: 400},
		{name: "no colon", req: "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", method: "GET", status: 400},
		{name: "empty field name", req: "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", method: "GET", status: 400},
		{name: "obsolete line folding", req: "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", method: "GET", status: 400},
		{name: "whitespace after request line", req: "GET / HTTP/1.1\r\n Host: x\r\n\r\n", method: "GET", status: 400},
		{name: "bare cr in field", req: "GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n", method: "GET", status: 400},
		{name: "bare cr in request line", req: "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", method: "GET", status: 400},
		{name: "nul in field value", req: "GET / HTTP/1.1\r\nHost: x\x00y\r\n\r\n", method: "GET", status: 400},
		{name: "garbage", req: string(garbage) + "\r\n\r\n", method: "GET", status: 400},
		{name: "garbage then eof", req: strings.ReplaceAll(string(garbage), "\n", ""), closeWrite: true, method: "GET", status: 400},
		{name: "partial head then eof", req: "GET / HTTP/1.1\r\nHost: x\r\n", closeWrite: true, method: "GET", status: 400},
		{name: "only empty lines then eof", req: "\r\n\r\n\n", closeWrite: true, method: "GET", status: 400},

		{name: "http/2.0", req: "GET / HTTP/2.0\r\nHost: x\r\n\r\n", method: "GET", status: 505},
		{name: "http/2 prior knowledge", req: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00", method: "PRI", status: 505},
		{name: "http/0.9 version", req: "GET / HTTP/0.9\r\n\r\n", method: "GET", status: 505},

		{name: "head over 8 KiB", req: withHeadLen(maxHeadBytes + 1), method: "GET", status: 431},
		{name: "huge header", req: "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40000) + "\r\n\r\n", method: "GET", status: 431},
		{name: "huge request line", req: "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", chunk: 1000, method: "GET", status: 431},

		{name: "nothing then eof", req: "", closeWrite: true, status: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := e.exchange(t, []byte(tc.req), tc.chunk, tc.closeWrite)
			if tc.status == 0 {
				if len(raw) != 0 {
					t.Fatalf("answered %q", raw)
				}
				return
			}
			resp, body := response(t, raw, tc.method)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d; body %q", resp.Status, tc.status, body)
			}
			switch tc.status {
			case 200:
				if resp.Header.Get("Content-Type") != ContentType {
					t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
				}
				if tc.method == "GET" {
					checkExposition(t, body)
				}
			case 405:
				if resp.Header.Get("Allow") != "GET, HEAD" {
					t.Errorf("Allow %q", resp.Header.Get("Allow"))
				}
			}
		})
	}
}

// A client that sends nothing, or not a whole head, is dropped when the
// read deadline passes.
func TestServeReadTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	e := start(t, func(s *server) { s.readTimeout = timeout })
	for _, req := range []string{"", "GET / HTTP/1.1\r\nHost: x\r\n"} {
		c := e.dial(t)
		begin := time.Now()
		if req != "" {
			if _, err := c.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := c.Read(make([]byte, 100))
		if n != 0 || err != io.EOF {
			t.Fatalf("%q: read %d, %v; want EOF", req, n, err)
		}
		// The deadline is set after accept, which follows the dial.
		if el := time.Since(begin); el < timeout/2 {
			t.Errorf("%q: dropped after %v, before the %v deadline", req, el, timeout)
		}
	}
	if st := e.srv.snapshot(); st.Dropped != 2 || st.Scrapes != 0 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
}

// At most maxConns connections are served at once: one more is closed at
// once and counted, while the held ones are still served afterwards, and
// new ones once they are done.
func TestServeConcurrencyLimit(t *testing.T) {
	const n = 2
	released := make(chan struct{}, 10)
	e := start(t, func(s *server) {
		s.maxConns = n
		s.readTimeout = time.Minute // the held connections must not time out
		s.released = func() { released <- struct{}{} }
	})
	// The listener accepts in the order the handshakes completed, which
	// is the order of the dials: the first n take the slots.
	held := make([]*tcp.Conn, n)
	for i := range held {
		held[i] = e.dial(t)
	}
	extra := e.dial(t)
	extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	if got, err := io.ReadAll(extra); err != nil || len(got) != 0 {
		t.Fatalf("connection over the limit: read %q, %v; want EOF", got, err)
	}
	for i, c := range held {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("held %d: %v", i, err)
		}
		if resp, _ := response(t, raw, "GET"); resp.StatusCode != 200 {
			t.Fatalf("held %d: %s", i, resp.Status)
		}
		c.Close()
	}
	for range n {
		<-released
	}
	raw := e.exchange(t, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0, false)
	resp, body := response(t, raw, "GET")
	if resp.StatusCode != 200 {
		t.Fatalf("after the held ones: %s", resp.Status)
	}
	m := checkExposition(t, body)
	if m["mirago_metrics_refused"] != 1 || m["mirago_metrics_scrapes"] != n {
		t.Errorf("refused %v, scrapes %v", m["mirago_metrics_refused"], m["mirago_metrics_scrapes"])
	}
}

// When ctx ends, the listener closes at once and a connection still held
// is closed after the grace period; serve returns.
func TestServeShutdown(t *testing.T) {
	e := start(t, func(s *server) {
		s.readTimeout = time.Minute
		s.grace = 100 * time.Millisecond
	})
	held := e.dial(t)
	// Make sure held is accepted (and served) before the shutdown: a
	// complete scrape on another connection follows its accept.
	resp, _ := response(t, e.exchange(t, []byte("GET / HTTP/1.0\r\n\r\n"), 0, false), "GET")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	stopped := make(chan struct{})
	go func() { e.stop(); close(stopped) }()
	held.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := held.Read(make([]byte, 10)); n != 0 || (err != io.EOF && !errors.Is(err, tcp.ErrReset)) {
		t.Fatalf("held connection: read %d, %v; want it closed", n, err)
	}
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not return")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := e.cli.TCP().Dial(ctx, e.addr); err == nil {
		c.Close()
		t.Fatal("listener still open after shutdown")
	}
}

// Neither the package nor anything it imports links net/http or
// log/slog: they would bloat the bare-metal images.
func TestNoHeavyImports(t *testing.T) {
	require.Commands(t, "", "go")
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, bad := range []string{"net/http", "crypto/tls", "log/slog", "encoding/json"} {
			if p == bad || strings.HasPrefix(p, bad+"/") {
				t.Errorf("imports %s", p)
			}
		}
	}
}
