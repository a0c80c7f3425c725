/*
 * replica/store/heap.c — SQLite's memory, counted without a mutex.
 *
 * Debian's SQLite is built without its lookaside allocator, so each of
 * the many small allocations of a statement goes to malloc; with memory
 * statistics on (SQLite's default) every one of them also takes and
 * releases a global mutex to count it: 67M of the 830M instructions of
 * the apply bench (docs/decisions.md "Apply: instructions per row").
 * mule turns the statistics off and gives SQLite this allocator, which
 * counts with one relaxed atomic addition: enough for the one use mule
 * has for the count, the hard heap limit of a migration
 * (replica/schema/guard.c, migration.max-memory), which it enforces the
 * way SQLite's sqlite3_hard_heap_limit64 does (an allocation that would
 * pass it fails: SQLITE_NOMEM).
 *
 * SQLite takes an allocator only before it is initialized: rp_heap_install
 * runs before the first connection mule opens (db_open).  A program that
 * used SQLite earlier keeps SQLite's own, and the limit is then SQLite's.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "replica/internal.h"

/* The size of a block sits before it; 16 bytes keep malloc's alignment. */
#define HEAP_HDR 16

static atomic_llong heap_used;
static atomic_llong heap_max;	/* 0: no limit */
static int heap_ours;		/* SQLite allocates here */

/* 1 when growing the heap by n bytes stays within the limit. */
static int
heap_fits(long long n)
{
	long long max = atomic_load_explicit(&heap_max, memory_order_relaxed);

	return max <= 0 || atomic_load_explicit(&heap_used,
	    memory_order_relaxed) + n <= max;
}

static void *
heap_malloc(int n)
{
	long long sz = n;
	unsigned char *p;

	if (n < 0 || !heap_fits(sz) || (p = malloc(HEAP_HDR +
	    (size_t)sz)) == NULL)
		return NULL;
	memcpy(p, &sz, sizeof(sz));
	atomic_fetch_add_explicit(&heap_used, sz, memory_order_relaxed);
	return p + HEAP_HDR;
}

static long long
heap_block(void *q)
{
	long long sz;

	memcpy(&sz, (unsigned char *)q - HEAP_HDR, sizeof(sz));
	return sz;
}

static void
heap_free(void *q)
{
	if (q == NULL)
		return;
	atomic_fetch_sub_explicit(&heap_used, heap_block(q),
	    memory_order_relaxed);
	free((unsigned char *)q - HEAP_HDR);
}

static void *
heap_realloc(void *q, int n)
{
	long long old, sz = n;
	unsigned char *p;

	if (q == NULL)
		return heap_malloc(n);
	old = heap_block(q);
	if (n < 0 || (sz > old && !heap_fits(sz - old)) ||
	    (p = realloc((unsigned char *)q - HEAP_HDR, HEAP_HDR +
	    (size_t)sz)) == NULL)
		return NULL;
	memcpy(p, &sz, sizeof(sz));
	atomic_fetch_add_explicit(&heap_used, sz - old, memory_order_relaxed);
	return p + HEAP_HDR;
}

static int
heap_size(void *q)
{
	return q == NULL ? 0 : (int)heap_block(q);
}

static int
heap_roundup(int n)
{
	return (n + 7) & ~7;
}

static int
heap_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void
heap_shutdown(void *arg)
{
	(void)arg;
}

void
rp_heap_install(void)
{
	static const sqlite3_mem_methods m = { heap_malloc, heap_free,
	    heap_realloc, heap_size, heap_roundup, heap_init, heap_shutdown,
	    NULL };
	static int tried;

	if (tried)
		return;
	tried = 1;
	/* Both or neither (they fail only once SQLite is initialized). */
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK &&
	    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK)
		heap_ours = 1;
}

int64_t
rp_heap_limit(int64_t n)
{
	long long old;

	if (!heap_ours)
		return sqlite3_hard_heap_limit64(n);
	old = atomic_load_explicit(&heap_max, memory_order_relaxed);
	if (n >= 0)
		atomic_store_explicit(&heap_max, n, memory_order_relaxed);
	return old;
}

int64_t
rp_heap_used(void)
{
	return heap_ours ? atomic_load_explicit(&heap_used,
	    memory_order_relaxed) : sqlite3_memory_used();
}
