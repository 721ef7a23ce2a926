package tcp

import (
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mirago/mirago/internal/blockpool"
	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/checksum"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
	"github.com/mirago/mirago/stack/timer"
	"github.com/mirago/mirago/stack/transport"
)

// tuple identifies a connection (local and remote address and port). Its
// addresses are family-neutral, so one table serves IPv4 and IPv6.
type tuple struct {
	laddr, raddr inet.Addr
	lport, rport uint16
}

// Layer is the TCP protocol instance of one stack.
type Layer struct {
	ip       transport.Network
	q        *timer.Queue
	lock     sync.Locker
	rnd      io.Reader
	cfg      Config
	pool     *pkt.Pool
	txBuf    *pkt.Buf // reused by send; txBusy while in use
	txBusy   bool
	headroom int
	mss      int            // MSS we advertise over IPv4
	mss6     int            // and over IPv6 (mssFor)
	off      netif.Offloads // the device's, unless Config.DisableOffload
	epoch    time.Time

	conns     map[tuple]*Conn
	hot       *Conn  // the last connection Deliver found; always in conns
	reuse     tuple  // tuple pickPort took over from TIME_WAIT, for newConn
	reuseISS  uint32 // the ISS newConn gives it
	listeners map[uint16]listenSlot

	isnKey, portKey, cookieKey, tsKey [16]byte
	portNext                          uint32
	portRand                          *rand.ChaCha8 // random port steps (RFC 6056 §3.3.5); seeded from rnd on first use

	cnts    [2]Counters // by family (fam)
	states  [numStates]int
	memory  int       // Stats.Memory
	txPool  sync.Pool // *txChunk
	rxPool  sync.Pool // *rxChunk
	txSpare *txChunk  // one of each kept out of the pools (as blockpool does)
	rxSpare *rxChunk
	txMem   *blockpool.Pool
	rxMem   *blockpool.Pool
	chalSec int64 // second of the global challenge-ACK budget
	chalN   int

	more     bool    // more frames of the receive batch follow (SetBatchLocked)
	ackBatch []*Conn // connections owing an ACK at the batch's end (fAckBatch)

	inDeliver bool          // tick is valid
	tick      time.Duration // now(), cached for one Deliver call or cacheNow section

	// The device queue (txsched.go).
	devBusy     bool     // the device refused a segment and has not had room since
	roomNotify  bool     // the device reports room (SetTxRoomNotifyLocked)
	txq         connFIFO // connections waiting for the device, in turn order
	serving     *Conn    // the connection whose turn it is, if any
	turn        int      // bytes left in serving's turn
	resume      *Conn    // refused in its turn: at the front of txq with resumeLeft bytes of it left
	resumeLeft  int
	devRetry    timer.Entry // retry when the device reports no room
	devEpisodes uint64      // Stats.DeviceEpisodes
}

// New returns a TCP layer sending through ip, with timers on q. lock is the
// stack lock that protocol entry points are called with and that the user
// API takes. rnd supplies the secrets (ISN, ports, cookies). stack.New
// gives it a Network for every address family and registers it with each
// network layer. It fails if rnd fails: without secrets ISNs, ports and
// SYN cookies would be predictable (RFC 6528 §3).
func New(ip transport.Network, q *timer.Queue, lock sync.Locker, rnd io.Reader, cfg Config) (*Layer, error) {
	// Config.MSS defaults from the IPv4 MTU; each family caps it (mssFor).
	cfg.setDefaults(ip.MTU(inet.AnyIPv4))
	l := &Layer{
		ip:        ip,
		q:         q,
		lock:      lock,
		rnd:       rnd,
		cfg:       cfg,
		headroom:  ip.Headroom(),
		epoch:     q.Now(),
		conns:     make(map[tuple]*Conn),
		listeners: make(map[uint16]listenSlot),
		ackBatch:  make([]*Conn, 0, 4),
		turn:      -1,
	}
	l.mss = min(cfg.MSS, ip.MTU(inet.AnyIPv4)-transport.NetworkHeaderLen(inet.AnyIPv4)-HeaderLen)
	l.mss6 = max(min(cfg.MSS, ip.MTU(inet.IPv6Unspecified)-transport.NetworkHeaderLen(inet.IPv6Unspecified)-HeaderLen), MSSFloor)
	if !cfg.DisableOffload {
		l.off = ip.Offloads()
	}
	l.pool = pkt.NewPool(l.headroom + MaxHeaderLen)
	l.txBuf = pkt.New(l.headroom+MaxHeaderLen, 0)
	for _, k := range []*[16]byte{&l.isnKey, &l.portKey, &l.cookieKey, &l.tsKey} {
		if _, err := io.ReadFull(rnd, k[:]); err != nil {
			return nil, xerr.Wrap("tcp: reading the secrets", err)
		}
	}
	var b [4]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, xerr.Wrap("tcp: reading the secrets", err)
	}
	l.portNext = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	l.txPool.New = func() any { return new(txChunk) }
	l.rxPool.New = func() any { return new(rxChunk) }
	l.txMem = blockpool.New(minBlock, cfg.SendBuffer)
	l.devRetry.Init(l.onDevRetry)
	l.rxMem = blockpool.New(minBlock, cfg.RecvBuffer)
	return l, nil
}

