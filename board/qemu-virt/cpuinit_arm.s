// cpuinit: the first instructions of the image.

//go:build tamago && arm && linkcpuinit

#include "textflag.h"

// cpuinit is where the runtime starts (runtime/goos.CPUInit jumps here).
// It replaces tamago's arm cpuinit (arm/init.s, left out by the
// linkcpuinit build tag, which mk/baremetal.mk sets for this board) so
// that the RAM size can come from the machine: tamago's sets the stack
// pointer to RamStart+RamSize-RamStackOffset before any Go code runs,
// and the Go heap then grows up to that stack, so RamSize must be known
// here. sizeRAM (mem.go) reads it from the device tree on a small stack
// of its own; the rest is tamago v1.26.0's cpuinit unchanged.
TEXT cpuinit(SB),NOSPLIT|NOFRAME,$0
	MOVW	$·bootStack+2048(SB), R13
	BL	·sizeRAM(SB)

	// set stack pointer
	MOVW	runtime∕goos·RamStart(SB), R13
	MOVW	runtime∕goos·RamSize(SB), R1
	MOVW	runtime∕goos·RamStackOffset(SB), R2
	ADD	R1, R13
	SUB	R2, R13
	MOVW	R13, R3

	// detect HYP mode and switch to SVC if necessary
	WORD	$0xe10f0000	// mrs r0, CPSR
	AND	$0x1f, R0, R0	// get processor mode

	CMP	$0x10, R0	// USR mode
	BL.EQ	_rt0_tamago_start(SB)

	CMP	$0x1a, R0	// HYP mode
	B.NE	after_eret

	BIC	$0x1f, R0
	ORR	$0x1d3, R0	// AIF masked, SVC mode
	MOVW	$12(R15), R14	// add lr, pc, #12 (after_eret)
	WORD	$0xe16ff000	// msr SPSR_fsxc, r0
	WORD	$0xe12ef30e	// msr ELR_hyp, lr
	WORD	$0xe160006e	// eret

after_eret:
	// enter System Mode
	WORD	$0xe321f0df	// msr CPSR_c, 0xdf

	MOVW	R3, R13
	B	_rt0_tamago_start(SB)
