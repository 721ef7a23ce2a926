package tcp

import (
	"time"

	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// Conn flag bits.
const (
	fTS         uint32 = 1 << iota // timestamps negotiated
	fSACK                          // SACK permitted both ways
	fNoDelay                       // Nagle off
	fKeepAlive                     // keepalive on
	fFinQueued                     // user closed the write side: send FIN after the data
	fFinSent                       // FIN sent at least once (finSeq valid)
	fFinRcvd                       // peer's FIN processed: reads hit EOF
	fRdClosed                      // CloseRead: discard incoming data
	fUserClosed                    // Close called (orphan)
	fAckNow                        // an ACK must go out
	fDelAck                        // a delayed ACK is pending
	fRecovery                      // in fast recovery
	fTiming                        // timing rttSeq (no timestamps)
	fRdWait                        // a reader waits on rdCh
	fWrWait                        // a writer (or Dial) waits on wrCh
	fRdDL                          // rdDL is set
	fWrDL                          // wrDL is set
	fAccepted                      // handed out by Accept or Dial
	fActive                        // opened by Dial
	fPeerWS                        // window scaling negotiated
	fSoftErr                       // an ICMP soft error was seen
	fUndo                          // a fast retransmit may be undone (Eifel)
	fWriting                       // a Write call holds the write turn
	fWlWait                        // writers wait on wlCh for the write turn
	fOOWAck                        // oowAt is valid
	fProbeAck                      // probeAt is valid
	fTLP                           // a loss probe's episode is open: tlpEnd is TLP.end_seq (RFC 8985 §7)
	fTLPRxt                        // TLP.is_retrans: that probe resent data
	fTLPNoRTT                      // no RTT sample since the last loss probe (RFC 8985 §7.3)
	fAckBatch                      // an ACK is owed at the end of the receive batch (ackbatch.go)
)

// rtx timer modes.
const (
	tmNone uint8 = iota
	tmRTO
	tmPTO // tail loss probe (RFC 8985 §7.2), standing in for the RTO
	tmPersist
	tmKeep
)

// Conn is a TCP connection. It implements net.Conn plus CloseRead,
// CloseWrite, Abort, SetNoDelay, SetKeepAlive and WriteBuffers. Read and
// Write may be called concurrently from different goroutines.
type Conn struct {
	l      *Layer
	id     tuple
	tlpEnd uint32    // TLP.end_seq: SND.NXT when the loss probe went out (fTLP)
	ln     *Listener // passive open, until accepted
	state  State
	tmode  uint8  // what rtx is armed for
	chalN  uint16 // challenge ACKs sent in second chalSec
	f      uint32

	// Send sequence space (RFC 9293 §3.3.1). sndMax is the highest
	// sequence number sent; sndNxt drops back to sndUna after an RTO.
	iss, sndUna, sndNxt, sndMax uint32
	sndWl1, sndWl2              uint32
	sndWnd, maxSndWnd           uint32
	sndBase                     uint32 // sequence number of tx.buf's first byte
	finSeq                      uint32 // our FIN's sequence number
	recover, highRxt            uint32 // RFC 6582 recover, RFC 6675 HighRxt
	sndSml                      uint32 // end of the last small segment sent (Nagle)
	undoCwnd, undoSsth, rxtTS   uint32 // Eifel: window before, TSval of the retransmission
	mss                         uint16 // peer's MSS, clamped
	sndWS, rcvWS                uint8
	dupAcks                     uint8
	backoff                     uint8 // RTO / persist backoff shift
	retries                     uint8 // SYN retries
	keepProbes                  uint8
	quick                       uint8 // quick ACKs left
	unacked                     uint8 // segments received since our last ACK
	txHint, rxHint              uint8 // block class to start the next send / receive ring at

	// Receive sequence space.
	irs, rcvNxt, rcvAdv uint32
	lastAck             uint32 // RCV.NXT in the last ACK sent (Last.ACK.sent)

	// Timestamps (RFC 7323).
	tsOff, tsRecent uint32

	// RTT (RFC 6298).
	rttSeq            uint32
	chalSec           int32
	ptoAt             uint32 // tmPTO: the probe timeout, in µs of now() (mod 2^32)
	srtt, rttvar, rto time.Duration
	rttAt             time.Duration // when rttSeq was sent
	rtxStart          time.Duration // first RTO of the current episode, 0 none
	rtoAt             time.Duration // tmRTO: a pending RTO timer fires no earlier (setRTO), 0 none; tmPTO: when the RTO would expire
	lastRecv          time.Duration
	rdDL, wrDL        time.Duration
	cc                ccState
	tx                *txChunk // nil when nothing to send or unacked
	rx                *rxChunk // nil when nothing received and unread
	rtx, ackOrEnd, dl timer.Entry
	rdCh, wrCh, wlCh  chan struct{}
	endErr            uint8  // why the connection ended: an index into endErrs (0: not ended, or cleanly)
	txs               uint8  // device queue state (txsched.go)
	rdWaiters         uint16 // readers blocked on rdCh
	wrWaiter          uint16 // the write-turn holder (or Dial) blocked on wrCh
	wlWaiters         uint16 // writers blocked on wlCh for the write turn
	rcvCap            uint32 // receive window bound under RecvAutoTune; 0: Config.RecvBuffer
	tuneRead          uint32 // bytes read since tuneStart (auto-tuning)
	oowAt, probeAt    uint32 // ms of now() of the last out-of-window ACK, of the last one to a keepalive probe
	tuneStart         time.Duration
	sp                *Splice // the splice this connection is part of, if any
}

// err is the error the connection ended with, nil if none.
func (c *Conn) err() error { return endErrs[c.endErr] }

func (l *Layer) newConn(id tuple) *Conn {
	c := &Conn{l: l, id: id}
	c.rto = l.cfg.InitialRTO
	c.mss = 536
	c.quick = uint8(min(l.cfg.QuickAcks, 255))
	c.iss = l.newISN(id)
	if l.reuse == id && l.reuse != (tuple{}) {
		// The tuple was taken over from a TIME_WAIT connection (pickPort).
		c.iss, l.reuse = l.reuseISS, tuple{}
	}
	c.sndUna, c.sndNxt, c.sndMax = c.iss, c.iss, c.iss
	c.sndBase = c.iss + 1
	c.recover = c.iss
	c.sndSml = c.iss
	c.tsOff = l.tsOffset(id)
	c.lastRecv = l.now()
	if l.cfg.NoDelay {
		c.f |= fNoDelay
	}
	if l.cfg.KeepAlive {
		c.f |= fKeepAlive
	}
	if l.cfg.RecvAutoTune {
		c.rcvCap = uint32(l.cfg.RecvBufferInitial)
	}
	c.rtx.Init(c.onRTX)
	c.ackOrEnd.Init(c.onAckOrEnd)
	c.dl.Init(c.onDeadline)
	return c
}

// setState moves c to s, keeping the per-state counts.
func (c *Conn) setState(s State) {
	if c.state != Closed {
		c.l.states[c.state]--
		c.cnt().Conns--
	}
	if s != Closed {
		c.l.states[s]++
		c.cnt().Conns++
	}
	c.state = s
}

// ourWS is the window shift we offer: the smallest that fits the buffer.
func (l *Layer) ourWS() int {
	if l.cfg.DisableWindowScale {
		return -1
	}
	s := 0
	for s < maxWScale && l.cfg.RecvBuffer>>s > 0xffff {
		s++
	}
	return s
}

// smss is the payload per full segment: MSS less the options we always
// send (RFC 6691).
func (c *Conn) smss() int {
	if c.f&fTS != 0 {
		return int(c.mss) - 12
	}
	return int(c.mss)
}

// setMSS clamps the peer's MSS option (RFC 9293 §3.7.1; MSS 0 and tiny
// values are raised to MSSFloor) to what we offer and to the path MTU the
// network layer knows toward the peer (an IPv6 path MTU cache entry, RFC
// 8201 §5.2), so that a connection to a destination whose path MTU a
// Packet Too Big lowered starts with segments that fit.
func (c *Conn) setMSS(o *Options) {
	// Without the option: RFC 9293 §3.7.1's 536 over IPv4, RFC 8200
	// §8.3's 1220 (1280 less 60) over IPv6.
	m := 536
	if !c.id.raddr.Is4() {
		m = 1220
	}
	if o.HasMSS {
		m = int(o.MSS)
	}
	path := c.l.ip.MTU(c.id.raddr) - transport.NetworkHeaderLen(c.id.raddr) - HeaderLen
	c.mss = uint16(max(min(m, c.l.mssFor(c.id.raddr), path), MSSFloor))
}

// negotiate applies the options of the peer's SYN. offered says whether we
// offered (active open) or will offer (passive open) each option.
func (c *Conn) negotiate(o *Options) {
	cfg := &c.l.cfg
	c.setMSS(o)
	if o.HasWS && !cfg.DisableWindowScale {
		c.sndWS, c.rcvWS = o.WScale, uint8(c.l.ourWS())
		c.f |= fPeerWS
	} else {
		c.sndWS, c.rcvWS = 0, 0
		c.f &^= fPeerWS
	}
	if o.HasTS && !cfg.DisableTimestamps {
		c.f |= fTS
		c.tsRecent = o.TSVal
	} else {
		c.f &^= fTS
	}
	if o.SACKOK && !cfg.DisableSACK {
		c.f |= fSACK
	} else {
		c.f &^= fSACK
	}
	c.cc.init(c)
}

// finish moves c to CLOSED, removes it from the tables and wakes everyone.
// err (nil for an orderly close) is what blocked and later calls return.
func (c *Conn) finish(err error) {
	if c.state == Closed {
		return
	}
	l := c.l
	if err == ErrTimeout && c.f&fSoftErr != 0 {
		err = ErrUnreachable // RFC 1122 §4.2.3.9: report the soft error
	}
	if c.endErr == 0 {
		c.endErr = endCode(err)
	}
	if err != nil && err != ErrClosed {
		if err == ErrTimeout {
			c.cnt().Timeouts++
		}
	}
	if c.ln != nil && c.state == SynReceived {
		c.ln.halfOpen--
	}
	c.setState(Closed)
	if l.conns[c.id] == c {
		delete(l.conns, c.id)
	}
	if l.hot == c {
		l.hot = nil
	}
	l.q.Stop(&c.rtx)
	l.q.Stop(&c.ackOrEnd)
	c.tmode = tmNone
	c.releaseTx()
	if err != nil || c.f&fUserClosed != 0 {
		c.releaseRx()
	}
	c.wake(fRdWait)
	c.wake(fWrWait)
	c.wake(fWlWait)
	if c.ln != nil {
		c.ln.wake()
	}
	if c.sp != nil {
		c.sp.pump()
	}
}

// onReset handles an acceptable RST (RFC 9293 §3.10.7.4 second check).
func (c *Conn) onReset() {
	c.cnt().ResetsRecv++
	switch c.state {
	case SynReceived:
		if c.f&fActive != 0 {
			c.finish(ErrRefused)
		} else {
			c.finish(ErrReset) // passive: the listener simply forgets it
		}
	case Closing, LastAck, TimeWait:
		c.finish(nil)
	default:
		c.finish(ErrReset)
	}
}

// abortRST sends a RST for c and closes it with err.
func (c *Conn) abortRST(err error) {
	if c.state.synchronized() || c.state == SynReceived {
		c.l.sendRST(c.id, c.sndMax, 0, FlagRST)
	}
	c.finish(err)
}

// wake signals the waiters of bit (fRdWait, fWrWait or fWlWait) with one
// token. Several callers can wait on one channel (concurrent Reads, Writes
// queued for the write turn): a call that returns passes the token on to
// the next waiter (passRead, endWrite), so an event such as Close, a
// deadline or an error reaches them all without a broadcast allocation.
func (c *Conn) wake(bit uint32) {
	ch := *c.waitCh(bit)
	if c.f&bit != 0 && ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// waitCh returns the channel that waiters of bit block on.
func (c *Conn) waitCh(bit uint32) *chan struct{} {
	switch bit {
	case fWrWait:
		return &c.wrCh
	case fWlWait:
		return &c.wlCh
	}
	return &c.rdCh
}
