package dhcp

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// The transitions of RFC 2131 §4.4 (Figure 5). All run in the client
// goroutine.

// startDiscover enters INIT and sends the first DISCOVER (§4.4.1).
func (c *Client) startDiscover() {
	c.setState(StateInit)
	c.xid = c.newXID()
	c.begun = c.cfg.Clock.Now()
	c.tries = 0
	c.setState(StateSelecting)
	c.sendDiscover()
}

// onTimer handles retransmissions and the lease timers.
func (c *Client) onTimer() {
	now := c.cfg.Clock.Now()
	if c.deadline.IsZero() {
		return
	}
	if now.Before(c.deadline) {
		// A stale wake-up from a timer that was reset, or one that fired
		// early because the clock was stepped forward under it (a board
		// setting its clock from NTP): wait for what is left.
		c.timer.Reset(c.deadline.Sub(now))
		return
	}
	switch c.state {
	case StateSelecting:
		c.sendDiscover()
	case StateRequesting:
		if c.tries >= maxRequestTries {
			c.startDiscover() // no ACK or NAK: back to INIT (§4.4.1)
			return
		}
		c.sendRequest()
	case StateBound:
		c.enterRenewing()
	case StateRenewing:
		if !now.Before(c.lease.Start.Add(c.lease.T2)) {
			c.enterRebinding()
			return
		}
		c.sendRequest()
	case StateRebinding:
		if !now.Before(c.lease.Expiry()) {
			c.drop() // lease expired: back to INIT (§4.4.5)
			c.startDiscover()
			return
		}
		c.sendRequest()
	case StateDeclined:
		c.startDiscover()
	}
}

// input handles a received datagram.
func (c *Client) input(p []byte) {
	m, err := ParseMessage(p)
	if err != nil || m.Op != OpReply || m.XID != c.xid || m.HLen != 6 || [6]byte(m.CHAddr[:6]) != c.cfg.MAC {
		return
	}
	switch t := m.Type(); {
	case c.state == StateSelecting && t == Offer:
		c.onOffer(m)
	case (c.state == StateRequesting || c.state == StateRenewing || c.state == StateRebinding) && t == Ack:
		c.onAck(m)
	case (c.state == StateRequesting || c.state == StateRenewing || c.state == StateRebinding) && t == Nak:
		if c.state == StateRequesting && !c.fromServer(m) {
			return
		}
		c.drop() // NAK: stop using the address, restart (§3.1.4, §4.4.5)
		c.startDiscover()
	}
}

// fromServer reports whether m carries the server identifier we chose.
func (c *Client) fromServer(m *Message) bool {
	s, ok := m.Options.Addr(OptServerID)
	return !ok || s == c.server
}

// onOffer takes the first acceptable offer and requests it (§4.4.1).
func (c *Client) onOffer(m *Message) {
	sid, ok := m.Options.Addr(OptServerID)
	a := m.YIAddr
	if !ok || a.IsUnspecified() || a.IsBroadcast() || a.IsMulticast() || a.IsLoopback() {
		return
	}
	c.offered, c.server = a, sid
	c.tries = 0
	c.begun = c.cfg.Clock.Now() // the lease is counted from the first REQUEST
	c.setState(StateRequesting)
	c.sendRequest()
}

// onAck binds (or rebinds) to the acknowledged lease (§4.4.1, §4.4.5).
func (c *Client) onAck(m *Message) {
	if c.state == StateRequesting && (!c.fromServer(m) || m.YIAddr != c.offered) {
		return
	}
	l, ok := leaseFrom(m, c.begun, c.server)
	if !ok {
		return
	}
	c.server, c.lease, c.bound = l.Server, l, true
	c.setState(StateBound)
	if l.LeaseTime == Infinite {
		c.disarm()
	} else {
		c.arm(l.Start.Add(l.T1).Sub(c.cfg.Clock.Now()))
	}
	if c.cfg.OnBound != nil {
		c.cfg.OnBound(l)
	}
}

// enterRenewing starts unicast renewal at T1 (§4.4.5).
func (c *Client) enterRenewing() {
	c.xid = c.newXID()
	c.begun = c.cfg.Clock.Now()
	c.tries = 0
	c.setState(StateRenewing)
	c.sendRequest()
}

// enterRebinding starts broadcast rebinding at T2 (§4.4.5).
func (c *Client) enterRebinding() {
	c.xid = c.newXID()
	c.tries = 0
	c.setState(StateRebinding)
	c.sendRequest()
}

