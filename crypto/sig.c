/*
 * crypto/sig.c — streaming signatures (see sig.h).
 *
 * The threaded hash: sig_update copies into ring buffer `fill` of the
 * worker (unless the bytes were built there, at the place sig_reserve
 * gave); a full buffer, or one without room for a reservation, is handed
 * over (nready grows) and the thread hashes the handed-over buffers
 * oldest first (`first`), one at a time, outside the lock.  The producer
 * waits only when every buffer is handed over and not yet hashed.  Only
 * the producer touches fill and cur; first, nready, len[] and stop are
 * shared under mu.  The hash state c->h belongs to the thread from its
 * start until it is joined.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "crypto/sig.h"

struct sig_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t to_hash;	/* a buffer was handed over, or stop */
	pthread_cond_t to_fill;	/* a buffer was hashed */
	uint8_t *ring;		/* SIG_RING_BUFS buffers of SIG_RING_BUF */
	size_t len[SIG_RING_BUFS];
	unsigned fill;		/* the buffer sig_update fills */
	size_t cur;		/* bytes in it */
	size_t touched;		/* ring bytes ever written (to wipe) */
	unsigned first;		/* the oldest buffer handed over */
	unsigned nready;	/* handed over, not hashed yet */
	int state;		/* 0 not started, 1 running, -1 cannot start */
	int stop;
	crypto_generichash_state *h;
};

void
sig_init(struct sig_ctx *c)
{
	c->w = NULL;
	crypto_generichash_init(&c->h, NULL, 0, SIG_HASH_LEN);
}

int
sig_init_threaded(struct sig_ctx *c)
{
	struct sig_worker *w = NULL;
	int r = MULE_EINTERNAL, mu = 0, th = 0, tf = 0;

	sig_init(c);
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->ring = malloc((size_t)SIG_RING_BUFS * SIG_RING_BUF)) == NULL ||
	    !(mu = pthread_mutex_init(&w->mu, NULL) == 0) ||
	    !(th = pthread_cond_init(&w->to_hash, NULL) == 0) ||
	    !(tf = pthread_cond_init(&w->to_fill, NULL) == 0)) {
		r = MULE_ENOMEM;
		goto out;
	}
	w->h = &c->h;
	c->w = w;
	w = NULL;
	r = 0;
out:
	if (w != NULL) {
		if (tf)
			pthread_cond_destroy(&w->to_fill);
		if (th)
			pthread_cond_destroy(&w->to_hash);
		if (mu)
			pthread_mutex_destroy(&w->mu);
		free(w->ring);
		free(w);
	}
	return r;
}

/* The thread: hashes handed-over buffers until told to stop. */
static void *
sig_worker_main(void *arg)
{
	struct sig_worker *w = arg;
	unsigned i;
	size_t n;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->nready == 0 && !w->stop)
			pthread_cond_wait(&w->to_hash, &w->mu);
		if (w->nready == 0)
			break;
		i = w->first;
		n = w->len[i];
		pthread_mutex_unlock(&w->mu);
		crypto_generichash_update(w->h, w->ring +
		    (size_t)i * SIG_RING_BUF, n);
		pthread_mutex_lock(&w->mu);
		w->first = (i + 1) % SIG_RING_BUFS;
		w->nready--;
		pthread_cond_signal(&w->to_fill);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/*
 * Hands the buffer being filled to the thread (starting it the first
 * time) and waits for a free one; hashes inline if no thread can start.
 */
static void
sig_worker_hand_over(struct sig_worker *w)
{
	sigset_t all, old;

	if (w->state == 0) {
		/* Signals stay the calling thread's: the worker blocks all. */
		sigfillset(&all);
		if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
			w->state = -1;
		else {
			w->state = pthread_create(&w->thread, NULL,
			    sig_worker_main, w) == 0 ? 1 : -1;
			(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
		}
	}
	if (w->state < 0) {
		crypto_generichash_update(w->h, w->ring +
		    (size_t)w->fill * SIG_RING_BUF, w->cur);
		w->cur = 0;
		return;
	}
	pthread_mutex_lock(&w->mu);
	w->len[w->fill] = w->cur;
	w->nready++;
	pthread_cond_signal(&w->to_hash);
	w->fill = (w->fill + 1) % SIG_RING_BUFS;
	while (w->nready == SIG_RING_BUFS)
		pthread_cond_wait(&w->to_fill, &w->mu);
	pthread_mutex_unlock(&w->mu);
	w->cur = 0;
}

/*
 * Ends c's worker: the pending bytes are hashed, the thread joined, the
 * ring wiped and freed.  Afterwards c->h holds every byte fed.
 */
static void
sig_worker_end(struct sig_ctx *c)
{
	struct sig_worker *w = c->w;

	if (w == NULL)
		return;
	if (w->state == 0)
		w->state = -1;	/* less than a buffer: no thread for it */
	if (w->cur > 0)
		sig_worker_hand_over(w);
	if (w->state == 1) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->to_hash);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	pthread_cond_destroy(&w->to_fill);
	pthread_cond_destroy(&w->to_hash);
	pthread_mutex_destroy(&w->mu);
	sodium_memzero(w->ring, w->touched);
	free(w->ring);
	free(w);
	c->w = NULL;
}

