//go:build tamago && arm

package usbarmory

// ARM semihosting exit, for tests under QEMU -semihosting.

import "unsafe"

// Semihosting operations and reasons ("Semihosting for AArch32 and
// AArch64", ARM, v2.0: SYS_EXIT 0x18, SYS_EXIT_EXTENDED 0x20,
// ADP_Stopped_ApplicationExit 0x20026).
const (
	sysExitExtended           = 0x20
	adpStoppedApplicationExit = 0x20026
)

// semihostCall traps to the debugger or QEMU with SVC 0x123456 (ARM state),
// op in r0 and arg in r1, and returns r0. Defined in semihost_arm.s.
func semihostCall(op uint32, arg uintptr) uint32

// exitBlock is the SYS_EXIT_EXTENDED parameter block; global, so QEMU can
// read it at its (identity mapped) address.
var exitBlock [2]uint32

// semihostExit asks QEMU to exit with status code. AArch32 SYS_EXIT only
// tells success from failure; SYS_EXIT_EXTENDED carries the code. It
// returns only if the host ignored the call.
func semihostExit(code int) {
	exitBlock = [2]uint32{adpStoppedApplicationExit, uint32(code)}
	semihostCall(sysExitExtended, uintptr(unsafe.Pointer(&exitBlock)))
}