// sendDiscover broadcasts a DISCOVER and schedules its retransmission.
func (c *Client) sendDiscover() {
	m := c.message(Discover)
	m.Flags = FlagBroadcast
	if !c.prev.IsUnspecified() {
		m.Options.Add(OptRequestedIP, c.prev[:])
	}
	c.addParams(m)
	c.send(inet.IPv4Broadcast, m)
	c.arm(c.backoff(c.tries))
	c.tries++
}

// sendRequest sends the REQUEST of the current state (RFC 2131 Table 4)
// and schedules its retransmission.
func (c *Client) sendRequest() {
	m := c.message(Request)
	dst := inet.IPv4Broadcast
	now := c.cfg.Clock.Now()
	switch c.state {
	case StateRequesting:
		m.Flags = FlagBroadcast
		m.Options.Add(OptRequestedIP, c.offered[:])
		m.Options.Add(OptServerID, c.server[:])
		c.arm(c.backoff(c.tries))
	case StateRenewing:
		m.CIAddr = c.lease.Addr.Addr
		dst = c.server
		c.arm(renewWait(c.lease.Start.Add(c.lease.T2).Sub(now)))
	case StateRebinding:
		m.CIAddr = c.lease.Addr.Addr
		c.arm(renewWait(c.lease.Expiry().Sub(now)))
	}
	c.addParams(m)
	c.send(dst, m)
	c.tries++
}

// renewWait is half the time left, but at least 60 s, and never past the
// next state change (§4.4.5).
func renewWait(left time.Duration) time.Duration {
	return min(max(left/2, minRenewWait), left)
}

// sendDecline broadcasts a DECLINE for the leased address (§4.4.1, Table 5).
func (c *Client) sendDecline(reason string) {
	c.xid = c.newXID()
	m := c.message(Decline)
	m.Options.Add(OptRequestedIP, c.lease.Addr.Addr[:])
	m.Options.Add(OptServerID, c.lease.Server[:])
	if reason != "" {
		m.Options.Add(OptMessage, []byte(reason))
	}
	c.send(inet.IPv4Broadcast, m)
}

// sendRelease unicasts a RELEASE to the server (§4.4.6, Table 5).
func (c *Client) sendRelease() {
	c.xid = c.newXID()
	m := c.message(Release)
	m.CIAddr = c.lease.Addr.Addr
	m.Options.Add(OptServerID, c.lease.Server[:])
	c.send(c.lease.Server, m)
}

// message returns a BOOTREQUEST of type t with the common fields set.
func (c *Client) message(t MessageType) *Message {
	m := &Message{Op: OpRequest, HType: HTypeEthernet, HLen: 6, XID: c.xid}
	copy(m.CHAddr[:], c.cfg.MAC[:])
	if t == Discover || t == Request {
		m.Secs = uint16(min(c.cfg.Clock.Now().Sub(c.begun)/time.Second, 0xffff))
	}
	m.Options.Add(OptMessageType, []byte{byte(t)})
	m.Options.Add(OptClientID, c.cfg.ClientID)
	return m
}

// paramRequest is option 55: mask, router, DNS, MTU, NTP, lease, server,
// T1, T2.
var paramRequest = []byte{OptSubnetMask, OptRouter, OptDNS, OptInterfaceMTU, OptNTP, OptLeaseTime, OptServerID, OptRenewalTime, OptRebindingTime}

func (c *Client) addParams(m *Message) {
	m.Options.Add(OptParamRequest, paramRequest)
	if c.cfg.Hostname != "" {
		m.Options.Add(OptHostname, []byte(c.cfg.Hostname))
	}
}

// send encodes and transmits m; errors are left to retransmission.
func (c *Client) send(dst inet.Addr4, m *Message) {
	b := make([]byte, m.Len())
	m.Encode(b)
	c.cfg.Transport.Send(dst, b)
}

// backoff is the §4.1 retransmission delay for attempt n (0-based): 4 s
// doubling up to 64 s, randomised by ±1 s.
func (c *Client) backoff(n int) time.Duration {
	d := 64 * time.Second
	if n < 4 {
		d = 4 * time.Second << n
	}
	var b [2]byte
	if _, err := io.ReadFull(c.cfg.Rand, b[:]); err != nil {
		return d
	}
	jitter := time.Duration(binary.BigEndian.Uint16(b[:]))*(2*time.Second+time.Millisecond)/65536 - time.Second
	return d + jitter.Truncate(time.Millisecond)
}

// newXID draws a random transaction ID.
func (c *Client) newXID() uint32 {
	var b [4]byte
	io.ReadFull(c.cfg.Rand, b[:])
	return binary.BigEndian.Uint32(b[:])
}
