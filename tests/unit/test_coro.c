/* test_coro: unit tests for coro.c and its context switch: values across
 * switches, nesting, FP control state and callee-saved registers, the stack
 * pool's memory bounds, and the guard page. Whatever must crash or exhaust the
 * address space does it in a fork()ed child that reports by exit status. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coro.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define STACK (64 * 1024)

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t round_to_page(size_t n)
{
	return (n + page_size() - 1) & ~(page_size() - 1);
}

/* ---- FP control state, read and set without libm ---- */

enum rounding { RND_NEAREST, RND_DOWN, RND_UP, RND_ZERO };

#if defined(__x86_64__)
/* MXCSR RC, bits 13-14: 00 nearest, 01 down, 10 up, 11 toward zero. */
static unsigned fp_rounding(void)
{
	unsigned csr;

	__asm__ volatile("stmxcsr %0" : "=m"(csr));
	return (csr >> 13) & 3;
}

static void fp_set_rounding(unsigned mode)
{
	unsigned csr;

	__asm__ volatile("stmxcsr %0" : "=m"(csr));
	csr = (csr & ~(3u << 13)) | (mode << 13);
	__asm__ volatile("ldmxcsr %0" : : "m"(csr) : "memory");
}

/* The x87 control word's RC field, bits 10-11, same encoding. */
static unsigned x87_rounding(void)
{
	unsigned short cw;

	__asm__ volatile("fnstcw %0" : "=m"(cw));
	return (cw >> 10) & 3;
}

static void x87_set_rounding(unsigned mode)
{
	unsigned short cw;

	__asm__ volatile("fnstcw %0" : "=m"(cw));
	cw = (unsigned short)((cw & ~(3u << 10)) | (mode << 10));
	__asm__ volatile("fldcw %0" : : "m"(cw) : "memory");
}
#elif defined(__aarch64__)
/* FPCR RMode, bits 22-23: 00 nearest, 01 up, 10 down, 11 toward zero. */
static const unsigned rmode[] = { 0, 2, 1, 3 };

static unsigned fp_rounding(void)
{
	uint64_t fpcr;

	__asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
	return rmode[(fpcr >> 22) & 3];
}

static void fp_set_rounding(unsigned mode)
{
	uint64_t fpcr;

	__asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
	fpcr = (fpcr & ~(3ull << 22)) | ((uint64_t)rmode[mode] << 22);
	__asm__ volatile("msr fpcr, %0" : : "r"(fpcr) : "memory");
}
#else
#error "test_coro: no FP control helpers for this architecture"
#endif

/* Volatile operands and result: computed at run time, under the rounding mode
 * in force at this point, and not moved past the next switch. */
static double divide(double a, double b)
{
	volatile double va = a, vb = b;
	volatile double r = va / vb;

	return r;
}

/* ---- values in and out ---- */

/* Yields its running sum; a resume value of 0 ends it. */
static void adder(struct coro *co, void *arg)
{
	intptr_t *sum = arg;
	intptr_t in = coro_yield(co, *sum);

	while (in != 0) {
		*sum += in;
		in = coro_yield(co, *sum);
	}
}

