/*
 * tests/unit/test_iso.c — unit tests for transports/iso: ISO 9660 images
 * written and read back through libarchive, listed by bsdtar when it is
 * installed, and crafted images whose member names try to leave the
 * extraction directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/error.h"
#include "core/file.h"
#include "transports/iso.h"

#define MIB (1024u * 1024u)
#define LONGNAME "a-rather-long-site-name-0007.d001-of-003.mule-part"

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	return scratch_setup("mule-iso");
}

static int
teardown(void **state)
{
	(void)state;
	scratch_teardown();
	return 0;
}

static void
mk_random(const char *path, size_t n)
{
	uint8_t *p = malloc(n > 0 ? n : 1);

	assert_non_null(p);
	randombytes_buf(p, n);
	spit(path, p, n);
	free(p);
}

/* Replaces the one occurrence of `from` in the file by `to` (same length). */
static void
patch_once(const char *path, const char *from, const char *to)
{
	uint8_t *p, *hit = NULL;
	size_t n, i, k = strlen(from), count = 0;

	assert_int_equal(strlen(to), k);
	p = slurp(path, &n);
	for (i = 0; i + k <= n; i++)
		if (memcmp(p + i, from, k) == 0) {
			hit = p + i;
			count++;
		}
	assert_int_equal(count, 1);
	memcpy(hit, to, k);
	spit(path, p, n);
	free(p);
}

