/* coro: stackful coroutines and their stack pool. The registers are switched
 * in coro_<arch>.S; this file knows no register, only stacks and who resumed
 * whom. Nothing here knows fds, epoll or HTTP. */

#include "coro.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CORO_VALGRIND 1
#endif
#endif

/* AddressSanitizer must be told of every stack switch, or it takes the other
 * stack's frames for wild accesses (make check-asan builds with it). */
#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* One page: a frame bigger than this can jump the guard, so code that runs on
 * coroutine stacks keeps its locals small (or is built with
 * -fstack-clash-protection). More pages would cost address space only. */
#define CORO_GUARD_PAGES 1

/* Each stack is one mapping, low to high:
 *
 *   [guard, PROT_NONE][stack, grows down ......][struct coro]
 *
 * The record sits at the top, so creating a coroutine needs no malloc and a
 * coroutine that touches little stack costs one page: the record and the
 * first frames share it. CORO_RECORD keeps the stack top 64-byte aligned. */
struct coro {
	/* The first 64 bytes are all a switch touches: one cache line. */
	void *sp;             /* our saved context while suspended */
	void *resumer_sp;     /* the resumer's saved context while we run */
	struct coro *resumer; /* what coro_current() was before we ran */
	intptr_t value;       /* handed across by resume and yield */
	coro_fn fn;
	void *arg;
	void *data;
	bool finished;
	unsigned valgrind_id;
	/* Used by create and destroy only. */
	struct coro_pool *pool;
	struct coro *next_idle;
#ifdef CORO_ASAN
	void *asan_fake;            /* our fake stack while suspended */
	const void *resumer_bottom; /* the resumer's stack, for the way back */
	size_t resumer_size;
#endif
};

_Static_assert(offsetof(struct coro, pool) <= 64, "a switch would touch two cache lines");

#define CORO_RECORD ((sizeof(struct coro) + 63) & ~(size_t)63)

struct coro_pool {
	size_t map_size; /* guard + stack + record, whole pages */
	size_t guard;
	struct coro *idle; /* LIFO: the last freed stack is the warmest */
	unsigned nidle;
	unsigned max_idle;
	size_t mapped;
};

/* In coro_<arch>.S. coro_switch pushes the callee-saved registers and the FP
 * control state on the current stack, stores the stack pointer in *save, then
 * loads `load` and pops the other side's. coro_stack_init builds, just below
 * `top`, a context that coro_switch continues into entry() with the caller's
 * FP control state and a 16-byte aligned stack; it returns its address. */
void coro_switch(void **save, void *load);
void *coro_stack_init(void *top, void (*entry)(void));

#ifdef CORO_ASAN
static void asan_enter(struct coro *co, void **fake)
{
	char *bottom = (char *)co + CORO_RECORD - co->pool->map_size + co->pool->guard;
	__sanitizer_start_switch_fiber(fake, bottom, (size_t)((char *)co - bottom));
}

/* On co's stack, just after a switch into it. */
static void asan_arrived(struct coro *co)
{
	__sanitizer_finish_switch_fiber(co->asan_fake, &co->resumer_bottom, &co->resumer_size);
}

/* On the resumer's stack again. */
static void asan_back(void *fake)
{
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
}

/* fake == NULL: co is finished, its fake stack can go. */
static void asan_leave(struct coro *co, void **fake)
{
	__sanitizer_start_switch_fiber(fake, co->resumer_bottom, co->resumer_size);
}
#else
#define asan_enter(co, fake) ((void)(fake))
#define asan_arrived(co) ((void)0)
#define asan_back(fake) ((void)0)
#define asan_leave(co, fake) ((void)0)
#endif

/* Per thread, as pools are: each worker thread runs its own coroutines. */
static __thread struct coro *coro_running;

struct coro *coro_current(void)
{
	return coro_running;
}

/* Every coroutine starts here, on its own stack, entered by coro_switch: there
 * is no argument register to fill, so it finds itself through coro_running,
 * which coro_resume set just before switching. */
__attribute__((noreturn)) static void coro_main(void)
{
	struct coro *co = coro_running;

	asan_arrived(co); /* asan_fake is NULL: a fresh stack */
	co->fn(co, co->arg);
	co->finished = true;
	co->value = 0;
	asan_leave(co, NULL);
	coro_switch(&co->sp, co->resumer_sp);
	/* coro_resume never switches to a finished coroutine, and returning
	 * would run off the top of the stack into the record. */
	abort();
}

struct coro_pool *coro_pool_create(size_t stack_size, unsigned max_idle)
{
	long page = sysconf(_SC_PAGESIZE);
	struct coro_pool *pool;
	size_t stack;

