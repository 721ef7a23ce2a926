package tcp

import (
	"io"
	"net"
	"os"
	"time"
)

// Read reads received data. It returns io.EOF after the peer's FIN (or
// CloseRead), net.ErrClosed after Close, os.ErrDeadlineExceeded when the
// read deadline passes, or the error that ended the connection (ErrReset,
// ErrTimeout, ...). It implements net.Conn.Read.
func (c *Conn) Read(p []byte) (int, error) {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	defer c.passRead() // runs first, with the lock held
	for {
		if c.f&fUserClosed != 0 {
			return 0, ErrClosed
		}
		// As in package net, an expired deadline fails even if data is
		// ready.
		if c.f&fRdDL != 0 && l.now() >= c.rdDL {
			return 0, os.ErrDeadlineExceeded
		}
		if c.rxLen() > 0 && c.f&fRdClosed == 0 {
			if len(p) == 0 {
				return 0, nil
			}
			return c.readLocked(p), nil
		}
		if c.f&(fFinRcvd|fRdClosed) != 0 {
			return 0, io.EOF
		}
		if c.err() != nil {
			return 0, c.err()
		}
		if c.state == Closed {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		c.waitLocked(fRdWait)
	}
}

// readLocked copies out received data and opens the window.
func (c *Conn) readLocked(p []byte) int {
	n := c.rx.read(p)
	c.afterRead(n)
	return n
}

// afterRead follows the taking of n bytes from the receive ring: it
// releases a drained ring and opens the window.
func (c *Conn) afterRead(n int) {
	if c.rcvCap != 0 {
		c.autoTune(n)
	}
	if c.rx.n == 0 && c.rx.nooo == 0 {
		c.releaseRx()
	}
	// Window update (RFC 9293 §3.8.6.2.2, RFC 1122 §4.2.3.3) when the
	// right edge can move by two segments or half the buffer and the new
	// window is at least twice what the peer may still send (as Linux):
	// a reader keeping up causes no extra ACKs; one that drained a full
	// buffer reopens the window at once.
	if c.state.synchronized() && c.state != CloseWait && c.state != TimeWait && c.f&fFinRcvd == 0 {
		wnd := min(c.rxSpace(), 0xffff<<c.rcvWS)
		edge := c.rcvNxt + wnd
		if seqGT(edge, c.rcvAdv) {
			grow := edge - c.rcvAdv
			if grow >= min(uint32(c.l.cfg.RecvBuffer/2), 2*uint32(c.l.mssFor(c.id.raddr))) && wnd >= 2*c.rcvWndNow() {
				c.sendAck()
			}
		}
	}
}

// waitLocked waits, with the lock released, until woken (bit fRdWait or
// fWrWait) or a deadline passes.
func (c *Conn) waitLocked(bit uint32) {
	l := c.l
	ch := c.waitCh(bit)
	if *ch == nil {
		*ch = make(chan struct{}, 1)
	}
	n := c.waiters(bit)
	*n++
	c.f |= bit
	c.armDeadline()
	w := *ch
	l.lock.Unlock()
	<-w
	l.lock.Lock()
	if *n--; *n == 0 {
		c.f &^= bit
	}
}

// waiters returns the count of callers blocked on bit's channel. Only one
// writer (the write-turn holder) or Dial ever waits on wrCh.
func (c *Conn) waiters(bit uint32) *uint16 {
	switch bit {
	case fRdWait:
		return &c.rdWaiters
	case fWlWait:
		return &c.wlWaiters
	}
	return &c.wrWaiter
}

// passRead hands a wake-up on to the next blocked reader when a Read
// returns, so that one token reaches every reader in turn.
func (c *Conn) passRead() {
	if c.rdWaiters > 0 {
		c.wake(fRdWait)
	}
}

// armDeadline schedules dl for the earliest deadline of a waiting call.
func (c *Conn) armDeadline() {
	var at time.Duration
	set := false
	if c.f&(fRdWait|fRdDL) == fRdWait|fRdDL {
		at, set = c.rdDL, true
	}
	if c.f&fWrDL != 0 && c.f&(fWrWait|fWlWait) != 0 && (!set || c.wrDL < at) {
		at, set = c.wrDL, true
	}
	if set {
		c.l.q.Schedule(&c.dl, c.l.epoch.Add(at))
	} else {
		c.l.q.Stop(&c.dl)
	}
}

// Write copies p into the send buffer, blocking while it is full. It
// implements net.Conn.Write.
func (c *Conn) Write(p []byte) (int, error) { return c.write(p, nil) }

// WriteBuffers is a gather write of v (like net.Buffers.WriteTo); the
// segments are cut across buffer boundaries.
func (c *Conn) WriteBuffers(v [][]byte) (int64, error) {
	n, err := c.write(nil, v)
	return int64(n), err
}

func (c *Conn) write(p []byte, v [][]byte) (int, error) {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	// One Write at a time holds the write turn, so that concurrent
	// Writes never interleave their bytes (net.Conn): the others wait
	// for it on wlCh.
	for c.f&fWriting != 0 {
		if err := c.writeErr(); err != nil {
			c.passTurn()
			return 0, err
		}
		if c.f&fWrDL != 0 && l.now() >= c.wrDL {
			c.passTurn()
			return 0, os.ErrDeadlineExceeded
		}
		c.waitLocked(fWlWait)
	}
	c.f |= fWriting
	defer c.endWrite() // runs first, with the lock held
	total := 0
	for {
		if err := c.writeErr(); err != nil {
			return total, err
		}
		if c.f&fWrDL != 0 && l.now() >= c.wrDL {
			return total, os.ErrDeadlineExceeded
		}
		k := 0
		for {
			if len(p) == 0 {
				if len(v) == 0 {
					break
				}
				p, v = v[0], v[1:]
				continue
			}
			m := c.txAppend(p)
			if m == 0 {
				break
			}
			p = p[m:]
			k += m
		}
		total += k
		if k > 0 {
			cached := l.cacheNow()
			c.output()
			l.uncache(cached)
		}
		if len(p) == 0 && len(v) == 0 {
			return total, nil
		}
		c.waitLocked(fWrWait)
	}
}

// endWrite gives up the write turn and wakes the next queued writer.
func (c *Conn) endWrite() {
	c.f &^= fWriting
	c.passTurn()
}

// passTurn wakes one writer queued for the write turn, if any: the next
// holder, or, after Close or a deadline, the next one to fail in turn.
func (c *Conn) passTurn() {
	if c.wlWaiters > 0 {
		c.wake(fWlWait)
	}
}

func (c *Conn) writeErr() error {
	if c.f&fUserClosed != 0 {
		return ErrClosed
	}
	if c.err() != nil {
		return c.err()
	}
	if c.f&fFinQueued != 0 || (c.state != Established && c.state != CloseWait) {
		return ErrClosed
	}
	return nil
}

// Close closes the connection: unread received data makes it send a RST
// (RFC 9293 §3.10.4, RFC 1122 §4.2.2.13); otherwise a FIN follows the
// queued data. Pending Read and Write calls return net.ErrClosed. It
// implements net.Conn.Close.
func (c *Conn) Close() error {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	if c.f&fUserClosed != 0 {
		return nil // Close is idempotent (the flow contract, seed 004)
	}
	c.f |= fUserClosed | fRdClosed
	switch c.state {
	case Closed:
		c.releaseRx()
	case SynSent, SynReceived:
		c.finish(ErrClosed)
	default:
		if c.rxLen() > 0 || (c.rx != nil && c.rx.nooo > 0) {
			c.abortRST(ErrClosed)
			break
		}
		c.releaseRx()
		c.shutWrite()
		if c.state == FinWait2 {
			l.after(&c.ackOrEnd, l.cfg.TimeWait)
		}
	}
	c.wake(fRdWait)
	c.wake(fWrWait)
	c.wake(fWlWait)
	return nil
}

// shutWrite queues our FIN (RFC 9293 §3.10.4 CLOSE).
func (c *Conn) shutWrite() {
	if c.f&fFinQueued != 0 {
		return
	}
	switch c.state {
	case Established:
		c.setState(FinWait1)
	case CloseWait:
		c.setState(LastAck)
	default:
		return
	}
	c.f |= fFinQueued
	c.output()
}

// CloseWrite sends a FIN after the queued data; reads continue.
func (c *Conn) CloseWrite() error {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	if c.f&fUserClosed != 0 {
		return ErrClosed
	}
	if c.err() != nil {
		return c.err()
	}
	c.shutWrite()
	c.wake(fWrWait)
	c.wake(fWlWait)
	return nil
}

// CloseRead makes Read return io.EOF; further data is acknowledged and
// discarded.
func (c *Conn) CloseRead() error {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	if c.f&fUserClosed != 0 {
		return ErrClosed
	}
	c.f |= fRdClosed
	c.releaseRx()
	c.wake(fRdWait)
	return nil
}

// Abort resets the connection (sends a RST) and closes it.
func (c *Conn) Abort() error {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	if c.f&fUserClosed != 0 {
		return nil // already closed: nothing left to abort
	}
	c.f |= fUserClosed | fRdClosed
	c.abortRST(ErrClosed)
	c.releaseRx()
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(noDelay bool) error {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	if noDelay {
		c.f |= fNoDelay
		c.output()
	} else {
		c.f &^= fNoDelay
	}
	return nil
}

// SetKeepAlive turns keepalive probes on or off (Config.KeepIdle,
// KeepInterval, KeepCount).
func (c *Conn) SetKeepAlive(on bool) error {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	if on {
		c.f |= fKeepAlive
	} else {
		c.f &^= fKeepAlive
	}
	if c.state != Closed {
		c.armRTX()
	}
	return nil
}

// SetDeadline sets both deadlines. It implements net.Conn.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setDeadline(t, true, true)
	return nil
}

// SetReadDeadline implements net.Conn.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.setDeadline(t, true, false)
	return nil
}

