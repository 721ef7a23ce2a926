package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/header"

	"github.com/mirago/mirago/bench/netns"
	"github.com/mirago/mirago/internal/testkit/require"
)

// Handshake is what one side of a connection advertised: the window field
// and window scale option of its SYN (or SYN-ACK), and the receive window
// of its first segment after the handshake (the field shifted by its
// scale).
type Handshake struct {
	SYNWindow int // window field of the SYN or SYN-ACK (never scaled, RFC 7323 §2.2)
	Scale     int // window scale option; -1 if absent
	Window    int // first window after the handshake, scaled
}

// Windows are what client A and server B advertised on one connection,
// and the largest receive window B advertised while A sent it bulk data.
type Windows struct {
	A, B    Handshake
	BulkMax int
}

func (w Windows) String() string {
	return fmt.Sprintf("A: SYN %d scale %d, then %d; B: SYN-ACK %d scale %d, then %d, at most %d in bulk",
		w.A.SYNWindow, w.A.Scale, w.A.Window, w.B.SYNWindow, w.B.Scale, w.B.Window, w.BulkMax)
}

// windowRecorder parses captured frames (gVisor's header package: a parser
// that is not ours) and keeps the handshake fields of the first connection
// to port.
type windowRecorder struct {
	port       uint16
	mu         sync.Mutex
	w          Windows
	synA, synB bool
	gotA, gotB bool
	done       chan struct{} // closed when all four are recorded
}

func (r *windowRecorder) frame(f []byte) {
	eth := header.Ethernet(f)
	if len(f) < header.EthernetMinimumSize || eth.Type() != header.IPv4ProtocolNumber {
		return
	}
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	if !ip.IsValid(len(ip)) || ip.TransportProtocol() != header.TCPProtocolNumber {
		return
	}
	tcp := header.TCP(ip.Payload())
	if len(tcp) < header.TCPMinimumSize || int(tcp.DataOffset()) > len(tcp) {
		return
	}
	fromA := tcp.DestinationPort() == r.port
	if !fromA && tcp.SourcePort() != r.port {
		return
	}
	flags := tcp.Flags()
	r.mu.Lock()
	defer r.mu.Unlock()
	side, syn, got := &r.w.B, &r.synB, &r.gotB
	if fromA {
		side, syn, got = &r.w.A, &r.synA, &r.gotA
	}
	switch {
	case flags.Contains(header.TCPFlagSyn):
		if !*syn {
			*syn = true
			opts := header.ParseSynOptions(tcp.Options(), flags.Contains(header.TCPFlagAck))
			side.SYNWindow, side.Scale = int(tcp.WindowSize()), opts.WS
		}
	case !fromA && r.gotB:
		r.w.BulkMax = max(r.w.BulkMax, int(tcp.WindowSize())<<max(side.Scale, 0))
	case *syn && !*got:
		*got = true
		side.Window = int(tcp.WindowSize()) << max(side.Scale, 0)
		if r.gotA && r.gotB {
			close(r.done)
		}
	}
}

func (r *windowRecorder) result() (Windows, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w, r.synA && r.synB && r.gotA && r.gotB
}

// MeasureWindows opens one connection on variant v (client writes one byte,
// server answers one byte), captures the frames on the link and returns
// what each side advertised.
func MeasureWindows(v Variant) (Windows, error) {
	const port = 6001
	rec := &windowRecorder{port: port, done: make(chan struct{})}
	p, err := v.NewPair(PairOptions{Capture: rec.frame})
	if err != nil {
		return Windows{}, err
	}
	defer p.Close()
	if kp, ok := p.(*netns.Pair); ok {
		stop, err := kp.Capture(rec.frame)
		if err != nil {
			return Windows{}, err
		}
		defer stop()
	}
	ln, err := p.Listen(port)
	if err != nil {
		return Windows{}, err
	}
	defer ln.Close()
	accepted := acceptOne(ln)
	c, err := p.Dial(context.Background(), port)
	if err != nil {
		return Windows{}, err
	}
	defer c.Close()
	a := <-accepted
	if a.err != nil {
		return Windows{}, a.err
	}
	defer a.c.Close()
	b := []byte{1}
	if _, err := c.Write(b); err != nil {
		return Windows{}, err
	}
	if _, err := io.ReadFull(a.c, b); err != nil {
		return Windows{}, err
	}
	if _, err := a.c.Write(b); err != nil {
		return Windows{}, err
	}
	if _, err := io.ReadFull(c, b); err != nil {
		return Windows{}, err
	}
	// The in-process links record a frame before the stack sees it; the
	// kernel pair's capture runs beside the kernel, so wait for it (the
	// timeout only bounds a capture that lost a frame).
	select {
	case <-rec.done:
	case <-time.After(5 * time.Second):
		w, _ := rec.result()
		return w, fmt.Errorf("incomplete capture: %v", w)
	}
	// Bulk: A sends windowBulk bytes, B reads them in 128 KiB reads. The
	// guard turns a stalled transfer into an error.
	g := newGuard(time.Minute)
	defer g.stop()
	g.add(c)
	g.add(a.c)
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 128<<10)
		for n := 0; n < windowBulk; {
			m, err := c.Write(buf[:min(len(buf), windowBulk-n)])
			n += m
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	if n, err := io.CopyN(io.Discard, a.c, windowBulk); err != nil {
		w, _ := rec.result()
		return w, fmt.Errorf("bulk: read %d of %d bytes: %w", n, windowBulk, g.err(err))
	}
	if err := <-errc; err != nil {
		return Windows{}, err
	}
	w, _ := rec.result()
	return w, nil
}

