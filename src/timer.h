/* timer: a hashed timing wheel for deadlines. Arming, re-arming and
 * cancelling are O(1) relinks, so a deadline reset on every request costs no
 * sorting. Knows nothing of fds or coroutines: expiry calls a function. */
#ifndef GARCOM_TIMER_H
#define GARCOM_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define TIMER_TICK_MS 4u     /* resolution */
#define TIMER_SLOTS 4096u    /* one revolution = 16.4 s; longer ones wrap */

struct timer;
typedef void (*timer_fn)(struct timer *t);

struct timer {
	struct timer *next, **pprev; /* pprev == NULL: not armed */
	uint64_t expires_tick;
	timer_fn fn;
};

struct timer_wheel {
	uint64_t tick; /* every slot up to this tick has been processed */
	struct timer *slots[TIMER_SLOTS];
	uint64_t busy[TIMER_SLOTS / 64]; /* bit set: slot may hold timers */
	uint64_t busy_words;             /* bit i set: busy[i] != 0 */
	struct timer *expired;           /* due now, being fired */
};

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ms);
void timer_init(struct timer *t, timer_fn fn);

/* Arm (or re-arm) t to fire at `expires_ms` (absolute, same clock as now). */
void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expires_ms);
void timer_cancel(struct timer *t);

static inline bool timer_armed(const struct timer *t)
{
	return t->pprev != 0;
}

/* Milliseconds until the next slot that may hold a timer; -1 if none. */
int timer_wheel_next_ms(const struct timer_wheel *w, uint64_t now_ms);

/* Fire every timer due at now_ms. Callbacks may arm and cancel any timer.
 * Returns the number fired. */
unsigned timer_wheel_advance(struct timer_wheel *w, uint64_t now_ms);

#endif
