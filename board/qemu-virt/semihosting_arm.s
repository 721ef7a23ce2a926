// ARM semihosting trap.

//go:build tamago && arm

#include "textflag.h"

// func semihosting(op uint32, arg unsafe.Pointer) uint32
//
// ARM semihosting trap in A32 state: SVC 0x123456 with the operation in R0
// and the parameter in R1 (ARM "Semihosting for AArch32 and AArch64",
// §2.1.1). QEMU honours it with -semihosting.
TEXT ·semihosting(SB),NOSPLIT,$0-12
	MOVW	op+0(FP), R0
	MOVW	arg+4(FP), R1
	WORD	$0xef123456 // svc 0x123456
	MOVW	R0, ret+8(FP)
	RET
