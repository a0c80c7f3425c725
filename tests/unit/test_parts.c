/*
 * tests/unit/test_parts.c — unit tests for bundle/parts: splitting a
 * bundle into parts with Reed-Solomon parity and joining any sufficient
 * subset back, on real files; damaged, truncated, foreign and missing
 * parts; the header parser fed bad input.
 *
 * With MULE_FUZZ_SEEDS=DIR set, the tests also write sample part headers
 * into DIR/part for a fuzz target.
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

#include "bundle/parts.h"
#include "core/error.h"
#include "core/file.h"
#include "crypto/sig.h"

#define MIB (1024u * 1024u)
#define FLOPPY 1474560u			/* 1440 KiB */

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	return scratch_setup("mule-parts");
}

static int
teardown(void **state)
{
	(void)state;
	scratch_teardown();
	return 0;
}

/* A random file that starts like a bundle: magic, version, flags, id. */
static void
mk_bundle(const char *path, size_t size, uint8_t idbyte)
{
	uint8_t *p = malloc(size);

	assert_non_null(p);
	assert_true(size >= PARTS_MIN_BUNDLE);
	randombytes_buf(p, size);
	memcpy(p, "MULEBNDL", 8);
	p[8] = 1;
	p[9] = 1;
	memset(p + 10, idbyte, 16);
	spit(path, p, size);
	free(p);
}

/* Flips every bit of n bytes at off. */
static void
corrupt(const char *path, uint64_t off, size_t n)
{
	int fd = open(path, O_RDWR);
	uint8_t junk[64];
	size_t i;

	assert_true(fd >= 0);
	assert_true(n <= sizeof(junk));
	assert_int_equal(pread(fd, junk, n, (off_t)off), (ssize_t)n);
	for (i = 0; i < n; i++)
		junk[i] ^= 0xff;
	assert_int_equal(pwrite(fd, junk, n, (off_t)off), (ssize_t)n);
	close(fd);
}

/* Joins paths[] except those whose bit is set in `skip`; expects r. */
static int
join_except(char **paths, size_t n, uint64_t skip, const char *out,
    struct parts_status *st, char *err)
{
	const char *sel[PARTS_MAX];
	size_t i, k = 0;

	/* Reverse order, to show order does not matter. */
	for (i = n; i-- > 0;)
		if (i >= 64 || !((skip >> i) & 1))
			sel[k++] = paths[i];
	return parts_join(sel, k, out, st, err);
}

/* Copies a sample header for the fuzz target when MULE_FUZZ_SEEDS is set. */
static void
fuzz_seed(const char *name, const char *part)
{
	const char *dir = getenv("MULE_FUZZ_SEEDS");
	char p[1024];
	uint8_t hdr[PARTS_HEADER_LEN + 16];
	ssize_t got;
	int fd;

	if (dir == NULL)
		return;
	snprintf(p, sizeof(p), "%s/part", dir);
	(void)mkdir(dir, 0755);
	(void)mkdir(p, 0755);
	if ((fd = open(part, O_RDONLY)) < 0)
		return;
	got = read(fd, hdr, sizeof(hdr));
	close(fd);
	if (got > 0) {
		snprintf(p, sizeof(p), "%s/part/%s", dir, name);
		spit(p, hdr, (size_t)got);
	}
}

/* ------------------------------------------------------------------ */
/* header                                                              */
/* ------------------------------------------------------------------ */

static void
sample_info(struct part_info *in)
{
	memset(in, 0, sizeof(*in));
	memset(in->bundle_id, 0x42, sizeof(in->bundle_id));
	in->bundle_size = 1000;
	memset(in->bundle_hash, 0x17, sizeof(in->bundle_hash));
	in->ndata = 3;
	in->nparity = 2;
	in->index = 4;
	in->payload_len = 334;
	memset(in->payload_hash, 0x99, sizeof(in->payload_hash));
}

/* Rewrites a header's checksum after the test changed its bytes. */
static void
reseal(uint8_t *h)
{
	sig_hash(h + PARTS_HEADER_LEN - PARTS_HASH_LEN, PARTS_HASH_LEN, h,
	    PARTS_HEADER_LEN - PARTS_HASH_LEN);
}

/*
 * In a new directory tmpdir/NAME (returned): b.mule, a bundle of `size`
 * bytes, split for floppies with `nparity` parity parts (*paths, *n; free
 * them with parts_paths_free); *out names out.mule there, for joins.
 */
