package tcp

import (
	"time"

	"github.com/mirago/mirago/stack/netif"
)

// Device backpressure: what TCP does when the device's transmit queue is
// full.
//
// A device with a bounded transmit queue (a virtio-net ring, a TAP's
// ring, memlink with Backpressure) refuses a frame with netif.ErrBusy. That
// is local congestion, not a loss in the network: the segment was never
// sent. So TCP keeps it (SND.NXT does not move past it, a retransmission
// is not counted, an owed ACK stays owed), and the connection waits in
// the layer's device queue, a FIFO of connections, until the device says
// it has room again (netif.TxRoomNotifier, which the stack wires to
// TxRoomLocked). From the first refusal until then no connection hands
// the device anything: each one that has something to send joins the
// queue instead, so none jumps ahead of those already waiting, as in
// Linux once a driver stops its queue.
//
// When the device has room, the waiting connections are served in turn
// (round robin): each may send Config.DeviceQuantum bytes (the segment
// that reaches it is sent whole) before it goes to the back of the queue, so
// that one connection whose window opened wide cannot fill the device
// while thousands of others wait (the role of Linux's TCP small queues,
// which bound each socket's bytes below TCP). Turns go on until the queue
// is empty, which ends the episode, or the device refuses again; the
// connection refused goes back to the front, to finish its turn.
//
// Nothing else changes: the congestion window, RTO, SACK recovery and
// the loss probe see a kept segment as one not sent yet, and the time it
// waits is part of the RTT the next ACK measures, as time in a qdisc is
// for Linux. Segments that belong to no connection (a RST, a SYN-ACK
// with a SYN cookie) are offered to the device as before and are lost
// if it refuses them; their peers retransmit.
//
// A device that does not report room gets a retry after
// Config.DeviceRetry instead (a timer entry of the layer, armed once per
// episode); with one that does, the same timer, at ten times that, only
// guards against a notification that never comes (a device closed
// meanwhile).

// Conn.txs bits.
const (
	txsQueued   uint8 = 1 << iota // in the layer's device queue
	txsSYN                        // our SYN or SYN-ACK was refused: send it in the next turn
	txsRtxFirst                   // a fast retransmit at SND.UNA was refused (NewReno): send it first
)

// connFIFO is the device queue: a ring of connections that grows by
// doubling (to the most connections ever waiting at once) and never
// shrinks, so an episode allocates nothing once it has been as long
// before. A connection is in it at most once (txsQueued); one that ends
// while waiting is skipped when its turn comes.
type connFIFO struct {
	buf  []*Conn
	head int
	n    int
}

func (q *connFIFO) grow() {
	nb := make([]*Conn, max(2*len(q.buf), 64))
	for i := range q.n {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

func (q *connFIFO) pushBack(c *Conn) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = c
	q.n++
}

func (q *connFIFO) pushFront(c *Conn) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.head = (q.head + len(q.buf) - 1) % len(q.buf)
	q.buf[q.head] = c
	q.n++
}

func (q *connFIFO) popFront() *Conn {
	c := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return c
}

// deviceBusy is called when the device refused one of c's segments, or
// when c had one to send while the device was still busy. c waits for the
// next turn: at the front if the device refused it during c's own turn,
// else at the back.
func (c *Conn) deviceBusy() {
	l := c.l
	if !l.devBusy {
		l.devBusy = true
		l.devEpisodes++
		d := l.cfg.DeviceRetry
		if l.roomNotify {
			d *= 10
		}
		l.after(&l.devRetry, d)
	}
	if c.txs&txsQueued != 0 {
		return
	}
	c.txs |= txsQueued
	if l.serving == c {
		// Refused in its turn: it goes on with what is left of the
		// turn when the device has room, so a connection cannot keep
		// the device by being refused before its turn ends.
		l.txq.pushFront(c)
		l.resume, l.resumeLeft = c, l.turn
	} else {
		l.txq.pushBack(c)
	}
}

// turnOver reports whether c has used its turn (Config.DeviceQuantum
// bytes), and if so queues it for the next one.
func (c *Conn) turnOver() bool {
	l := c.l
	if l.turn > 0 || l.serving != c {
		return false
	}
	if c.txs&txsQueued == 0 {
		c.txs |= txsQueued
		l.txq.pushBack(c)
	}
	return true
}

// sent takes a segment of n bytes (at least one, for a FIN) from c's
// turn, if it is being served.
func (c *Conn) sent(n int) {
	if l := c.l; l.serving == c {
		l.turn -= max(n, 1)
	}
}

// SetTxRoomNotifyLocked tells TCP whether the device reports room after
// a refusal (netif.TxRoomNotifier); stack.New sets it when it installs
// the notification.
func (l *Layer) SetTxRoomNotifyLocked(on bool) { l.roomNotify = on }

// TxRoomLocked is the device's transmit-room notification: it serves the
// connections waiting for the device in turn, until none is left or the
// device refuses again. Called with the stack lock held.
func (l *Layer) TxRoomLocked() {
	if !l.devBusy && l.txq.n == 0 {
		return
	}
	l.q.Stop(&l.devRetry)
	l.serveDevice()
}

// onDevRetry is the devRetry timer: the device has not reported room
// (or cannot); try again.
func (l *Layer) onDevRetry(time.Time) { l.serveDevice() }

func (l *Layer) serveDevice() {
	l.devBusy = false
	set := l.cacheNow()
	for l.txq.n > 0 && !l.devBusy {
		c := l.txq.popFront()
		c.txs &^= txsQueued
		if c.state == Closed {
			continue
		}
		l.serving, l.turn = c, l.cfg.DeviceQuantum
		if l.resume == c {
			l.turn = l.resumeLeft
		}
		l.resume = nil
		c.deviceTurn()
		l.serving, l.turn = nil, -1
	}
	if l.txq.n == 0 && l.txq.head != 0 {
		l.txq.head = 0
	}
	l.uncache(set)
}

// deviceTurn sends what c kept for the device: a refused SYN or fast
// retransmit, then what output sends.
func (c *Conn) deviceTurn() {
	switch c.state {
	case SynSent, SynReceived:
		if c.txs&txsSYN != 0 {
			c.txs &^= txsSYN
			c.sendSYN()
		}
		return
	}
	c.output()
}

// busyErr reports whether err is the device's ErrBusy.
func busyErr(err error) bool { return err == netif.ErrBusy }
