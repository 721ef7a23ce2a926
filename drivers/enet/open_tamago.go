//go:build tamago && arm

package enet

// Open: the binding to tamago's soc/nxp/enet controller.

import (
	"errors"
	"net"

	"github.com/mirago/mirago/stack/inet"
	"github.com/usbarmory/tamago/soc/nxp/enet"
)

// Open initialises hw with address mac, starts its rings and the receive
// goroutine, and unmasks the receive event in the ENET. The caller routes
// the controller's GIC interrupt, hw.IRQ, to Device.Interrupt and enables
// it in the GIC. Open a controller once.
//
// The PHY is set up by hw.EnablePHY (the board's), through MDIO; a PHY that
// never answers stalls Open, as it stalls tamago's ENET.Init.
func Open(hw *enet.ENET, mac inet.MAC) (*Device, error) {
	if hw == nil || hw.Base == 0 || hw.Clock == nil { // ENET.Init panics on these
		return nil, errors.New("enet: no such controller")
	}
	if mac.IsZero() || mac.IsMulticast() {
		return nil, errors.New("enet: MAC " + mac.String() + " is not a unicast address")
	}
	hw.MAC = net.HardwareAddr(append([]byte(nil), mac[:]...))
	hw.Init()
	hw.Start(false)

	// The PHY answers at MDIO address 0 on both targets: the Mk II LAN's
	// DP83825I (mk2.PHY_ADDR) and QEMU's imx.enet PHY.
	p := &hwPort{hw: hw, phy: 0}
	d := newDevice(p, mac)
	p.EnableRxIRQ(true)
	go d.serve()
	return d, nil
}
