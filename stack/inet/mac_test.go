package inet

import (
	"net"
	"testing"
)

func TestMACStringAndParse(t *testing.T) {
	for _, m := range []MAC{{}, BroadcastMAC, {0x52, 0x54, 0, 0x12, 0x34, 0x56}, {0x0a, 0xb0, 0xc, 0xde, 0xf0, 0x01}} {
		want := net.HardwareAddr(m[:]).String()
		if got := m.String(); got != want {
			t.Errorf("MAC%v.String() = %q, want %q", [6]byte(m), got, want)
		}
		back, err := ParseMAC(m.String())
		if err != nil || back != m {
			t.Errorf("ParseMAC(%q) = %v, %v", m.String(), back, err)
		}
	}
	for _, bad := range []string{"", "52:54:00:12:34", "00:00:5e:00:53:01:02:03", "zz:54:00:12:34:56"} {
		if _, err := ParseMAC(bad); err == nil {
			t.Errorf("ParseMAC(%q) accepted", bad)
		}
	}
}