static char *
split_fixture(const char *name, size_t size, uint8_t idbyte,
    uint32_t nparity, char **out, char ***paths, size_t *n)
{
	static char bundle[600], outp[600];
	char err[MULE_ERRLEN];
	char *dir = mkdir_t(name);

	snprintf(bundle, sizeof(bundle), "%s/b.mule", dir);
	snprintf(outp, sizeof(outp), "%s/out.mule", dir);
	*out = outp;
	mk_bundle(bundle, size, idbyte);
	assert_int_equal(parts_split(bundle, FLOPPY, nparity, dir, "b", paths,
	    n, err), 0);
	return dir;
}

static void
test_header_roundtrip(void **state)
{
	struct part_info in, out;
	uint8_t h[PARTS_HEADER_LEN];
	char err[MULE_ERRLEN];

	(void)state;
	sample_info(&in);
	assert_int_equal(parts_encode_header(&in, h, err), 0);
	assert_memory_equal(h, "MULEPART\x01", 9);
	assert_int_equal(parts_parse_header(h, sizeof(h), &out, err), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	/* Offsets as documented in mule-bundle(5). */
	assert_int_equal(h[65], 0);
	assert_int_equal(h[66], 3);		/* ndata */
	assert_int_equal(h[68], 2);		/* nparity */
	assert_int_equal(h[70], 4);		/* index */
	assert_int_equal(h[77] * 256 + h[78], 334);	/* payload length */
}

static void
test_header_refusals(void **state)
{
	struct part_info in, out;
	uint8_t h[PARTS_HEADER_LEN], g[PARTS_HEADER_LEN];
	char err[MULE_ERRLEN];
	size_t n;

	(void)state;
	sample_info(&in);
	assert_int_equal(parts_encode_header(&in, h, err), 0);

	/* Every truncation: malformed only for an empty input. */
	assert_int_equal(parts_parse_header(h, 0, &out, err), MULE_EFORMAT);
	for (n = 1; n < PARTS_HEADER_LEN; n++)
		assert_int_equal(parts_parse_header(h, n, &out, err),
		    MULE_EINCOMPLETE);
	/* Magic, version. */
	memcpy(g, h, sizeof(g));
	g[0] = 'X';
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_EFORMAT);
	assert_int_equal(parts_parse_header(g, 3, &out, err), MULE_EFORMAT);
	memcpy(g, h, sizeof(g));
	g[8] = 2;
	reseal(g);
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_EFORMAT);
	assert_non_null(strstr(err, "version"));
	/* Any single flipped bit: the checksum notices. */
	for (n = 9; n < PARTS_HEADER_LEN; n++) {
		memcpy(g, h, sizeof(g));
		g[n] ^= 0x10;
		assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
		    MULE_EFORMAT);
	}
	/* Limits and relations, with a valid checksum. */
	memcpy(g, h, sizeof(g));
	g[66] = 0; g[65] = 0;			/* ndata 0 */
	reseal(g);
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_EFORMAT);
	memcpy(g, h, sizeof(g));
	g[67] = 0; g[68] = 253;			/* 3 + 253 > 255 */
	reseal(g);
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_ETOOLARGE);
	memcpy(g, h, sizeof(g));
	g[70] = 5;				/* index 5 of 5 */
	reseal(g);
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_EFORMAT);
	memcpy(g, h, sizeof(g));
	g[78]++;				/* payload length 335 */
	reseal(g);
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_EFORMAT);
	memcpy(g, h, sizeof(g));
	g[71] = 0x01;				/* payload 2^56 + 334 */
	reseal(g);
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_ETOOLARGE);
	memcpy(g, h, sizeof(g));
	memset(g + 25, 0, 8);			/* bundle size 0 */
	reseal(g);
	assert_int_equal(parts_parse_header(g, sizeof(g), &out, err),
	    MULE_EFORMAT);

	/* The last data part must hold at least one byte of the bundle. */
	sample_info(&in);
	in.bundle_size = 30;
	in.ndata = 4;
	in.payload_len = 8;
	assert_int_equal(parts_encode_header(&in, h, err), 0);
	in.bundle_size = 26;
	in.ndata = 13;
	in.nparity = 0;
	in.index = 0;
	in.payload_len = 2;
	assert_int_equal(parts_encode_header(&in, h, err), 0);
	in.ndata = 14;			/* ceil(26/14) = 2, 13 * 2 >= 26 */
	assert_int_equal(parts_encode_header(&in, h, err), MULE_EINVAL);
}

/* ------------------------------------------------------------------ */
/* split and join                                                      */
/* ------------------------------------------------------------------ */