	if (page <= 0 || stack_size > SIZE_MAX / 4)
		return NULL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	/* The record is added before rounding, so the usable stack is at
	 * least stack_size, and a page-multiple request gets a spare page of
	 * address space rather than a stack short by the record. */
	stack = (stack_size + CORO_RECORD + (size_t)page - 1) & ~((size_t)page - 1);
	pool->guard = (size_t)page * CORO_GUARD_PAGES;
	pool->map_size = pool->guard + stack;
	pool->max_idle = max_idle;
	return pool;
}

static void coro_unmap(struct coro *co)
{
	struct coro_pool *pool = co->pool;
	char *base = (char *)co + CORO_RECORD - pool->map_size;

#ifdef CORO_VALGRIND
	VALGRIND_STACK_DEREGISTER(co->valgrind_id);
#endif
	munmap(base, pool->map_size);
	pool->mapped--;
}

void coro_pool_destroy(struct coro_pool *pool)
{
	if (!pool)
		return;
	/* Stacks still in use are the caller's bug; their records point here,
	 * so they are left mapped rather than pulled from under them. */
	while (pool->idle) {
		struct coro *co = pool->idle;

		pool->idle = co->next_idle;
		coro_unmap(co);
	}
	free(pool);
}

size_t coro_pool_mapped(const struct coro_pool *pool)
{
	return pool->mapped;
}

static struct coro *coro_map(struct coro_pool *pool)
{
	/* NORESERVE: only touched pages cost memory or commit charge, so a
	 * 64 KiB stack that uses 2 KiB costs one page. */
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK;
	char *base = mmap(NULL, pool->map_size, PROT_READ | PROT_WRITE, flags, -1, 0);
	struct coro *co;

	if (base == MAP_FAILED)
		return NULL;
	if (mprotect(base, pool->guard, PROT_NONE) != 0) {
		munmap(base, pool->map_size);
		return NULL;
	}
	co = (struct coro *)(base + pool->map_size - CORO_RECORD);
	co->pool = pool;
#ifdef CORO_VALGRIND
	/* Without this valgrind takes each switch for a wild stack-pointer
	 * move and stops tracking the stack. */
	co->valgrind_id = VALGRIND_STACK_REGISTER(base + pool->guard, (char *)co);
#endif
	pool->mapped++;
	return co;
}

struct coro *coro_create(struct coro_pool *pool, coro_fn fn, void *arg)
{
	struct coro *co = pool->idle;

	if (co) {
		/* The hot path: no system call, and the stack is reused as it
		 * is; whatever a previous coroutine left in it is garbage the
		 * next one overwrites before reading. */
		pool->idle = co->next_idle;
		pool->nidle--;
	} else {
		co = coro_map(pool);
		if (!co)
			return NULL;
	}
	co->fn = fn;
	co->arg = arg;
	co->data = NULL;
	co->value = 0;
	co->resumer = NULL;
	co->resumer_sp = NULL;
	co->finished = false;
#ifdef CORO_ASAN
	co->asan_fake = NULL;
#endif
	co->sp = coro_stack_init(co, coro_main);
	return co;
}

intptr_t coro_resume(struct coro *co, intptr_t value)
{
	/* Switching into a finished coroutine would land in coro_main's
	 * abort(); a stray resume is answered with 0 instead. */
	if (co->finished)
		return 0;
	co->value = value;
	/* Saved per resume, so a coroutine may resume another (nesting) and
	 * each yield goes back to whoever resumed it this time. */
	co->resumer = coro_running;
	coro_running = co;
	void *fake = NULL;
	asan_enter(co, &fake);
	coro_switch(&co->resumer_sp, co->sp);
	asan_back(fake);
	coro_running = co->resumer;
	return co->value;
}

intptr_t coro_yield(struct coro *co, intptr_t value)
{
	co->value = value;
	asan_leave(co, &co->asan_fake);
	coro_switch(&co->sp, co->resumer_sp);
	asan_arrived(co);
	return co->value;
}

bool coro_finished(const struct coro *co)
{
	return co->finished;
}

void coro_destroy(struct coro *co)
{
	struct coro_pool *pool = co->pool;

	if (pool->nidle < pool->max_idle) {
		co->next_idle = pool->idle;
		pool->idle = co;
		pool->nidle++;
		return;
	}
	coro_unmap(co);
}

void *coro_data(const struct coro *co)
{
	return co->data;
}

void coro_set_data(struct coro *co, void *data)
{
	co->data = data;
}
