package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/mirago/mirago/logging"
)

// healthState counts an upstream's consecutive check results, as
// HAProxy's `check rise R fall F`: an up upstream goes down after F
// failures in a row, a down one comes up after R passes in a row.
type healthState struct {
	mu         sync.Mutex
	pass, fail int // consecutive results so far
}

// observe records one check result for an upstream that is up (or not)
// and returns whether it is up afterwards.
func (h *healthState) observe(up, ok bool, rise, fall int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ok {
		h.pass++
		h.fail = 0
		if !up && h.pass >= rise {
			return true
		}
		return up
	}
	h.fail++
	h.pass = 0
	if up && h.fail >= fall {
		return false
	}
	return up
}

// checker runs a pool's health checks: one goroutine per upstream, each
// connecting every Check.Interval (the first at a random point of the
// first interval, so that checks spread) and closing at once with a RST
// (no TIME_WAIT left behind, as HAProxy's checks).
type checker struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startChecks starts p's health checks, if it has any; stop ends them.
func (p *pool) startChecks(d dialer, log logging.Logger) *checker {
	c := &checker{}
	if p.cfg.Check.Interval <= 0 {
		return c
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for _, m := range p.ups {
		c.wg.Go(func() { p.checkLoop(ctx, d, m.upstream, log) })
	}
	return c
}

// stop ends the checks and waits for them.
func (c *checker) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

func (p *pool) checkLoop(ctx context.Context, d dialer, u *upstream, log logging.Logger) {
	chk := p.cfg.Check
	timeout := chk.Timeout
	if timeout <= 0 || timeout > chk.Interval {
		timeout = chk.Interval
	}
	t := time.NewTimer(rand.N(chk.Interval) + 1)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := p.checkOnce(ctx, d, u, timeout)
		if ctx.Err() != nil {
			return
		}
		u.checks.Add(1)
		if err != nil {
			u.checkFails.Add(1)
		}
		was := u.up.Load()
		now := u.health.observe(was, err == nil, chk.Rise, chk.Fall)
		if now != was {
			u.up.Store(now)
			if now {
				log.Warn("proxy upstream up", "pool", p.cfg.Name, "upstream", u.addr, "healthy", p.healthy())
			} else {
				log.Warn("proxy upstream down", "pool", p.cfg.Name, "upstream", u.addr, "err", err, "healthy", p.healthy())
			}
		}
		t.Reset(chk.Interval)
	}
}

// checkOnce connects to u within timeout and resets the connection.
func (p *pool) checkOnce(ctx context.Context, d dialer, u *upstream, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, _, err := d.dial(ctx, u.addr)
	if err != nil {
		return err
	}
	return c.Abort()
}