/* 5 MiB on floppies with 2 parity parts: 4 data + 2 parity. */
static void
test_split_floppies(void **state)
{
	char *dir = mkdir_t("floppies"), *bundle, *out, **paths = NULL;
	char err[MULE_ERRLEN];
	struct part_info info;
	struct parts_status st;
	struct stat sb;
	size_t n = 0, i;
	unsigned k;
	uint64_t len;
	const char *names[] = {
		"hq-0007.d001-of-004.mule-part", "hq-0007.d002-of-004.mule-part",
		"hq-0007.d003-of-004.mule-part", "hq-0007.d004-of-004.mule-part",
		"hq-0007.p001-of-002.mule-part", "hq-0007.p002-of-002.mule-part",
	};

	(void)state;
	bundle = join_path(dir, "hq-0007.mule");
	mk_bundle(bundle, 5 * MIB + 12345, 0x01);
	assert_int_equal(chmod(bundle, 0644), 0);
	assert_int_equal(parts_plan(5 * MIB + 12345, FLOPPY, 2, &k, &len, err),
	    0);
	assert_int_equal(k, 4);
	assert_int_equal(len, (5 * MIB + 12345 + 3) / 4);
	assert_int_equal(parts_plan(5 * MIB, 1000, 2, &k, &len, err),
	    MULE_EINVAL);
	/* A payload is at most PARTS_MAX_PAYLOAD, whatever the volume. */
	assert_int_equal(parts_plan(((uint64_t)1 << 45), (uint64_t)1 << 60, 0,
	    &k, &len, err), 0);
	assert_int_equal(k, 32);
	assert_int_equal(len, PARTS_MAX_PAYLOAD);
	assert_int_equal(parts_plan(((uint64_t)1 << 50) * 255, 1u << 30, 0,
	    &k, &len, err), MULE_ETOOLARGE);
	assert_int_equal(parts_split(bundle, FLOPPY, 2, dir, "hq-0007",
	    &paths, &n, err), 0);
	assert_int_equal(n, 6);
	for (i = 0; i < n; i++) {
		assert_string_equal(paths[i], join_path(dir, names[i]));
		assert_int_equal(stat(paths[i], &sb), 0);
		assert_true((uint64_t)sb.st_size <= FLOPPY);
		assert_int_equal(sb.st_mode & 0777, 0644);
		assert_int_equal(parts_read_header(paths[i], &info, err), 0);
		assert_int_equal(info.ndata, 4);
		assert_int_equal(info.nparity, 2);
		assert_int_equal(info.index, i);
		assert_int_equal(info.bundle_size, 5 * MIB + 12345);
		assert_int_equal(info.payload_len, (5 * MIB + 12345 + 3) / 4);
		assert_int_equal(sb.st_size, PARTS_HEADER_LEN +
		    info.payload_len);
		assert_int_equal(info.bundle_id[0], 0x01);
	}
	fuzz_seed("data", paths[0]);
	fuzz_seed("parity", paths[5]);
	assert_int_equal(count_files(dir), 7);

	/* Status from headers alone, and verified. */
	assert_int_equal(parts_status_compute((const char *const *)paths, n, 0,
	    &st, err), 0);
	assert_int_equal(st.ngood, 6);
	assert_int_equal(st.nneeded, 0);
	assert_int_equal(parts_status_compute((const char *const *)paths, n, 1,
	    &st, err), 0);
	assert_int_equal(st.ngood, 6);

	out = join_path(dir, "rebuilt.mule");
	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), 0);
	assert_same_file(bundle, out);
	parts_paths_free(paths, n);
}

/* Every combination of up to 2 lost parts out of 6 rebuilds the bundle. */
static void
test_lose_any_two(void **state)
{
	char *dir, *bundle, *out, **paths = NULL;
	char err[MULE_ERRLEN];
	struct parts_status st;
	size_t n = 0, i, j, combos = 0;

	(void)state;
	dir = split_fixture("lose2", 4 * MIB + 999, 0x02, 2, &out, &paths, &n);
	bundle = join_path(dir, "b.mule");
	assert_int_equal(n, 5);		/* 3 data + 2 parity */
	for (i = 0; i < n; i++)
		for (j = i; j < n; j++) {
			uint64_t skip = ((uint64_t)1 << i) | ((uint64_t)1 << j);

			unlink(out);
			assert_int_equal(join_except(paths, n, skip, out, &st,
			    err), 0);
			assert_same_file(bundle, out);
			assert_int_equal(st.state[i], PART_MISSING);
			assert_int_equal(st.state[j], PART_MISSING);
			assert_int_equal(st.nneeded, 0);
			combos++;
		}
	assert_int_equal(combos, 15);
	parts_paths_free(paths, n);
}

