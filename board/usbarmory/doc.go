// Package usbarmory is the mirago board glue for the USB armory Mk II LAN
// (NXP i.MX6UL, UA-MKII-LAN) and for QEMU's mcimx6ul-evk machine, which
// boots the same image.
//
// It sits on tamago's board/usbarmory/mk2, which on import supplies the
// runtime hooks (SoC, MMU and cache setup, the UART2 console, the clock and
// the RNG). This package adds what mirago needs on top, with the same small
// API as board/qemu-virt:
//
//	Init() error                   interrupt service, idle governor, banner
//	Net() (netif.Device, error)    the Ethernet MAC as a netif.Device
//	ENET() (*enet.Device, error)   the same, typed (as qemu-virt's VirtioNet)
//	Rand() io.Reader               the board's entropy source
//	Exit(code int)                 stop; under QEMU, exit QEMU with code
//
// The Ethernet is ENET2 on the hardware (the LAN model's DP83825I PHY) and
// ENET1 under QEMU, chosen by imx6ul.Native. The console is UART2, which is
// QEMU's second -serial.
//
// Entropy: on the hardware tamago reads the SoC's generator (RNGB on the
// i.MX6ULL, a CAAM-seeded DRBG on the i.MX6UL) and Rand returns
// crypto/rand.Reader. The emulated SoC has none: tamago then seeds its DRBG
// from the boot time alone, which is nearly constant, so crypto/rand is
// predictable there. Under emulation Rand instead returns a ChaCha8 DRBG
// seeded from timer jitter (see jitter.go) and Init says so on the console.
// Code that calls crypto/rand directly still gets tamago's weak DRBG under
// QEMU; nothing on the emulator is fit for long-term secrets.
//
// Exit uses ARM semihosting (SYS_EXIT_EXTENDED) under QEMU, which needs
// -semihosting on the QEMU command line; without it the trap is an
// unhandled SVC exception. On the hardware Exit halts.
//
// Everything that touches the SoC is built only for GOOS=tamago GOARCH=arm;
// the pure helpers (fuse MAC decoding, the jitter DRBG) and the QEMU boot
// test build on the host.
package usbarmory
