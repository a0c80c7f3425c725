/*
 * tests/unit/scratch.h — a scratch directory and small file helpers shared
 * by the unit tests.  Include once per test program, after cmocka.h; the
 * functions are static, and those a test does not use are marked unused.
 */
#ifndef MULE_TESTS_SCRATCH_H
#define MULE_TESTS_SCRATCH_H

#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/file.h"

#define SCRATCH_UNUSED __attribute__((unused))

static char tmpdir[256];

static int
scratch_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

/* Makes tmpdir ($TMPDIR or /tmp, then PREFIX-XXXXXX); 0 or -1. */
static SCRATCH_UNUSED int
scratch_setup(const char *prefix)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/%s-XXXXXX",
	    t != NULL ? t : "/tmp", prefix);
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

/* Removes tmpdir and everything in it. */
static SCRATCH_UNUSED void
scratch_teardown(void)
{
	nftw(tmpdir, scratch_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* DIR/NAME in one of 64 rotating buffers. */
static SCRATCH_UNUSED char *
join_path(const char *dir, const char *name)
{
	static char p[64][600];
	static int k;

	k = (k + 1) % 64;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* A fresh directory tmpdir/NAME. */
static SCRATCH_UNUSED char *
mkdir_t(const char *name)
{
	char *p = join_path(tmpdir, name);

	assert_int_equal(mkdir(p, 0700), 0);
	return p;
}

/* A whole file (heap; the caller frees). */
static SCRATCH_UNUSED uint8_t *
slurp(const char *path, size_t *n)
{
	uint8_t *p = NULL;
	char err[MULE_ERRLEN];

	assert_int_equal(file_read_all(path, 1u << 30, &p, n, err), 0);
	return p;
}

/* Writes a whole file. */
static SCRATCH_UNUSED void
spit(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (n > 0)
		assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Two files hold the same bytes. */
static SCRATCH_UNUSED void
assert_same_file(const char *a, const char *b)
{
	uint8_t *pa, *pb;
	size_t na, nb;

	pa = slurp(a, &na);
	pb = slurp(b, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(pa, pb, na);
	free(pa);
	free(pb);
}

/* Entries of a directory, "." and ".." not counted. */
static SCRATCH_UNUSED size_t
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

#endif
