package happyeyeballs

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/mirago/mirago/stack/clock"
)

// Resolver looks up a name's addresses of one family (netcfg.Resolver
// and dns.Resolver have these methods).
type Resolver interface {
	LookupAAAA(ctx context.Context, name string) ([]netip.Addr, error)
	LookupA(ctx context.Context, name string) ([]netip.Addr, error)
}

// Config configures Dial. The zero values of the delays are RFC 8305's.
type Config struct {
	// Resolver looks names up; nil makes Dial take IP literals only.
	Resolver Resolver
	// ResolutionDelay is how long a positive A answer that came first
	// waits for the AAAA one (default 50 ms).
	ResolutionDelay time.Duration
	// AttemptDelay is the Connection Attempt Delay (default 250 ms, at
	// least 10 ms).
	AttemptDelay time.Duration
	// Families, if set, reports which families the host can reach (an
	// address of that family beyond link-local): only those are asked
	// for. nil asks for both.
	Families func() (v4, v6 bool)
	// Clock times the delays; nil means the real clock.
	Clock clock.Clock
}

// ErrNoResolver is returned for a name when Config.Resolver is nil.
var ErrNoResolver = errors.New("happyeyeballs: no resolver for names")

// ErrNoAddress is returned when the name has no address of a family the
// host can reach.
var ErrNoAddress = errors.New("happyeyeballs: no address to connect to")

// Error is a failed Dial: the host, and the error of the first attempt
// that failed or, when no attempt was made, of the resolution.
type Error struct {
	Host     string
	Attempts int // connection attempts made
	Err      error
}

// Error implements error.
func (e *Error) Error() string {
	return "connect " + e.Host + " (" + strconv.Itoa(e.Attempts) + " attempts): " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// event is something that happened to a Dial: an answer or an attempt's
// end.
type event[C io.Closer] struct {
	answer bool
	fam    family
	addrs  []netip.Addr
	n      int // the attempt's number
	addr   netip.AddrPort
	conn   C
	err    error
}

// Dial connects to host (a name, or an IP literal dialled at once) at
// port with dial, racing the families as RFC 8305 says, and returns the
// first connection made and its address. The attempts that lose are
// cancelled (their contexts), and any that connects anyway is closed.
// ctx bounds the whole: resolution and every attempt.
func Dial[C io.Closer](ctx context.Context, cfg *Config, host string, port uint16, dial func(context.Context, netip.AddrPort) (C, error)) (C, netip.AddrPort, error) {
	var zero C
	if ip, err := netip.ParseAddr(host); err == nil && ip.Zone() == "" {
		ap := netip.AddrPortFrom(ip.Unmap(), port)
		c, err := dial(ctx, ap)
		if err != nil {
			return zero, ap, &Error{Host: host, Attempts: 1, Err: err}
		}
		return c, ap, nil
	}
	if cfg.Resolver == nil {
		return zero, netip.AddrPort{}, &Error{Host: host, Err: ErrNoResolver}
	}
	askV4, askV6 := true, true
	if cfg.Families != nil {
		if askV4, askV6 = cfg.Families(); !askV4 && !askV6 {
			askV4, askV6 = true, true // nothing known to be reachable: try both
		}
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	m := newMachine(cfg.ResolutionDelay, cfg.AttemptDelay, askV6, askV4)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the queries and the attempts still running
	events := make(chan event[C], 4)
	outstanding := 0 // goroutines that will send one event each
	// §3: the AAAA query first, then the A query, without waiting.
	if askV6 {
		outstanding++
		go func() {
			a, err := cfg.Resolver.LookupAAAA(ctx, host)
			events <- event[C]{answer: true, fam: v6, addrs: a, err: err}
		}()
	}
	if askV4 {
		outstanding++
		go func() {
			a, err := cfg.Resolver.LookupA(ctx, host)
			events <- event[C]{answer: true, fam: v4, addrs: a, err: err}
		}()
	}
	tick := make(chan struct{}, 1)
	var resolveErr, connectErr error
	for {
		now := clk.Now()
		for {
			a, n, ok := m.next(now)
			if !ok {
				break
			}
			outstanding++
			ap := netip.AddrPortFrom(a, port)
			go func() {
				c, err := dial(ctx, ap)
				events <- event[C]{n: n, addr: ap, conn: c, err: err}
			}()
		}
		if m.exhausted() {
			err := connectErr
			if err == nil {
				err = resolveErr
			}
			if err == nil {
				err = ErrNoAddress
			}
			return zero, netip.AddrPort{}, &Error{Host: host, Attempts: m.tried, Err: err}
		}
		var t clock.Timer
		if d := m.deadline(); !d.IsZero() {
			t = clk.AfterFunc(d.Sub(now), func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			})
		}
		var ev event[C]
		got := false
		select {
		case ev = <-events:
			got = true
		case <-tick:
		case <-ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
		if !got && ctx.Err() != nil {
			drain(events, outstanding)
			return zero, netip.AddrPort{}, &Error{Host: host, Attempts: m.tried, Err: ctx.Err()}
		}
		if !got {
			continue
		}
		outstanding--
		now = clk.Now()
		switch {
		case ev.answer:
			if ev.err != nil && (resolveErr == nil || ev.fam == v4) {
				resolveErr = ev.err
			}
			m.answer(ev.fam, ev.addrs, now)
		case ev.err != nil:
			m.failed(ev.n)
			if connectErr == nil {
				connectErr = ev.err
			}
		default:
			m.succeeded()
			cancel()
			drain(events, outstanding)
			return ev.conn, ev.addr, nil
		}
	}
}

// drain collects the n events still to come in the background, closing
// any connection a losing attempt made after all.
func drain[C io.Closer](events chan event[C], n int) {
	if n == 0 {
		return
	}
	go func() {
		for range n {
			if ev := <-events; !ev.answer && ev.err == nil {
				ev.conn.Close()
			}
		}
	}()
}

// SplitHostPort splits "host:port" for Dial: a numeric port, and a host
// that is a name or an IP literal (IPv6 in brackets).
func SplitHostPort(hostport string) (string, uint16, error) {
	host, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || host == "" {
		return "", 0, &net.AddrError{Err: "want HOST:PORT with a numeric port", Addr: hostport}
	}
	return host, uint16(p), nil
}
