package pcap

import (
	"bytes"
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/clock"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
	"github.com/mirago/mirago/stack/pkt"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

func ethFrame(n int, fill byte) []byte {
	f := make([]byte, n)
	copy(f, inet.BroadcastMAC[:])
	copy(f[6:], []byte{2, 0, 0, 0, 0, 1})
	f[12], f[13] = 0x88, 0xb5
	for i := 14; i < n; i++ {
		f[i] = fill
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	for _, nano := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "x.pcap")
		w, err := Create(path, Options{Nanosecond: nano})
		if err != nil {
			t.Fatal(err)
		}
		f1 := ethFrame(60, 1)
		w.WriteFrame(start, f1)
		b := pkt.New(64, 0)
		copy(b.Append(14), f1[:14])
		b.Attach([]byte("abc"))
		b.Attach([]byte("defg"))
		w.WriteBuf(start.Add(time.Second), b)
		big := ethFrame(SnapLen+100, 2)
		w.WriteFrame(start.Add(2*time.Second), big)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		recs, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 {
			t.Fatalf("%d records", len(recs))
		}
		if !bytes.Equal(recs[0].Data, f1) || recs[0].OrigLen != 60 {
			t.Fatalf("record 0: %x", recs[0].Data)
		}
		want := append(append([]byte(nil), f1[:14]...), "abcdefg"...)
		if !bytes.Equal(recs[1].Data, want) {
			t.Fatalf("record 1: %x, want %x", recs[1].Data, want)
		}
		if len(recs[2].Data) != SnapLen || recs[2].OrigLen != SnapLen+100 {
			t.Fatalf("record 2: %d captured of %d", len(recs[2].Data), recs[2].OrigLen)
		}
		res := time.Microsecond
		if nano {
			res = time.Nanosecond
		}
		if got, want := recs[1].Time, start.Add(time.Second).Truncate(res); !got.Equal(want) {
			t.Fatalf("nano=%v: time %v, want %v", nano, got, want)
		}
	}
}

// fakeDev is a loopback netif.Device: Transmit prepends a 2-byte device
// header (as virtio-net does) and nothing else.
type fakeDev struct {
	h    netif.Handler
	sent int
}

func (d *fakeDev) MAC() inet.MAC              { return inet.MAC{2, 0, 0, 0, 0, 1} }
func (d *fakeDev) MTU() int                   { return 1500 }
func (d *fakeDev) Headroom() int              { return 2 }
func (d *fakeDev) Offloads() netif.Offloads   { return netif.Offloads{} }
func (d *fakeDev) LinkUp() bool               { return true }
func (d *fakeDev) SetHandler(h netif.Handler) { d.h = h }
func (d *fakeDev) Stats() netif.Stats         { return netif.Stats{} }
func (d *fakeDev) Close() error               { return nil }
func (d *fakeDev) Transmit(b *pkt.Buf) error {
	h, err := b.Prepend(2)
	if err != nil {
		return err
	}
	h[0], h[1] = 0xee, 0xee
	d.sent++
	return nil
}

func TestWrapAndTshark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev.pcap")
	w, err := Create(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewVirtual(start)
	fd := &fakeDev{}
	d := Wrap(fd, w, clk)
	var got [][]byte
	d.SetHandler(func(f []byte, _ netif.RxMeta) { got = append(got, f) })
	rx := ethFrame(100, 7)
	fd.h(rx, netif.RxMeta{})
	clk.Advance(time.Millisecond)
	b := pkt.New(200, d.Headroom())
	copy(b.Append(80), ethFrame(80, 9))
	if err := d.Transmit(b); err != nil {
		t.Fatal(err)
	}
	frame := ethFrame(80, 9)
	allocs := testing.AllocsPerRun(100, func() {
		fd.h(rx, netif.RxMeta{})
		b.Reset(d.Headroom())
		copy(b.Append(80), frame)
		d.Transmit(b)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per captured frame pair", allocs)
	}
	d.Close()
	w.Close()
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || !bytes.Equal(recs[0].Data, rx) || len(recs[1].Data) != 80 || recs[1].Data[0] != 0xff {
		t.Fatalf("records: %d, first tx %x", len(recs), recs[1].Data[:4])
	}
	if d := recs[1].Time.Sub(recs[0].Time); d != time.Millisecond {
		t.Fatalf("timestamps %v apart, want 1ms from the clock", d)
	}

	require.Commands(t, "tshark", "tshark")
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.len").Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v", path, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(recs) {
		t.Fatalf("tshark saw %d frames, we wrote %d", len(lines), len(recs))
	}
	for i, l := range lines {
		if n, _ := strconv.Atoi(l); n != recs[i].OrigLen {
			t.Fatalf("frame %d: tshark length %s, want %d", i, l, recs[i].OrigLen)
		}
	}
}

func TestReaderRejectsMalformed(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Options{})
	w.WriteFrame(start, ethFrame(60, 1))
	w.Flush()
	good := buf.Bytes()
	for n := 0; n < len(good); n++ {
		r, err := NewReader(bytes.NewReader(good[:n]))
		if err != nil {
			continue
		}
		if _, err := r.Next(); err == nil {
			t.Fatalf("%d-byte prefix read as a full record", n)
		}
	}
	bad := append([]byte(nil), good...)
	bad[0] = 0
	if _, err := NewReader(bytes.NewReader(bad)); err == nil {
		t.Fatal("bad magic accepted")
	}
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(huge[fileHeaderLen+8:], 1<<30)
	r, _ := NewReader(bytes.NewReader(huge))
	if _, err := r.Next(); err == nil {
		t.Fatal("record longer than the snap length accepted")
	}
}

func TestSnapLenOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.pcap")
	w, err := Create(path, Options{SnapLen: 20})
	if err != nil {
		t.Fatal(err)
	}
	f := ethFrame(60, 1)
	w.WriteFrame(start, f)
	b := pkt.New(64, 0)
	copy(b.Append(14), f[:14])
	b.Attach([]byte("abcdefghij"))
	w.WriteBuf(start, b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadFile(path)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if !bytes.Equal(recs[0].Data, f[:20]) || recs[0].OrigLen != 60 {
		t.Fatalf("record 0: %d of %d bytes", len(recs[0].Data), recs[0].OrigLen)
	}
	if string(recs[1].Data[14:]) != "abcdef" || recs[1].OrigLen != 24 {
		t.Fatalf("record 1: %q of %d", recs[1].Data, recs[1].OrigLen)
	}
}
