/* coro_cross: the core coroutine checks with no test library, so the same
 * file runs statically linked under qemu for another architecture (see
 * cross-aarch64.sh). One line per test, then "N passed, N failed"; the exit
 * status is non-zero if anything failed. */

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coro.h"

#define STACK (64 * 1024)

/* Records a failure and goes on: the test function still returns normally. */
static int check_failures;
#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			printf("    %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond);     \
			check_failures++;                                            \
		}                                                                    \
	} while (0)

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- architecture helpers: rounding mode, and a register probe ---- */

enum rounding { RND_NEAREST, RND_DOWN, RND_UP, RND_ZERO };
typedef void (*pause_fn)(void *ctx);

/* Loads every callee-saved register with seed + k, calls fn(ctx), and returns
 * a bit k for each register that came back changed. */
unsigned cross_regs_across(pause_fn fn, void *ctx, uint64_t seed);

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

#define REG_CHECK(reg, k)                                                      \
	"	leaq " #k "(%rdx), %rcx\n"                                     \
	"	cmpq %rcx, %" #reg "\n"                                        \
	"	je 1f\n"                                                       \
	"	orl $(1 << " #k "), %eax\n"                                    \
	"1:\n"
__asm__(".text\n"
	".globl cross_regs_across\n"
	".type cross_regs_across, @function\n"
	"cross_regs_across:\n"
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
	".size cross_regs_across, .-cross_regs_across\n");
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

#define REG_CHECK(reg, k)                                                      \
	"	add x10, x2, #" #k "\n"                                        \
	"	cmp " #reg ", x10\n"                                           \
	"	b.eq 1f\n"                                                     \
	"	orr x0, x0, #(1 << " #k ")\n"                                  \
	"1:\n"
#define D_SET(reg, k) "	add x10, x2, #" #k "\n	fmov " #reg ", x10\n"
#define D_CHECK(reg, k) "	fmov x11, " #reg "\n" REG_CHECK(x11, k)
__asm__(".text\n"
	".globl cross_regs_across\n"
	".type cross_regs_across, %function\n"
	"cross_regs_across:\n"
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
	".size cross_regs_across, .-cross_regs_across\n");
#else
#error "coro_cross: no helpers for this architecture"
#endif

/* Volatile operands and result: computed at run time, under the rounding
 * mode in force here, and not moved past the next switch. */
static double divide(double a, double b)
{
	volatile double va = a, vb = b;
	volatile double r = va / vb;

	return r;
}

/* ---- the tests ---- */

static void adder(struct coro *co, void *arg)
{
	intptr_t *sum = arg;
	intptr_t in = coro_yield(co, *sum);

	while (in != 0) {
		*sum += in;
		in = coro_yield(co, *sum);
	}
}

static void values_pass_in_and_out(void)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	intptr_t sum = 100;
	struct coro *co = pool ? coro_create(pool, adder, &sum) : NULL;

	CHECK(co != NULL);
	if (!co)
		return;
	CHECK(coro_current() == NULL);
	CHECK(coro_resume(co, 0) == 100);
	CHECK(coro_resume(co, 5) == 105);
	CHECK(coro_resume(co, -7) == 98);
	CHECK(coro_resume(co, INTPTR_MAX - 98) == INTPTR_MAX);
	CHECK(coro_resume(co, INTPTR_MIN) == -1);
	CHECK(!coro_finished(co));
	CHECK(coro_resume(co, 0) == 0);
	CHECK(coro_finished(co));
	CHECK(sum == -1);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

static void counter(struct coro *co, void *arg)
{
	intptr_t n = (intptr_t)arg;

	for (intptr_t i = 1; i <= n; i++)
		if (coro_yield(co, i) != i * 2 || coro_current() != co)
			return;
}

static void yields_many_times_in_order(void)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	const intptr_t n = 100000;
	struct coro *co = coro_create(pool, counter, (void *)n);
	intptr_t got, i;

	got = coro_resume(co, 0);
	for (i = 1; i <= n && got == i; i++)
		got = coro_resume(co, i * 2);
	CHECK(i == n + 1);
	CHECK(got == 0);
	CHECK(coro_finished(co));
	coro_destroy(co);
	coro_pool_destroy(pool);
}

struct nest {
	struct coro_pool *pool;
	struct coro *inner;
	char log[16];
	int n;
};

static void nest_inner(struct coro *co, void *arg)
{
	struct nest *t = arg;

	t->log[t->n++] = coro_current() == co ? 'i' : '?';
	coro_yield(co, 'I');
	t->log[t->n++] = coro_current() == co ? 'j' : '?';
}

static void nest_outer(struct coro *co, void *arg)
{
	struct nest *t = arg;

	t->inner = coro_create(t->pool, nest_inner, t);
	if (coro_resume(t->inner, 0) == 'I' && coro_current() == co)
		t->log[t->n++] = 'o';
	coro_yield(co, 'O');
	coro_resume(t->inner, 0);
	if (coro_finished(t->inner) && coro_current() == co)
		t->log[t->n++] = 'p';
	coro_destroy(t->inner);
}

