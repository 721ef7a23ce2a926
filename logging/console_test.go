package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// Console must format records as slog's text handler does (without the
// time), so that console logs read the same on the host and on a board.
func TestConsoleMatchesSlogText(t *testing.T) {
	cases := []struct {
		name string
		msg  string
		args []any
	}{
		{"plain", "echo serving", []any{"port", uint16(7)}},
		{"strings", "stack up", []any{"mac", "52:54:00:12:34:56", "ip", "10.0.2.15/24", "empty", ""}},
		{"quoting", "a=b \"c\"", []any{"k", "two words", "eq", "x=y", "ctl", "a\tb", "nbsp", "a\u00a0b", "bad", "\xff"}},
		{"numbers", "n", []any{"i", -3, "i64", int64(1) << 40, "u8", uint8(255), "u32", uint32(7), "u64", uint64(1) << 63, "f", 1.5}},
		{"bool and nil", "b", []any{"t", true, "f", false}},
		{"error", "failed", []any{"err", errors.New("connection refused: no route")}},
		{"duration", "d", []any{"d", 1500 * time.Millisecond}},
		{"stringer", "s", []any{"addr", netip.MustParseAddr("10.0.0.1"), "ap", netip.MustParseAddrPort("10.0.0.1:80")}},
		{"slices", "s", []any{"bytes", []byte("raw data"), "strs", []string{"10.0.2.3", "10.0.2.4"}, "one", []string{"x"}, "none", []string{}}},
		{"float32", "f", []any{"f", float32(0.1)}},
		{"bad key", "k", []any{"dangling"}},
		{"non-string key", "k", []any{7, "x"}},
		{"unicode", "héllo wörld", []any{"k", "ünïcode"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			sl := slog.New(slog.NewTextHandler(&want, &slog.HandlerOptions{
				Level: slog.LevelDebug,
				ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey && len(groups) == 0 {
						return slog.Attr{}
					}
					return a
				},
			}))
			sl.Info(tc.msg, tc.args...)
			NewConsole(&got, LevelDebug).Info(tc.msg, tc.args...)
			if got.String() != want.String() {
				t.Errorf("console wrote\n%q\nslog wrote\n%q", got.String(), want.String())
			}
		})
	}
}

func TestConsoleLevelsAndPrefix(t *testing.T) {
	var buf bytes.Buffer
	c := NewConsole(&buf, LevelInfo, "board", "qemu-virt")
	c.Debug("hidden")
	c.Info("shown", "n", 1)
	c.Warn("careful")
	c.Error("broken", "err", errors.New("x"))
	want := "level=INFO msg=shown board=qemu-virt n=1\n" +
		"level=WARN msg=careful board=qemu-virt\n" +
		"level=ERROR msg=broken board=qemu-virt err=x\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if c.Enabled(LevelDebug) || !c.Enabled(LevelWarn) {
		t.Fatalf("Enabled: debug %v warn %v, want false true", c.Enabled(LevelDebug), c.Enabled(LevelWarn))
	}
}

// Each record reaches the writer in one Write, even with concurrent
// loggers, so console lines never interleave.
func TestConsoleOneWritePerRecord(t *testing.T) {
	w := &countingWriter{}
	c := NewConsole(w, LevelInfo)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				c.Info("line", "g", g, "i", i)
			}
		})
	}
	wg.Wait()
	if w.writes != 800 {
		t.Fatalf("%d writes for 800 records", w.writes)
	}
	for _, line := range strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "level=INFO msg=line g=") {
			t.Fatalf("mangled line %q", line)
		}
	}
}

type countingWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func TestLevelString(t *testing.T) {
	for l, want := range map[Level]string{LevelDebug: "DEBUG", LevelInfo: "INFO", LevelWarn: "WARN", LevelError: "ERROR", 2: "LEVEL(2)"} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d) = %q, want %q", int(l), got, want)
		}
	}
}

func TestOrDiscard(t *testing.T) {
	var nilConsole *Console
	if OrDiscard(nil) != Discard || OrDiscard(nilConsole) != Discard {
		t.Fatal("nil loggers must become Discard")
	}
	c := NewConsole(&bytes.Buffer{}, LevelInfo)
	if OrDiscard(c) != Logger(c) {
		t.Fatal("OrDiscard replaced a real logger")
	}
	var sl Logger = slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	if OrDiscard(sl) != sl {
		t.Fatal("OrDiscard replaced a slog logger")
	}
	Discard.Info("dropped") // must not panic
}

// A record in steady state costs no allocation beyond boxing the
// arguments (the line buffer is reused).
func TestConsoleNoAllocs(t *testing.T) {
	c := NewConsole(discardWriter{}, LevelInfo, "board", "x")
	port := 7
	allocs := testing.AllocsPerRun(100, func() { c.Info("echo serving", "port", port, "ok", true) })
	if allocs > 1 {
		t.Fatalf("%.1f allocations per record", allocs)
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// Kinds the console does not format (it has no fmt) print as their type.
func TestConsoleOtherKinds(t *testing.T) {
	var buf bytes.Buffer
	type point struct{ X, Y int }
	NewConsole(&buf, LevelInfo).Info("o", "list", []int{1, 2}, "p", point{1, 2}, "m", map[string]int{})
	want := `level=INFO msg=o list=<[]int> p=<logging.point> m=<map[string]int>` + "\n"
	if buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}

// With a clock, records start with the time as slog's text handler
// writes it (UTC here, milliseconds).
func TestConsoleClock(t *testing.T) {
	var buf bytes.Buffer
	c := NewConsole(&buf, LevelInfo, "board", "qemu-virt")
	c.Info("before")
	at := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	c.SetClock(func() time.Time { return at })
	c.Info("after", "k", 1)
	var want bytes.Buffer
	h := slog.New(slog.NewTextHandler(&want, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			a.Value = slog.TimeValue(at.UTC())
		}
		return a
	}}))
	h.Info("after", "board", "qemu-virt", "k", 1)
	lines := strings.Split(buf.String(), "\n")
	if lines[0] != `level=INFO msg=before board=qemu-virt` || lines[1]+"\n" != want.String() {
		t.Fatalf("got\n%s\nwant second line\n%s", buf.String(), want.String())
	}
}
