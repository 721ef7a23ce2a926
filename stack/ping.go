package stack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

// pinger matches echo replies to the Ping calls waiting for them.
type pinger struct {
	id      uint16
	seq     uint16
	waiting map[uint16]*pingWait // by sequence number
}

type pingWait struct {
	dst  inet.Addr4
	data []byte
	done chan struct{}
}

func (s *Stack) initPing(rand io.Reader) {
	var b [2]byte
	io.ReadFull(rand, b[:])
	s.ping.id = binary.BigEndian.Uint16(b[:])
	s.ping.waiting = make(map[uint16]*pingWait)
	s.ICMP.SetOnEchoReply(s.echoReply)
}

// echoReply runs with the stack lock held.
func (s *Stack) echoReply(from inet.Addr4, id, seq uint16, data []byte) {
	w := s.ping.waiting[seq]
	if id != s.ping.id || w == nil || w.dst != from || !bytes.Equal(w.data, data) {
		return
	}
	delete(s.ping.waiting, seq)
	close(w.done)
}

// ErrPingTimeout is returned by Ping when no reply came before ctx ended.
var ErrPingTimeout = errors.New("stack: no echo reply")

// Ping sends one ICMP echo request carrying data to dst and waits for the
// matching reply (same identifier, sequence and data). It returns the
// round-trip time.
func (s *Stack) Ping(ctx context.Context, dst inet.Addr4, data []byte) (time.Duration, error) {
	w := &pingWait{dst: dst, data: bytes.Clone(data), done: make(chan struct{})}
	s.mu.Lock()
	s.ping.seq++
	seq := s.ping.seq
	s.ping.waiting[seq] = w
	start := time.Now()
	err := s.ICMP.SendEcho(dst, s.ping.id, seq, w.data)
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
