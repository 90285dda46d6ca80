/* coro_aarch64.S: the coroutine context switch for AArch64 (AAPCS64). A
 * context is a stack pointer; everything the ABI says a call preserves is
 * stored on that stack. Only coro.c calls this; it knows nothing of struct coro. */

#if defined(__aarch64__)

/* The saved context, 176 bytes from the saved stack pointer up (sp stays
 * 16-byte aligned throughout):
 *     0 x19 x20   16 x21 x22   32 x23 x24   48 x25 x26   64 x27 x28
 *    80 x29 x30   96 d8 d9    112 d10 d11  128 d12 d13  144 d14 d15
 *   160 FPCR, padding
 * Only the low 64 bits of v8-v15 are callee-saved; the rest is dead across
 * the call by the ABI. x18 is the platform register: never touched. */

	.text

/* void coro_switch(void **save, void *load) */
	.globl	coro_switch
	.hidden	coro_switch
	.type	coro_switch, %function
	.p2align 4
coro_switch:
	sub	sp, sp, #176
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]
	/* FPCR (rounding mode, flush-to-zero) is callee-saved: a coroutine
	 * that changes it keeps it to itself. */
	mrs	x9, fpcr
	str	x9, [sp, #160]
	mov	x10, sp
	str	x10, [x0]

	mov	sp, x1
	ldr	x10, [sp, #160]
	/* Writing FPCR can stall the pipeline, and the two sides nearly
	 * always agree: write it only when they do not. */
	cmp	x9, x10
	b.eq	1f
	msr	fpcr, x10
1:	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #176
	ret
	.size	coro_switch, .-coro_switch

/* A new context's first return lands here with entry in x19 and sp at the
 * 16-byte aligned top of the stack. blr leaves a return address that points
 * at the brk, so a return from entry (it never should) traps instead of
 * running off into the record above; x29 is 0, which ends frame chains. */
	.type	coro_trampoline, %function
	.p2align 2
coro_trampoline:
	blr	x19
	brk	#0xc0
	.size	coro_trampoline, .-coro_trampoline

/* void *coro_stack_init(void *top, void (*entry)(void)); top 16-byte aligned */
	.globl	coro_stack_init
	.hidden	coro_stack_init
	.type	coro_stack_init, %function
	.p2align 4
coro_stack_init:
	sub	x0, x0, #176
	stp	x1, xzr, [x0, #0]	/* x19 = entry, for the trampoline */
	stp	xzr, xzr, [x0, #16]
	stp	xzr, xzr, [x0, #32]
	stp	xzr, xzr, [x0, #48]
	stp	xzr, xzr, [x0, #64]
	adr	x9, coro_trampoline
	stp	xzr, x9, [x0, #80]	/* x29 = 0; x30: where coro_switch returns */
	stp	xzr, xzr, [x0, #96]
	stp	xzr, xzr, [x0, #112]
	stp	xzr, xzr, [x0, #128]
	stp	xzr, xzr, [x0, #144]
	/* Inherit the creator's FPCR, as a new thread does. */
	mrs	x9, fpcr
	stp	x9, xzr, [x0, #160]
	ret
	.size	coro_stack_init, .-coro_stack_init

#endif

/* Outside the guard: an object without this note makes the linker give the
 * whole program an executable stack. %progbits, not @progbits: on some
 * architectures '@' starts a comment. */
	.section .note.GNU-stack,"",%progbits
