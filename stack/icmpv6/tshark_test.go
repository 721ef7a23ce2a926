package icmpv6

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirago/mirago/drivers/pcap"
	"github.com/mirago/mirago/internal/testkit/require"
	"github.com/mirago/mirago/stack/inet"
)

// TestMessagesTshark writes the errors our encoder builds, as the layer
// sends them, into a capture and has Wireshark's dissector read type,
// code, MTU, pointer and checksum back.
func TestMessagesTshark(t *testing.T) {
	require.Commands(t, "tshark", "tshark")
	capture := filepath.Join(t.TempDir(), "icmpv6.pcap")
	w, err := pcap.Create(capture, pcap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{})
	o := offending(peerAddr, ourAddr, inet.ProtoDestOpts, []byte{inet.ProtoUDP, 0, 0x9e, 0, 0, 0, 0, 0})
	e.icmp.SendParamProblem(CodeUnknownOption, 42, o)
	e.icmp.SendUnreachable(CodePortUnreachable, o)
	e.icmp.SendTimeExceeded(CodeReasmTimeout, o)
	m := make([]byte, 8+len(o))
	(&Fields{Type: TypePacketTooBig, Rest: 1400, Body: o}).Encode(m)
	SetChecksum(m, peerAddr, ourAddr, 0, 0)
	e.link.out = append(e.link.out, sent{data: packet(peerAddr, ourAddr, inet.ProtoICMPv6, m)})
	for _, s := range e.link.out {
		f := make([]byte, 14+len(s.data))
		f[12], f[13] = 0x86, 0xdd
		copy(f[14:], s.data)
		w.WriteFrame(time.Unix(0, 0), f)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", capture, "-T", "fields", "-E", "separator=;",
		"-e", "icmpv6.type", "-e", "icmpv6.code", "-e", "icmpv6.mtu", "-e", "icmpv6.pointer",
		"-e", "icmpv6.checksum.status", "-e", "ipv6.dst").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	// The checksum status is 1 (good); each error's dst is the offender.
	want := []string{
		"4;2;;42;1;2001:db8::2",
		"1;4;;;1;2001:db8::2",
		"3;1;;;1;2001:db8::2",
		"2;0;1400;;1;2001:db8::15",
	}
	if len(got) != len(want) {
		t.Fatalf("tshark read %d messages:\n%s", len(got), out)
	}
	for i := range want {
		// tshark prints the quoted packet's fields too: compare the first
		// value of each.
		if first(got[i]) != want[i] {
			t.Errorf("message %d: tshark reads %q, want %q", i+1, got[i], want[i])
		}
	}
}

// first keeps the first of each comma-separated field (tshark lists the
// quoted packet's values after the outer ones).
func first(line string) string {
	f := strings.Split(line, ";")
	for i := range f {
		f[i], _, _ = strings.Cut(f[i], ",")
	}
	return strings.Join(f, ";")
}
