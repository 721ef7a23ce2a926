// Exit through ARM semihosting.

//go:build tamago && arm

package qemuvirt

import (
	"unsafe"

	"github.com/usbarmory/tamago/arm"
)

// Semihosting operations (ARM "Semihosting for AArch32 and AArch64",
// §5.6 SYS_EXIT_EXTENDED; reason code ADP_Stopped_ApplicationExit).
const (
	sysExitExtended    = 0x20
	adpApplicationExit = 0x20026
)

func semihosting(op uint32, arg unsafe.Pointer) uint32

// Exit stops the machine. Under QEMU started with -semihosting, QEMU exits
// with status code. Without -semihosting the trap is an ordinary
// supervisor call, and the board halts in WFI instead.
func Exit(code int) {
	print("qemu-virt: exit ", code, "\n")
	// Reached only if QEMU did not take the SVC as semihosting.
	arm.SystemExceptionHandler = func(int) { halt() }
	block := [2]uint32{adpApplicationExit, uint32(code)}
	semihosting(sysExitExtended, unsafe.Pointer(&block))
	halt()
}

// halt stops the CPU for good: interrupts masked at the core and at the
// distributor, the timer alarm off, then WFI with nothing left to wake it.
func halt() {
	print("qemu-virt: halted (QEMU without -semihosting cannot exit)\n")
	ARM.DisableInterrupts(false)
	ARM.SetAlarm(0)
	gicWrite(gicd+gicdCTLR, 0)
	for {
		ARM.WaitInterrupt()
	}
}