// SetWriteDeadline implements net.Conn.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.setDeadline(t, false, true)
	return nil
}

func (c *Conn) setDeadline(t time.Time, rd, wr bool) {
	l := c.l
	l.lock.Lock()
	defer l.lock.Unlock()
	d := t.Sub(l.epoch)
	if rd {
		if t.IsZero() {
			c.f &^= fRdDL
		} else {
			c.f |= fRdDL
			c.rdDL = d
		}
		c.wake(fRdWait)
	}
	if wr {
		if t.IsZero() {
			c.f &^= fWrDL
		} else {
			c.f |= fWrDL
			c.wrDL = d
		}
		c.wake(fWrWait)
		c.wake(fWlWait)
	}
}

// LocalAddr returns a *net.TCPAddr. It implements net.Conn.
func (c *Conn) LocalAddr() net.Addr {
	return net.TCPAddrFromAddrPort(c.id.laddr.AddrPort(c.id.lport))
}

// RemoteAddr returns a *net.TCPAddr. It implements net.Conn.
func (c *Conn) RemoteAddr() net.Addr {
	return net.TCPAddrFromAddrPort(c.id.raddr.AddrPort(c.id.rport))
}

// State returns the connection's current state.
func (c *Conn) State() State {
	c.l.lock.Lock()
	defer c.l.lock.Unlock()
	return c.state
}

var _ net.Conn = (*Conn)(nil)
var _ net.Listener = (*Listener)(nil)
