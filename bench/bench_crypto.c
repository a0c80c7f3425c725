/*
 * bench/bench_crypto.c — encrypts and signs a file exactly as a bundle's
 * payload is (crypto/seal.h secretstream in 64 KiB chunks, crypto/sig.h
 * BLAKE2b + Ed25519 over the output, the hash in its own thread and each
 * chunk encrypted straight into that thread's ring, as bundle/writer.c
 * runs them), so `make bench` can compare the throughput with age
 * encrypting the same bytes.
 *
 *   bench_crypto IN OUT [TIMES]
 *	encrypts and signs IN into OUT; with TIMES, appends a line "MAIN
 *	ALL" to that file: the CPU seconds of the main thread and of the
 *	whole process (so ALL - MAIN is the hash thread's).
 *   bench_crypto -H FILE
 *	prints the CPU seconds of BLAKE2b-512 alone over FILE (read into
 *	memory first): the hash is one sequential pass, so no run of mule
 *	can sign FILE's bytes in less wall time.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "crypto/seal.h"
#include "crypto/sig.h"

struct out {
	int fd;
	struct sig_ctx sig;
	uint8_t *placed;	/* as bundle/writer.c struct wout */
	const uint8_t *run;
	size_t nrun;
};

static int
flush(struct out *o)
{
	int r = 0;

	if (o->nrun > 0 && write(o->fd, o->run, o->nrun) != (ssize_t)o->nrun)
		r = MULE_EIO;
	o->nrun = 0;
	return r;
}

/* As bundle/writer.c enc_out: fed first, written in runs of chunks. */
static int
emit(void *arg, const uint8_t *p, size_t n)
{
	struct out *o = arg;
	int r = 0;

	sig_update(&o->sig, p, n);
	if (p == o->placed && o->nrun > 0 && p == o->run + o->nrun &&
	    o->nrun + n <= SIG_RING_BUF)
		o->nrun += n;
	else if ((r = flush(o)) == 0) {
		if (p == o->placed) {
			o->run = p;
			o->nrun = n;
		} else if (write(o->fd, p, n) != (ssize_t)n)
			r = MULE_EIO;
	}
	o->placed = NULL;
	return r;
}

static uint8_t *
place(void *arg, size_t n)
{
	struct out *o = arg;

	o->placed = sig_reserve(&o->sig, n);
	return o->placed;
}

static double
secs(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* -H FILE: BLAKE2b-512 alone over FILE's bytes, in memory. */
static int
hash_only(const char *path)
{
	crypto_generichash_state h;
	uint8_t *d, out[SIG_HASH_LEN];
	struct stat st;
	size_t off, k;
	double t0;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0 ||
	    (d = malloc((size_t)st.st_size + 1)) == NULL ||
	    read(fd, d, (size_t)st.st_size) != (ssize_t)st.st_size)
		return 1;
	t0 = secs(CLOCK_THREAD_CPUTIME_ID);
	crypto_generichash_init(&h, NULL, 0, sizeof(out));
	/* In pieces of a ring buffer, as the hash thread gets them. */
	for (off = 0; off < (size_t)st.st_size; off += k) {
		k = (size_t)st.st_size - off < SIG_RING_BUF ?
		    (size_t)st.st_size - off : SIG_RING_BUF;
		crypto_generichash_update(&h, d + off, k);
	}
	crypto_generichash_final(&h, out, sizeof(out));
	printf("%.3f\n", secs(CLOCK_THREAD_CPUTIME_ID) - t0);
	free(d);
	close(fd);
	return 0;
}

/* Appends "MAIN ALL" CPU seconds to the file at path. */
static int
log_times(const char *path, double main_cpu)
{
	struct rusage ru;
	FILE *f;

	if (getrusage(RUSAGE_SELF, &ru) != 0 || (f = fopen(path, "a")) == NULL)
		return 1;
	fprintf(f, "%.3f %.3f\n", main_cpu, (double)ru.ru_utime.tv_sec +
	    (double)ru.ru_stime.tv_sec + ((double)ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_usec) / 1e6);
	return fclose(f) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	uint8_t site[IDENT_SITE_LEN] = { 0 }, box[SEAL_KEYBOX_LEN];
	uint8_t hdr[SEAL_HEADER_LEN], sig[SIG_LEN];
	struct ident_secret *me = NULL, *to = NULL;
	struct seal_enc e;
	struct out o;
	double main_cpu;
	ssize_t n;
	int in;

	if (ident_lib_init() != 0)
		return 2;
	if (argc == 3 && strcmp(argv[1], "-H") == 0)
		return hash_only(argv[2]);
	if ((argc != 3 && argc != 4) || ident_generate(site, &me, NULL) != 0 ||
	    ident_generate(site, &to, NULL) != 0)
		return 2;
	if ((in = open(argv[1], O_RDONLY)) < 0 ||
	    (o.fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return 1;
	o.placed = NULL;
	o.nrun = 0;
	if (sig_init_threaded(&o.sig) != 0)
		return 1;
	memset(&e, 0, sizeof(e));
	if (seal_enc_init(&e, emit, &o) != 0)
		return 1;
	seal_enc_place(&e, place);
	if (seal_enc_keybox(&e, &to->pub, box) != 0 ||
	    seal_enc_header(&e, hdr) != 0 || emit(&o, box, sizeof(box)) ||
	    emit(&o, hdr, sizeof(hdr)))
		return 1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (seal_enc_update(&e, buf, (size_t)n) != 0)
			return 1;
	if (n < 0 || seal_enc_final(&e) != 0 || flush(&o) != 0 ||
	    sig_sign(&o.sig, me, sig) != 0
	    || write(o.fd, sig, sizeof(sig)) != (ssize_t)sizeof(sig))
		return 1;
	main_cpu = secs(CLOCK_THREAD_CPUTIME_ID);
	seal_enc_release(&e);
	ident_secret_free(me);
	ident_secret_free(to);
	close(in);
	if (close(o.fd) != 0)
		return 1;
	return argc == 4 ? log_times(argv[3], main_cpu) : 0;
}
