// ARM semihosting trap, see semihost.go.

//go:build tamago

#include "textflag.h"

// func semihostCall(op uint32, arg uintptr) uint32
TEXT ·semihostCall(SB),NOSPLIT,$0-12
	MOVW	op+0(FP), R0
	MOVW	arg+4(FP), R1
	WORD	$0xef123456 // svc 0x123456
	MOVW	R0, ret+8(FP)
	RET