/* Three lost: a clear refusal listing what is missing, nothing written. */
static void
test_lose_three(void **state)
{
	char *dir, *bundle, *out, **paths = NULL;
	char err[MULE_ERRLEN];
	struct parts_status st;
	size_t n = 0;

	(void)state;
	dir = split_fixture("lose3", 5 * MIB, 0x03, 2, &out, &paths, &n);
	bundle = join_path(dir, "b.mule");
	assert_int_equal(n, 6);
	/* Lose d002, d004 and p001. */
	assert_int_equal(join_except(paths, n, 0x02 | 0x08 | 0x10, out, &st,
	    err), MULE_EINCOMPLETE);
	assert_non_null(strstr(err, "missing d002 d004 p001"));
	assert_non_null(strstr(err, "1 more part is needed"));
	assert_false(file_exists(out));
	assert_int_equal(st.ngood, 3);
	assert_int_equal(st.nneeded, 1);
	assert_int_equal(st.state[0], PART_GOOD);
	assert_int_equal(st.state[1], PART_MISSING);
	assert_int_equal(st.state[2], PART_GOOD);
	assert_int_equal(st.state[3], PART_MISSING);
	assert_int_equal(st.state[4], PART_MISSING);
	assert_int_equal(st.state[5], PART_GOOD);
	/* The same from the status helper. */
	memset(&st, 0, sizeof(st));
	{
		const char *sel[] = { paths[5], paths[2], paths[0] };

		assert_int_equal(parts_status_compute(sel, 3, 1, &st, err), 0);
	}
	assert_int_equal(st.nneeded, 1);
	assert_int_equal(st.state[3], PART_MISSING);
	/* One more turns up: complete. */
	assert_int_equal(join_except(paths, n, 0x02 | 0x08, out, &st, err), 0);
	assert_same_file(bundle, out);
	parts_paths_free(paths, n);
}

/* Bytes overwritten inside parts: found by the hash, repaired. */
static void
test_damaged_payload(void **state)
{
	char *dir, *bundle, *out, **paths = NULL;
	char err[MULE_ERRLEN];
	struct parts_status st;
	struct part_info info;
	size_t n = 0;

	(void)state;
	dir = split_fixture("damage", 5 * MIB, 0x04, 2, &out, &paths, &n);
	bundle = join_path(dir, "b.mule");
	corrupt(paths[1], PARTS_HEADER_LEN + 700000, 40);
	/* The header still reads; only the payload hash tells. */
	assert_int_equal(parts_read_header(paths[1], &info, err), 0);
	assert_int_equal(parts_status_compute((const char *const *)paths, n, 0,
	    &st, err), 0);
	assert_int_equal(st.state[1], PART_GOOD);
	assert_int_equal(parts_status_compute((const char *const *)paths, n, 1,
	    &st, err), 0);
	assert_int_equal(st.state[1], PART_BAD);
	assert_int_equal(st.ngood, 5);

	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), 0);
	assert_same_file(bundle, out);
	assert_int_equal(st.state[1], PART_BAD);

	/* Damage in a parity part and the last data part too: still fine. */
	corrupt(paths[3], PARTS_HEADER_LEN + 5, 1);
	unlink(out);
	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), 0);
	assert_same_file(bundle, out);
	/* A third damaged part is one too many. */
	corrupt(paths[4], PARTS_HEADER_LEN + info.payload_len - 1, 1);
	unlink(out);
	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), MULE_EINCOMPLETE);
	assert_non_null(strstr(err, "damaged d002 d004 p001"));
	assert_false(file_exists(out));
	parts_paths_free(paths, n);
}

/* Damaged headers and truncated or extended parts are refused. */
static void
test_bad_part_files(void **state)
{
	char *dir, *bundle, *out, **paths = NULL;
	char err[MULE_ERRLEN];
	struct parts_status st;
	struct part_info info;
	struct stat sb;
	size_t n = 0;
	int fd;

	(void)state;
	dir = split_fixture("badfiles", 3 * MIB, 0x05, 2, &out, &paths, &n);
	bundle = join_path(dir, "b.mule");
	assert_int_equal(n, 5);

	corrupt(paths[0], 30, 1);			/* header: bundle size */
	assert_int_equal(parts_read_header(paths[0], &info, err),
	    MULE_EFORMAT);
	assert_non_null(strstr(err, "checksum"));
	assert_non_null(strstr(err, paths[0]));

	assert_int_equal(stat(paths[1], &sb), 0);
	assert_int_equal(truncate(paths[1], sb.st_size - 1), 0);
	assert_int_equal(parts_read_header(paths[1], &info, err),
	    MULE_EINCOMPLETE);
	assert_non_null(strstr(err, "truncated"));

	assert_int_equal(truncate(paths[2], 100), 0);	/* inside the header */
	assert_int_equal(parts_read_header(paths[2], &info, err),
	    MULE_EINCOMPLETE);

	assert_int_equal(stat(paths[3], &sb), 0);
	fd = open(paths[3], O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(parts_read_header(paths[3], &info, err),
	    MULE_EFORMAT);

	/* Not a part at all. */
	assert_int_equal(parts_read_header(bundle, &info, err), MULE_EFORMAT);
	assert_int_equal(parts_read_header(dir, &info, err), MULE_EINVAL);

	/* Four unreadable parts out of five: not enough, and said so. */
	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), MULE_EINCOMPLETE);
	assert_int_equal(st.nunreadable, 4);
	assert_int_equal(st.ngood, 1);
	assert_int_equal(st.nneeded, 2);
	/* Nothing readable at all: the first file's error. */
	assert_int_equal(parts_join((const char *const *)paths, 2, out, &st,
	    err), MULE_EFORMAT);
	assert_non_null(strstr(err, "checksum"));
	assert_int_equal(parts_join((const char *const *)paths, 0, out, &st,
	    err), MULE_EINVAL);
	assert_false(file_exists(out));
	parts_paths_free(paths, n);
}

