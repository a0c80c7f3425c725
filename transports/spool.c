/* transports/spool.c — parts waiting for their bundle (see spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/parts.h"
#include "core/error.h"
#include "core/file.h"
#include "core/hex.h"
#include "core/strb.h"
#include "transports/dir.h"
#include "transports/media.h"
#include "transports/spool.h"

char *
xport_spool_dir(const char *db, const char *idhex)
{
	struct strb sb;

	strb_init(&sb);
	strb_addf(&sb, "%s.mule-spool", db);
	if (idhex != NULL)
		strb_addf(&sb, "/%s", idhex);
	return strb_detach(&sb);
}

/* 1 when two files have the same bytes. */
static int
same_file(const char *a, const char *b)
{
	uint8_t x[65536], y[65536];
	ssize_t n, m;
	int fa, fb, same = 0;

	if ((fa = open(a, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if ((fb = open(b, O_RDONLY | O_CLOEXEC)) < 0) {
		close(fa);
		return 0;
	}
	for (;;) {
		n = read(fa, x, sizeof(x));
		m = read(fb, y, sizeof(y));
		if (n != m || n < 0 || memcmp(x, y, (size_t)n) != 0)
			break;
		if (n == 0) {
			same = 1;
			break;
		}
	}
	close(fa);
	close(fb);
	return same;
}

/* Copies src to dst (new file, atomically). */
static int
copy_file(const char *src, const char *dst, char *err)
{
	struct safefile sf;
	uint8_t buf[65536];
	ssize_t n;
	int fd, r;

	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return mule_errf(err, file_errno_code(errno), "open %s: %s",
		    src, strerror(errno));
	if ((r = safefile_open(&sf, dst, 0600, 1, err)) != 0) {
		close(fd);
		return r;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if ((r = safefile_write(&sf, buf, (size_t)n, err)) != 0)
			break;
	if (r == 0 && n < 0)
		r = mule_errf(err, MULE_EIO, "read %s: %s", src,
		    strerror(errno));
	close(fd);
	if (r != 0) {
		safefile_abort(&sf);
		return r;
	}
	return safefile_commit(&sf, err);
}

int
xport_spool_add(const char *db, const char *path, char idhex[33],
    char *err)
{
	struct part_info pi;
	struct strb sb;
	char *root = NULL, *dir = NULL, *name = NULL;
	int i, r = MULE_EINTERNAL;

	strb_init(&sb);
	if ((r = parts_read_header(path, &pi, err)) != 0)
		goto out;
	hex_encode(idhex, pi.bundle_id, PARTS_ID_LEN);
	if ((root = xport_spool_dir(db, NULL)) == NULL ||
	    (dir = xport_spool_dir(db, idhex)) == NULL ||
	    (name = parts_name(idhex, pi.index, pi.ndata, pi.nparity)) ==
	    NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = file_private_dir(root, err)) != 0 ||
	    (r = file_private_dir(dir, err)) != 0)
		goto out;
	/* A second, different copy of one part is kept too (one may be bad). */
	for (i = 0; i < 100; i++) {
		strb_reset(&sb);
		strb_addf(&sb, "%s/%s", dir, name);
		if (i > 0)
			strb_addf(&sb, ".%d", i);
		if (!file_exists(sb.s))
			break;
		if (same_file(sb.s, path)) {
			r = 0;
			goto out;
		}
	}
	r = copy_file(path, sb.s, err);
out:
	free(root);
	free(dir);
	free(name);
	strb_release(&sb);
	return r;
}

/* The entries of `dir` as full paths (names only with `names`). */
static int
spool_list(const char *dir, int names, char ***out, size_t *n, char *err)
{
	const char *slash;
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = xport_dir_list(dir, NULL, out, n, err)) != 0) {
		strv_free(*out, *n);
		*out = NULL;
		*n = 0;
		return r;
	}
	for (i = 0; names && i < *n; i++)
		if ((slash = strrchr((*out)[i], '/')) != NULL)
			memmove((*out)[i], slash + 1, strlen(slash + 1) + 1);
	return 0;
}

int
xport_spool_parts(const char *db, const char *idhex, char ***paths,
    size_t *n, char *err)
{
	char *dir = xport_spool_dir(db, idhex);
	int r;

	if (dir == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	r = spool_list(dir, 0, paths, n, err);
	free(dir);
	return r;
}

int
xport_spool_groups(const char *db, char ***ids, size_t *n, char *err)
{
	char *root = xport_spool_dir(db, NULL);
	int r;

	if (root == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	r = spool_list(root, 1, ids, n, err);
	free(root);
	return r;
}

void
xport_spool_remove(const char *db, const char *idhex)
{
	char *dir, *root;

	if ((dir = xport_spool_dir(db, idhex)) != NULL)
		xport_dir_remove(dir);
	if ((root = xport_spool_dir(db, NULL)) != NULL)
		rmdir(root);	/* only when it is empty */
	free(dir);
	free(root);
}

/* One group's parts and what they lack; 1 when it can be read. */
static int
spool_group(const char *db, const char *id, struct xport_spool_group *g)
{
	struct parts_status st;
	char **paths = NULL;
	size_t np = 0;
	int ok;

	ok = xport_spool_parts(db, id, &paths, &np, NULL) == 0 &&
	    parts_status_compute((const char *const *)paths, np, 0, &st,
	    NULL) == 0;
	strv_free(paths, np);
	if (!ok)
		return 0;
	g->have = xport_media_parts_list(&st, PART_GOOD);
	g->missing = xport_media_parts_list(&st, PART_MISSING);
	g->nneeded = st.nneeded;
	return 1;
}

int
xport_spool_status(const char *db, struct xport_spool_group **out,
    size_t *n, char *err)
{
	struct xport_spool_group *v = NULL;
	char **ids = NULL;
	size_t i, nid = 0, k = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (xport_spool_groups(db, &ids, &nid, NULL) != 0 || nid == 0)
		goto out;
	if ((v = calloc(nid, sizeof(*v))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nid; i++) {
		if (!spool_group(db, ids[i], &v[k]))
			continue;
		v[k].id = ids[i];
		ids[i] = NULL;
		k++;
	}
	*out = v;
	*n = k;
out:
	strv_free(ids, nid);
	return r;
}

void
xport_spool_status_free(struct xport_spool_group *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].id);
		free(v[i].have);
		free(v[i].missing);
	}
	free(v);
}

int
xport_spool_join(const char *db, const char *idhex,
    struct xport_spool_join *j, char *err)
{
	struct parts_status st;
	struct strb sb;
	char **paths = NULL, *dir = NULL;
	size_t n = 0;
	int r;

	memset(j, 0, sizeof(*j));
	strb_init(&sb);
	if ((r = xport_spool_parts(db, idhex, &paths, &n, err)) != 0 ||
	    (r = parts_status_compute((const char *const *)paths, n, 1, &st,
	    err)) != 0)
		goto out;
	j->ngood = st.ngood;
	j->ndata = st.info.ndata;
	j->nparity = st.info.nparity;
	if ((j->nneeded = st.nneeded) > 0) {
		j->have = xport_media_parts_list(&st, PART_GOOD);
		j->missing = xport_media_parts_list(&st, PART_MISSING);
		goto out;
	}
	dir = xport_spool_dir(db, idhex);
	strb_addf(&sb, "%s/.bundle.mule", dir ? dir : ".");
	if ((r = parts_join((const char *const *)paths, n, strb_str(&sb), &st,
	    err)) != 0)
		goto out;
	j->ngood = st.ngood;
	if ((j->path = strb_detach(&sb)) == NULL)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	strv_free(paths, n);
	strb_release(&sb);
	free(dir);
	return r;
}

void
xport_spool_join_release(struct xport_spool_join *j)
{
	free(j->path);
	free(j->have);
	free(j->missing);
	memset(j, 0, sizeof(*j));
}
