package sntp

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/logging"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/internal/sysrand"
)

// Conn is what the client needs of a UDP socket bound to any local port:
// our UDP layer's *udp.Conn implements it (and so does *net.UDPConn).
// Pair it with Client.ReadLoop.
type Conn interface {
	ReadFromAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// Defaults and bounds (RFC 4330 §10).
const (
	// MinPollFloor is the shortest poll interval ever used: RFC 4330 §10
	// says a client MUST NOT poll more often than every 15 s.
	MinPollFloor     = 15 * time.Second
	DefaultMinPoll   = 64 * time.Second   // 2^6 s, NTP's minpoll
	DefaultMaxPoll   = 1024 * time.Second // 2^10 s, NTP's default maxpoll
	DefaultTimeout   = 5 * time.Second    // longer than ARP's resolution of a cold next hop (3 tries, 1 s apart)
	DefaultMaxDelay  = 2 * time.Second
	DefaultPanic     = 1000 * time.Second // ntpd's panic threshold
	maxDistance      = 1500 * time.Millisecond
	largeOffset      = 128 * time.Millisecond // NTP's step threshold: beyond it, poll again soon
	maxDenied        = 64
	inputQueue       = 16
	maxDatagram      = 1500
	nonceRetries     = 4
	defaultJitterDiv = 8 // polls are spread over ±1/8 of the interval
)

// Config configures a Client. Servers and Conn are required.
type Config struct {
	// Servers returns the servers to ask, in order of preference. It is
	// called from the client's goroutine at the start of every poll, so
	// it sees a changed DHCP lease or a re-resolved name (RFC 4330 §10:
	// re-resolve, respecting the DNS TTL); it may block briefly.
	Servers func() []netip.AddrPort
	// Conn sends the requests; the caller feeds what it receives to
	// Input (ReadLoop does).
	Conn Conn
	// Clock runs the poll and timeout timers; nil means clock.Real.
	Clock clock.Clock
	// Rand supplies nonces and jitter; nil means crypto/rand on hosts and
	// is an error on tamago.
	Rand io.Reader
	// Target is the clock disciplined; nil means NewClock(Clock).
	Target Target
	// MinPoll and MaxPoll bound the poll interval (64 s and 1024 s by
	// default; MinPoll is never below 15 s, MaxPoll never below
	// MinPoll; before the first sync failed polls back off from 15 s).
	// Timeout bounds the wait for each reply (5 s). MaxDelay rejects
	// samples with a longer round trip (2 s).
	MinPoll, MaxPoll, Timeout, MaxDelay time.Duration
	// PanicThreshold: after the first sync, an offset larger than this
	// is refused and logged (1000 s by default), unless StepLarge is set,
	// in which case the clock is stepped again.
	PanicThreshold time.Duration
	StepLarge      bool
	// Log, if set, receives sync events.
	Log logging.Logger
	// OnSync, if set, is called from the client's goroutine after every
	// sample applied.
	OnSync func(Status)
}

// ErrConfig reports a Config without Servers or Conn.
var ErrConfig = errors.New("sntp: Config needs Servers and Conn")

// Client is an SNTPv4 client (RFC 4330) for one or more servers. It runs
// in one goroutine started by Start; Input, Status and Stats never block
// for long and may be called from any goroutine.
type Client struct {
	cfg  Config
	in   chan datagram
	wake chan struct{}
	ctl  chan func() bool
	stop chan struct{}
	done chan struct{}
	// firstSync is closed at the first sync.
	firstSync chan struct{}

	mu       sync.Mutex // guards the fields below
	stats    Stats
	status   Status
	started  bool
	stopping bool
	closer   func() // closes the socket StartUDP opened

	// Owned by the client goroutine.
	timer    clock.Timer
	deadline time.Time
	poll     time.Duration
	list     []netip.AddrPort // this poll's servers
	idx      int              // the server asked in list
	waiting  bool             // a request is outstanding
	nonce    Timestamp        // its transmit timestamp
	t1       time.Time        // when it left, on the Target
	synced   bool
	denied   map[netip.AddrPort]bool      // DENY/RSTR: never asked again
	holdoff  map[netip.AddrPort]time.Time // RATE: not asked before
	buf      [HeaderLen]byte
}

type datagram struct {
	from netip.AddrPort
	b    []byte
	at   time.Time // receive time on the Target (T4)
}

// New returns a stopped client; call Start.
func New(cfg Config) (*Client, error) {
	if cfg.Servers == nil || cfg.Conn == nil {
		return nil, ErrConfig
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Rand == nil {
		if cfg.Rand = sysrand.Reader(); cfg.Rand == nil {
			return nil, xerr.Wrap("sntp: Config.Rand", sysrand.ErrRequired)
		}
	}
	if cfg.Target == nil {
		cfg.Target = NewClock(cfg.Clock)
	}
	if cfg.MinPoll == 0 {
		cfg.MinPoll = DefaultMinPoll
	}
	cfg.MinPoll = max(cfg.MinPoll, MinPollFloor)
	if cfg.MaxPoll == 0 {
		cfg.MaxPoll = DefaultMaxPoll
	}
	cfg.MaxPoll = max(cfg.MaxPoll, cfg.MinPoll)
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.PanicThreshold <= 0 {
		cfg.PanicThreshold = DefaultPanic
	}
	c := &Client{
		cfg:       cfg,
		in:        make(chan datagram, inputQueue),
		wake:      make(chan struct{}, 1),
		ctl:       make(chan func() bool),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		firstSync: make(chan struct{}),
		poll:      MinPollFloor, // until the first sync (see next)
		denied:    make(map[netip.AddrPort]bool),
		holdoff:   make(map[netip.AddrPort]time.Time),
	}
	c.status.Poll = c.poll
	return c, nil
}

// Target returns the clock the client disciplines.
func (c *Client) Target() Target { return c.cfg.Target }

// Start launches the client goroutine, which polls at once. Calling it
// again has no effect.
func (c *Client) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopping {
		return
	}
	c.started = true
	go c.run()
}

// Stop stops the client and waits for its goroutine to exit. The caller
// closes the Conn it gave New (which ends ReadLoop); StartUDP's socket is
// closed here. Calling it again has no effect.
func (c *Client) Stop() {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return
	}
	c.stopping = true
	started, closer := c.started, c.closer
	c.mu.Unlock()
	close(c.stop)
	if started {
		<-c.done
	}
	if closer != nil {
		closer()
	}
}

