/* timer: see timer.h. Each slot is a doubly linked list (next/pprev) so a
 * timer unlinks itself without knowing its slot. A timer whose deadline is
 * more than one revolution away sits in its slot and is skipped until due. */
#include "timer.h"

#include <string.h>

#define MASK (TIMER_SLOTS - 1)

static void link_into(struct timer **head, struct timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	t->pprev = head;
	*head = t;
}

void timer_cancel(struct timer *t)
{
	if (!t->pprev)
		return;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = 0;
	t->pprev = 0;
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ms)
{
	memset(w, 0, sizeof *w);
	w->tick = now_ms / TIMER_TICK_MS;
}

void timer_init(struct timer *t, timer_fn fn)
{
	t->next = 0;
	t->pprev = 0;
	t->expires_tick = 0;
	t->fn = fn;
}

void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t expires_ms)
{
	timer_cancel(t);
	/* Round up: a timer never fires before its deadline. */
	uint64_t tick = (expires_ms + TIMER_TICK_MS - 1) / TIMER_TICK_MS;
	if (tick <= w->tick)
		tick = w->tick + 1;
	t->expires_tick = tick;
	unsigned slot = tick & MASK;
	link_into(&w->slots[slot], t);
	w->busy[slot / 64] |= 1ull << (slot % 64);
	w->busy_words |= 1ull << (slot / 64);
}

_Static_assert(TIMER_SLOTS / 64 == 64, "busy_words has a bit per word of busy[]");

/* The first busy slot from start on, in wheel order: the rest of start's
 * word, then the other words (found with busy_words, not a scan: this runs
 * every loop turn), then start's word before start. */
int timer_wheel_next_ms(const struct timer_wheel *w, uint64_t now_ms)
{
	unsigned start = (unsigned)((w->tick + 1) & MASK);
	unsigned sw = start / 64, sb = start % 64;
	uint64_t bits = w->busy[sw] & (~0ull << sb);
	unsigned slot;
	if (bits) {
		slot = sw * 64 + (unsigned)__builtin_ctzll(bits);
	} else {
		uint64_t words = w->busy_words & ~(1ull << sw);
		if (words) {
			unsigned r = (sw + 1) % 64;
			uint64_t rot = r ? (words >> r) | (words << (64 - r)) : words;
			unsigned word = (r + (unsigned)__builtin_ctzll(rot)) % 64;
			slot = word * 64 + (unsigned)__builtin_ctzll(w->busy[word]);
		} else {
			bits = w->busy[sw] & ~(~0ull << sb);
			if (!bits)
				return -1;
			slot = sw * 64 + (unsigned)__builtin_ctzll(bits);
		}
	}
	uint64_t tick = w->tick + 1 + ((slot - start) & MASK);
	uint64_t at = tick * TIMER_TICK_MS;
	return at <= now_ms ? 0 : (int)(at - now_ms);
}

/* Move the due timers of one slot to the expired list; keep the others. */
static void collect_slot(struct timer_wheel *w, unsigned slot, uint64_t now_tick)
{
	struct timer *t = w->slots[slot];
	while (t) {
		struct timer *next = t->next;
		if (t->expires_tick <= now_tick) {
			timer_cancel(t);
			link_into(&w->expired, t);
		}
		t = next;
	}
	if (!w->slots[slot]) {
		w->busy[slot / 64] &= ~(1ull << (slot % 64));
		if (!w->busy[slot / 64])
			w->busy_words &= ~(1ull << (slot / 64));
	}
}

unsigned timer_wheel_advance(struct timer_wheel *w, uint64_t now_ms)
{
	uint64_t now_tick = now_ms / TIMER_TICK_MS;
	if (now_tick <= w->tick)
		return 0;
	uint64_t span = now_tick - w->tick;
	if (span > TIMER_SLOTS)
		span = TIMER_SLOTS;
	for (uint64_t i = 1; i <= span; i++)
		collect_slot(w, (unsigned)((w->tick + i) & MASK), now_tick);
	w->tick = now_tick;

	/* Fire one at a time from the list head: a callback may cancel or
	 * re-arm any timer, including ones still waiting in this list. */
	unsigned fired = 0;
	while (w->expired) {
		struct timer *t = w->expired;
		timer_cancel(t);
		fired++;
		t->fn(t);
	}
	return fired;
}