/* A damaged header among enough good parts: ignored, bundle rebuilt. */
static void
test_bad_header_repaired(void **state)
{
	char *dir, *bundle, *out, **paths = NULL;
	char err[MULE_ERRLEN];
	struct parts_status st;
	size_t n = 0;

	(void)state;
	dir = split_fixture("badhdr", 3 * MIB, 0x06, 1, &out, &paths, &n);
	bundle = join_path(dir, "b.mule");
	assert_int_equal(n, 4);
	corrupt(paths[0], 70, 1);			/* header: index */
	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), 0);
	assert_same_file(bundle, out);
	assert_int_equal(st.nunreadable, 1);
	assert_int_equal(st.state[0], PART_MISSING);
	parts_paths_free(paths, n);
}

/* Parts spread over directories, in any order, with duplicates. */
static void
test_scattered_duplicates(void **state)
{
	char *dir, *d2 = mkdir_t("scatter2");
	char *bundle, *out, **paths = NULL, err[MULE_ERRLEN];
	struct parts_status st;
	const char *sel[8];
	uint8_t *p;
	size_t n = 0, len;

	(void)state;
	dir = split_fixture("scatter", 4 * MIB, 0x07, 2, &out, &paths, &n);
	bundle = join_path(dir, "b.mule");
	assert_int_equal(n, 5);
	/* Copy p002 and d001 to another directory under other names. */
	p = slurp(paths[4], &len);
	spit(join_path(d2, "copy-of-parity"), p, len);
	free(p);
	p = slurp(paths[0], &len);
	spit(join_path(d2, "floppy1.mule-part"), p, len);
	free(p);
	sel[0] = join_path(d2, "copy-of-parity");
	sel[1] = paths[4];
	sel[2] = join_path(d2, "floppy1.mule-part");
	sel[3] = paths[0];
	sel[4] = paths[4];
	assert_int_equal(parts_join(sel, 5, out, &st, err), MULE_EINCOMPLETE);
	assert_int_equal(st.ngood, 2);
	assert_int_equal(st.nduplicate, 3);
	/* Two data parts missing, recovered from d001, p001 and p002. */
	sel[5] = paths[3];
	assert_int_equal(parts_join(sel, 6, out, &st, err), 0);
	assert_same_file(bundle, out);
	assert_int_equal(st.ngood, 3);
	assert_int_equal(st.nduplicate, 3);
	parts_paths_free(paths, n);
}

/* Parts of two bundles mixed up: grouped by bundle id. */
static void
test_two_bundles(void **state)
{
	char *dir = mkdir_t("two"), *a, *b, *out;
	char **pa = NULL, **pb = NULL, err[MULE_ERRLEN];
	const char *mixed[16], *ga[16], *gb[16];
	struct parts_status st;
	struct part_info info, first;
	size_t na = 0, nb = 0, i, nm = 0, nga = 0, ngb = 0;

	(void)state;
	a = join_path(dir, "a.mule");
	b = join_path(dir, "b.mule");
	out = join_path(dir, "out.mule");
	mk_bundle(a, 3 * MIB, 0xaa);
	mk_bundle(b, 2 * MIB + 7, 0xbb);
	assert_int_equal(parts_split(a, FLOPPY, 1, dir, "a", &pa, &na, err),
	    0);
	assert_int_equal(parts_split(b, FLOPPY, 2, dir, "b", &pb, &nb, err),
	    0);
	for (i = 0; i < 5; i++) {
		if (i < na)
			mixed[nm++] = pa[i];
		if (i < nb)
			mixed[nm++] = pb[i];
	}
	/* Group as a caller would, by bundle id. */
	assert_int_equal(parts_read_header(mixed[0], &first, err), 0);
	for (i = 0; i < nm; i++) {
		assert_int_equal(parts_read_header(mixed[i], &info, err), 0);
		if (memcmp(info.bundle_id, first.bundle_id, PARTS_ID_LEN) == 0)
			ga[nga++] = mixed[i];
		else
			gb[ngb++] = mixed[i];
	}
	assert_int_equal(nga, na);
	assert_int_equal(ngb, nb);
	assert_int_equal(parts_join(ga, nga, out, &st, err), 0);
	assert_same_file(a, out);
	assert_int_equal(parts_join(gb + 1, ngb - 1, out, &st, err), 0);
	assert_same_file(b, out);
	/* Handed the mixture, join takes the first file's bundle. */
	assert_int_equal(parts_join(mixed, nm, out, &st, err), 0);
	assert_same_file(a, out);
	assert_int_equal(st.nforeign, nb);
	assert_int_equal(st.info.bundle_id[0], 0xaa);
	assert_int_equal(parts_join(mixed + 1, nm - 1, out, &st, err), 0);
	assert_same_file(b, out);
	assert_int_equal(st.nforeign, na - 1);
	parts_paths_free(pa, na);
	parts_paths_free(pb, nb);
}