static void nested_resume_yields_to_the_resumer(void)
{
	struct nest t = { .n = 0 };
	struct coro *outer;

	t.pool = coro_pool_create(STACK, 4);
	outer = coro_create(t.pool, nest_outer, &t);
	CHECK(coro_resume(outer, 0) == 'O');
	CHECK(coro_current() == NULL);
	CHECK(coro_resume(outer, 0) == 0);
	CHECK(coro_current() == NULL);
	t.log[t.n] = '\0';
	CHECK(strcmp(t.log, "iojp") == 0);
	coro_destroy(outer);
	coro_pool_destroy(t.pool);
}

static void toucher(struct coro *co, void *arg)
{
	volatile char buf[4096];

	buf[0] = 1;
	buf[sizeof(buf) - 1] = 1;
	coro_yield(co, 1);
	*(long *)arg += buf[0] + buf[sizeof(buf) - 1];
}

static void many_coroutines_stay_within_the_pool(void)
{
	enum { TOTAL = 100000, BATCH = 32, IDLE = 8 };
	struct coro_pool *pool = coro_pool_create(STACK, IDLE);
	struct coro *batch[BATCH];
	size_t most = 0;
	long ran = 0;
	int bad = 0;

	for (int done = 0; done < TOTAL; done += BATCH) {
		for (int i = 0; i < BATCH; i++) {
			batch[i] = coro_create(pool, toucher, &ran);
			if (!batch[i] || coro_resume(batch[i], 0) != 1)
				bad++;
		}
		if (coro_pool_mapped(pool) > most)
			most = coro_pool_mapped(pool);
		for (int i = 0; i < BATCH; i++) {
			if (!batch[i])
				continue;
			coro_resume(batch[i], 0);
			bad += !coro_finished(batch[i]);
			coro_destroy(batch[i]);
		}
	}
	CHECK(bad == 0);
	CHECK(ran == 2L * TOTAL);
	CHECK(most <= BATCH);
	CHECK(coro_pool_mapped(pool) == IDLE);
	coro_pool_destroy(pool);
}

struct fp_probe {
	unsigned mode, initial, seen[3];
	double r[3];
};

static void fp_worker(struct coro *co, void *arg)
{
	struct fp_probe *p = arg;

	p->initial = fp_rounding();
	fp_set_rounding(p->mode);
	for (int i = 0; i < 3; i++) {
		p->seen[i] = fp_rounding();
		p->r[i] = p->mode == RND_UP ? divide(1, 3) : divide(-1, 3);
		coro_yield(co, 0);
	}
}

static void fp_control_state_stays_with_its_coroutine(void)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	struct fp_probe up = { .mode = RND_UP }, down = { .mode = RND_DOWN };
	double third_near = divide(1, 3), minus_near = divide(-1, 3);
	double third_up, minus_down;
	struct coro *a, *b;

	fp_set_rounding(RND_UP);
	third_up = divide(1, 3);
	fp_set_rounding(RND_DOWN);
	minus_down = divide(-1, 3);
	/* a coroutine starts with its creator's mode: b gets DOWN here */
	b = coro_create(pool, fp_worker, &down);
	fp_set_rounding(RND_NEAREST);
	a = coro_create(pool, fp_worker, &up);
	CHECK(third_up != third_near); /* or this test could not fail */
	CHECK(minus_down != minus_near);
	while (!coro_finished(a) || !coro_finished(b)) {
		coro_resume(a, 0);
		CHECK(fp_rounding() == RND_NEAREST);
		CHECK(divide(1, 3) == third_near);
		coro_resume(b, 0);
		CHECK(fp_rounding() == RND_NEAREST);
		CHECK(divide(-1, 3) == minus_near);
	}
	CHECK(down.initial == RND_DOWN);
	CHECK(up.initial == RND_NEAREST);
	for (int i = 0; i < 3; i++) {
		CHECK(up.seen[i] == RND_UP);
		CHECK(up.r[i] == third_up);
		CHECK(down.seen[i] == RND_DOWN);
		CHECK(down.r[i] == minus_down);
	}
	coro_destroy(a);
	coro_destroy(b);
	coro_pool_destroy(pool);
}

static void pause_by_yield(void *ctx)
{
	coro_yield(ctx, 0);
}

static void pause_by_resume(void *ctx)
{
	coro_resume(ctx, 0);
}

static void regs_keeper(struct coro *co, void *arg)
{
	for (uint64_t i = 0; i < 4; i++)
		*(unsigned *)arg |= cross_regs_across(pause_by_yield, co, 0x1000 * i + 0xc0);
}