// Input hands the client a UDP payload received from from. It stamps
// the receive time at once, copies b and never blocks; datagrams beyond
// a small queue are dropped and counted (Stats.Overflow).
func (c *Client) Input(b []byte, from netip.AddrPort) {
	d := datagram{from: from, b: append([]byte(nil), b[:min(len(b), maxDatagram)]...), at: c.cfg.Target.Now()}
	select {
	case c.in <- d:
	default:
		c.count(func(s *Stats) { s.Received++; s.Overflow++ })
	}
}

// ReadLoop feeds every datagram read from conn to Input until reading
// fails (conn closed), and returns that error. Run it in its own
// goroutine.
func (c *Client) ReadLoop(conn Conn) error {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := conn.ReadFromAddrPort(buf)
		if err != nil {
			return err
		}
		c.Input(buf[:n], from)
	}
}

// ErrStopped is returned by WaitSynced after Stop.
var ErrStopped = errors.New("sntp: client stopped")

// WaitSynced blocks until the first sync and returns the status then
// in force; it returns ctx's error if ctx ends first, and ErrStopped
// after Stop.
func (c *Client) WaitSynced(ctx context.Context) (Status, error) {
	select {
	case <-c.firstSync:
		return c.Status(), nil
	case <-c.stop:
		return Status{}, ErrStopped
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
}

// Status returns the client's view of time.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Client) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Client) reject(r Reason) { c.count(func(s *Stats) { s.Rejected[r]++ }) }

// run is the client goroutine.
func (c *Client) run() {
	defer close(c.done)
	defer c.disarm()
	c.startPoll()
	for {
		select {
		case d := <-c.in:
			c.input(d)
		case <-c.wake:
			c.onTimer()
		case f := <-c.ctl:
			if !f() {
				return
			}
		case <-c.stop:
			return
		}
	}
}

// sync waits until the client goroutine has processed everything queued
// so far (tests).
func (c *Client) sync() {
	done := make(chan struct{})
	c.ctl <- func() bool {
		defer close(done)
		for {
			select {
			case d := <-c.in:
				c.input(d)
			case <-c.wake:
				c.onTimer()
			default:
				return true
			}
		}
	}
	<-done
}

// arm schedules the next timer event d from now.
func (c *Client) arm(d time.Duration) {
	c.deadline = c.cfg.Clock.Now().Add(d)
	if c.timer == nil {
		c.timer = c.cfg.Clock.AfterFunc(d, c.fire)
		return
	}
	c.timer.Reset(d)
}

func (c *Client) disarm() {
	c.deadline = time.Time{}
	if c.timer != nil {
		c.timer.Stop()
	}
}

// fire runs in the clock's goroutine; it only wakes the client goroutine.
func (c *Client) fire() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// onTimer ends a request without a reply, or begins the next poll. A
// wake-up before the deadline (a timer that was reset, or the clock
// stepped under a pending timer) re-arms for what is left.
func (c *Client) onTimer() {
	if c.deadline.IsZero() {
		return
	}
	if left := c.deadline.Sub(c.cfg.Clock.Now()); left > 0 {
		c.timer.Reset(left)
		return
	}
	c.deadline = time.Time{}
	if c.waiting {
		c.count(func(s *Stats) { s.Timeouts++ })
		c.logf(logging.LevelDebug, "ntp: no reply", "server", c.list[c.idx].String(), "timeout", c.cfg.Timeout)
		c.next()
		return
	}
	c.startPoll()
}

// startPoll asks this poll's servers in turn until one gives a usable
// sample. Servers that sent DENY or RSTR are never asked again; one that
// sent RATE is skipped until its hold-off ends (RFC 5905 §7.4).
func (c *Client) startPoll() {
	c.count(func(s *Stats) { s.Polls++ })
	now := c.cfg.Clock.Now()
	all := c.cfg.Servers()
	c.list = c.list[:0]
	for _, s := range all {
		if !s.IsValid() || s.Port() == 0 || !s.Addr().Unmap().IsGlobalUnicast() {
			continue // unspecified, broadcast, multicast, link-local
		}
		if c.denied[s] || now.Before(c.holdoff[s]) || contains(c.list, s) {
			continue
		}
		c.list = append(c.list, s)
	}
	for s := range c.holdoff {
		if !contains(all, s) || !now.Before(c.holdoff[s]) {
			delete(c.holdoff, s)
		}
	}
	if len(c.list) == 0 {
		c.logf(logging.LevelDebug, "ntp: no server to ask", "configured", len(all))
		c.schedulePoll()
		return
	}
	c.idx = -1
	c.next()
}

func contains(l []netip.AddrPort, s netip.AddrPort) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// next asks the next server of the poll, or ends a poll that got no
// sample: the interval then backs off (RFC 4330 §10: exponential
// backoff, especially when servers do not answer). Until the first sync
// it backs off from the 15 s floor rather than from MinPoll, so that a
// board that boots before its server answers gets the time soon.
func (c *Client) next() {
	c.waiting, c.nonce = false, 0
	for c.idx+1 < len(c.list) {
		c.idx++
		if c.send(c.list[c.idx]) {
			return
		}
	}
	c.count(func(s *Stats) { s.Failed++ })
	c.setPoll(min(2*c.poll, c.cfg.MaxPoll))
	c.schedulePoll()
}

// send sends a request to server and arms its timeout. The request is
// all zero but for LI 0, VN 4, mode 3 and the transmit timestamp, which
// is a random nonce rather than our clock's reading (RFC 5905 §8 and the
// NTP data minimisation draft): the server echoes it as the origin
// timestamp, which proves the reply answers this request, and our clock
// is not revealed.
func (c *Client) send(server netip.AddrPort) bool {
	f := Fields{Version: Version, Mode: ModeClient, Transmit: c.newNonce()}
	f.Encode(c.buf[:])
	c.t1 = c.cfg.Target.Now()
	if _, err := c.cfg.Conn.WriteToAddrPort(c.buf[:], server); err != nil {
		c.count(func(s *Stats) { s.SendErrors++ })
		c.logf(logging.LevelDebug, "ntp: send failed", "server", server.String(), "err", err)
		return false
	}
	c.count(func(s *Stats) { s.Requests++ })
	c.nonce, c.waiting = f.Transmit, true
	c.arm(c.cfg.Timeout)
	return true
}

// newNonce draws a non-zero random timestamp.
func (c *Client) newNonce() Timestamp {
	var b [8]byte
	for range nonceRetries {
		if _, err := io.ReadFull(c.cfg.Rand, b[:]); err == nil {
			if n := Timestamp(binary.BigEndian.Uint64(b[:])); n != 0 {
				return n
			}
		}
	}
	// A failing entropy source: still never zero, so a reply with a
	// zero origin (a server that did not echo) cannot match.
	return Timestamp(c.cfg.Clock.Now().UnixNano()) | 1
}

// schedulePoll arms the next poll: the interval spread by ±1/8 at
// random so that many clients started together do not poll together,
// and never less than 15 s.
func (c *Client) schedulePoll() {
	c.waiting, c.nonce = false, 0
	d := c.poll
	var b [2]byte
	if _, err := io.ReadFull(c.cfg.Rand, b[:]); err == nil {
		span := d / defaultJitterDiv
		d += time.Duration(int64(binary.BigEndian.Uint16(b[:]))*int64(2*span)/65536) - span
	}
	c.arm(max(d, MinPollFloor))
}

func (c *Client) setPoll(d time.Duration) {
	c.poll = d
	c.mu.Lock()
	c.status.Poll = d
	c.mu.Unlock()
}

// input checks a received datagram (RFC 4330 §5; RFC 5905 §8, A.5.1.1)
// and applies a good sample. Datagrams that do not answer the request
// outstanding (another source, another origin timestamp) are dropped and
// the wait goes on; any other fault ends the exchange with that server.
func (c *Client) input(d datagram) {
	c.count(func(s *Stats) { s.Received++ })
	if !c.waiting || d.from != c.list[c.idx] {
		c.reject(RejectSource)
		return
	}
	p, err := ParsePacket(d.b)
	if err != nil {
		if errors.Is(err, ErrShort) {
			c.reject(RejectShort)
		} else {
			c.reject(RejectVersion)
		}
		return
	}
	if p.Origin() != c.nonce {
		c.reject(RejectOrigin)
		return
	}
	server := d.from
	c.disarm()
	c.waiting, c.nonce = false, 0
	if r, ok := c.check(p); !ok {
		c.reject(r)
		c.logf(logging.LevelDebug, "ntp: reply rejected", "server", server.String(), "reason", r.String())
		c.next()
		return
	}
	t2, t3 := p.Receive().Time(), p.Transmit().Time()
	delay := d.at.Sub(c.t1) - t3.Sub(t2)
	if delay < 0 || delay > c.cfg.MaxDelay || (p.RootDelay().Duration()+delay)/2+p.RootDispersion().Duration() > maxDistance {
		r := RejectDelay
		if delay >= 0 && delay <= c.cfg.MaxDelay {
			r = RejectDistance
		}
		c.reject(r)
		c.logf(logging.LevelDebug, "ntp: reply rejected", "server", server.String(), "reason", r.String(), "delay", delay)
		c.next()
		return
	}
	// RFC 4330 §5: offset = ((T2 - T1) + (T3 - T4)) / 2, halved first
	// so that two offsets of a century cannot overflow.
	offset := t2.Sub(c.t1)/2 + t3.Sub(d.at)/2
	if !c.apply(offset, delay, server) {
		c.next()
		return
	}
	st := Status{
		Synced: true, Server: server, Stratum: p.Stratum(), RefID: p.RefID(),
		Offset: offset, Delay: delay, LastSync: c.cfg.Target.Now(),
	}
	// Poll less often while the clock keeps up, again soon when it does
	// not (RFC 4330 §10: back off "as performance permits").
	first := !c.status.Synced // written only by this goroutine
	if first || offset.Abs() > largeOffset {
		c.setPoll(c.cfg.MinPoll)
	} else {
		c.setPoll(min(max(2*c.poll, c.cfg.MinPoll), c.cfg.MaxPoll))
	}
	st.Poll = c.poll
	c.mu.Lock()
	c.stats.Replies++
	c.status = st
	c.mu.Unlock()
	if first {
		close(c.firstSync)
	}
	if c.cfg.OnSync != nil {
		c.cfg.OnSync(st)
	}
	c.schedulePoll()
}

// check applies the reply tests that end an exchange: mode, kiss-o'-death,
// synchronisation, timestamps.
func (c *Client) check(p Packet) (Reason, bool) {
	server := c.list[c.idx]
	switch {
	case p.Mode() != ModeServer:
		return RejectMode, false
	case p.Stratum() == 0:
		c.kiss(server, p.RefID())
		return RejectKiss, false
	case p.Leap() == LeapAlarm || p.Stratum() >= 16:
		return RejectUnsynced, false
	case p.Receive() == 0 || p.Transmit() == 0:
		return RejectTime, false
	}
	return 0, true
}

// kiss acts on a kiss-o'-death (RFC 4330 §8, RFC 5905 §7.4): RATE backs
// the poll interval off and holds this server off for one interval;
// DENY and RSTR stop all requests to it; other codes only drop the reply.
func (c *Client) kiss(server netip.AddrPort, code [4]byte) {
	switch code {
	case KissRate:
		c.count(func(s *Stats) { s.KissRate++ })
		c.setPoll(min(2*c.poll, c.cfg.MaxPoll))
		c.holdoff[server] = c.cfg.Clock.Now().Add(c.poll)
		c.logf(logging.LevelWarn, "ntp: server asks us to slow down (kiss-o'-death RATE)", "server", server.String(), "poll", c.poll)
	case KissDeny, KissRstr:
		c.count(func(s *Stats) {
			if code == KissDeny {
				s.KissDeny++
			} else {
				s.KissRstr++
			}
		})
		if len(c.denied) < maxDenied {
			c.denied[server] = true
		}
		c.logf(logging.LevelWarn, "ntp: server refuses us (kiss-o'-death); not asking it again", "server", server.String(), "code", string(code[:]))
	default:
		c.count(func(s *Stats) { s.KissOther++ })
		c.logf(logging.LevelDebug, "ntp: kiss-o'-death", "server", server.String(), "code", printable(code))
	}
}

func printable(b [4]byte) string {
	for i, x := range b {
		if x < 0x20 || x > 0x7e {
			b[i] = '?'
		}
	}
	return string(b[:])
}

// apply corrects the Target by offset: a step at the first sync, a slew
// afterwards; an offset beyond the panic threshold is refused, or
// stepped with StepLarge. It reports whether the sample was used.
func (c *Client) apply(offset, delay time.Duration, server netip.AddrPort) bool {
	t := c.cfg.Target
	switch {
	case !c.synced || offset.Abs() > c.cfg.PanicThreshold && c.cfg.StepLarge:
		if err := t.Step(offset); err != nil {
			c.logf(logging.LevelWarn, "ntp: cannot step the clock", "server", server.String(), "offset", offset, "err", err)
			return false
		}
		c.synced = true
		c.count(func(s *Stats) { s.Steps++ })
		c.logf(logging.LevelInfo, "ntp: clock stepped", "server", server.String(), "offset", offset,
			"delay", delay, "time", t.Now().UTC().Format(time.RFC3339Nano))
	case offset.Abs() > c.cfg.PanicThreshold:
		c.reject(RejectPanic)
		c.logf(logging.LevelWarn, "ntp: offset beyond the panic threshold; refused", "server", server.String(),
			"offset", offset, "threshold", c.cfg.PanicThreshold)
		return false
	default:
		if err := t.Slew(offset); err != nil {
			c.logf(logging.LevelWarn, "ntp: cannot slew the clock", "server", server.String(), "offset", offset, "err", err)
			return false
		}
		c.count(func(s *Stats) { s.Slews++ })
		c.logf(logging.LevelDebug, "ntp: clock slewed", "server", server.String(), "offset", offset, "delay", delay)
	}
	return true
}

func (c *Client) logf(level logging.Level, msg string, args ...any) {
	log := c.cfg.Log
	switch {
	case log == nil:
	case level >= logging.LevelWarn:
		log.Warn(msg, args...)
	case level >= logging.LevelInfo:
		log.Info(msg, args...)
	default:
		log.Debug(msg, args...)
	}
}
