/* cli/media.c — parts, ISO images and the spool (see media.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/media.h"
#include "core/error.h"
#include "core/file.h"
#include "core/hex.h"
#include "core/strb.h"
#include "transports/iso.h"

char *
spool_dir(const char *db, const char *idhex)
{
	struct strb sb;

	strb_init(&sb);
	strb_addf(&sb, "%s.mule-spool", db);
	if (idhex != NULL)
		strb_addf(&sb, "/%s", idhex);
	return strb_detach(&sb);
}

/* Reads the first n bytes of a file; 1 if it starts with `magic`. */
static int
starts_with(const char *path, off_t off, const char *magic, size_t n)
{
	char buf[16];
	int fd, yes;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	yes = pread(fd, buf, n, off) == (ssize_t)n &&
	    memcmp(buf, magic, n) == 0;
	close(fd);
	return yes;
}

int
media_is_part(const char *path)
{
	return starts_with(path, 0, PARTS_MAGIC, PARTS_MAGIC_LEN);
}

int
media_is_iso(const char *path)
{
	/* The primary volume descriptor: "CD001" at 32 KiB + 1. */
	return starts_with(path, 32769, "CD001", 5);
}

static void
unlink_all(char **paths, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		unlink(paths[i]);
}

/* A new private directory named after `tmp` (TMP.d). */
static int
scratch_dir(const char *tmp, char **dir, char *err)
{
	struct strb sb;

	strb_init(&sb);
	strb_addf(&sb, "%s.d", tmp);
	if ((*dir = strb_detach(&sb)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	if (mkdir(*dir, 0700) != 0)
		return mule_errf(err, file_errno_code(errno), "cannot make %s: "
		    "%s", *dir, strerror(errno));
	return 0;
}

int
media_pack(const char *tmp, const char *outdir, const char *base,
    uint64_t volume, uint32_t parity, const char *iso, size_t *nfiles,
    char *err)
{
	char **parts = NULL, *whole = NULL, *isodir = NULL;
	struct strb sb;
	size_t nparts = 0;
	int r = MULE_EINTERNAL;

	strb_init(&sb);
	if (volume > 0) {
		/* Parts for an image are made beside the temporary bundle. */
		if (iso != NULL && (r = scratch_dir(tmp, &isodir, err)) != 0)
			goto out;
		if ((r = parts_split(tmp, volume, parity, isodir ? isodir :
		    outdir, base, &parts, &nparts, err)) != 0)
			goto out;
		if (iso != NULL && (r = xport_iso_write(iso,
		    (const char *const *)parts, nparts, base, err)) != 0) {
			unlink_all(parts, nparts);
			goto out;
		}
	} else {
		/* A whole bundle in an image keeps its own name. */
		if ((r = scratch_dir(tmp, &isodir, err)) != 0)
			goto out;
		strb_addf(&sb, "%s/%s.mule", isodir, base);
		if ((whole = strb_detach(&sb)) == NULL ||
		    rename(tmp, whole) != 0) {
			r = mule_errf(err, MULE_EIO, "cannot move %s", tmp);
			goto out;
		}
		nparts = 1;
		r = xport_iso_write(iso, (const char *const *)&whole, 1, base,
		    err);
		unlink(whole);
		if (r != 0)
			goto out;
	}
	*nfiles = nparts;
	r = 0;
out:
	if (iso != NULL && parts != NULL)
		unlink_all(parts, nparts);
	if (isodir != NULL)
		rmdir(isodir);
	unlink(tmp);
	parts_paths_free(parts, volume > 0 ? nparts : 0);
	free(whole);
	free(isodir);
	strb_release(&sb);
	return r;
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
spool_add(const char *db, const char *path, char idhex[33], char *err)
{
	struct part_info pi;
	struct strb sb;
	char *root = NULL, *dir = NULL, *name = NULL;
	int i, r = MULE_EINTERNAL;

	strb_init(&sb);
	if ((r = parts_read_header(path, &pi, err)) != 0)
		goto out;
	hex_encode(idhex, pi.bundle_id, PARTS_ID_LEN);
	if ((root = spool_dir(db, NULL)) == NULL ||
	    (dir = spool_dir(db, idhex)) == NULL ||
	    (name = parts_name(idhex, pi.index, pi.ndata, pi.nparity)) ==
	    NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((mkdir(root, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
		r = mule_errf(err, file_errno_code(errno), "cannot make the "
		    "spool %s: %s", dir, strerror(errno));
		goto out;
	}
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

/* Heap array of the entries of `dir` (with `dir/` in front) or names. */
static int
list_entries(const char *dir, int full, char ***out, size_t *n, char *err)
{
	struct dirent *de;
	struct strb sb;
	char **v = NULL;
	size_t cnt = 0;
	void *p;
	DIR *d;
	int r = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : mule_errf(err, MULE_EIO,
		    "cannot read %s: %s", dir, strerror(errno));
	strb_init(&sb);
	while ((de = readdir(d)) != NULL && r == 0) {
		if (de->d_name[0] == '.')
			continue;
		strb_reset(&sb);
		if (full)
			strb_addf(&sb, "%s/", dir);
		strb_add(&sb, de->d_name);
		if ((p = realloc(v, (cnt + 1) * sizeof(*v))) == NULL ||
		    ((v = p), (v[cnt] = strdup(strb_str(&sb))) == NULL)) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		cnt++;
	}
	closedir(d);
	strb_release(&sb);
	if (r != 0) {
		parts_paths_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int
spool_parts(const char *db, const char *idhex, char ***paths, size_t *n,
    char *err)
{
	char *dir = spool_dir(db, idhex);
	int r;

	if (dir == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	r = list_entries(dir, 1, paths, n, err);
	free(dir);
	return r;
}

int
spool_groups(const char *db, char ***ids, size_t *n, char *err)
{
	char *root = spool_dir(db, NULL);
	int r;

	if (root == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	r = list_entries(root, 0, ids, n, err);
	free(root);
	return r;
}

void
spool_remove(const char *db, const char *idhex)
{
	char **paths = NULL, *dir, *root;
	size_t n = 0;

	if (spool_parts(db, idhex, &paths, &n, NULL) == 0)
		unlink_all(paths, n);
	parts_paths_free(paths, n);
	if ((dir = spool_dir(db, idhex)) != NULL)
		rmdir(dir);
	if ((root = spool_dir(db, NULL)) != NULL)
		rmdir(root);	/* only when it is empty */
	free(dir);
	free(root);
}

char *
parts_list(const struct parts_status *st, int state)
{
	struct strb sb;
	unsigned i, total = st->info.ndata + st->info.nparity;

	strb_init(&sb);
	for (i = 0; i < total && i < PARTS_MAX; i++) {
		if ((st->state[i] == PART_GOOD) != (state == PART_GOOD))
			continue;
		if (sb.len > 0)
			strb_addc(&sb, ' ');
		if (i < st->info.ndata)
			strb_addf(&sb, "d%03u", i + 1);
		else
			strb_addf(&sb, "p%03u", i - st->info.ndata + 1);
	}
	return strb_detach(&sb);
}