static void
test_name_ok(void **state)
{
	char longname[XPORT_ISO_MAX_NAME + 2];

	(void)state;
	assert_true(xport_iso_name_ok("hq-0007.mule"));
	assert_true(xport_iso_name_ok(LONGNAME));
	assert_true(xport_iso_name_ok("a..b.mule"));
	assert_false(xport_iso_name_ok(NULL));
	assert_false(xport_iso_name_ok(""));
	assert_false(xport_iso_name_ok("."));
	assert_false(xport_iso_name_ok(".."));
	assert_false(xport_iso_name_ok("../evil.mule"));
	assert_false(xport_iso_name_ok("a/../../evil.mule"));
	assert_false(xport_iso_name_ok("/etc/evil.mule"));
	assert_false(xport_iso_name_ok("sub/x.mule"));
	assert_false(xport_iso_name_ok("x.mule/"));
	assert_false(xport_iso_name_ok(".hidden.mule"));
	assert_false(xport_iso_name_ok("new\nline.mule"));
	assert_false(xport_iso_name_ok("del\x7f.mule"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(xport_iso_name_ok(longname));
	longname[XPORT_ISO_MAX_NAME] = '\0';
	assert_true(xport_iso_name_ok(longname));
}

/* A few files, one of 3 MiB, written, listed and extracted. */
static void
test_roundtrip(void **state)
{
	char *src = mkdir_t("rt-src"), *dst = mkdir_t("rt-dst");
	char *iso, **paths = NULL, err[MULE_ERRLEN], cmd[2048];
	const char *files[4];
	uint8_t *p;
	size_t n = 0, len, i;

	(void)state;
	files[0] = strdup(join_path(src, "hq-0007.mule"));
	files[1] = strdup(join_path(src, LONGNAME));
	files[2] = strdup(join_path(src, "notes.txt"));
	files[3] = strdup(join_path(src, "empty.mule"));
	mk_random(files[0], 4321);
	mk_random(files[1], 3 * MIB);
	mk_random(files[2], 10);
	mk_random(files[3], 0);
	iso = join_path(src, "out.iso");
	assert_int_equal(xport_iso_write(iso, files, 4, "mule hq-0007", err),
	    0);
	assert_int_equal(count_files(src), 5);	/* no temporary left */

	/* The volume id, upper-cased and cleaned, in the primary descriptor. */
	p = slurp(iso, &len);
	assert_true(len > 3 * MIB);
	assert_int_equal(p[16 * 2048], 1);
	assert_memory_equal(p + 16 * 2048 + 1, "CD001", 5);
	assert_memory_equal(p + 16 * 2048 + 40, "MULE_HQ_0007 ", 13);
	free(p);

	if (system("command -v bsdtar >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "bsdtar -tf '%s' > '%s/list'", iso,
		    dst);
		assert_int_equal(system(cmd), 0);
		p = slurp(join_path(dst, "list"), &len);
		assert_non_null(strstr((char *)p, "hq-0007.mule\n"));
		assert_non_null(strstr((char *)p, LONGNAME "\n"));
		assert_non_null(strstr((char *)p, "notes.txt\n"));
		free(p);
		unlink(join_path(dst, "list"));
	}

	assert_int_equal(xport_iso_extract(iso, dst, ".mule", ".mule-part",
	    &paths, &n, err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(count_files(dst), 3);
	for (i = 0; i < n; i++) {
		const char *b = strrchr(paths[i], '/') + 1;

		assert_string_equal(paths[i], join_path(dst, b));
		if (strcmp(b, "hq-0007.mule") == 0)
			assert_same_file(paths[i], files[0]);
		else if (strcmp(b, LONGNAME) == 0)
			assert_same_file(paths[i], files[1]);
		else if (strcmp(b, "empty.mule") == 0)
			assert_same_file(paths[i], files[3]);
		else
			fail_msg("unexpected member %s", b);
	}
	xport_iso_paths_free(paths, n);

	/* Extracting again into the same directory: nothing is replaced. */
	assert_int_equal(xport_iso_extract(iso, dst, ".mule", NULL, &paths, &n,
	    err), MULE_EEXIST);
	assert_int_equal(count_files(dst), 3);
	/* Only one suffix wanted. */
	dst = mkdir_t("rt-dst2");
	assert_int_equal(xport_iso_extract(iso, dst, NULL, ".mule-part",
	    &paths, &n, err), 0);
	assert_int_equal(n, 1);
	xport_iso_paths_free(paths, n);
	/* Nothing wanted: an empty list. */
	dst = mkdir_t("rt-dst3");
	assert_int_equal(xport_iso_extract(iso, dst, ".zip", NULL, &paths, &n,
	    err), 0);
	assert_int_equal(n, 0);
	xport_iso_paths_free(paths, n);

	free((char *)files[0]);
	free((char *)files[1]);
	free((char *)files[2]);
	free((char *)files[3]);
}

/* Crafted names: "../evil.mule", "zz/evil.mule", a name given twice. */
static void
test_crafted_names(void **state)
{
	char *src = mkdir_t("evil-src"), *top = mkdir_t("evil-top");
	char *dst, *iso, **paths = NULL, err[MULE_ERRLEN], inner[512];
	const char *files[3];
	size_t n = 0;

	(void)state;
	snprintf(inner, sizeof(inner), "%s/inner", top);
	dst = inner;
	assert_int_equal(mkdir(dst, 0700), 0);
	files[0] = strdup(join_path(src, "good.mule"));
	files[1] = strdup(join_path(src, "zzzevil.mule"));
	files[2] = strdup(join_path(src, "yyyevil.mule"));
	mk_random(files[0], 100);
	mk_random(files[1], 100);
	mk_random(files[2], 100);
	iso = join_path(src, "evil.iso");
	assert_int_equal(xport_iso_write(iso, files, 3, NULL, err), 0);
	/* Rock Ridge names are stored verbatim: rewrite them. */
	patch_once(iso, "zzzevil.mule", "../evil.mule");
	patch_once(iso, "yyyevil.mule", "zz/evil.mule");
	assert_int_equal(xport_iso_extract(iso, dst, ".mule", NULL, &paths, &n,
	    err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(paths[0], join_path(dst, "good.mule"));
	assert_int_equal(count_files(dst), 1);
	assert_int_equal(count_files(top), 1);		/* just inner/ */
	assert_false(file_exists(join_path(top, "evil.mule")));
	assert_false(file_exists(join_path(dst, "evil.mule")));
	xport_iso_paths_free(paths, n);

	/* The same name twice: refused, and nothing left behind. */
	dst = mkdir_t("evil-dup");
	assert_int_equal(xport_iso_write(iso, files, 3, NULL, err), 0);
	patch_once(iso, "zzzevil.mule", "yyyevil.mule");
	assert_int_equal(xport_iso_extract(iso, dst, ".mule", NULL, &paths, &n,
	    err), MULE_EFORMAT);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(count_files(dst), 0);

	free((char *)files[0]);
	free((char *)files[1]);
	free((char *)files[2]);
}

static void
test_refusals(void **state)
{
	char *src = mkdir_t("ref-src"), *dst = mkdir_t("ref-dst");
	char *iso, **paths = NULL, err[MULE_ERRLEN];
	const char *files[2];
	size_t n = 0;

	(void)state;
	iso = join_path(src, "x.iso");
	files[0] = strdup(join_path(src, "a.mule"));
	files[1] = strdup(join_path(dst, "a.mule"));
	mk_random(files[0], 10);
	mk_random(files[1], 10);
	assert_int_equal(xport_iso_write(iso, files, 0, NULL, err),
	    MULE_EINVAL);
	assert_int_equal(xport_iso_write(iso, files, 2, NULL, err),
	    MULE_EINVAL);
	assert_non_null(strstr(err, "same name"));
	free((char *)files[1]);
	files[1] = strdup(join_path(src, "missing.mule"));
	assert_int_equal(xport_iso_write(iso, files, 2, NULL, err),
	    MULE_ENOTFOUND);
	free((char *)files[1]);
	files[1] = strdup(src);
	assert_int_equal(xport_iso_write(iso, files, 2, NULL, err),
	    MULE_EINVAL);
	free((char *)files[1]);
	files[1] = strdup(join_path(src, ".hidden.mule"));
	mk_random(files[1], 10);
	assert_int_equal(xport_iso_write(iso, files, 2, NULL, err),
	    MULE_EINVAL);
	assert_false(file_exists(iso));
	assert_int_equal(count_files(src), 2);

	/* Not an image; no image. */
	assert_int_equal(xport_iso_extract(files[0], dst, ".mule", NULL,
	    &paths, &n, err), MULE_EARCHIVE);
	assert_int_equal(xport_iso_extract(iso, dst, ".mule", NULL, &paths,
	    &n, err), MULE_ENOTFOUND);
	assert_int_equal(count_files(dst), 1);
	free((char *)files[0]);
	free((char *)files[1]);
}

/* The medium fills up while the image is written: nothing left behind. */
static void
test_full_while_writing(void **state)
{
	char *src = mkdir_t("full-src"), *dst = mkdir_t("full-dst");
	char err[MULE_ERRLEN];
	const char *files[2];
	struct rlimit old, lim;
	void (*oldsig)(int);
	int r1, r2;

	(void)state;
	/* Its contents fit in 1 MiB, the image with its padding does not. */
	files[0] = strdup(join_path(src, "mid.mule"));
	mk_random(files[0], 900 * 1024);
	/* This one does not even fit libarchive's spool file. */
	files[1] = strdup(join_path(src, "big.mule"));
	mk_random(files[1], 2 * MIB);
	/* Writes past 1 MiB fail with EFBIG, as on a full medium. */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = MIB;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r1 = xport_iso_write(join_path(dst, "x.iso"), files, 1, NULL, err);
	r2 = xport_iso_write(join_path(dst, "x.iso"), files + 1, 1, NULL,
	    err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(r1, MULE_ENOSPACE);
	assert_int_equal(r2, MULE_ENOSPACE);
	assert_int_equal(count_files(dst), 0);
	free((char *)files[0]);
	free((char *)files[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_crafted_names),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_full_while_writing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
