package flow_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
)

// Forward copies to EOF and propagates it as CloseWrite (seed 003).
func TestForwardPropagatesEOF(t *testing.T) {
	flowtest.CheckGoroutines(t)
	src := flow.FromStrings(nil, "a", "bc", "", "def")
	dstIn, dstOut := flow.Pipe(flow.PipeOptions{})
	defer dstIn.Close()
	defer dstOut.Close()
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(dstOut)
		got <- string(b)
	}()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := flow.Forward(context.Background(), dstIn, src, flow.Options{Logger: log, Verbose: true})
	if n != 6 || err != nil {
		t.Fatalf("Forward = %d, %v; want 6, nil", n, err)
	}
	select {
	case s := <-got:
		if s != "abcdef" {
			t.Fatalf("peer read %q (then EOF), want abcdef", s)
		}
	case <-time.After(flowtest.Wait):
		t.Fatal("peer got no EOF: Forward did not CloseWrite")
	}
	if !strings.Contains(logs.String(), `data="\"bc\""`) || !strings.Contains(logs.String(), "bytes=6") {
		t.Fatalf("verbose log lacks the contents or the count:\n%s", logs.String())
	}
	// The destination can still be read from: only its write side closed.
	if _, err := dstIn.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("dst Write after Forward: %v, want ErrClosed", err)
	}
}

func TestForwardWithoutLogger(t *testing.T) {
	var out flow.Sink
	n, err := flow.Forward(context.Background(), flow.FromReadWriter(nil, &out), flow.FromString("quiet"), flow.Options{BufferSize: 2})
	if n != 5 || err != nil || out.String() != "quiet" {
		t.Fatalf("Forward = %d, %v, %q", n, err, out.String())
	}
}

func TestForwardCancel(t *testing.T) {
	flowtest.CheckGoroutines(t)
	src, peer := flow.Pipe(flow.PipeOptions{})
	defer src.Close()
	defer peer.Close()
	var out flow.Sink
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := flow.Forward(ctx, flow.FromReadWriter(nil, &out), src, flow.Options{})
		done <- err
	}()
	peer.Write([]byte("before"))
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Forward after cancel = %v", err)
		}
	case <-time.After(flowtest.Wait):
		t.Fatal("Forward did not return after cancel")
	}
}

func TestForwardIdleTimeout(t *testing.T) {
	flowtest.CheckGoroutines(t)
	src, peer := flow.Pipe(flow.PipeOptions{})
	defer src.Close()
	defer peer.Close()
	start := time.Now()
	const idle = 30 * time.Millisecond
	_, err := flow.Forward(context.Background(), flow.FromFuncs(nil, nil), src, flow.Options{IdleTimeout: idle})
	if !errors.Is(err, flow.ErrIdleTimeout) || time.Since(start) < idle {
		t.Fatalf("Forward = %v after %v; want ErrIdleTimeout after %v", err, time.Since(start), idle)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("ErrIdleTimeout is not a Timeout() error: %v", err)
	}
}

func TestForwardWriteError(t *testing.T) {
	boom := errors.New("disk full")
	dst := flow.FromFuncs(nil, func([]byte) (int, error) { return 0, boom })
	_, err := flow.Forward(context.Background(), dst, flow.FromString("data"), flow.Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("Forward = %v, want the write error", err)
	}
}
