// Package proxybench measures TCP proxies the way their users do: an HTTP
// load generator (this file) drives an nginx upstream in the kernel
// directly, through HAProxy (mode tcp) and through mirago's proxy
// (app/proxy on its own stack over a TAP), in one run on one machine, and
// reports connections/s, requests/s, p99 latency and MB/s for each, with
// HAProxy as the anchor (bench/cmd/proxybench, which `make bench` runs).
package proxybench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Load is one closed-loop load: Conc workers, each sending GET Path and
// reading the whole response, again and again, for Duration; on a new
// connection for every request unless KeepAlive.
type Load struct {
	Addr      string
	Path      string
	Conc      int
	Duration  time.Duration
	KeepAlive bool
	// Sources are local addresses the workers dial from, in turn (none:
	// the kernel's choice). Several spread the connections over more
	// 4-tuples, so that new connections do not run into their
	// predecessors' TIME_WAIT at the server.
	Sources []string
}

// Result is what a Load measured.
type Result struct {
	Requests int64         // completed requests
	Bytes    int64         // response body bytes
	Errors   int64         // failed requests (each ends its connection)
	FirstErr error         // the first of them
	Elapsed  time.Duration // measured window
	P50, P99 time.Duration // request latency, dial included for a new connection
}

// PerSec returns n per second of the window.
func (r Result) PerSec(n int64) float64 { return float64(n) / r.Elapsed.Seconds() }

// Run runs l. The load is bounded: Conc requests at most in flight.
func (l Load) Run(ctx context.Context) Result {
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	type worker struct {
		lat             []time.Duration
		n, bytes, fails int64
		err             error
	}
	ws := make([]worker, l.Conc)
	req := []byte("GET " + l.Path + " HTTP/1.1\r\nHost: bench\r\n\r\n")
	if !l.KeepAlive {
		req = []byte("GET " + l.Path + " HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		wg.Go(func() {
			var c net.Conn
			var br *bufio.Reader
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			d := net.Dialer{Timeout: 5 * time.Second}
			if len(l.Sources) > 0 {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(l.Sources[i%len(l.Sources)])}
			}
			for ctx.Err() == nil {
				t0 := time.Now()
				if c == nil {
					var err error
					if c, err = d.DialContext(ctx, "tcp4", l.Addr); err != nil {
						if ctx.Err() == nil {
							w.fails++
							w.err = cmp.Or(w.err, err)
						}
						c = nil
						continue
					}
					br = bufio.NewReaderSize(c, 64<<10)
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				n, err := exchange(c, br, req)
				if err != nil && ctx.Err() == nil && w.err == nil {
					err = fmt.Errorf("exchange after %v: %w", time.Since(t0), err)
				}
				if err != nil {
					if ctx.Err() == nil {
						w.fails++
						w.err = cmp.Or(w.err, err)
					}
					c.Close()
					c = nil
					continue
				}
				w.lat = append(w.lat, time.Since(t0))
				w.n++
				w.bytes += n
				if !l.KeepAlive {
					// The whole response is in: the client closes
					// first, as HTTP clients do, so TIME_WAIT stays
					// on its side, where connect() avoids it.
					c.Close()
					c = nil
				}
			}
		})
	}
	wg.Wait()
	r := Result{Elapsed: time.Since(start)}
	var lat []time.Duration
	for _, w := range ws {
		r.Requests += w.n
		r.Bytes += w.bytes
		r.Errors += w.fails
		r.FirstErr = cmp.Or(r.FirstErr, w.err)
		lat = append(lat, w.lat...)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[len(lat)*99/100]
	}
	return r
}

// exchange writes one request and reads its response to the end of the
// body (Content-Length), returning the body's size.
func exchange(c net.Conn, br *bufio.Reader, req []byte) (int64, error) {
	if _, err := c.Write(req); err != nil {
		return 0, err
	}
	status, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return 0, fmt.Errorf("status %q", bytes.TrimSpace(status))
	}
	length := int64(-1)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			length, err = strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, errors.New("no Content-Length")
	}
	n, err := io.CopyN(io.Discard, br, length)
	return n, err
}
