package arp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mirago/mirago/stack/inet"
)

type queryResult struct {
	mac inet.MAC
	err error
}

// startQuery runs Query in a goroutine and waits until its request is on
// the wire, so the test can answer or advance time.
func startQuery(h *harness, ctx context.Context) <-chan queryResult {
	h.dev.notify = make(chan struct{}, 1)
	res := make(chan queryResult, 1)
	go func() {
		mac, err := h.arp.Query(ctx, ipGW)
		res <- queryResult{mac, err}
	}()
	<-h.dev.notify
	return res
}

func TestQuerySuccess(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	res := startQuery(h, context.Background())
	h.input(reply(macGW, ipGW))
	r := <-res
	if r.err != nil || r.mac != macGW {
		t.Fatalf("Query = %v, %v", r.mac, r.err)
	}
	// Resolved: answers from the cache without sending.
	h.take()
	mac, err := h.arp.Query(context.Background(), ipGW)
	if err != nil || mac != macGW || len(h.take()) != 0 {
		t.Fatalf("cached Query = %v, %v", mac, err)
	}
}

func TestQueryFailure(t *testing.T) {
	h := newHarness(t, Config{MaxRetries: 3}).withOurIP()
	res := startQuery(h, context.Background())
	h.clk.Advance(3 * time.Second)
	r := <-res
	if !errors.Is(r.err, ErrUnreachable) {
		t.Fatalf("Query err = %v, want ErrUnreachable", r.err)
	}
	if len(h.unreachable) != 1 || h.stats().RequestsSent != 3 {
		t.Fatalf("unreachable %v stats %+v", h.unreachable, h.stats())
	}
}

func TestQueryCancel(t *testing.T) {
	h := newHarness(t, Config{}).withOurIP()
	ctx, cancel := context.WithCancel(context.Background())
	res := startQuery(h, ctx)
	cancel()
	if r := <-res; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Query err = %v, want context.Canceled", r.err)
	}
	// Resolution goes on for Output's sake; a reply still completes it.
	h.input(reply(macGW, ipGW))
	if mac, ok := h.lookup(ipGW); !ok || mac != macGW {
		t.Fatal("resolution abandoned after cancellation")
	}
}

func TestQuerySurvivesEviction(t *testing.T) {
	h := newHarness(t, Config{CacheSize: 1}).withOurIP()
	res := startQuery(h, context.Background())
	_ = h.output(ipPeer, 1) // evicts the query's entry; Query starts over
	<-h.dev.notify
	h.mu.Lock()
	for h.arp.cache.find(ipGW) == none { // wait for Query to re-resolve
		h.mu.Unlock()
		<-h.dev.notify
		h.mu.Lock()
	}
	h.mu.Unlock()
	h.input(reply(macGW, ipGW))
	if r := <-res; r.err != nil || r.mac != macGW {
		t.Fatalf("Query = %v, %v", r.mac, r.err)
	}
}

func TestQueryNeedsLock(t *testing.T) {
	h := newHarness(t, Config{})
	h.arp.cfg.Lock = nil
	if _, err := h.arp.Query(context.Background(), ipGW); !errors.Is(err, ErrNoLock) {
		t.Fatalf("err %v", err)
	}
}
