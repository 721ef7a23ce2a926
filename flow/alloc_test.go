package flow_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/internal/testkit/require"
)

// Forward takes its copy buffer from a pool: many calls do not allocate a
// fresh 32 KiB each.
func TestForwardPoolsBuffers(t *testing.T) {
	require.NoRace(t, "sync.Pool drops items at random")
	const runs = 200
	fwd := func() {
		if _, err := flow.Forward(context.Background(), flow.FromFuncs(nil, nil), flow.FromString("x"), flow.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	fwd() // warm the pool
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		fwd()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > flow.DefaultBufferSize/4 {
		t.Fatalf("Forward allocates %d bytes per call; the copy buffer is not pooled", per)
	}
}

func BenchmarkPipe(b *testing.B) {
	x, y := flow.Pipe(flow.PipeOptions{})
	defer x.Close()
	defer y.Close()
	buf := make([]byte, 32<<10)
	go func() {
		for range b.N {
			x.Write(buf)
		}
		x.CloseWrite()
	}()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	rb := make([]byte, 64<<10)
	for {
		if _, err := y.Read(rb); err != nil {
			break
		}
	}
}

func BenchmarkProxy(b *testing.B) {
	client, pa := flow.Pipe(flow.PipeOptions{})
	pb, server := flow.Pipe(flow.PipeOptions{})
	defer client.Close()
	defer server.Close()
	go flow.Proxy(context.Background(), pa, pb, flow.Options{})
	buf := make([]byte, 32<<10)
	go func() {
		for range b.N {
			client.Write(buf)
		}
		client.CloseWrite()
	}()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	rb := make([]byte, 64<<10)
	for {
		if _, err := server.Read(rb); err != nil {
			break
		}
	}
}
