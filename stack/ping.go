package stack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/mirago/mirago/internal/xerr"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/transport"
)

// pinger matches echo replies to the Ping calls waiting for them.
type pinger struct {
	id      uint16
	seq     uint16
	waiting map[uint16]*pingWait // by sequence number
}

type pingWait struct {
	dst  inet.Addr
	data []byte
	done chan struct{}
}

func (s *Stack) initPing(rand io.Reader) error {
	var b [2]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return xerr.Wrap("stack: ping identifier", err)
	}
	s.ping.id = binary.BigEndian.Uint16(b[:])
	s.ping.waiting = make(map[uint16]*pingWait)
	s.l.ICMP.SetOnEchoReply(func(from inet.Addr4, id, seq uint16, data []byte) {
		s.echoReply(inet.AddrFrom4(from), id, seq, data)
	})
	s.initPing6()
	return nil
}

// echoReply runs with the stack lock held.
func (s *Stack) echoReply(from inet.Addr, id, seq uint16, data []byte) {
	w := s.ping.waiting[seq]
	if id != s.ping.id || w == nil || w.dst != from && !w.dst.IsMulticast() || !bytes.Equal(w.data, data) {
		return
	}
	delete(s.ping.waiting, seq)
	close(w.done)
}

// ErrPingTimeout is returned by Ping when no reply came before ctx ended.
var ErrPingTimeout = errors.New("stack: no echo reply")

// Ping sends one echo request carrying data to dst (ICMP for an IPv4
// address, ICMPv6 for an IPv6 one) and waits for the matching reply (same
// address, identifier, sequence and data; to a multicast group, the
// first reply from any member). It returns the round-trip time. An IPv6 dst with IPv6 turned off gives transport.ErrAddrFamily.
func (s *Stack) Ping(ctx context.Context, dst inet.Addr, data []byte) (time.Duration, error) {
	if dst.Is6() && !s.has6() {
		return 0, transport.ErrAddrFamily
	}
	w := &pingWait{dst: dst, data: bytes.Clone(data), done: make(chan struct{})}
	s.mu.Lock()
	s.ping.seq++
	seq := s.ping.seq
	s.ping.waiting[seq] = w
	start := time.Now()
	var err error
	if dst.Is4() {
		err = s.l.ICMP.SendEcho(dst.As4(), s.ping.id, seq, w.data)
	} else {
		err = s.sendEcho6(dst, s.ping.id, seq, w.data)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.ping.waiting, seq)
		s.mu.Unlock()
	}()
	if err != nil {
		return 0, err
	}
	select {
	case <-w.done:
		return time.Since(start), nil
	case <-ctx.Done():
		return 0, ErrPingTimeout
	}
}
