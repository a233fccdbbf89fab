#ifndef FW_SPINLOCK_H
#define FW_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "io.h"

typedef struct { volatile uint32_t locked; } spinlock_t;

/* XCHG with a memory operand is implicitly locked (Intel SDM vol. 2, XCHG). */
static inline bool spin_trylock(spinlock_t *l)
{
	uint32_t v = 1;
	__asm__ volatile("xchg %0, %1" : "+r"(v), "+m"(l->locked) : : "memory");
	return v == 0;
}

static inline void spin_lock(spinlock_t *l)
{
	while (!spin_trylock(l))
		while (l->locked)
			cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
	barrier();
	l->locked = 0;
}

/* LOCK XADD: returns the old value. */
static inline uint32_t atomic_fetch_add32(volatile uint32_t *p, uint32_t v)
{
	__asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v;
}

#endif
