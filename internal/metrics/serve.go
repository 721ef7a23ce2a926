package metrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack"
	"github.com/mirago/mirago/stack/tcp"
)

// The scrape endpoint is a minimal HTTP/1.1 responder (RFC 9112) on our
// own stack rather than net/http, which would link crypto/tls, x509,
// HTTP/2, gzip and mime into every bare-metal image (about 1.5 MB).
//
// It answers exactly one request per connection and closes it
// (Connection: close):
//
//   - GET or HEAD, any request-target: 200 with the exposition (HEAD: the
//     same head, no body).
//   - another method: 405 with Allow: GET, HEAD. A request body is never
//     read.
//   - a malformed request line or header field, a bare CR, an HTTP/1.1
//     request without exactly one Host, a head cut short by the peer's
//     FIN: 400.
//   - a well-formed request line of another HTTP major version
//     ("HTTP/2.0", including the HTTP/2 prior-knowledge preface "PRI *
//     HTTP/2.0", or "HTTP/0.9"): 505.
//   - a head (request line, header fields, blank line) over maxHeadBytes:
//     431.
//   - no complete head within the read timeout, or nothing at all before
//     EOF: the connection is closed without an answer.
//
// CRLF and bare LF both end lines; empty lines before the request line
// are skipped (RFC 9112 §2.2). No Date field is sent: a board has no
// trustworthy wall clock (RFC 9110 §6.6.1).
//
// At most maxConns connections are served at once; the listener closes
// further connections as soon as it accepts them, and counts them.

// Limits of the scrape endpoint.
const (
	maxHeadBytes    = 8 << 10          // request line, header fields and blank line
	maxLingerBytes  = 64 << 10         // discarded after the response, before closing
	defaultMaxConns = 4                // connections served at once
	readTimeout     = 10 * time.Second // to receive the whole head
	writeTimeout    = 10 * time.Second // to queue the response
	lingerTimeout   = time.Second      // for the client to close after the response
	shutdownGrace   = time.Second      // for scrapes in progress after ctx ends
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// ServeListener serves the stack's counters followed by the families app
// returns (app may be nil) over HTTP on ln, a listener of our own stack,
// at any path, until ctx ends; then it closes ln, waits up to a second
// for scrapes in progress and closes those left. Per-connection errors are
// logged at Debug level.
func ServeListener(ctx context.Context, s *stack.Stack, ln *tcp.Listener, app func() []Family, log logging.Logger) {
	newServer(s, app, log).serve(ctx, ln)
}

// server is the scrape endpoint; its limits are fields so that tests can
// shorten them.
type server struct {
	st  *stack.Stack
	app func() []Family
	log logging.Logger

	maxConns     int
	readTimeout  time.Duration
	writeTimeout time.Duration
	linger       time.Duration
	grace        time.Duration
	released     func() // test hook: called after a connection gave its slot back

	stats struct {
		scrapes, rejected, dropped, refused atomic.Uint64
	}
}

// serverStats are the endpoint's own counters, exported as
// mirago_metrics_<field>.
type serverStats struct {
	Scrapes  uint64 // answered 200
	Rejected uint64 // answered with an error status (400, 405, 431, 505)
	Dropped  uint64 // closed unanswered: no complete head in time, or write failed
	Refused  uint64 // closed at once: maxConns connections being served
}

func newServer(s *stack.Stack, app func() []Family, log logging.Logger) *server {
	return &server{
		st: s, app: app, log: logging.OrDiscard(log),
		maxConns:     defaultMaxConns,
		readTimeout:  readTimeout,
		writeTimeout: writeTimeout,
		linger:       lingerTimeout,
		grace:        shutdownGrace,
	}
}

func (srv *server) serve(ctx context.Context, ln *tcp.Listener) {
	log := srv.log
	// hard is cancelled when the grace period after ctx ends: it closes
	// the connections still being served.
	hard, closeAll := context.WithCancel(context.Background())
	defer closeAll()
	slots := make(chan struct{}, srv.maxConns)
	var wg sync.WaitGroup
	log.Info("metrics serving", "port", ln.Port())
	for {
		c, err := ln.AcceptContext(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("metrics server stopped", "err", err)
			}
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			srv.stats.refused.Add(1)
			log.Debug("metrics: too many scrapes, connection closed", "remote", c.RemoteAddr())
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() {
				<-slots
				if srv.released != nil {
					srv.released()
				}
			}()
			stop := context.AfterFunc(hard, func() { c.Close() })
			defer stop()
			srv.handle(c)
		})
	}
	ln.Close() // ErrClosed if it was closed under us: nothing to do
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(srv.grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		closeAll()
		<-done
	}
}

