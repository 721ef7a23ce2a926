package flow_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mirago/mirago/flow"
	"github.com/mirago/mirago/flow/flowtest"
)

// FromStrings keeps chunk boundaries (seed 003's F.input_strings).
func TestFromStringsChunks(t *testing.T) {
	f := flow.FromStrings(nil, "ab", "", "cde")
	buf := make([]byte, 10)
	var got []string
	for {
		n, err := f.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	if len(got) != 2 || got[0] != "ab" || got[1] != "cde" {
		t.Fatalf("reads = %q, want [ab cde]", got)
	}
	if _, err := f.Read(buf); err != io.EOF {
		t.Fatalf("Read after EOF = %v", err)
	}
	// A small buffer splits a chunk.
	f = flow.FromString("hello")
	n, _ := f.Read(buf[:2])
	if string(buf[:n]) != "he" {
		t.Fatalf("first read %q", buf[:n])
	}
}

func TestFuncFlowRules(t *testing.T) {
	var sink flow.Sink
	boom := errors.New("boom")
	calls := 0
	f := flow.FromFuncs(func(p []byte) (int, error) {
		calls++
		if calls == 1 {
			return copy(p, "x"), nil
		}
		return 0, boom
	}, sink.Write)
	buf := make([]byte, 4)
	if n, err := f.Read(buf); n != 1 || err != nil {
		t.Fatalf("first Read = %d, %v", n, err)
	}
	if _, err := f.Read(buf); !errors.Is(err, boom) {
		t.Fatalf("second Read = %v", err)
	}
	// Seed 004: after an error no read succeeds, and the function is not
	// called again.
	if _, err := f.Read(buf); !errors.Is(err, boom) || calls != 2 {
		t.Fatalf("third Read = %v after %d calls", err, calls)
	}
	if n, err := f.WriteBuffers([][]byte{[]byte("ab"), []byte("c")}); n != 3 || err != nil {
		t.Fatalf("WriteBuffers = %d, %v", n, err)
	}
	if err := f.SetWriteDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("late")); !flowtest.IsTimeout(err) {
		t.Fatalf("Write past deadline = %v", err)
	}
	f.SetDeadline(time.Time{})
	f.CloseWrite()
	if _, err := f.Write([]byte("z")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after CloseWrite = %v", err)
	}
	if sink.String() != "abc" {
		t.Fatalf("sink = %q", sink.String())
	}
	g := flow.FromString("data")
	g.CloseRead()
	if _, err := g.Read(buf); err != io.EOF {
		t.Fatalf("Read after CloseRead = %v", err)
	}
	g.Close()
	g.Close()
	if _, err := g.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v", err)
	}
	if _, err := g.Write(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v", err)
	}
}

func TestErrClosedIsNetErrClosed(t *testing.T) {
	if !errors.Is(flow.ErrClosed, net.ErrClosed) {
		t.Fatal("flow.ErrClosed does not match net.ErrClosed")
	}
}

// Pipe-specific: a peer that Closed makes writes fail; a peer that
// CloseRead drops them.
func TestPipePeerGone(t *testing.T) {
	a, b := flow.Pipe(flow.PipeOptions{BufferSize: 4})
	defer a.Close()
	b.CloseRead()
	if n, err := a.Write(make([]byte, 100)); n != 100 || err != nil {
		t.Fatalf("Write to a peer that shut its read side = %d, %v; want dropped", n, err)
	}
	b.Close()
	if _, err := a.Write([]byte("x")); !errors.Is(err, flow.ErrPeerClosed) {
		t.Fatalf("Write to a closed peer = %v, want ErrPeerClosed", err)
	}
}
