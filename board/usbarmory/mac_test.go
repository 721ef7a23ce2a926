package usbarmory

import (
	"testing"

	"github.com/mirago/mirago/stack/inet"
)

func TestENET2FuseMAC(t *testing.T) {
	tests := []struct {
		mac1, mac2 uint32
		want       inet.MAC
		usable     bool
	}{
		{0x1a2b0000, 0x00049f01, inet.MAC{0x00, 0x04, 0x9f, 0x01, 0x1a, 0x2b}, true},
		{0x1a2bffff, 0x00049f01, inet.MAC{0x00, 0x04, 0x9f, 0x01, 0x1a, 0x2b}, true}, // ENET1's half ignored
		{0, 0, inet.MAC{}, false}, // unfused
		{0x00000000, 0x01005e00, inet.MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0x00}, false}, // group address
	}
	for _, tt := range tests {
		got := enet2FuseMAC(tt.mac1, tt.mac2)
		if got != tt.want || usableMAC(got) != tt.usable {
			t.Errorf("enet2FuseMAC(%#08x, %#08x) = %v usable %v, want %v usable %v",
				tt.mac1, tt.mac2, got, usableMAC(got), tt.want, tt.usable)
		}
	}
}
