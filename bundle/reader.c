/*
 * bundle/reader.c — bundle_read and bundle_write_raw: the payload of a
 * verified bundle, decrypted on demand and parsed or copied out.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bundle/internal.h"
#include "core/error.h"
#include "core/file.h"

static int
source_next(void *arg, const uint8_t **p, size_t *n, char *err)
{
	return payload_source_next(arg, p, n, err);
}

int
bundle_read(struct bundle_reader *r, const struct ident_secret *me,
    const struct bundle_sink *sink, char *err)
{
	struct payload_source s;
	struct inner_opts o;
	int rc = MULE_EINTERNAL;

	memset(&s, 0, sizeof(s));
	if ((rc = payload_source_open(&s, r, me, err)) != 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.require_zstd = 1;
	/* Every byte it parses was checked against the verified blocks. */
	if ((rc = container_read(source_next, &s, &o, sink, err)) != 0) {
		if (err != NULL && strncmp(err, r->path, strlen(r->path)) != 0)
			rc = mule_errprefix(err, rc, "%s", r->path);
		goto out;
	}
	if ((rc = payload_source_finish(&s, err)) != 0)
		goto out;
	rc = 0;
out:
	payload_source_release(&s);
	return rc;
}

int
bundle_write_raw(struct bundle_reader *r, const struct ident_secret *me,
    int fd, char *err)
{
	struct payload_source s;
	const uint8_t *p;
	size_t n;
	int rc = MULE_EINTERNAL;

	memset(&s, 0, sizeof(s));
	if ((rc = payload_source_open(&s, r, me, err)) != 0)
		goto out;
	for (;;) {
		if ((rc = payload_source_next(&s, &p, &n, err)) != 0)
			goto out;
		if (n == 0)
			break;
		if ((rc = file_write_full(fd, p, n, "the output", err)) != 0)
			goto out;
	}
	if ((rc = payload_source_finish(&s, err)) != 0)
		goto out;
	rc = 0;
out:
	payload_source_release(&s);
	return rc;
}