// windowBulk is how much MeasureWindows sends after the handshake.
const windowBulk = 4 << 20

// expectedWindows is one row of the README's table: exact handshake
// fields, and the largest window in bulk, exact, or "auto-tuned" for
// stacks whose receive buffer grows with how fast the reader reads (not
// checked: it depends on the machine's speed).
type expectedWindows struct {
	w         Windows
	autoTuned bool
}

func (e expectedWindows) matches(got Windows) bool {
	if got.A != e.w.A || got.B != e.w.B {
		return false
	}
	// The largest window never above the README's, and within 1/16 of
	// it: how much of the buffer the reader had emptied when B advertised
	// depends on timing.
	return e.autoTuned || got.BulkMax <= e.w.BulkMax && got.BulkMax >= e.w.BulkMax-e.w.BulkMax/16
}

// readmeWindows reads the table under the heading "### Advertised windows"
// in bench/README.md: rows
// | stack | config | A SYN | A scale | A then | B SYN-ACK | B scale | B then | B largest in bulk |
// with "none" for an absent scale option and "auto-tuned" for a largest
// window that is not fixed.
func readmeWindows(t *testing.T) map[string]expectedWindows {
	t.Helper()
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]expectedWindows{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.TrimSpace(line) == "### Advertised windows"
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 9 {
			continue
		}
		var n [7]int
		var autoTuned, ok = false, true
		for i := range n {
			s := strings.ReplaceAll(strings.Trim(strings.TrimSpace(cells[2+i]), "`"), ",", "")
			if i == 6 && s == "auto-tuned" {
				autoTuned = true
				continue
			}
			if s == "none" {
				n[i] = -1
				continue
			}
			if n[i], err = strconv.Atoi(s); err != nil {
				ok = false
			}
		}
		if !ok {
			continue // the header and separator rows
		}
		key := strings.TrimSpace(cells[0]) + " " + strings.Trim(strings.TrimSpace(cells[1]), "`")
		out[key] = expectedWindows{Windows{A: Handshake{n[0], n[1], n[2]}, B: Handshake{n[3], n[4], n[5]}, BulkMax: n[6]}, autoTuned}
	}
	if len(out) == 0 {
		t.Fatal(`bench/README.md has no "### Advertised windows" table`)
	}
	return out
}

// TestAdvertisedWindows captures the SYN, SYN-ACK and first segments of a
// connection on every in-memory variant (and the kernel pair, as root) and
// checks the windows against the table in bench/README.md.
func TestAdvertisedWindows(t *testing.T) {
	want := readmeWindows(t)
	for _, v := range Variants {
		t.Run(strings.ReplaceAll(v.Name(), "/", "-"), func(t *testing.T) {
			if v.Stack == Linux {
				require.Root(t)
				if why := netns.Unavailable(); why != "" {
					require.Missing(t, why)
				}
			}
			got, err := MeasureWindows(v)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[v.Name()]
			if !ok {
				t.Fatalf("bench/README.md lists no windows for %q; measured %v", v.Name(), got)
			}
			if !w.matches(got) {
				t.Errorf("advertised windows %v\nbench/README.md says %v (auto-tuned: %v)", got, w.w, w.autoTuned)
			}
		})
	}
}