// handle answers the one request of c and closes it.
func (srv *server) handle(c *tcp.Conn) {
	defer c.Close()
	buf := make([]byte, maxHeadBytes)
	c.SetReadDeadline(time.Now().Add(srv.readTimeout))
	n, end, err := readHead(c, buf)
	var resp []byte
	switch {
	case end > 0:
		var status int
		resp, status = srv.respond(buf[:end])
		if status == 200 {
			srv.stats.scrapes.Add(1)
		} else {
			srv.stats.rejected.Add(1)
			srv.log.Debug("metrics: bad request", "remote", c.RemoteAddr(), "status", status)
		}
	case n == len(buf):
		srv.stats.rejected.Add(1)
		srv.log.Debug("metrics: request head too large", "remote", c.RemoteAddr())
		resp = errorResponse(431, false)
	case n > 0 && errors.Is(err, io.EOF):
		srv.stats.rejected.Add(1)
		srv.log.Debug("metrics: request head cut short", "remote", c.RemoteAddr(), "bytes", n)
		resp = errorResponse(400, false)
	default:
		// Nothing sent, the read deadline passed, or the peer reset.
		srv.stats.dropped.Add(1)
		srv.log.Debug("metrics: no request", "remote", c.RemoteAddr(), "bytes", n, "err", err)
		return
	}
	c.SetWriteDeadline(time.Now().Add(srv.writeTimeout))
	if _, err := c.Write(resp); err != nil {
		srv.stats.dropped.Add(1)
		srv.log.Debug("metrics: write", "remote", c.RemoteAddr(), "err", err)
		return
	}
	// Closing with unread data (a body, a pipelined request, the rest of
	// an oversized head) would send a RST that can destroy the response
	// in flight (RFC 9112 §9.6): send our FIN, then discard what the
	// client still sends until it closes too, within limits.
	if c.CloseWrite() != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(srv.linger))
	for total := 0; total < maxLingerBytes; {
		m, err := c.Read(buf)
		total += m
		if err != nil {
			return
		}
	}
}

// respond returns the response to a complete request head and its status.
func (srv *server) respond(head []byte) ([]byte, int) {
	req, status := parseRequestHead(head)
	isHead := req.method == "HEAD"
	if status != 200 {
		return errorResponse(status, isHead), status
	}
	var body bytes.Buffer
	Write(&body, srv.families()) // a bytes.Buffer does not fail
	out := make([]byte, 0, 160+body.Len())
	out = append(out, "HTTP/1.1 200 OK\r\nContent-Type: "...)
	out = append(out, ContentType...)
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(body.Len()), 10)
	out = append(out, "\r\nConnection: close\r\n\r\n"...)
	if !isHead {
		out = append(out, body.Bytes()...)
	}
	return out, 200
}

// families is the exposition: the stack's counters, the app's families
// and the endpoint's own counters.
func (srv *server) families() []Family {
	fams := Stack(srv.st.Stats())
	if srv.app != nil {
		fams = append(fams, srv.app()...)
	}
	return append(fams, Struct(Prefix+"_metrics", srv.snapshot(), map[string]bool{})...)
}

func (srv *server) snapshot() serverStats {
	return serverStats{
		Scrapes:  srv.stats.scrapes.Load(),
		Rejected: srv.stats.rejected.Load(),
		Dropped:  srv.stats.dropped.Load(),
		Refused:  srv.stats.refused.Load(),
	}
}
