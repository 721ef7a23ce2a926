package bench

import (
	"math"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/mirago/mirago/internal/testkit/require"
)

// TestGuestSkipped: without the Linux guest (or the toolchain, or QEMU)
// every guest row is reported skipped, with the reason, and no error.
func TestGuestSkipped(t *testing.T) {
	saved := guestProbe
	guestProbe = func() (GuestEnv, string) { return GuestEnv{}, "the Linux guest cannot be had: test" }
	defer func() { guestProbe = saved }()
	ms, err := Run(Options{Sizes: Tiny(), Only: []string{"guest"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(guestMetrics()) {
		t.Fatalf("%d rows, want %d", len(ms), len(guestMetrics()))
	}
	for _, m := range ms {
		if len(m.Rows) != 0 || !strings.HasPrefix(m.Note, "skipped: ") {
			t.Errorf("%s: rows %v, note %q", m.Bench, m.Rows, m.Note)
		}
		for _, tg := range m.Targets {
			if tg.Vs != Linux {
				t.Errorf("%s: target %v is not against the Linux guest", m.Bench, tg)
			}
		}
	}
}

// TestGuestRatio: a guest row divides mirago's figure by the Linux
// guest's, names both in the JSON lines and is judged by the ratio.
func TestGuestRatio(t *testing.T) {
	m := guestMetrics()[1] // guest.boot: <= 0.1x
	m.Add(GuestMirago, guestConfig[GuestMirago], Sample{Value: 0.2})
	m.Add(GuestLinux, guestConfig[GuestLinux], Sample{Value: 5})
	if r := m.Ratio(Linux); math.Abs(r-0.04) > 1e-9 {
		t.Fatalf("ratio %v, want 0.04", r)
	}
	if met, ok := m.Met(m.Targets[0]); !met || !ok {
		t.Fatalf("Met = %v, %v", met, ok)
	}
	var stacks []string
	for _, l := range Lines([]*Metric{m}) {
		stacks = append(stacks, l.Stack+"/"+l.Config+l.Vs)
	}
	if strings.Join(stacks, ",") != "mirago/echo,linux/guest,ratio/linux" {
		t.Fatalf("JSON lines for %v", stacks)
	}
	var b strings.Builder
	WriteTable(&b, []*Metric{m})
	if !strings.Contains(b.String(), "0.04x") || !strings.Contains(b.String(), "<= 0.1x") {
		t.Fatalf("table lacks the ratio or target:\n%s", b.String())
	}
}

func TestQEMUMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		// skip-ok: a platform without /proc, not a missing requirement.
		t.Skip("skipping: reads /proc")
	}
	rss, hwm, err := qemuMemory(os.Getpid())
	if err != nil || rss == 0 || hwm < rss {
		t.Fatalf("qemuMemory(self) = %d, %d, %v", rss, hwm, err)
	}
	if _, _, err := qemuMemory(-1); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}

// TestGuest runs the guest workload for real at a tiny size: the mirago
// image and the Linux guest (built from Debian packages by
// bench/linuxguest/build.sh) are booted under QEMU, echo through user
// networking (and a TAP, as root), and have their smallest RAM bisected
// coarsely. Without the packages, the toolchain or QEMU it skips, or
// fails under CI=true.
func TestGuest(t *testing.T) {
	// -short is for quick runs by hand; CI and make test never set it.
	if testing.Short() {
		t.Skip("skipping: boots a Linux guest (not in -short mode)")
	}
	require.Toolchain(t)
	require.Commands(t, "qemu-system-arm", "qemu-system-arm")
	require.Commands(t, "make", "make")
	if _, why := guestProbe(); why != "" {
		require.Missing(t, why)
	}
	ms, err := Run(Options{Sizes: Tiny(), Only: []string{"guest"}, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.HasPrefix(m.Note, "skipped: ") {
			t.Logf("%s: %s", m.Bench, m.Note)
			continue
		}
		for _, g := range []string{GuestMirago, GuestLinux} {
			if v, ok := m.Value(g); !ok || v <= 0 {
				t.Errorf("%s: no %s value (%v)", m.Bench, g, v)
			}
		}
		mi, _ := m.Value(GuestMirago)
		li, _ := m.Value(GuestLinux)
		t.Logf("%s: mirago %.3g linux %.3g ratio %.2f %s", m.Bench, mi, li, m.Ratio(Linux), m.Unit)
	}
}