// now is the time since the layer started; connections store durations
// rather than time.Time to stay small. During Deliver it is read once.
func (l *Layer) now() time.Duration {
	if l.inDeliver {
		return l.tick
	}
	return l.q.Now().Sub(l.epoch)
}

// ShiftClockLocked moves the layer's time base by d, with the stack lock
// held, when the clock its queue reads is stepped forward by d
// (Stack.StepClock): connections keep their RTO, keepalive and user
// timeout state and their timestamps go on without a jump (a TSval jump
// could look old to the peer's PAWS).
func (l *Layer) ShiftClockLocked(d time.Duration) { l.epoch = l.epoch.Add(d) }

// after arms e for d from now(); inside Deliver and cacheNow sections it
// reads no clock.
func (l *Layer) after(e *timer.Entry, d time.Duration) {
	l.q.Schedule(e, l.epoch.Add(l.now()+d))
}

// cacheNow makes now() return one reading until uncache(true), for a
// burst of work that does not release the lock (a Write's segments). It
// does nothing inside Deliver, whose tick is already set; it reports
// whether it set the cache.
func (l *Layer) cacheNow() bool {
	if l.inDeliver {
		return false
	}
	l.tick, l.inDeliver = l.q.Now().Sub(l.epoch), true
	return true
}

func (l *Layer) uncache(set bool) {
	if set {
		l.inDeliver = false
	}
}

// StatsLocked returns a snapshot of the counters; call it with the stack
// lock held, as every layer's StatsLocked (stack.Stack.Stats takes the
// lock and reads them all).
func (l *Layer) StatsLocked() Stats {
	st := Stats{Counters: l.cnts[0], IPv6: l.cnts[1], States: l.states, Memory: l.memory, DeviceEpisodes: l.devEpisodes}
	st.Counters.add(&l.cnts[1])
	return st
}

// Config returns the effective configuration (defaults filled in).
func (l *Layer) Config() Config { return l.cfg }

// Deliver implements transport.Receiver: it handles one inbound segment.
// p is valid only during the call. Called with the stack lock held.
func (l *Layer) Deliver(p *transport.Packet) {
	src, dst, seg := p.Src, p.Dst, p.Payload
	cnt := l.cnt(src)
	cnt.SegmentsIn++
	h, err := ParseHeader(seg)
	if err != nil {
		if err == ErrShort {
			cnt.Drops[DropOther]++
		} else {
			cnt.Drops[DropBadOffset]++
		}
		return
	}
	if len(seg) > 0xffff {
		cnt.Drops[DropOther]++
		return
	}
	if p.CsumVerified {
		cnt.ChecksumsOffloaded++
	} else if !h.ValidChecksum(src, dst) {
		cnt.Drops[DropChecksum]++
		return
	}
	// TCP is unicast only (RFC 1122 §4.2.3.10): nothing to or from a
	// broadcast or multicast address (p.Broadcast also covers our subnet's
	// broadcast and link-layer broadcast frames), nothing from 0.0.0.0.
	if p.Broadcast || notUnicast(dst) || notUnicast(src) || src.IsUnspecified() {
		cnt.Drops[DropBroadcast]++
		return
	}
	var s segment
	s.parse(h)
	l.tick, l.inDeliver = l.q.Now().Sub(l.epoch), true
	defer func() { l.inDeliver = false }()
	id := tuple{laddr: dst, raddr: src, lport: h.DstPort(), rport: h.SrcPort()}
	c := l.hot
	if c == nil || c.id != id {
		c = l.conns[id]
	}
	if c != nil {
		l.hot = c
		c.input(&s)
		return
	}
	if ln := l.listeners[id.lport].find(id.laddr); ln != nil {
		ln.input(id, &s)
		return
	}
	cnt.Drops[DropNoListener]++
	l.resetFor(id, &s)
}

// segment is a parsed inbound segment.
type segment struct {
	seq, ack uint32
	flags    uint8
	wnd      uint16
	payload  []byte
	opt      Options
}

func (s *segment) parse(h Header) {
	s.seq, s.ack, s.flags, s.wnd = h.Seq(), h.Ack(), h.Flags(), h.Window()
	s.payload = h.Payload()
	s.opt, _ = ParseOptions(h.Options())
}

// seqLen is the segment's length in sequence space (SEG.LEN).
func (s *segment) seqLen() uint32 {
	n := uint32(len(s.payload))
	if s.flags&FlagSYN != 0 {
		n++
	}
	if s.flags&FlagFIN != 0 {
		n++
	}
	return n
}

func (s *segment) has(f uint8) bool { return s.flags&f != 0 }

