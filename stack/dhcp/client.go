package dhcp

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/internal/sysrand"
)

// Transport sends the client's datagrams. The lead wires it to a UDP socket
// bound to 0.0.0.0:68 with broadcast allowed.
type Transport interface {
	// Send transmits payload as one UDP datagram from port 68 to dst port
	// 67. dst is inet.IPv4Broadcast (DISCOVER, REQUEST while selecting or
	// rebinding, DECLINE) or the server's address (REQUEST while renewing,
	// RELEASE). The source address is 0.0.0.0 while no address is
	// configured and the leased address afterwards. Send is called from
	// the client's goroutine, never with any caller's lock held; it may
	// block briefly (e.g. to take the stack lock).
	Send(dst inet.Addr4, payload []byte) error
}

// Config configures a Client. MAC and Transport are required.
type Config struct {
	// MAC is the interface's hardware address (chaddr).
	MAC inet.MAC
	// Transport sends datagrams.
	Transport Transport
	// Clock drives retransmissions and lease timers; nil means clock.Real.
	Clock clock.Clock
	// Rand supplies transaction IDs and backoff jitter; nil means
	// crypto/rand on hosts and is an error on tamago.
	Rand io.Reader
	// Hostname, if set, is sent as option 12.
	Hostname string
	// ClientID is option 61; nil means hardware type 1 followed by MAC
	// (RFC 2132 §9.14).
	ClientID []byte
	// OnBound is called (from the client goroutine) on every ACK: first
	// binding, renewal and rebinding. Apply the lease to the stack (address,
	// gateway, DNS, gratuitous ARP) here.
	OnBound func(Lease)
	// OnExpire is called when the address must no longer be used: the
	// lease expired, a NAK arrived while renewing or rebinding, or Decline
	// was processed. It is not called by Stop.
	OnExpire func()
}

// State is the client state (RFC 2131 Figure 5).
type State int

// Client states.
const (
	StateInit State = iota
	StateSelecting
	StateRequesting
	StateBound
	StateRenewing
	StateRebinding
	StateDeclined // waiting 10 s after a DECLINE (§3.1.5)
	StateStopped
)

var stateNames = [...]string{"INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING", "DECLINED", "STOPPED"}

// String returns the RFC 2131 name of the state.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(?)"
}

// Timing constants (RFC 2131).
const (
	declineWait     = 10 * time.Second // §3.1.5
	minRenewWait    = 60 * time.Second // §4.4.5
	maxRequestTries = 4                // REQUEST transmissions before INIT (§3.1.5, §4.4.1)
	inputQueue      = 16
)

// ErrConfig reports a Config without MAC or Transport.
var ErrConfig = errors.New("dhcp: Config needs MAC and Transport")

// Client is a DHCP client for one interface. Its state machine runs in one
// goroutine started by Start; Input, Decline, State and Lease never block
// and may be called from any goroutine, including with the stack lock
// held. Stop blocks until the client has released its lease and exited.
type Client struct {
	cfg  Config
	in   chan []byte      // received datagrams
	wake chan struct{}    // the clock timer fired
	kick chan struct{}    // Decline or Stop requested
	ctl  chan func() bool // run in the client goroutine (tests); false stops it
	done chan struct{}    // closed when the goroutine exits
	mu   sync.Mutex       // guards the fields below
	snap struct {
		state   State
		lease   Lease
		bound   bool
		decline *string
		stop    bool
		started bool
	}

	// Owned by the client goroutine.
	state    State
	xid      uint32
	timer    clock.Timer
	deadline time.Time
	tries    int        // transmissions in the current exchange
	begun    time.Time  // start of the current exchange (secs, lease start)
	offered  inet.Addr4 // SELECTING → REQUESTING
	server   inet.Addr4
	lease    Lease
	bound    bool       // lease is valid (BOUND, RENEWING, REBINDING)
	prev     inet.Addr4 // last leased address, requested again in DISCOVER
}

// New returns a stopped client; call Start.
func New(cfg Config) (*Client, error) {
	if cfg.MAC.IsZero() || cfg.Transport == nil {
		return nil, ErrConfig
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Rand == nil {
		if cfg.Rand = sysrand.Reader(); cfg.Rand == nil {
			return nil, fmt.Errorf("dhcp: Config.Rand: %w", sysrand.ErrRequired)
		}
	}
	if cfg.ClientID == nil {
		cfg.ClientID = append([]byte{HTypeEthernet}, cfg.MAC[:]...)
	}
	return &Client{
		cfg:  cfg,
		in:   make(chan []byte, inputQueue),
		wake: make(chan struct{}, 1),
		kick: make(chan struct{}, 1),
		ctl:  make(chan func() bool),
		done: make(chan struct{}),
	}, nil
}

// Start launches the client goroutine, which sends the first DISCOVER at
// once. Calling it again has no effect.
func (c *Client) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snap.started || c.snap.stop {
		return
	}
	c.snap.started = true
	go c.run()
}

