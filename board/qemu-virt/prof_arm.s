// The profiler's FIQ vector and virtual timer access (PROF=1 images).

//go:build tamago && arm && mirago_prof

#include "textflag.h"

// profFIQ runs on the virtual timer's FIQ, in FIQ mode, using only the
// registers FIQ mode banks (R8-R12, R14; R10 is g to the assembler), so it saves nothing: it
// acknowledges the interrupt (GICC_IAR), records the interrupted PC
// (LR_fiq - 4) in profRing, re-arms the timer for the next sample,
// signals the end of the interrupt (GICC_EOIR) and returns to the
// interrupted code. R11 is the assembler's temporary for globals, which
// is why nothing outside R8-R12 may be touched.
TEXT ·profFIQ(SB),NOSPLIT|NOFRAME,$0
	MOVW	$0x0801000c, R8		// GICC_IAR
	MOVW	(R8), R9
	MOVW	·profHead(SB), g
	AND	$4095, g, R12		// profRingLen - 1
	MOVW	$·profRing(SB), R8
	ADD	R12<<2, R8
	SUB	$4, R14, R12
	MOVW	R12, (R8)
	ADD	$1, g
	MOVW	g, ·profHead(SB)
	MOVW	$62500, R8		// timerFreq / profHz
	WORD	$0xee0e8f13		// mcr p15, 0, r8, c14, c3, 0 (CNTV_TVAL)
	MOVW	$0x08010010, R8		// GICC_EOIR
	MOVW	R9, (R8)
	WORD	$0xe25ef004		// subs pc, lr, #4

// func writeCNTV(tval, ctl uint32)
TEXT ·writeCNTV(SB),NOSPLIT,$0-8
	MOVW	tval+0(FP), R0
	WORD	$0xee0e0f13	// mcr p15, 0, r0, c14, c3, 0 (CNTV_TVAL)
	MOVW	ctl+4(FP), R0
	WORD	$0xee0e0f33	// mcr p15, 0, r0, c14, c3, 1 (CNTV_CTL)
	WORD	$0xf57ff06f	// isb sy
	RET
