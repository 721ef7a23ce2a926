package main

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/mirago/mirago/logging"
)

// refusalLog writes the `msg="proxy refused"` log lines off the stack
// lock, rate-limited. ACL refusals happen in the listener's accept filter,
// which runs with the stack lock held: a synchronous logger there (the
// board's console on a UART) would stall the whole stack, and a flood of
// refused SYNs would become a flood of lines. So the filter only queues
// the refusal (never blocking: a full queue counts it as lost) and a
// goroutine logs at most refusalBurst lines at once and refusalRate per
// second; the rest are summed up, once per summary interval, in one
// `msg="proxy refusals not logged" count=N` line. The counters
// (Stats.RefusedACL, RefusedLimit) count every refusal.
type refusalLog struct {
	ch    chan refusal
	lost  atomic.Uint64 // refusals that found the queue full
	every time.Duration // summary interval
}

type refusal struct {
	client   netip.AddrPort
	listener string
	reason   string
}

const (
	refusalQueue = 64
	refusalBurst = 10
	refusalRate  = 10 // lines per second
)

func newRefusalLog() *refusalLog {
	return &refusalLog{ch: make(chan refusal, refusalQueue), every: time.Second}
}

// note queues a refusal to be logged. It never blocks and does not
// allocate, so the accept filter may call it under the stack lock.
func (r *refusalLog) note(client netip.AddrPort, listener, reason string) {
	select {
	case r.ch <- refusal{client, listener, reason}:
	default:
		r.lost.Add(1)
	}
}

// run logs queued refusals until stop is closed, then logs or counts what
// is left and returns.
func (r *refusalLog) run(log logging.Logger, stop <-chan struct{}) {
	tokens, last := float64(refusalBurst), time.Now()
	var skipped uint64
	var timer *time.Timer
	var summary <-chan time.Time
	one := func(x refusal) {
		now := time.Now()
		tokens = min(refusalBurst, tokens+now.Sub(last).Seconds()*refusalRate)
		last = now
		if tokens >= 1 {
			tokens--
			log.Warn("proxy refused", "client", x.client, "listener", x.listener, "reason", x.reason)
		} else {
			skipped++
		}
	}
	flush := func() {
		if n := skipped + r.lost.Swap(0); n > 0 {
			log.Warn("proxy refusals not logged", "count", n)
		}
		skipped = 0
	}
	for {
		select {
		case x := <-r.ch:
			one(x)
			if summary == nil && (skipped > 0 || r.lost.Load() > 0) {
				timer = time.NewTimer(r.every)
				summary = timer.C
			}
		case <-summary:
			summary = nil
			flush()
		case <-stop:
		drain:
			for {
				select {
				case x := <-r.ch:
					one(x)
				default:
					break drain
				}
			}
			if timer != nil {
				timer.Stop()
			}
			flush()
			return
		}
	}
}