// resetFor answers a segment for which no connection exists (RFC 9293
// §3.10.7.1): nothing for a RST; <SEQ=SEG.ACK><CTL=RST> for an ACK;
// otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
func (l *Layer) resetFor(id tuple, s *segment) {
	if s.has(FlagRST) {
		return
	}
	if s.has(FlagACK) {
		l.sendRST(id, s.ack, 0, FlagRST)
	} else {
		l.sendRST(id, 0, s.seq+s.seqLen(), FlagRST|FlagACK)
	}
}

// sendRST sends a bare RST for id.
func (l *Layer) sendRST(id tuple, seq, ack uint32, flags uint8) {
	l.cnt(id.raddr).ResetsSent++
	f := Fields{SrcPort: id.lport, DstPort: id.rport, Seq: seq, Ack: ack, Flags: flags}
	l.send(id, &f, nil, nil, nil, 0)
}

// send builds and transmits one segment: header f, options opts, payload
// p1+p2 attached by reference. The Buf goes back to the pool afterwards.
// With the device's checksum offload the checksum is left to it (the field
// holds the pseudo-header sum, virtio 1.1 §5.1.6.2); seg > 0 makes a
// segment with more payload than seg a TSO segment, which the device cuts
// into segments of seg bytes, each with these options.
func (l *Layer) send(id tuple, f *Fields, opts []byte, p1, p2 []byte, seg int) error {
	// The layer's own Buf serves every send but a nested one (a loopback
	// path that delivers, and so sends, inside WriteTCP), which takes one
	// from the pool.
	b := l.txBuf
	if l.txBusy {
		b = l.pool.Get(l.headroom + HeaderLen + len(opts))
	} else {
		l.txBusy = true
		b.Reset(l.headroom + HeaderLen + len(opts))
	}
	defer l.putBuf(b)
	hdr, err := b.Prepend(HeaderLen + len(opts))
	if err != nil {
		return err
	}
	hf := *f // a local copy: storing opts through f would move every caller's options buffer to the heap
	hf.Options = opts
	hf.Encode(hdr)
	b.Attach(p1)
	b.Attach(p2)
	total := len(hdr) + len(p1) + len(p2)
	pseudo := checksum.Pseudo(id.laddr, id.raddr, inet.ProtoTCP, total)
	if l.off.TxChecksum {
		// The pseudo-header of the whole segment, also for TSO: the
		// device adjusts it to each segment's length, as Linux does.
		ps := checksum.Fold(pseudo)
		hdr[16], hdr[17] = byte(ps>>8), byte(ps)
		b.SetPartialChecksum(16)
		l.cnt(id.raddr).ChecksumsOffloaded++
		if seg > 0 && len(p1)+len(p2) > seg {
			t := pkt.GSOTCPv4
			if !id.raddr.Is4() {
				t = pkt.GSOTCPv6
			}
			b.SetGSO(t, seg, len(hdr))
			l.cnt(id.raddr).LargeSegmentsOut++
		}
	} else {
		sum := checksum.Sum(hdr, pseudo)
		sum = checksum.SumAt(p1, len(hdr), sum)
		sum = checksum.SumAt(p2, len(hdr)+len(p1), sum)
		cs := ^checksum.Fold(sum)
		hdr[16], hdr[17] = byte(cs>>8), byte(cs)
	}
	l.cnt(id.raddr).SegmentsOut++
	// DF: TCP sizes its segments to the path MTU (RFC 1191).
	return l.ip.Write(id.laddr, id.raddr, inet.ProtoTCP, b, transport.WriteOptions{DontFragment: true})
}

// putBuf recycles a Buf of send, dropping its references to the rings.
func (l *Layer) putBuf(b *pkt.Buf) {
	if b == l.txBuf {
		b.Reset(0)
		l.txBusy = false
		return
	}
	l.pool.Put(b)
}

// challengeAllowed applies the global and per-connection RFC 5961 §7
// challenge-ACK rate limits.
func (l *Layer) challengeAllowed(c *Conn) bool {
	sec := int64(l.now() / time.Second)
	if sec != l.chalSec {
		l.chalSec, l.chalN = sec, 0
	}
	if c != nil {
		if c.chalSec != int32(sec) {
			c.chalSec, c.chalN = int32(sec), 0
		}
		if int(c.chalN) >= max(l.cfg.ChallengeAckLimit/10, 10) {
			c.cnt().ChallengeAcksLimited++
			return false
		}
	}
	if l.chalN >= l.cfg.ChallengeAckLimit {
		c.cnt().ChallengeAcksLimited++
		return false
	}
	l.chalN++
	if c != nil {
		c.chalN++
	}
	c.cnt().ChallengeAcks++
	return true
}

// notUnicast reports whether a is a multicast address or the IPv4 limited
// broadcast.
func notUnicast(a inet.Addr) bool {
	return a.IsMulticast() || a.Is4() && a.As4().IsBroadcast()
}

// mssFor is the MSS we advertise to, and send at most to, a peer at a:
// the family's MTU less its IP header and TCP's (RFC 9293 §3.7.1; RFC
// 8200 §8.3 for IPv6's 60), capped by Config.MSS.
func (l *Layer) mssFor(a inet.Addr) int {
	if a.Is4() {
		return l.mss
	}
	return l.mss6
}