void
sig_update(struct sig_ctx *c, const void *p, size_t n)
{
	struct sig_worker *w = c->w;
	const uint8_t *in = p;
	uint8_t *dst;
	size_t take;

	if (w == NULL) {
		if (n > 0)
			crypto_generichash_update(&c->h, p, n);
		return;
	}
	while (n > 0) {
		take = SIG_RING_BUF - w->cur;
		if (take > n)
			take = n;
		dst = w->ring + (size_t)w->fill * SIG_RING_BUF + w->cur;
		if (dst != in)	/* else built in place (sig_reserve) */
			memcpy(dst, in, take);
		w->cur += take;
		if ((size_t)w->fill * SIG_RING_BUF + w->cur > w->touched)
			w->touched = (size_t)w->fill * SIG_RING_BUF + w->cur;
		in += take;
		n -= take;
		if (w->cur == SIG_RING_BUF)
			sig_worker_hand_over(w);
	}
}

uint8_t *
sig_reserve(struct sig_ctx *c, size_t n)
{
	struct sig_worker *w = c->w;
	size_t at;

	if (w == NULL || n > SIG_RING_BUF)
		return NULL;
	if (w->cur + n > SIG_RING_BUF)
		sig_worker_hand_over(w);	/* cur > 0 here */
	at = (size_t)w->fill * SIG_RING_BUF + w->cur;
	if (at + n > w->touched)
		w->touched = at + n;	/* the caller writes there: wipe it */
	return w->ring + at;
}

void
sig_release(struct sig_ctx *c)
{
	if (c == NULL)
		return;
	sig_worker_end(c);
	sodium_memzero(&c->h, sizeof(c->h));
}

int
sig_sign(struct sig_ctx *c, const struct ident_secret *s,
    uint8_t sig[SIG_LEN])
{
	uint8_t hash[SIG_HASH_LEN], out[SIG_LEN];
	int r = MULE_EINTERNAL;

	sig_worker_end(c);
	if ((r = ident_lib_init()) != 0)
		goto out;
	if (s == NULL || s->sign_sk == NULL) {
		r = MULE_EINVAL;
		goto out;
	}
	if (crypto_generichash_final(&c->h, hash, sizeof(hash)) != 0 ||
	    crypto_sign_detached(out, NULL, hash, sizeof(hash),
	    s->sign_sk) != 0) {
		r = MULE_ECRYPTO;
		goto out;
	}
	memcpy(sig, out, SIG_LEN);
	r = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	return r;
}

int
sig_verify(struct sig_ctx *c, const struct ident_pub *pub,
    const uint8_t sig[SIG_LEN])
{
	uint8_t hash[SIG_HASH_LEN];
	int r = MULE_EINTERNAL;

	sig_worker_end(c);
	if ((r = ident_lib_init()) != 0)
		goto out;
	if (crypto_generichash_final(&c->h, hash, sizeof(hash)) != 0) {
		r = MULE_ECRYPTO;
		goto out;
	}
	if (crypto_sign_verify_detached(sig, hash, sizeof(hash),
	    pub->sign_pk) != 0) {
		r = MULE_EVERIFY;
		goto out;
	}
	r = 0;
out:
	return r;
}

void
sig_hash(uint8_t *out, size_t outlen, const void *p, size_t n)
{
	/* outlen outside 1..64 is a caller bug; libsodium then writes nothing. */
	(void)crypto_generichash(out, outlen, p, n, NULL, 0);
}
