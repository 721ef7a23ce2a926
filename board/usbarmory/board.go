//go:build tamago && arm

package usbarmory

// Init, Net, Rand and Exit: the board API shared with board/qemu-virt.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/usbarmory/tamago/board/usbarmory/mk2"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"

	"github.com/mirago/mirago/drivers/enet"
	"github.com/mirago/mirago/stack/inet"
	"github.com/mirago/mirago/stack/netif"
)

var (
	initOnce sync.Once
	entropy  io.Reader

	netOnce sync.Once
	netDev  *enet.Device
	netErr  error
)

// Init starts the interrupt service and the idle governor and prints the
// board banner. tamago's mk2 has already set up the SoC, caches, timers and
// the UART2 console before main. Init is idempotent and never fails today;
// it returns an error to match the other boards.
func Init() error {
	initOnce.Do(func() {
		_, model := mk2.Model()
		where := "hardware"
		if !imx6ul.Native {
			where = "emulated (QEMU)"
			model = "mcimx6ul-evk"
		}
		fmt.Printf("usbarmory: %s %s, %s\n", imx6ul.Model(), model, where)

		entropy = rand.Reader
		if !imx6ul.Native {
			extra := make([]byte, 32)
			rand.Read(extra)
			entropy = newDRBG(jitterSeed(imx6ul.ARM.Counter, extra))
			fmt.Println("usbarmory: no hardware RNG under emulation; Rand is a ChaCha8 DRBG seeded from timer jitter (not for secrets)")
		}

		limit := limitMemory()
		fmt.Printf("usbarmory: RAM 512 MiB: heap room %d KiB, limit %d KiB; DMA in OCRAM\n", HeapRoom()>>10, limit>>10)
		startInterrupts()
	})
	return nil
}

// Net opens the board's Ethernet MAC as a netif.Device: ENET2 on the USB
// armory Mk II LAN, ENET1 under QEMU. The address is ENET2's fused MAC when
// one is fused, otherwise a random locally administered one from Rand. Net
// opens the controller once; later calls return the same device.
func Net() (netif.Device, error) {
	dev, err := ENET()
	if err != nil {
		return nil, err
	}
	return dev, nil
}

// ENET is Net with the concrete type.
func ENET() (*enet.Device, error) {
	netOnce.Do(func() { netDev, netErr = openNet() })
	return netDev, netErr
}

func openNet() (*enet.Device, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	hw := imx6ul.ENET1
	if imx6ul.Native {
		hw = mk2.ENET2
	}
	if hw == nil {
		// The Mk II models other than the LAN use the i.MX6ULZ, which
		// has no ENET; tamago then leaves ENET1 and ENET2 nil.
		_, model := mk2.Model()
		return nil, errors.New("usbarmory: no Ethernet on this board (" + model + ", " + imx6ul.Model() + "); the UA-MKII-LAN has it")
	}
	mac, err := boardMAC()
	if err != nil {
		return nil, err
	}
	dev, err := enet.Open(hw, mac)
	if err != nil {
		return nil, err
	}
	handleInterrupt(hw.IRQ, dev.Interrupt)
	fmt.Printf("usbarmory: ENET%d %v\n", hw.Index, mac)
	return dev, nil
}

func boardMAC() (inet.MAC, error) {
	if imx6ul.Native {
		mac1, err1 := imx6ul.OCOTP.Read(fuseBankMAC, fuseWordMAC1)
		mac2, err2 := imx6ul.OCOTP.Read(fuseBankMAC, fuseWordMAC2)
		if m := enet2FuseMAC(mac1, mac2); err1 == nil && err2 == nil && usableMAC(m) {
			return m, nil
		}
	}
	return inet.RandomMAC(Rand().Read)
}

// Rand returns the board's entropy source: crypto/rand (the SoC's RNG) on
// the hardware, a timer-jitter-seeded DRBG under emulation.
func Rand() io.Reader {
	Init()
	return entropy
}

// Exit reports code on the console and stops. Under QEMU it exits QEMU
// with status code through semihosting (QEMU needs -semihosting); on the
// hardware it halts the CPU.
func Exit(code int) {
	fmt.Printf("usbarmory: exit %d\n", code)
	if !imx6ul.Native {
		semihostExit(code)
	}
	os.Exit(code)
}