/* Volume too small, too many parts: clear refusals, nothing written. */
static void
test_volume_limits(void **state)
{
	char *dir = mkdir_t("limits"), *out = mkdir_t("limits-out");
	char *bundle, **paths = NULL, err[MULE_ERRLEN], want[256];
	struct parts_status st;
	size_t n = 0, size = 5 * MIB;
	uint64_t minvol;

	(void)state;
	bundle = join_path(dir, "b.mule");
	mk_bundle(bundle, size, 0x08);
	minvol = PARTS_HEADER_LEN + (size + 252) / 253;

	assert_int_equal(parts_split(bundle, 100, 2, out, "b", &paths, &n,
	    err), MULE_EINVAL);
	snprintf(want, sizeof(want), "smallest usable volume size for this "
	    "%zu-byte bundle with 2 parity parts is %llu bytes", size,
	    (unsigned long long)minvol);
	assert_non_null(strstr(err, want));
	assert_int_equal(parts_split(bundle, PARTS_HEADER_LEN, 2, out, "b",
	    &paths, &n, err), MULE_EINVAL);
	assert_int_equal(parts_split(bundle, minvol - 1, 2, out, "b", &paths,
	    &n, err), MULE_EINVAL);
	snprintf(want, sizeof(want), "smallest usable volume size is %llu "
	    "bytes", (unsigned long long)minvol);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "254 data + 2 parity parts"));
	assert_int_equal(parts_split(bundle, FLOPPY, 255, out, "b", &paths,
	    &n, err), MULE_EINVAL);
	assert_int_equal(parts_split(bundle, FLOPPY, 2, out, "", &paths, &n,
	    err), MULE_EINVAL);
	assert_int_equal(parts_split(bundle, FLOPPY, 2, out, "x/y", &paths,
	    &n, err), MULE_EINVAL);
	assert_int_equal(count_files(out), 0);

	/* Exactly the smallest size: 253 data + 2 parity parts. */
	assert_int_equal(parts_split(bundle, minvol, 2, out, "b", &paths, &n,
	    err), 0);
	assert_int_equal(n, 255);
	assert_string_equal(paths[252],
	    join_path(out, "b.d253-of-253.mule-part"));
	assert_string_equal(paths[254],
	    join_path(out, "b.p002-of-002.mule-part"));
	/* Lose the first and the last data part. */
	{
		const char *sel[PARTS_MAX];
		size_t i, k = 0;

		for (i = 0; i < n; i++)
			if (i != 0 && i != 252)
				sel[k++] = paths[i];
		assert_int_equal(parts_join(sel, k, join_path(dir, "out.mule"),
		    &st, err), 0);
	}
	assert_same_file(bundle, join_path(dir, "out.mule"));
	/* Splitting again over existing parts is refused, and harmless. */
	parts_paths_free(paths, n);
	paths = NULL;
	assert_int_equal(parts_split(bundle, minvol, 2, out, "b", &paths, &n,
	    err), MULE_EEXIST);
	assert_int_equal(count_files(out), 255);
}