static void test_values_pass_in_and_out_through_resume_and_yield(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	intptr_t sum = 100;
	struct coro *co;

	(void)state;
	assert_non_null(pool);
	co = coro_create(pool, adder, &sum);
	assert_non_null(co);
	assert_int_equal(coro_resume(co, 0), 100);
	assert_int_equal(coro_resume(co, 5), 105);
	assert_int_equal(coro_resume(co, -7), 98);
	assert_int_equal(coro_resume(co, INTPTR_MAX - 98), INTPTR_MAX);
	assert_int_equal(coro_resume(co, INTPTR_MIN), -1);
	assert_false(coro_finished(co));
	assert_int_equal(coro_resume(co, 0), 0);
	assert_true(coro_finished(co));
	assert_int_equal(sum, -1);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

static void counter(struct coro *co, void *arg)
{
	intptr_t n = (intptr_t)arg;

	for (intptr_t i = 1; i <= n; i++)
		if (coro_yield(co, i) != i * 2)
			return;
}

static void test_coroutine_yields_many_times_in_order(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	const intptr_t n = 100000;
	struct coro *co;
	intptr_t got = 0, i;

	(void)state;
	co = coro_create(pool, counter, (void *)n);
	assert_non_null(co);
	got = coro_resume(co, 0);
	for (i = 1; i <= n && got == i; i++)
		got = coro_resume(co, i * 2);
	/* all n yields came back in order, then the coroutine returned 0 */
	assert_int_equal(i, n + 1);
	assert_int_equal(got, 0);
	assert_true(coro_finished(co));
	coro_destroy(co);
	coro_pool_destroy(pool);
}

/* ---- lifecycle ---- */

static void two_yields(struct coro *co, void *arg)
{
	int *runs = arg;

	(*runs)++;
	coro_yield(co, 1);
	coro_yield(co, 2);
	(*runs) += 10;
}

static void test_finished_only_after_fn_returns(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	int runs = 0;
	struct coro *co = coro_create(pool, two_yields, &runs);

	(void)state;
	assert_false(coro_finished(co));
	assert_int_equal(runs, 0); /* not run until resumed */
	assert_int_equal(coro_resume(co, 0), 1);
	assert_false(coro_finished(co));
	assert_int_equal(coro_resume(co, 0), 2);
	assert_false(coro_finished(co));
	assert_int_equal(coro_resume(co, 0), 0);
	assert_true(coro_finished(co));
	assert_int_equal(runs, 11);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

static void test_resume_after_finish_returns_0_and_runs_nothing(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	int runs = 0;
	struct coro *co = coro_create(pool, two_yields, &runs);

	(void)state;
	while (!coro_finished(co))
		coro_resume(co, 0);
	assert_int_equal(coro_resume(co, 42), 0);
	assert_int_equal(coro_resume(co, 42), 0);
	assert_true(coro_finished(co));
	assert_int_equal(runs, 11);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

static void never_runs(struct coro *co, void *arg)
{
	(void)co;
	*(int *)arg = 1;
}

static void test_destroy_before_first_resume_never_runs_fn(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	int ran = 0;
	struct coro *co = coro_create(pool, never_runs, &ran);

	(void)state;
	assert_int_equal(coro_pool_mapped(pool), 1);
	coro_destroy(co);
	assert_int_equal(ran, 0);
	assert_int_equal(coro_pool_mapped(pool), 1); /* kept idle */
	coro_pool_destroy(pool);
}

static void test_data_slot_starts_null_even_on_a_reused_stack(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	int x;
	struct coro *co = coro_create(pool, never_runs, &x);
	struct coro *again;

	(void)state;
	assert_null(coro_data(co));
	coro_set_data(co, &x);
	assert_ptr_equal(coro_data(co), &x);
	coro_destroy(co);
	again = coro_create(pool, never_runs, &x);
	assert_ptr_equal(again, co); /* the same stack came back */
	assert_null(coro_data(again));
	coro_destroy(again);
	coro_pool_destroy(pool);
}

/* ---- coro_current and nesting ---- */

struct seen {
	struct coro *self;
	struct coro *in[3];
};

static void records_current(struct coro *co, void *arg)
{
	struct seen *s = arg;

	s->self = co;
	s->in[0] = coro_current();
	coro_yield(co, 0);
	s->in[1] = coro_current();
}

static void test_current_is_null_outside_and_self_inside(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	struct seen s = { 0 };
	struct coro *co = coro_create(pool, records_current, &s);

	(void)state;
	assert_null(coro_current());
	coro_resume(co, 0);
	assert_null(coro_current());
	coro_resume(co, 0);
	assert_null(coro_current());
	assert_ptr_equal(s.self, co);
	assert_ptr_equal(s.in[0], co);
	assert_ptr_equal(s.in[1], co);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

/* A trace of who ran in which order, each step naming coro_current(). */
struct trace {
	struct coro_pool *pool;
	struct coro *outer, *inner;
	char log[32];
	int n;
	int current_ok;
};

static void step(struct trace *t, char c, struct coro *expect_current)
{
	t->log[t->n++] = c;
	if (coro_current() != expect_current)
		t->current_ok = 0;
}

static void nested_inner(struct coro *co, void *arg)
{
	struct trace *t = arg;

	step(t, 'i', co);
	coro_yield(co, 'I');
	step(t, 'j', co);
	coro_yield(co, 'J');
	step(t, 'k', co);
}

static void nested_outer(struct coro *co, void *arg)
{
	struct trace *t = arg;

	step(t, 'o', co);
	t->inner = coro_create(t->pool, nested_inner, t);
	if (coro_resume(t->inner, 0) == 'I')
		step(t, 'p', co);
	coro_yield(co, 'O');
	/* main resumes inner once in between: its yield goes back to main */
	step(t, 'q', co);
	coro_resume(t->inner, 0);
	if (coro_finished(t->inner))
		step(t, 'r', co);
	coro_destroy(t->inner);
}

static void test_nested_resume_yields_back_to_whoever_resumed(void **state)
{
	struct trace t = { .current_ok = 1 };

	(void)state;
	t.pool = coro_pool_create(STACK, 4);
	t.outer = coro_create(t.pool, nested_outer, &t);
	assert_int_equal(coro_resume(t.outer, 0), 'O');
	step(&t, 'M', NULL);
	assert_int_equal(coro_resume(t.inner, 0), 'J');
	step(&t, 'N', NULL);
	assert_int_equal(coro_resume(t.outer, 0), 0);
	step(&t, 'Z', NULL);
	t.log[t.n] = '\0';
	assert_string_equal(t.log, "oipMjNqkrZ");
	assert_true(t.current_ok);
	assert_true(coro_finished(t.outer));
	coro_destroy(t.outer);
	assert_int_equal(coro_pool_mapped(t.pool), 2);
	coro_pool_destroy(t.pool);
}

/* ---- FP control state and callee-saved registers ---- */

struct fp_probe {
	unsigned mode;
	unsigned seen[3];
	double third[3], minus_third[3];
};

static void fp_worker(struct coro *co, void *arg)
{
	struct fp_probe *p = arg;

	fp_set_rounding(p->mode);
	for (int i = 0; i < 3; i++) {
		p->seen[i] = fp_rounding();
		p->third[i] = divide(1, 3);
		p->minus_third[i] = divide(-1, 3);
		coro_yield(co, 0);
	}
}

static double divide_under(unsigned mode, double a, double b)
{
	double r;

	fp_set_rounding(mode);
	r = divide(a, b);
	fp_set_rounding(RND_NEAREST);
	return r;
}

static void test_fp_rounding_mode_stays_with_its_coroutine(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	struct fp_probe up = { .mode = RND_UP }, down = { .mode = RND_DOWN };
	double third_near = divide(1, 3), minus_near = divide(-1, 3);
	double third_up = divide_under(RND_UP, 1, 3);
	double minus_down = divide_under(RND_DOWN, -1, 3);
	struct coro *a = coro_create(pool, fp_worker, &up);
	struct coro *b = coro_create(pool, fp_worker, &down);

	/* Valgrind keeps MXCSR but does SSE arithmetic rounding to nearest
	 * whatever it says: there, only the register itself is checked. */
	bool math = !RUNNING_ON_VALGRIND;

	(void)state;
	/* the modes must be observable, or this test could not fail */
	assert_true(!math || third_up != third_near);
	assert_true(!math || minus_down != minus_near);
	assert_int_equal(fp_rounding(), RND_NEAREST);
	while (!coro_finished(a) || !coro_finished(b)) {
		coro_resume(a, 0);
		assert_int_equal(fp_rounding(), RND_NEAREST);
		assert_true(divide(1, 3) == third_near);
		coro_resume(b, 0);
		assert_int_equal(fp_rounding(), RND_NEAREST);
		assert_true(divide(-1, 3) == minus_near);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(up.seen[i], RND_UP);
		assert_true(!math || up.third[i] == third_up);
		assert_int_equal(down.seen[i], RND_DOWN);
		assert_true(!math || down.minus_third[i] == minus_down);
	}
	coro_destroy(a);
	coro_destroy(b);
	coro_pool_destroy(pool);
}

static void reports_rounding(struct coro *co, void *arg)
{
	(void)arg;
	coro_yield(co, (intptr_t)fp_rounding());
}

static void test_new_coroutine_starts_with_its_creators_rounding_mode(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	struct coro *co;

	(void)state;
	fp_set_rounding(RND_ZERO);
	co = coro_create(pool, reports_rounding, NULL);
	fp_set_rounding(RND_NEAREST);
	assert_int_equal(coro_resume(co, 0), RND_ZERO);
	assert_int_equal(fp_rounding(), RND_NEAREST);
	coro_resume(co, 0);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

#if defined(__x86_64__)
static void x87_worker(struct coro *co, void *arg)
{
	unsigned *seen = arg;

	x87_set_rounding(RND_ZERO);
	coro_yield(co, 0);
	seen[0] = x87_rounding();
	x87_set_rounding(RND_UP);
	coro_yield(co, 0);
	seen[1] = x87_rounding();
}

static void test_x87_control_word_stays_with_its_coroutine(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	unsigned seen[2] = { 9, 9 };
	struct coro *co = coro_create(pool, x87_worker, seen);

	(void)state;
	assert_int_equal(x87_rounding(), RND_NEAREST);
	coro_resume(co, 0);
	assert_int_equal(x87_rounding(), RND_NEAREST);
	x87_set_rounding(RND_DOWN); /* the scheduler's own change stays here */
	coro_resume(co, 0);
	assert_int_equal(x87_rounding(), RND_DOWN);
	x87_set_rounding(RND_NEAREST);
	coro_resume(co, 0);
	assert_int_equal(x87_rounding(), RND_NEAREST);
	assert_int_equal(seen[0], RND_ZERO);
	assert_int_equal(seen[1], RND_UP);
	assert_true(coro_finished(co));
	coro_destroy(co);
	coro_pool_destroy(pool);
}
#endif

/* Sixteen values live across every pause(): at -O2 the compiler keeps as many
 * as it can in callee-saved registers (rbx, rbp, r12-r15; x19-x28, d8-d15),
 * which only survive if the switch saves them. */
typedef void (*pause_fn)(void *ctx);

static uint64_t bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

__attribute__((noinline)) static uint64_t churn(uint64_t seed, pause_fn pause, void *ctx)
{
	uint64_t a = seed + 1, b = seed * 3, c = seed ^ 0x5555, d = seed << 7;
	uint64_t e = seed * seed, f = ~seed, g = seed + 0x1234567, h = seed >> 3;
	double x = (double)seed, y = x * 0.5, z = x + 1.25, w = x - 3.5;
	double u = x * 1.5, v = x / 7.0, s = x + 0.125, t = x * 0.75;

	for (uint64_t i = 0; i < 8; i++) {
		pause(ctx);
		a += b ^ i;
		b += c * 3;
		c ^= d + i;
		d += e >> 1;
		e -= f;
		f += g ^ a;
		g ^= h + b;
		h += a;
		x += y;
		y *= 1.0001;
		z -= w * 0.5;
		w += u;
		u *= 0.999;
		v += s;
		s -= t;
		t += x * 1e-6;
	}
	return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ bits(x) ^ bits(y) ^ bits(z) ^ bits(w) ^
	       bits(u) ^ bits(v) ^ bits(s) ^ bits(t);
}

static void no_pause(void *ctx)
{
	(void)ctx;
}

static void pause_by_yield(void *ctx)
{
	coro_yield(ctx, 0);
}

static void pause_by_resume(void *ctx)
{
	coro_resume(ctx, 0);
}

struct churn_job {
	uint64_t seed, result;
};

static void churner(struct coro *co, void *arg)
{
	struct churn_job *job = arg;

	job->result = churn(job->seed, pause_by_yield, co);
}

static void test_callee_saved_registers_survive_switches(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	struct churn_job job = { .seed = 0x9e3779b97f4a7c15ull };
	uint64_t want_co = churn(job.seed, no_pause, NULL);
	uint64_t want_main = churn(12345, no_pause, NULL);
	struct coro *co = coro_create(pool, churner, &job);
	uint64_t got_main;

	(void)state;
	/* both sides hold live values across each switch */
	got_main = churn(12345, pause_by_resume, co);
	assert_false(coro_finished(co));
	coro_resume(co, 0);
	assert_true(coro_finished(co));
	assert_true(job.result == want_co);
	assert_true(got_main == want_main);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

/* The compiler-driven test above can miss a register both sides happen to
 * hold the same value in (coro_resume and coro_yield both keep `co` in one).
 * test_coro_regs_across, in assembly, loads every callee-saved register with
 * seed + k, calls fn(ctx), and returns a bit k for each register that came
 * back changed. */
unsigned test_coro_regs_across(pause_fn fn, void *ctx, uint64_t seed);

#if defined(__x86_64__)
#define REG_CHECK(reg, k)                                                      \
	"	leaq " #k "(%rdx), %rcx\n"                                     \
	"	cmpq %rcx, %" #reg "\n"                                        \
	"	je 1f\n"                                                       \
	"	orl $(1 << " #k "), %eax\n"                                    \
	"1:\n"
__asm__(".text\n"
	".globl test_coro_regs_across\n"
	".type test_coro_regs_across, @function\n"
	"test_coro_regs_across:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	movq %rdx, (%rsp)\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	leaq 1(%rdx), %rbx\n"
	"	leaq 2(%rdx), %rbp\n"
	"	leaq 3(%rdx), %r12\n"
	"	leaq 4(%rdx), %r13\n"
	"	leaq 5(%rdx), %r14\n"
	"	leaq 6(%rdx), %r15\n"
	"	callq *%rax\n"
	"	movq (%rsp), %rdx\n"
	"	xorl %eax, %eax\n"
	REG_CHECK(rbx, 1) REG_CHECK(rbp, 2) REG_CHECK(r12, 3)
	REG_CHECK(r13, 4) REG_CHECK(r14, 5) REG_CHECK(r15, 6)
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size test_coro_regs_across, .-test_coro_regs_across\n");
#elif defined(__aarch64__)
#define REG_CHECK(reg, k)                                                      \
	"	add x10, x2, #" #k "\n"                                        \
	"	cmp " #reg ", x10\n"                                           \
	"	b.eq 1f\n"                                                     \
	"	orr x0, x0, #(1 << " #k ")\n"                                  \
	"1:\n"
#define D_SET(reg, k) "	add x10, x2, #" #k "\n	fmov " #reg ", x10\n"
#define D_CHECK(reg, k) "	fmov x11, " #reg "\n" REG_CHECK(x11, k)
__asm__(".text\n"
	".globl test_coro_regs_across\n"
	".type test_coro_regs_across, %function\n"
	"test_coro_regs_across:\n"
	"	stp x29, x30, [sp, #-176]!\n"
	"	stp x19, x20, [sp, #16]\n"
	"	stp x21, x22, [sp, #32]\n"
	"	stp x23, x24, [sp, #48]\n"
	"	stp x25, x26, [sp, #64]\n"
	"	stp x27, x28, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	str x2, [sp, #160]\n"
	"	mov x9, x0\n"
	"	mov x0, x1\n"
	"	add x19, x2, #1\n	add x20, x2, #2\n	add x21, x2, #3\n"
	"	add x22, x2, #4\n	add x23, x2, #5\n	add x24, x2, #6\n"
	"	add x25, x2, #7\n	add x26, x2, #8\n	add x27, x2, #9\n"
	"	add x28, x2, #10\n	add x29, x2, #11\n"
	D_SET(d8, 12) D_SET(d9, 13) D_SET(d10, 14) D_SET(d11, 15)
	D_SET(d12, 16) D_SET(d13, 17) D_SET(d14, 18) D_SET(d15, 19)
	"	blr x9\n"
	"	ldr x2, [sp, #160]\n"
	"	mov x0, #0\n"
	REG_CHECK(x19, 1) REG_CHECK(x20, 2) REG_CHECK(x21, 3) REG_CHECK(x22, 4)
	REG_CHECK(x23, 5) REG_CHECK(x24, 6) REG_CHECK(x25, 7) REG_CHECK(x26, 8)
	REG_CHECK(x27, 9) REG_CHECK(x28, 10) REG_CHECK(x29, 11)
	D_CHECK(d8, 12) D_CHECK(d9, 13) D_CHECK(d10, 14) D_CHECK(d11, 15)
	D_CHECK(d12, 16) D_CHECK(d13, 17) D_CHECK(d14, 18) D_CHECK(d15, 19)
	"	ldp x19, x20, [sp, #16]\n"
	"	ldp x21, x22, [sp, #32]\n"
	"	ldp x23, x24, [sp, #48]\n"
	"	ldp x25, x26, [sp, #64]\n"
	"	ldp x27, x28, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	ldp x29, x30, [sp], #176\n"
	"	ret\n"
	".size test_coro_regs_across, .-test_coro_regs_across\n");
#endif

struct regs_job {
	unsigned bad;
};

static void regs_keeper(struct coro *co, void *arg)
{
	struct regs_job *job = arg;

	for (uint64_t i = 0; i < 4; i++)
		job->bad |= test_coro_regs_across(pause_by_yield, co, 0x1000 * i + 0xc0);
}

static void test_each_callee_saved_register_survives_switches(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	struct regs_job job = { 0 };
	struct coro *co = coro_create(pool, regs_keeper, &job);
	unsigned bad = 0;

	(void)state;
	/* both sides hold distinct patterns in every register at each switch */
	for (uint64_t i = 0; i < 4; i++)
		bad |= test_coro_regs_across(pause_by_resume, co, 0x1000 * i + 0xa0);
	coro_resume(co, 0);
	assert_true(coro_finished(co));
	assert_int_equal(job.bad, 0);
	assert_int_equal(bad, 0);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

/* The test above goes through coro_resume and coro_yield, which themselves
 * keep `co` in a callee-saved register on both sides, so a register the
 * switch forgot could come back right by luck. Here the switch is called
 * bare, from wrappers that use no callee-saved register: whatever the
 * switch does not restore shows. (coro_switch and coro_stack_init are
 * internal: declared in coro.c, defined in coro_<arch>.S.) */
void coro_switch(void **save, void *load);
void *coro_stack_init(void *top, void (*entry)(void));

static void *bare_main_sp, *bare_side_sp;
static unsigned bare_side_bad;

static void bare_to_side(void *ctx)
{
	(void)ctx;
	coro_switch(&bare_main_sp, bare_side_sp);
}

static void bare_to_main(void *ctx)
{
	(void)ctx;
	coro_switch(&bare_side_sp, bare_main_sp);
}

__attribute__((noreturn)) static void bare_side(void)
{
	for (uint64_t i = 0; i < 4; i++)
		bare_side_bad |= test_coro_regs_across(bare_to_main, NULL, 0x2000 * i + 0xe0);
	for (;;) /* abandoned here: nobody switches back */
		coro_switch(&bare_side_sp, bare_main_sp);
}

static void test_bare_switch_restores_every_callee_saved_register(void **state)
{
	static _Alignas(64) char stack[64 * 1024];
	unsigned bad = 0;

	(void)state;
#if defined(VALGRIND_STACK_REGISTER)
	VALGRIND_STACK_REGISTER(stack, stack + sizeof(stack));
#endif
	bare_side_bad = 0;
	bare_side_sp = coro_stack_init(stack + sizeof(stack), bare_side);
	/* five switches there and back; the side checks after each of its four */
	for (uint64_t i = 0; i < 5; i++)
		bad |= test_coro_regs_across(bare_to_side, NULL, 0x3000 * i + 0xf0);
	assert_int_equal(bare_side_bad, 0);
	assert_int_equal(bad, 0);
}

static void alignment(struct coro *co, void *arg)
{
	_Alignas(16) volatile char buf[16];
	uintptr_t p = (uintptr_t)buf;

	(void)co;
	/* hide p's origin, or the compiler folds the test to "aligned" */
	__asm__ volatile("" : "+r"(p));
	buf[0] = 0;
	*(uintptr_t *)arg = p & 15;
}

static void test_stack_is_16_byte_aligned_at_fn_entry(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	uintptr_t misalign = 99;
	struct coro *co = coro_create(pool, alignment, &misalign);

	(void)state;
	coro_resume(co, 0);
	assert_int_equal(misalign, 0);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

/* ---- the pool ---- */

static void test_freed_stacks_are_reused_lifo_up_to_max_idle(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 2);
	struct coro *c[4], *again[3];
	int x;

	(void)state;
	for (int i = 0; i < 4; i++)
		c[i] = coro_create(pool, never_runs, &x);
	assert_int_equal(coro_pool_mapped(pool), 4);
	for (int i = 0; i < 4; i++)
		coro_destroy(c[i]);
	assert_int_equal(coro_pool_mapped(pool), 2); /* c[2], c[3] unmapped */
	again[0] = coro_create(pool, never_runs, &x);
	again[1] = coro_create(pool, never_runs, &x);
	assert_ptr_equal(again[0], c[1]);
	assert_ptr_equal(again[1], c[0]);
	assert_int_equal(coro_pool_mapped(pool), 2);
	again[2] = coro_create(pool, never_runs, &x);
	assert_non_null(again[2]);
	assert_int_equal(coro_pool_mapped(pool), 3);
	for (int i = 0; i < 3; i++)
		coro_destroy(again[i]);
	assert_int_equal(coro_pool_mapped(pool), 2);
	coro_pool_destroy(pool);
}

static long vm_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Touches 8 KiB of its stack, so a leaked or never-reused stack shows in RSS. */
static void toucher(struct coro *co, void *arg)
{
	volatile char buf[8192];

	buf[0] = 1;
	buf[sizeof(buf) - 1] = 1;
	coro_yield(co, 1);
	*(long *)arg += buf[0] + buf[sizeof(buf) - 1];
}

static void test_100000_coroutines_without_memory_growth(void **state)
{
	enum { TOTAL = 100000, BATCH = 64, IDLE = 16 };
	struct coro_pool *pool = coro_pool_create(STACK, IDLE);
	struct coro *batch[BATCH];
	long ran = 0, rss_early = -1, rss_late;
	size_t most_mapped = 0;
	int created = 0, bad = 0;

	(void)state;
	assert_non_null(pool);
	while (created < TOTAL) {
		for (int i = 0; i < BATCH; i++) {
			batch[i] = coro_create(pool, toucher, &ran);
			if (!batch[i] || coro_resume(batch[i], 0) != 1)
				bad++;
		}
		if (coro_pool_mapped(pool) > most_mapped)
			most_mapped = coro_pool_mapped(pool);
		for (int i = 0; i < BATCH; i++) {
			if (batch[i]) {
				coro_resume(batch[i], 0);
				bad += !coro_finished(batch[i]);
				coro_destroy(batch[i]);
			}
		}
		created += BATCH;
		if (rss_early < 0 && created >= 10000)
			rss_early = vm_rss_kib();
	}
	rss_late = vm_rss_kib();
	assert_int_equal(bad, 0);
	assert_int_equal(ran, 2L * created);
	assert_true(most_mapped <= BATCH);
	assert_int_equal(coro_pool_mapped(pool), IDLE);
	assert_true(rss_early > 0);
	print_message("RSS after %d: %ld KiB, after %d: %ld KiB\n", 10000, rss_early,
		      created, rss_late);
	assert_true(rss_late - rss_early <= 1024);
	coro_pool_destroy(pool);
}

/* ---- the guard page, in children ---- */

/* Where the overflowing child got to, in memory it shares with the parent. */
struct dig_probe {
	volatile uintptr_t top, low, limit;
};

static struct dig_probe *probe;

__attribute__((noinline)) static int dig(int n)
{
	volatile char buf[256];

	buf[0] = (char)n;
	probe->low = (uintptr_t)buf;
	if (probe->top - probe->low > probe->limit)
		return 0; /* went past the stack without a fault */
	return dig(n + 1) + buf[0];
}

static void digger(struct coro *co, void *arg)
{
	volatile char here;

	(void)co;
	(void)arg;
	probe->top = (uintptr_t)&here;
	dig(0);
}

/* Runs digger on a stack of stack_size bytes in a child. Returns the depth it
 * reached before the fault, or -1 if the child did not die of SIGSEGV. */
static long overflow_depth(size_t stack_size)
{
	int status;
	pid_t pid;

	probe = mmap(NULL, sizeof(*probe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	assert_true(probe != MAP_FAILED);
	probe->limit = round_to_page(stack_size) + 4 * page_size();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		struct coro_pool *pool = coro_pool_create(stack_size, 1);
		struct coro *co = pool ? coro_create(pool, digger, NULL) : NULL;

		/* cmocka catches SIGSEGV: put the default action back so the
		 * fault kills us, and dump no core while at it */
		signal(SIGSEGV, SIG_DFL);
		setrlimit(RLIMIT_CORE, &none);
		prctl(PR_SET_DUMPABLE, 0);
		if (!co)
			_exit(2);
		coro_resume(co, 0);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV) {
		print_message("child: %s %d, depth %lu\n",
			      WIFSIGNALED(status) ? "signal" : "exit",
			      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			      (unsigned long)(probe->top - probe->low));
		munmap(probe, sizeof(*probe));
		return -1;
	}
	long depth = (long)(probe->top - probe->low);
	munmap(probe, sizeof(*probe));
	return depth;
}

static void test_stack_overflow_dies_with_sigsegv_at_the_guard_page(void **state)
{
	long depth;

	(void)state;
	depth = overflow_depth(STACK);
	assert_true(depth >= 0);
	/* it died at the bottom of its own stack: not early, not below it */
	assert_true(depth > STACK - 1024);
	assert_true(depth <= STACK + (long)page_size());
}

static void test_stack_size_not_a_page_multiple_is_rounded_up(void **state)
{
	size_t asked = page_size() + 904; /* 5000 with 4 KiB pages */
	long depth;

	(void)state;
	depth = overflow_depth(asked);
	assert_true(depth >= 0);
	/* usable up to the next page boundary, well past what was asked */
	assert_true(depth > (long)round_to_page(asked) - 1024);
	assert_true(depth <= (long)round_to_page(asked) + (long)page_size());
}

/* The mapping holding addr, and the one ending where it starts, from maps. */
static void maps_around(uintptr_t addr, char perms[5], char below[5], size_t *below_size)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, start = 0;
	char line[512], p[5];

	perms[0] = below[0] = '\0';
	*below_size = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && lo <= addr && addr < hi) {
			memcpy(perms, p, 5);
			start = lo;
		}
	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && hi == start && start) {
			memcpy(below, p, 5);
			*below_size = hi - lo;
		}
	fclose(f);
}

static void stack_address(struct coro *co, void *arg)
{
	volatile char here;

	(void)co;
	*(uintptr_t *)arg = (uintptr_t)&here;
}

static void test_guard_page_below_the_stack_is_prot_none(void **state)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	uintptr_t addr = 0;
	struct coro *co = coro_create(pool, stack_address, &addr);
	char perms[5], below[5];
	size_t below_size;

	(void)state;
	coro_resume(co, 0);
	maps_around(addr, perms, below, &below_size);
	assert_string_equal(perms, "rw-p");
	assert_string_equal(below, "---p");
	assert_true(below_size >= page_size());
	coro_destroy(co);
	coro_pool_destroy(pool);
}

static void test_create_returns_null_when_mmap_fails(void **state)
{
	enum { MIB = 1024 * 1024, MAX = 64 };
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct coro_pool *pool = coro_pool_create(MIB, 4);
		struct coro *c[MAX];
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		unsigned long kib = 0;
		struct rlimit as;
		int n = 0, x;

		if (!pool)
			_exit(2);
		/* room for a handful of 1 MiB stacks beyond what we use now */
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "VmSize: %lu kB", &kib) == 1)
				break;
		if (f)
			fclose(f);
		if (!kib)
			_exit(3);
		getrlimit(RLIMIT_AS, &as);
		as.rlim_cur = (kib + 8 * 1024) * 1024;
		if (setrlimit(RLIMIT_AS, &as) != 0)
			_exit(4);
		while (n < MAX && (c[n] = coro_create(pool, never_runs, &x)) != NULL)
			n++;
		if (n == MAX)
			_exit(5); /* the limit never bit */
		if (coro_pool_mapped(pool) != (size_t)n)
			_exit(6);
		if (n == 0)
			_exit(7); /* the limit was meant to leave some room */
		/* a freed stack is reused without mmap, even at the limit */
		coro_destroy(c[n - 1]);
		if (coro_create(pool, never_runs, &x) != c[n - 1])
			_exit(8);
		if (coro_create(pool, never_runs, &x) != NULL)
			_exit(9);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_create_returns_null_for_a_stack_beyond_the_address_space(void **state)
{
	/* 2^50 bytes: more than a 47-bit user address space can hold */
	struct coro_pool *pool = coro_pool_create((size_t)1 << 50, 1);
	int x;

	(void)state;
	assert_non_null(pool);
	assert_null(coro_create(pool, never_runs, &x));
	assert_int_equal(coro_pool_mapped(pool), 0);
	coro_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_pass_in_and_out_through_resume_and_yield),
		cmocka_unit_test(test_coroutine_yields_many_times_in_order),
		cmocka_unit_test(test_finished_only_after_fn_returns),
		cmocka_unit_test(test_resume_after_finish_returns_0_and_runs_nothing),
		cmocka_unit_test(test_destroy_before_first_resume_never_runs_fn),
		cmocka_unit_test(test_data_slot_starts_null_even_on_a_reused_stack),
		cmocka_unit_test(test_current_is_null_outside_and_self_inside),
		cmocka_unit_test(test_nested_resume_yields_back_to_whoever_resumed),
		cmocka_unit_test(test_fp_rounding_mode_stays_with_its_coroutine),
		cmocka_unit_test(test_new_coroutine_starts_with_its_creators_rounding_mode),
#if defined(__x86_64__)
		cmocka_unit_test(test_x87_control_word_stays_with_its_coroutine),
#endif
		cmocka_unit_test(test_callee_saved_registers_survive_switches),
		cmocka_unit_test(test_each_callee_saved_register_survives_switches),
		cmocka_unit_test(test_bare_switch_restores_every_callee_saved_register),
		cmocka_unit_test(test_stack_is_16_byte_aligned_at_fn_entry),
		cmocka_unit_test(test_freed_stacks_are_reused_lifo_up_to_max_idle),
		cmocka_unit_test(test_100000_coroutines_without_memory_growth),
		cmocka_unit_test(test_stack_overflow_dies_with_sigsegv_at_the_guard_page),
		cmocka_unit_test(test_stack_size_not_a_page_multiple_is_rounded_up),
		cmocka_unit_test(test_guard_page_below_the_stack_is_prot_none),
		cmocka_unit_test(test_create_returns_null_when_mmap_fails),
		cmocka_unit_test(test_create_returns_null_for_a_stack_beyond_the_address_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
