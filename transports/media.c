/* transports/media.c — parts and ISO images (see media.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strb.h"
#include "transports/iso.h"
#include "transports/media.h"

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
xport_media_is_part(const char *path)
{
	return starts_with(path, 0, PARTS_MAGIC, PARTS_MAGIC_LEN);
}

int
xport_media_is_iso(const char *path)
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

/*
 * Removes the temporaries a crashed pack left of the image at `iso`
 * (".NAME.PID.XXXXXX" of a process no longer running).
 */
static void
sweep_beside(const char *iso)
{
	const char *slash = strrchr(iso, '/');
	char e2[MULE_ERRLEN];
	struct strb dir;
	size_t n;

	strb_init(&dir);
	if (slash == NULL)
		strb_add(&dir, ".");
	else
		strb_addf(&dir, "%.*s", slash == iso ? 1 : (int)(slash - iso),
		    iso);
	if (!strb_error(&dir) && (slash == NULL || slash[1] != '\0'))
		(void)file_sweep_temps(dir.s, slash != NULL ? slash + 1 : iso,
		    "", &n, e2);
	strb_release(&dir);
}

/* The sizes of files[0..n) added up (0 for those that cannot be read). */
static uint64_t
size_all(char *const *files, size_t n)
{
	struct stat sb;
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (stat(files[i], &sb) == 0)
			sum += (uint64_t)sb.st_size;
	return sum;
}

/* Writes the image, saying so to fn first and after. */
static int
image(const char *iso, char *const *files, size_t n, const char *base,
    progress_fn fn, void *parg, char *err)
{
	uint64_t all = size_all(files, n);
	int r;

	progress_report(fn, parg, PROGRESS_IMAGE, 0, all);
	if ((r = xport_iso_write(iso, (const char *const *)files, n, base,
	    err)) == 0)
		progress_report(fn, parg, PROGRESS_IMAGE, all, all);
	return r;
}

int
xport_media_pack(const char *tmp, const char *outdir, const char *base,
    uint64_t volume, uint32_t parity, const char *iso, size_t *nfiles,
    uint64_t *bytes, progress_fn fn, void *parg, char *err)
{
	char **parts = NULL, *whole = NULL, *isodir = NULL;
	struct strb sb;
	uint64_t all = 0;
	size_t nparts = 0;
	int r = MULE_EINTERNAL;

	strb_init(&sb);
	if (iso != NULL)
		sweep_beside(iso);
	if (volume > 0) {
		/* Parts for an image are made beside the temporary bundle. */
		if (iso != NULL && (r = scratch_dir(tmp, &isodir, err)) != 0)
			goto out;
		if ((r = parts_split_progress(tmp, volume, parity, isodir ?
		    isodir : outdir, base, &parts, &nparts, fn, parg,
		    err)) != 0)
			goto out;
		all = size_all(parts, nparts);
		if (iso != NULL && (r = image(iso, parts, nparts, base, fn,
		    parg, err)) != 0) {
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
		all = size_all(&whole, 1);
		r = image(iso, &whole, 1, base, fn, parg, err);
		unlink(whole);
		if (r != 0)
			goto out;
	}
	*nfiles = nparts;
	if (bytes != NULL)
		*bytes = all;
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

char *
xport_media_part_base(const char *path)
{
	const char *name = strrchr(path, '/'), *dot;
	size_t n;

	name = name != NULL ? name + 1 : path;
	n = strlen(name);
	if (n <= strlen(PARTS_SUFFIX) || strcmp(name + n -
	    strlen(PARTS_SUFFIX), PARTS_SUFFIX) != 0)
		return NULL;
	/* BASE.dNNN-of-MMM: the last dot before the suffix ends BASE. */
	for (dot = name + n - strlen(PARTS_SUFFIX); dot > name; dot--)
		if (dot[-1] == '.')
			break;
	if (dot <= name + 1 || (*dot != 'd' && *dot != 'p') ||
	    strstr(dot, "-of-") == NULL)
		return NULL;
	return strndup(name, (size_t)(dot - 1 - name));
}

char *
xport_media_parts_list(const struct parts_status *st, int state)
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

int
xport_size_parse(const char *s, uint64_t *out)
{
	uint64_t whole = 0, frac = 0, fdiv = 1, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > UINT64_MAX / 10 / 1024 / 1000 / 1000)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9' && fdiv < 1000000; p++) {
			frac = frac * 10 + (uint64_t)(*p - '0');
			fdiv *= 10;
		}
	}
	/* k = 1024; M = 1000 k; G = 1000 M: 1.44M is a floppy's 1440 KiB. */
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = 1024;
		break;
	case 'm': case 'M':
		mult = 1024 * 1000;
		break;
	case 'g': case 'G':
		mult = (uint64_t)1024 * 1000 * 1000;
		break;
	default:
		return -1;
	}
	if (*p != '\0' && p[1] != '\0' && !((p[1] == 'B' || p[1] == 'b') &&
	    p[2] == '\0'))
		return -1;
	*out = whole * mult + frac * mult / fdiv;
	return *out > 0 ? 0 : -1;
}
