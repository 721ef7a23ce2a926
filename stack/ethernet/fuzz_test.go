package ethernet

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

// FuzzParseFrame checks that parsing and dispatch never panic and that the
// counters add up.
func FuzzParseFrame(f *testing.F) {
	f.Add(arpRequest)
	f.Add(arpRequest[:13])
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err == nil {
			if len(b) < HeaderLen || len(fr.Payload()) != len(b)-HeaderLen {
				t.Fatalf("accepted %d bytes, payload %d", len(b), len(fr.Payload()))
			}
			_, _, _ = fr.Dst(), fr.Src(), fr.Type()
		} else if len(b) >= HeaderLen {
			t.Fatalf("rejected %d bytes: %v", len(b), err)
		}
		l := New(&fakeDev{mac: macGuest})
		if len(b) >= 6 && len(b)%2 == 0 {
			l.JoinGroup(inet.MAC(b[:6]))
		}
		l.Register(inet.EtherTypeARP, func(src, dst inet.MAC, p []byte, _ netif.RxMeta) {})
		l.Register(inet.EtherTypeIPv4, func(src, dst inet.MAC, p []byte, _ netif.RxMeta) {})
		l.Input(b, netif.RxMeta{})
		s := l.StatsLocked()
		if s.RxFrames != 1 || s.RxDelivered+s.RxRunt+s.RxNotForUs+s.RxBadSource+s.RxUnknownType+s.RxVLAN != 1 {
			t.Fatalf("counters do not add up: %+v", s)
		}
	})
}
