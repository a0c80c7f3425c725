/*
 * bench/bench_crypto.c — encrypts and signs a file exactly as a bundle's
 * payload is (crypto/seal.h secretstream in 64 KiB chunks, crypto/sig.h
 * BLAKE2b + Ed25519 over the output, the hash in its own thread as
 * bundle/writer.c runs it), so `make bench` can compare the throughput
 * with age encrypting the same bytes.
 *
 *   bench_crypto IN OUT
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "crypto/seal.h"
#include "crypto/sig.h"

struct out {
	int fd;
	struct sig_ctx sig;
};

static int
emit(void *arg, const uint8_t *p, size_t n)
{
	struct out *o = arg;

	sig_update(&o->sig, p, n);
	return write(o->fd, p, n) == (ssize_t)n ? 0 : MULE_EIO;
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
	ssize_t n;
	int in;

	if (argc != 3 || ident_lib_init() != 0 ||
	    ident_generate(site, &me, NULL) != 0 ||
	    ident_generate(site, &to, NULL) != 0)
		return 2;
	if ((in = open(argv[1], O_RDONLY)) < 0 ||
	    (o.fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return 1;
	if (sig_init_threaded(&o.sig) != 0)
		return 1;
	memset(&e, 0, sizeof(e));
	if (seal_enc_init(&e, emit, &o) != 0 ||
	    seal_enc_keybox(&e, &to->pub, box) != 0 ||
	    seal_enc_header(&e, hdr) != 0 || emit(&o, box, sizeof(box)) ||
	    emit(&o, hdr, sizeof(hdr)))
		return 1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (seal_enc_update(&e, buf, (size_t)n) != 0)
			return 1;
	if (n < 0 || seal_enc_final(&e) != 0 || sig_sign(&o.sig, me, sig) != 0
	    || write(o.fd, sig, sizeof(sig)) != (ssize_t)sizeof(sig))
		return 1;
	seal_enc_release(&e);
	ident_secret_free(me);
	ident_secret_free(to);
	close(in);
	return close(o.fd) == 0 ? 0 : 1;
}