/* nparity 0 works; a bundle smaller than a volume gives one part. */
static void
test_small_cases(void **state)
{
	char *dir = mkdir_t("small"), *d0 = mkdir_t("small0");
	char *d1 = mkdir_t("small1"), *d2 = mkdir_t("small2");
	char *bundle, *big, *out, **paths = NULL, err[MULE_ERRLEN];
	struct parts_status st;
	size_t n = 0;

	(void)state;
	bundle = join_path(dir, "b.mule");
	big = join_path(dir, "big.mule");
	out = join_path(dir, "out.mule");
	mk_bundle(bundle, 70000, 0x09);
	mk_bundle(big, 3 * MIB + 1, 0x0a);

	/* No parity: all parts needed. */
	assert_int_equal(parts_split(big, FLOPPY, 0, d0, "big", &paths, &n,
	    err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), 0);
	assert_same_file(big, out);
	assert_int_equal(join_except(paths, n, 0x04, out, &st, err),
	    MULE_EINCOMPLETE);
	assert_non_null(strstr(err, "missing d003"));
	parts_paths_free(paths, n);

	/* One volume: one part, joined back; with parity: copies. */
	assert_int_equal(parts_split(bundle, FLOPPY, 0, d1, "b", &paths, &n,
	    err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(paths[0], join_path(d1, "b.d001-of-001.mule-part"));
	unlink(out);
	assert_int_equal(parts_join((const char *const *)paths, n, out, &st,
	    err), 0);
	assert_same_file(bundle, out);
	parts_paths_free(paths, n);
	assert_int_equal(parts_split(bundle, FLOPPY, 2, d2, "b", &paths, &n,
	    err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(join_except(paths, n, 0x01 | 0x02, out, &st, err), 0);
	assert_same_file(bundle, out);
	parts_paths_free(paths, n);

	/* Not a bundle. */
	spit(join_path(dir, "junk"), (const uint8_t *)"hello, world, not a "
	    "bundle at all", 32);
	assert_int_equal(parts_split(join_path(dir, "junk"), FLOPPY, 0, d2,
	    "junk", &paths, &n, err), MULE_EFORMAT);
	assert_int_equal(parts_split(join_path(dir, "none"), FLOPPY, 0, d2,
	    "none", &paths, &n, err), MULE_ENOTFOUND);
}

/* Tiny payloads: the bundle's header spans several parts. */
static void
test_tiny_parts(void **state)
{
	char *dir = mkdir_t("tiny"), *bundle, *out, **paths = NULL;
	char err[MULE_ERRLEN];
	struct parts_status st;
	size_t n = 0;

	(void)state;
	bundle = join_path(dir, "b.mule");
	out = join_path(dir, "out.mule");
	mk_bundle(bundle, 1000, 0x0b);
	assert_int_equal(parts_split(bundle, PARTS_HEADER_LEN + 10, 3, dir,
	    "b", &paths, &n, err), 0);
	assert_int_equal(n, 103);
	/* Lose d001, d002, d100: the magic and id come from parity. */
	assert_int_equal(join_except(paths, n, 0x03, out, &st, err), 0);
	assert_same_file(bundle, out);
	{
		const char *sel[PARTS_MAX];
		size_t i, k = 0;

		for (i = 0; i < n; i++)
			if (i != 0 && i != 1 && i != 99)
				sel[k++] = paths[i];
		unlink(out);
		assert_int_equal(parts_join(sel, k, out, &st, err), 0);
		assert_same_file(bundle, out);
	}
	parts_paths_free(paths, n);
}

/*
 * A bundle of `size` bytes with a real outer header (unencrypted, flags
 * `flags`, one recipient 0x77..., sender key 0x55...), random after it.
 */
static void
mk_headed(const char *path, size_t size, uint8_t flags)
{
	uint8_t *p = malloc(size);

	assert_non_null(p);
	randombytes_buf(p, size);
	memcpy(p, "MULEBNDL", 8);
	p[8] = 1;
	p[9] = flags;
	memset(p + 10, 0x0c, 16);		/* bundle id */
	memset(p + 26, 0x33, 16);		/* sender site */
	memset(p + 42, 0x55, 8);		/* sender key id */
	p[50] = 0;
	p[51] = 1;				/* one recipient */
	memset(p + 52, 0x77, 8);		/* its key id */
	memset(p + 60, 0, 80);			/* no key box */
	spit(path, p, size);
	free(p);
}

/* What data part 1 says of its bundle, and when it says nothing. */
static void
test_bundle_head(void **state)
{
	char *dir = mkdir_t("head"), *bundle, **paths = NULL, err[MULE_ERRLEN];
	struct bundle_info bi;
	struct part_info pi;
	uint8_t key[8];
	size_t n = 0;

	(void)state;
	bundle = join_path(dir, "b.mule");
	mk_headed(bundle, 3000, 0);
	assert_int_equal(parts_split(bundle, 1200, 1, dir, "b", &paths, &n,
	    err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(parts_read_bundle_head(paths[0], &pi, &bi, err), 0);
	assert_int_equal(pi.index, 0);
	assert_int_equal(bi.encrypted, 0);
	assert_int_equal(bi.nrecipients, 1);
	memset(key, 0x77, sizeof(key));
	assert_memory_equal(bi.recipient_keys[0], key, sizeof(key));
	memset(key, 0x55, sizeof(key));
	assert_memory_equal(bi.sender_key, key, sizeof(key));
	/* Another part; a damaged first part says nothing. */
	assert_int_equal(parts_read_bundle_head(paths[1], &pi, &bi, err),
	    MULE_ENOTFOUND);
	assert_int_equal(parts_read_bundle_head(paths[3], &pi, &bi, err),
	    MULE_ENOTFOUND);
	corrupt(paths[0], PARTS_HEADER_LEN + 50, 1);
	assert_int_equal(parts_read_bundle_head(paths[0], &pi, &bi, err),
	    MULE_EVERIFY);
	parts_paths_free(paths, n);
	/* Parts smaller than the outer header: nothing to tell. */
	dir = mkdir_t("head-tiny");
	bundle = join_path(dir, "b.mule");
	mk_headed(bundle, 3000, 0);
	assert_int_equal(parts_split(bundle, PARTS_HEADER_LEN + 100, 0, dir,
	    "b", &paths, &n, err), 0);
	assert_int_equal(parts_read_bundle_head(paths[0], &pi, &bi, err),
	    MULE_EINCOMPLETE);
	parts_paths_free(paths, n);
	/* A header no bundle has (unknown flags). */
	dir = mkdir_t("head-bad");
	bundle = join_path(dir, "b.mule");
	mk_headed(bundle, 3000, 0x80);
	assert_int_equal(parts_split(bundle, FLOPPY, 0, dir, "b", &paths, &n,
	    err), 0);
	assert_int_equal(parts_read_bundle_head(paths[0], &pi, &bi, err),
	    MULE_EFORMAT);
	assert_non_null(strstr(err, "does not start with a bundle header"));
	parts_paths_free(paths, n);
}

/* A free-space shortfall, as far as a unit test can make one. */
static void
test_free_space(void **state)
{
	char err[MULE_ERRLEN];
	char *dir = mkdir_t("space"), *bundle, **paths = NULL;
	size_t n = 0;
	uint64_t avail;

	(void)state;
	bundle = join_path(dir, "b.mule");
	mk_bundle(bundle, 1 * MIB, 0x0c);
	/* /dev/shm or /dev rarely have 2 TiB: a sparse-free check. */
	assert_int_equal(file_free_space(dir, &avail, err), 0);
	if (avail > ((uint64_t)200 << 30))
		skip();
	/* Claim parts so big that they cannot fit: refused up front. */
	{
		/* A sparse "bundle" larger than the free space. */
		char *sparse = join_path(dir, "sparse.mule");
		int fd = open(sparse, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "MULEBNDL\x01\x01xxxxxxxxxxxxxxxx",
		    26), 26);
		if (ftruncate(fd, (off_t)(avail + (avail / 2) + MIB)) != 0) {
			close(fd);
			unlink(sparse);
			skip();
		}
		close(fd);
		assert_int_equal(parts_split(sparse, (uint64_t)1 << 38, 1, dir,
		    "sparse", &paths, &n, err), MULE_ENOSPACE);
		assert_non_null(strstr(err, "free"));
		unlink(sparse);
	}
	assert_int_equal(count_files(dir), 1);
}

/* The medium fills up while parts are written: none is left behind. */
static void
test_full_while_writing(void **state)
{
	char *dir = mkdir_t("full"), *out = mkdir_t("full-out");
	char *bundle, **paths = NULL, err[MULE_ERRLEN];
	struct rlimit old, lim;
	void (*oldsig)(int);
	size_t n = 0;
	int r;

	(void)state;
	bundle = join_path(dir, "b.mule");
	mk_bundle(bundle, 3 * MIB, 0x0d);
	/* Writes past 1 MiB fail with EFBIG, as on a full medium. */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = MIB;
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = parts_split(bundle, FLOPPY, 2, out, "b", &paths, &n, err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(r, MULE_ENOSPACE);
	assert_int_equal(count_files(out), 0);
	/* And it works once there is room. */
	assert_int_equal(parts_split(bundle, FLOPPY, 2, out, "b", &paths, &n,
	    err), 0);
	assert_int_equal(count_files(out), 5);
	parts_paths_free(paths, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_header_refusals),
		cmocka_unit_test(test_split_floppies),
		cmocka_unit_test(test_lose_any_two),
		cmocka_unit_test(test_lose_three),
		cmocka_unit_test(test_damaged_payload),
		cmocka_unit_test(test_bad_part_files),
		cmocka_unit_test(test_bad_header_repaired),
		cmocka_unit_test(test_scattered_duplicates),
		cmocka_unit_test(test_two_bundles),
		cmocka_unit_test(test_volume_limits),
		cmocka_unit_test(test_small_cases),
		cmocka_unit_test(test_tiny_parts),
		cmocka_unit_test(test_bundle_head),
		cmocka_unit_test(test_free_space),
		cmocka_unit_test(test_full_while_writing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