// Input hands the client a UDP payload received on port 68. It copies b
// and never blocks; datagrams beyond a small queue are dropped.
func (c *Client) Input(b []byte) {
	select {
	case c.in <- append([]byte(nil), b...):
	default:
	}
}

// Decline reports that the leased address is already in use (the ARP
// layer's conflict hook): the client sends DHCPDECLINE, calls OnExpire and
// restarts discovery after 10 seconds (RFC 2131 §3.1.5, §4.4.1). It never
// blocks and is ignored when the client holds no lease.
func (c *Client) Decline(reason string) {
	c.mu.Lock()
	c.snap.decline = &reason
	c.mu.Unlock()
	c.poke()
}

// Stop releases the lease (DHCPRELEASE to the server, RFC 2131 §4.4.6) if
// one is held, stops the client and waits for its goroutine to exit. It
// must not be called with the stack lock held, since sending takes it.
func (c *Client) Stop() {
	c.mu.Lock()
	c.snap.stop = true
	started := c.snap.started
	c.mu.Unlock()
	if !started {
		return
	}
	c.poke()
	<-c.done
}

// ClockStepped tells the client that the clock it reads is about to be
// stepped forward by d (a board setting its clock from NTP): the lease's
// start, the exchange's start and the pending deadline move by d, so
// that the lease keeps its remaining time instead of expiring at the
// step. Call it before the step; the client's timer, which then fires
// early, is re-armed for what is left. It blocks until the client's
// goroutine has done it, and does nothing if the client is not running.
func (c *Client) ClockStepped(d time.Duration) {
	c.mu.Lock()
	running := c.snap.started && !c.snap.stop
	c.mu.Unlock()
	if !running {
		return
	}
	done := make(chan struct{})
	shift := func() bool {
		defer close(done)
		if !c.deadline.IsZero() {
			c.deadline = c.deadline.Add(d)
		}
		c.begun = c.begun.Add(d)
		if c.bound {
			c.lease.Start = c.lease.Start.Add(d)
		}
		c.setState(c.state)
		return true
	}
	select {
	case c.ctl <- shift:
		<-done
	case <-c.done:
	}
}

// State returns the current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap.state
}

// Lease returns the current lease and whether one is held.
func (c *Client) Lease() (Lease, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap.lease, c.snap.bound
}

func (c *Client) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// run is the client goroutine.
func (c *Client) run() {
	defer close(c.done)
	c.startDiscover()
	for {
		select {
		case p := <-c.in:
			c.input(p)
		case <-c.wake:
			c.onTimer()
		case <-c.kick:
			if !c.onKick() {
				return
			}
		case f := <-c.ctl:
			if !f() {
				return
			}
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
			case p := <-c.in:
				c.input(p)
			case <-c.wake:
				c.onTimer()
			case <-c.kick:
				if !c.onKick() {
					return false
				}
			default:
				return true
			}
		}
	}
	<-done
}

// onKick handles Decline and Stop; it returns false when stopping.
func (c *Client) onKick() bool {
	c.mu.Lock()
	reason, stop := c.snap.decline, c.snap.stop
	c.snap.decline = nil
	c.mu.Unlock()
	if stop {
		if c.bound {
			c.sendRelease()
		}
		if c.timer != nil {
			c.timer.Stop()
		}
		c.bound = false
		c.setState(StateStopped)
		return false
	}
	if reason != nil && c.bound {
		c.sendDecline(*reason)
		c.drop()
		c.prev = inet.Addr4{} // do not ask for the declined address again
		c.setState(StateDeclined)
		c.arm(declineWait)
	}
	return true
}

// setState records s and publishes it with the lease for State and Lease.
func (c *Client) setState(s State) {
	c.state = s
	c.mu.Lock()
	c.snap.state, c.snap.lease, c.snap.bound = s, c.lease, c.bound
	c.mu.Unlock()
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

// disarm cancels the timer.
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

// drop gives up the lease, telling the stack to stop using the address.
func (c *Client) drop() {
	if !c.bound {
		return
	}
	c.prev = c.lease.Addr.Addr
	c.bound, c.lease = false, Lease{}
	if c.cfg.OnExpire != nil {
		c.cfg.OnExpire()
	}
}
