// Package tcp is mirago's TCP (RFC 9293), over IPv4 and IPv6.
//
// One state machine serves both families: connections are keyed by
// family-neutral inet.Addr tuples, and the keyed hash of ISNs, ephemeral
// ports, SYN cookies and timestamp offsets covers the whole address (4
// bytes of an IPv4 one, 16 of an IPv6 one). What differs by family is
// read from the peer's address: the checksum's pseudo-header (RFC 8200
// §8.1 for IPv6), the MSS offered (the family's MTU less 40 or 60, RFC
// 8200 §8.3) and assumed without the option (536 or 1220), the TSO limit
// and type (TSO4Max/GSOTCPv4, TSO6Max/GSOTCPv6), and the network header
// length in path MTU arithmetic. Listeners take IPv4, IPv6 or both, as
// Linux's sockets with IPV6_V6ONLY (ListenAddr); Listen is dual-stack.
// Stats counts both families, and Stats.IPv6 IPv6's share.
//
// Everything protocol-side runs with the stack lock held (see
// docs/INTERNALS.md): Deliver, ControlError and timer callbacks. The user
// API (Listener, Conn, Dial) takes the lock itself and waits on channels
// with the lock released.
//
// Implemented: the full RFC 9293 state machine (active, passive and
// simultaneous open, simultaneous close, half-close, TIME_WAIT), the
// segment acceptability test (§3.10.7.4), RST generation and validation;
// options MSS, window scale and timestamps with PAWS (RFC 7323), SACK
// (RFC 2018) both ways with RFC 6675 loss recovery; RTO per RFC 6298;
// NewReno (RFC 6582) and CUBIC (RFC 9438, default); delayed ACK with quick
// ACKs at start; Nagle; zero-window probing; keepalive (RFC 1122
// §4.2.3.6); user timeout (RFC 5482 semantics); RFC 5961 challenge ACKs;
// rate-limited ACKs to out-of-window and PAWS-failed segments (RFC 5961
// §10, see below);
// RFC 6528 ISNs; RFC 6056 ephemeral ports (algorithm 3); SYN cookies
// (RFC 4987) when the half-open table or the accept queue is full; Limited
// Transmit (RFC 3042), Early Retransmit (RFC 5827) and Eifel undo of
// spurious fast retransmits (RFC 3522/4015); Nagle with Minshall's
// refinement; the tail loss probe (TLP, RFC 8985 §7, see below).
//
// Tail loss probe: on connections that negotiated SACK, while no loss is
// being repaired and nothing is SACKed, the retransmission timer runs as
// the probe timeout instead: 2*SRTT (at least 10ms), plus
// Config.TLPMaxAckDelay (200ms) when at most one segment is in flight,
// and never later than the RTO would fire. When it expires, one segment
// goes out (new data if the peer's window allows, else the last SMSS sent
// again; cwnd is not changed) and the RTO is armed. The ACKs it draws
// start SACK recovery if earlier data was lost too, or show (TLP.end_seq,
// §7.4) that the probe repaired the loss itself, which reduces cwnd as a
// fast retransmit would; a D-SACK for the probe or a duplicate ACK
// without SACK shows that nothing was lost. RACK's time-based loss
// detection (§6) is not implemented, but for the probe: data still
// missing below a SACKed probe, which went out at least an SRTT after it,
// is taken as lost at once. Config.DisableTLP turns it off;
// Stats.TailLossProbes and TailLossProbeRepairs count probes and repairs.
//
// Device backpressure: a segment the device refuses (netif.ErrBusy, a
// full transmit queue) is local congestion, not loss. It is kept, the
// connection waits in the layer's device queue, and when the device
// reports room (netif.TxRoomNotifier) the waiting connections send in
// turn, Config.DeviceQuantum bytes each, as Linux's qdisc and TCP small
// queues do; RTO, recovery and the congestion window see a kept segment
// as one not yet sent (txsched.go).
//
// Data is copied once per direction at the API boundary: Write copies into
// a ring that segments reference (pkt.Buf.Attach, two slices when the ring
// wraps), so sending copies nothing more; received payload is copied into
// the receive ring (out-of-order data goes straight to its place there, so
// reassembly needs no allocation) and Read copies it out. Rings come in
// power-of-two blocks from 4 KiB up to Config.SendBuffer/RecvBuffer: they
// are taken from a pool when data is pending, grow with the data queued
// (one copy per doubling), and go back when they drain; the next ring of
// that direction starts at the size the last one needed (decaying one
// size per ring), so a bulk flow does not regrow it after every Read. An
// idle established connection therefore holds no buffer memory (about 550
// bytes of heap in all), and the total is bounded by Config.MaxMemory
// (plus one spare block per size per layer kept out of the GC-emptied
// pools).
//
// ACKs to invalid segments: a segment that fails PAWS or the
// acceptability test is answered with an ACK (RFC 7323 §5.3, RFC 9293
// §3.10.7.4), but at most once per Config.InvalidAckInterval (500ms) and
// connection, as Linux's tcp_invalid_ratelimit, so junk cannot make a
// connection send one ACK per segment (ACK storms between confused peers,
// reflection); suppressed ACKs are counted in Stats.OutOfWindowAcksLimited.
// Always answered: old duplicates carrying data or a FIN (within a receive
// buffer below RCV.NXT: a retransmission whose ACK was lost, a
// retransmitted FIN in TIME_WAIT, which also restarts the 2MSL timer, a
// 1-byte keepalive probe) and the zero-window probe at RCV.NXT
// (§3.10.7.4's special allowance). Zero-length keepalive probes
// (SEG.SEQ = RCV.NXT-1) get a budget of their own, so junk cannot starve
// them. A SYN, whatever its sequence number, gets an RFC 5961 §4
// challenge ACK under Config.ChallengeAckLimit instead. Linux exempts all
// segments carrying data; we exempt only old duplicates, so a blind
// attacker's junk data is limited too.
//
// Accept filter: Listener.SetFilter installs a function of the client's
// address consulted when a SYN arrives, before any state, SYN-ACK or SYN
// cookie exists (and again for the ACK that completes a SYN-cookie
// handshake, and for connections already waiting in the listener when it
// is set). A refused SYN is answered as by a closed port, <CTL=RST,ACK>
// (connect fails with ECONNREFUSED), and counted in Stats.ListenFiltered.
// The filter runs with the stack lock held: it must be fast, must not
// block and must not call back into the stack.
//
// TIME_WAIT lasts Config.TimeWait (60s); a clearly newer SYN reopens the
// 4-tuple (RFC 6191), and at most Config.MaxTimeWait connections wait. An
// ephemeral port held by our own TIME_WAIT is taken over by Dial after 1s
// when the old connection used timestamps (as Linux's tcp_tw_reuse), with
// the new ISN above the old sequence space.
//
// Buffers: both rings grow with use up to SendBuffer/RecvBuffer. With
// Config.RecvAutoTune the advertised window also starts small
// (RecvBufferInitial) and doubles per RTT while the reader keeps up
// (dynamic right-sizing); without it every connection offers RecvBuffer.
//
// Not implemented: urgent data as out-of-band (URG is ignored and the data
// stays inline, RFC 6093), ECN, D-SACK (beyond recognising one for a loss
// probe), RACK (RFC 8985 §6), F-RTO, TCP-AO/MD5, IPv6,
// send-buffer auto-tuning beyond growth with use, lost-retransmit
// detection during SACK recovery (an RTO recovers it), the RFC 7323 §5.5
// 24-day PAWS idle rule, and dropping segments without timestamps on a
// timestamp connection (accepted, as Linux does).
package tcp