static void callee_saved_registers_survive_resume_and_yield(void)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	unsigned side_bad = 0, bad = 0;
	struct coro *co = coro_create(pool, regs_keeper, &side_bad);

	for (uint64_t i = 0; i < 4; i++)
		bad |= cross_regs_across(pause_by_resume, co, 0x1000 * i + 0xa0);
	coro_resume(co, 0);
	CHECK(coro_finished(co));
	CHECK(side_bad == 0);
	CHECK(bad == 0);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

/* coro_resume and coro_yield keep `co` in a callee-saved register on both
 * sides, which can hide a register the switch forgot: here the switch is
 * called bare. Internal: declared in coro.c, defined in coro_<arch>.S. */
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
		bare_side_bad |= cross_regs_across(bare_to_main, NULL, 0x2000 * i + 0xe0);
	for (;;) /* abandoned here: nobody switches back */
		coro_switch(&bare_side_sp, bare_main_sp);
}

static void bare_switch_restores_every_callee_saved_register(void)
{
	static _Alignas(64) char stack[64 * 1024];
	unsigned bad = 0;

	bare_side_sp = coro_stack_init(stack + sizeof(stack), bare_side);
	for (uint64_t i = 0; i < 5; i++)
		bad |= cross_regs_across(bare_to_side, NULL, 0x3000 * i + 0xf0);
	CHECK(bare_side_bad == 0);
	CHECK(bad == 0);
}

static void alignment(struct coro *co, void *arg)
{
	_Alignas(16) volatile char buf[16];
	uintptr_t p = (uintptr_t)buf;

	(void)co;
	__asm__ volatile("" : "+r"(p)); /* or the compiler folds the test */
	buf[0] = 0;
	*(uintptr_t *)arg = p & 15;
}

static void stack_is_16_byte_aligned_at_fn_entry(void)
{
	struct coro_pool *pool = coro_pool_create(STACK, 4);
	uintptr_t misalign = 99;
	struct coro *co = coro_create(pool, alignment, &misalign);

	coro_resume(co, 0);
	CHECK(misalign == 0);
	coro_destroy(co);
	coro_pool_destroy(pool);
}

/* Shared with the overflowing child: how deep it got before it died. */
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

static void overflow_dies_with_sigsegv_at_the_guard_page(void)
{
	int status = 0;
	long depth;
	pid_t pid;

	probe = mmap(NULL, sizeof(*probe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	CHECK(probe != MAP_FAILED);
	if (probe == MAP_FAILED)
		return;
	probe->limit = STACK + 4 * page_size();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		struct coro_pool *pool = coro_pool_create(STACK, 1);
		struct coro *co = pool ? coro_create(pool, digger, NULL) : NULL;

		/* nothing catches SIGSEGV here, and no core is dumped; stderr
		 * goes, or qemu announces the expected death as a crash */
		signal(SIGSEGV, SIG_DFL);
		setrlimit(RLIMIT_CORE, &none);
		prctl(PR_SET_DUMPABLE, 0);
		dup2(open("/dev/null", O_WRONLY), STDERR_FILENO);
		if (!co)
			_exit(2);
		coro_resume(co, 0);
		_exit(3);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	/* it died at the bottom of its own stack: not early, not below it */
	depth = (long)(probe->top - probe->low);
	CHECK(depth > STACK - 1024);
	CHECK(depth <= STACK + (long)page_size());
	munmap(probe, sizeof(*probe));
}

static void never_runs(struct coro *co, void *arg)
{
	(void)co;
	(void)arg;
}

static void create_returns_null_when_mmap_fails(void)
{
	struct coro_pool *pool = coro_pool_create((size_t)1 << 50, 1);

	CHECK(pool != NULL);
	if (!pool)
		return;
	CHECK(coro_create(pool, never_runs, NULL) == NULL);
	CHECK(coro_pool_mapped(pool) == 0);
	coro_pool_destroy(pool);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "values_pass_in_and_out", values_pass_in_and_out },
	{ "yields_many_times_in_order", yields_many_times_in_order },
	{ "nested_resume_yields_to_the_resumer", nested_resume_yields_to_the_resumer },
	{ "many_coroutines_stay_within_the_pool", many_coroutines_stay_within_the_pool },
	{ "fp_control_state_stays_with_its_coroutine", fp_control_state_stays_with_its_coroutine },
	{ "callee_saved_registers_survive_resume_and_yield",
	  callee_saved_registers_survive_resume_and_yield },
	{ "bare_switch_restores_every_callee_saved_register",
	  bare_switch_restores_every_callee_saved_register },
	{ "stack_is_16_byte_aligned_at_fn_entry", stack_is_16_byte_aligned_at_fn_entry },
	{ "overflow_dies_with_sigsegv_at_the_guard_page",
	  overflow_dies_with_sigsegv_at_the_guard_page },
	{ "create_returns_null_when_mmap_fails", create_returns_null_when_mmap_fails },
};

int main(void)
{
	int passed = 0, failed = 0;

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		check_failures = 0;
		tests[i].fn();
		if (check_failures == 0) {
			printf("ok   %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s\n", tests[i].name);
			failed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
