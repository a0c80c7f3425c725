/* transports/spool.c — parts waiting for their bundle (see spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

/* Where parts_join writes a rebuilt bundle, inside the group. */
#define SPOOL_JOINED ".bundle.mule"
/* A marker holds a part header, the refusal's code and its reason. */
#define SPOOL_MARK_MAX (PARTS_HEADER_LEN + 1 + MULE_ERRLEN)

void
xport_spool_opts_init(struct xport_spool_opts *o)
{
	memset(o, 0, sizeof(*o));
	(void)xport_size_parse(XPORT_SPOOL_DEFAULT_MAX, &o->max_size);
	snprintf(o->max_text, sizeof(o->max_text), "%s",
	    XPORT_SPOOL_DEFAULT_MAX);
	o->expire_days = XPORT_SPOOL_DEFAULT_DAYS;
}

int
xport_spool_config_check(const char *key, const char *value, char *err)
{
	unsigned long long v;
	uint64_t size, lo, hi;
	char *end;

	if (strcmp(key, "spool.max-size") == 0) {
		(void)xport_size_parse("1M", &lo);
		(void)xport_size_parse("1000G", &hi);
		if (xport_size_parse(value, &size) != 0 || size < lo ||
		    size > hi)
			return mule_errf(err, MULE_EINVAL, "spool.max-size is "
			    "a size from 1M to 1000G (as for --volume-size), "
			    "not '%s'", value);
		return 0;
	}
	if (strcmp(key, "spool.expire-days") == 0) {
		v = strtoull(value, &end, 10);
		if (*value < '0' || *value > '9' || *end != '\0' || v == 0 ||
		    v > XPORT_SPOOL_MAX_DAYS)
			return mule_errf(err, MULE_EINVAL, "spool.expire-days "
			    "is a whole number of days from 1 to %d, not '%s'",
			    XPORT_SPOOL_MAX_DAYS, value);
		return 0;
	}
	return mule_errf(err, MULE_ENOTFOUND, "unknown setting '%s' (known: "
	    "spool.max-size, spool.expire-days)", key);
}

int
xport_spool_settings(struct xport_spool_opts *o, const char *max_size,
    const char *expire_days, char *err)
{
	int r;

	if (max_size != NULL) {
		if ((r = xport_spool_config_check("spool.max-size", max_size,
		    err)) != 0)
			return r;
		(void)xport_size_parse(max_size, &o->max_size);
		snprintf(o->max_text, sizeof(o->max_text), "%s", max_size);
	}
	if (expire_days != NULL) {
		if ((r = xport_spool_config_check("spool.expire-days",
		    expire_days, err)) != 0)
			return r;
		o->expire_days = (unsigned)strtoul(expire_days, NULL, 10);
	}
	return 0;
}

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

/*
 * Whether the bytes read at offset off of a part differ from what was
 * checked: its header `head`, `size` bytes in all.
 */
static int
copy_differs(const uint8_t *p, size_t n, uint64_t off,
    const uint8_t head[PARTS_HEADER_LEN], uint64_t size)
{
	size_t k;

	if (off + n > size)
		return 1;
	if (off >= PARTS_HEADER_LEN)
		return 0;
	k = n < PARTS_HEADER_LEN - off ? n : PARTS_HEADER_LEN - (size_t)off;
	return memcmp(p, head + off, k) != 0;
}

/*
 * Copies the part at src to dst (a new file, atomically), exactly the
 * part that was checked (*pi): a file that reads otherwise this time
 * (changed, or storage that returns other bytes) is MULE_EIO.
 */
static int
copy_file(const char *src, const char *dst, const struct part_info *pi,
    char *err)
{
	struct safefile sf;
	uint8_t buf[65536], head[PARTS_HEADER_LEN];
	uint64_t off = 0, size = PARTS_HEADER_LEN + pi->payload_len;
	ssize_t n;
	int fd, r;

	if ((r = parts_encode_header(pi, head, err)) != 0)
		return r;
	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return mule_errf(err, file_errno_code(errno), "open %s: %s",
		    src, strerror(errno));
	if ((r = safefile_open(&sf, dst, 0600, 1, err)) != 0) {
		close(fd);
		return r;
	}
	while (r == 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (copy_differs(buf, (size_t)n, off, head, size))
			break;
		r = safefile_write(&sf, buf, (size_t)n, err);
		off += (uint64_t)n;
	}
	if (r == 0 && n < 0)
		r = mule_errf(err, MULE_EIO, "read %s: %s", src,
		    strerror(errno));
	else if (r == 0 && (n > 0 || off != size))
		r = mule_errf(err, MULE_EIO, "%s changed while it was copied "
		    "into the spool; not kept", src);
	close(fd);
	if (r != 0) {
		safefile_abort(&sf);
		return r;
	}
	return safefile_commit(&sf, err);
}

/* One part on its way into the spool. */
struct spool_add {
	const char *db, *path, *label;
	const struct xport_spool_opts *o;
	struct part_info pi;
	char id[2 * PARTS_ID_LEN + 1];
	char tag[16];		/* "d002", "p001" */
	char *root, *dir, *name;
	struct strb dst;	/* where the copy goes */
	int ncopies;		/* copies of this index there already */
	int replace;		/* dst: a damaged copy this one replaces */
};

/* Whether b is a part of the same bundle, split the same way, as a. */
static int
same_group(const struct part_info *a, const struct part_info *b)
{
	return memcmp(a->bundle_id, b->bundle_id, PARTS_ID_LEN) == 0 &&
	    a->bundle_size == b->bundle_size &&
	    memcmp(a->bundle_hash, b->bundle_hash, PARTS_HASH_LEN) == 0 &&
	    a->ndata == b->ndata && a->nparity == b->nparity &&
	    a->payload_len == b->payload_len;
}

/* A size as people read it, into a caller's buffer. */
static const char *
size_text(uint64_t bytes, char out[32])
{
	struct strb sb;

	strb_init(&sb);
	strb_add_size(&sb, bytes);
	snprintf(out, 32, "%s", strb_error(&sb) ? "?" : strb_str(&sb));
	strb_release(&sb);
	return out;
}

/* A bundle that could never be rebuilt within spool.max-size. */
static int
add_fits(const struct spool_add *a, char *err)
{
	uint64_t each = PARTS_HEADER_LEN + a->pi.payload_len;
	char s1[32], s2[32];

	if (each * a->pi.ndata <= a->o->max_size)
		return 0;
	return mule_errf(err, MULE_ETOOLARGE, "%s: its bundle %.12s… would "
	    "need %s in the spool (%u parts of %s), more than spool.max-size "
	    "(%s); the part is not kept.  If the bundle is genuine, raise the "
	    "limit with 'mule config spool.max-size SIZE'", a->label, a->id,
	    size_text(each * a->pi.ndata, s1), a->pi.ndata,
	    size_text(each, s2), a->o->max_text);
}

/*
 * The marker of a refused bundle in `dir`: 1 and its part header, code
 * and reason when there is one, else 0.
 */
static int
mark_read(const char *dir, struct part_info *pi, int *code,
    char reason[MULE_ERRLEN])
{
	struct strb sb;
	uint8_t *p = NULL;
	size_t n = 0;
	int found = 0;

	strb_init(&sb);
	strb_addf(&sb, "%s/%s", dir, XPORT_SPOOL_MARK);
	if (!strb_error(&sb) && file_read_all(strb_str(&sb), SPOOL_MARK_MAX,
	    &p, &n, NULL) == 0 && n > PARTS_HEADER_LEN &&
	    parts_parse_header(p, PARTS_HEADER_LEN, pi, NULL) == 0) {
		*code = -(int)p[PARTS_HEADER_LEN];
		snprintf(reason, MULE_ERRLEN, "%.*s",
		    (int)(n - PARTS_HEADER_LEN - 1), p + PARTS_HEADER_LEN + 1);
		found = 1;
	}
	free(p);
	strb_release(&sb);
	return found;
}

/* The other parts of a bundle whose first part was refused. */
static int
add_marked(const struct spool_add *a, char *err)
{
	struct part_info mark;
	char reason[MULE_ERRLEN];
	int code;

	if (a->pi.index == 0 || !mark_read(a->dir, &mark, &code, reason) ||
	    !same_group(&mark, &a->pi))
		return 0;
	return mule_errf(err, code, "%s: not kept in the spool: its bundle "
	    "%.12s… (as its first part showed) %s", a->label, a->id, reason);
}

/* 1 when the part at `path` reads and its payload matches its hash. */
static int
part_good(const char *path)
{
	struct parts_status st;

	return parts_status_compute(&path, 1, 1, &st, NULL) == 0 &&
	    st.ngood == 1;
}

/* a->dst = the group's copy number i of the part (NAME, NAME.1 ...). */
static int
slot_name(struct spool_add *a, int i, char *err)
{
	strb_reset(&a->dst);
	strb_addf(&a->dst, "%s/%s", a->dir, a->name);
	if (i > 0)
		strb_addf(&a->dst, ".%d", i);
	return strb_error(&a->dst) ? mule_errf(err, MULE_ENOMEM,
	    "out of memory") : 0;
}

/*
 * The name the copy gets (a->dst): the part's own, or NAME.1 for a
 * second, different copy; *dup when an identical copy is there.  When
 * every slot is taken, a good part takes the place of a damaged copy
 * (a->replace).
 */
static int
add_slot(struct spool_add *a, int *dup, char *err)
{
	int i, r;

	*dup = 0;
	for (i = 0; i < XPORT_SPOOL_MAX_COPIES; i++) {
		if ((r = slot_name(a, i, err)) != 0)
			return r;
		if (!file_exists(strb_str(&a->dst)))
			return 0;
		a->ncopies++;
		if (same_file(strb_str(&a->dst), a->path)) {
			*dup = 1;
			return 0;
		}
	}
	for (i = 0; part_good(a->path) && i < XPORT_SPOOL_MAX_COPIES; i++) {
		if ((r = slot_name(a, i, err)) != 0)
			return r;
		if (!part_good(strb_str(&a->dst))) {
			a->replace = 1;
			return 0;
		}
	}
	return mule_errf(err, MULE_EEXIST, "%s: not kept in the spool: it "
	    "holds %d different copies of part %s of bundle %.12s… already",
	    a->label, XPORT_SPOOL_MAX_COPIES, a->tag, a->id);
}

/* Removes the group's parts and leaves the marker of its refusal. */
static int
mark_write(const struct spool_add *a, int code, const char *reason,
    char *err)
{
	uint8_t buf[SPOOL_MARK_MAX];
	char **v = NULL;
	size_t i, n = 0, len;
	struct strb sb;
	int r;

	strb_init(&sb);
	if ((r = parts_encode_header(&a->pi, buf, err)) != 0 ||
	    (r = file_private_dir(a->root, err)) != 0 ||
	    (r = file_private_dir(a->dir, err)) != 0 ||
	    (r = xport_dir_list(a->dir, NULL, &v, &n, err)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		unlink(v[i]);
	buf[PARTS_HEADER_LEN] = (uint8_t)-code;
	len = strlen(reason) < MULE_ERRLEN - 1 ? strlen(reason) :
	    MULE_ERRLEN - 1;
	memcpy(buf + PARTS_HEADER_LEN + 1, reason, len);
	strb_addf(&sb, "%s/%s", a->dir, XPORT_SPOOL_MARK);
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	r = file_write_atomic(strb_str(&sb), buf, PARTS_HEADER_LEN + 1 + len,
	    0600, 0, err);
out:
	strv_free(v, n);
	strb_release(&sb);
	return r;
}

/*
 * Data part 1: whether its bundle may wait here (o->check).  When it may
 * not and no first part of it is here yet, the group goes and a marker
 * stays.  A damaged part, or one smaller than the outer header, says
 * nothing and is judged with the rebuilt bundle.
 */
static int
add_head(const struct spool_add *a, char *err)
{
	struct bundle_info bi;
	struct part_info pi;
	char reason[MULE_ERRLEN] = "", e[MULE_ERRLEN] = "";
	int r, code;

	if (a->pi.index != 0 || a->o->check == NULL)
		return 0;
	r = parts_read_bundle_head(a->path, &pi, &bi, e);
	if (r == MULE_EVERIFY || r == MULE_EINCOMPLETE)
		return 0;
	if (r == MULE_EFORMAT) {
		code = r;
		snprintf(reason, sizeof(reason), "is no mule bundle: its first "
		    "part does not start with a bundle header");
	} else if (r != 0) {
		return mule_errf(err, r, "%s", e);
	} else if ((code = a->o->check(a->o->arg, &bi, reason)) == 0) {
		return 0;
	}
	if (a->ncopies == 0 && (r = mark_write(a, code, reason, err)) != 0)
		return r;
	return mule_errf(err, code, "%s: not kept in the spool: its bundle "
	    "%.12s… %s", a->label, a->id, reason);
}

/* Bytes of the parts in the spool now. */
static uint64_t
spool_usage(const char *root)
{
	char **groups = NULL, **files = NULL;
	size_t i, j, ng = 0, nf;
	struct stat st;
	uint64_t used = 0;

	if (xport_dir_list(root, NULL, &groups, &ng, NULL) != 0)
		ng = 0;
	for (i = 0; i < ng; i++) {
		nf = 0;
		files = NULL;
		if (xport_dir_list(groups[i], NULL, &files, &nf, NULL) != 0)
			nf = 0;
		for (j = 0; j < nf; j++)
			if (lstat(files[j], &st) == 0 && S_ISREG(st.st_mode))
				used += (uint64_t)st.st_size;
		strv_free(files, nf);
	}
	strv_free(groups, ng);
	return used;
}

/* The directory holding the database (the spool's disk). */
static char *
db_dir(const char *db)
{
	const char *slash = strrchr(db, '/');
	struct strb sb;

	strb_init(&sb);
	if (slash == NULL)
		strb_add(&sb, ".");
	else if (slash == db)
		strb_add(&sb, "/");
	else
		strb_addf(&sb, "%.*s", (int)(slash - db), db);
	return strb_detach(&sb);
}

/* Room for the part: within spool.max-size, and on the disk. */
static int
add_room(const struct spool_add *a, char *err)
{
	uint64_t need = PARTS_HEADER_LEN + a->pi.payload_len, used, avail;
	char s1[32], s2[32], s3[32], *where;
	int r;

	used = spool_usage(a->root);
	if (used + need > a->o->max_size)
		return mule_errf(err, MULE_ENOSPACE, "%s: not kept: the spool "
		    "%s holds %s, and with this part (%s) it would pass "
		    "spool.max-size (%s).  Apply the incomplete bundles 'mule "
		    "status' lists, let them expire (spool.expire-days), or "
		    "raise the limit with 'mule config spool.max-size SIZE'",
		    a->label, a->root, size_text(used, s1),
		    size_text(need, s2), a->o->max_text);
	if ((where = db_dir(a->db)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	r = file_free_space(where, &avail, err);
	if (r == 0 && avail < need + XPORT_SPOOL_KEEP_FREE)
		r = mule_errf(err, MULE_ENOSPACE, "%s: not kept: the disk of "
		    "%s has %s free, and the spool leaves %s free at least "
		    "(this part is %s); free some space and run unpack again",
		    a->label, a->root, size_text(avail, s1),
		    size_text(XPORT_SPOOL_KEEP_FREE, s2), size_text(need, s3));
	free(where);
	return r;
}

/* "d002" or "p001", as people name the part. */
static void
part_tag(const struct part_info *pi, char out[16])
{
	if (pi->index < pi->ndata)
		snprintf(out, 16, "d%03u", (unsigned)pi->index + 1);
	else
		snprintf(out, 16, "p%03u",
		    (unsigned)(pi->index - pi->ndata) + 1);
}

int
xport_spool_add(const char *db, const char *path, const char *label,
    const struct xport_spool_opts *o, char idhex[33], char *err)
{
	struct spool_add a;
	int r = MULE_EINTERNAL, dup = 0;

	memset(&a, 0, sizeof(a));
	a.db = db;
	a.path = path;
	a.label = label != NULL ? label : path;
	a.o = o;
	strb_init(&a.dst);
	idhex[0] = '\0';
	if ((r = parts_read_header(path, &a.pi, err)) != 0)
		goto out;
	hex_encode(a.id, a.pi.bundle_id, PARTS_ID_LEN);
	memcpy(idhex, a.id, sizeof(a.id));
	part_tag(&a.pi, a.tag);
	if ((a.root = xport_spool_dir(db, NULL)) == NULL ||
	    (a.dir = xport_spool_dir(db, a.id)) == NULL ||
	    (a.name = parts_name(a.id, a.pi.index, a.pi.ndata,
	    a.pi.nparity)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	/* Everything is checked before anything is written. */
	if ((r = add_fits(&a, err)) != 0 || (r = add_marked(&a, err)) != 0 ||
	    (r = add_slot(&a, &dup, err)) != 0 || dup ||
	    (r = add_head(&a, err)) != 0 || (r = add_room(&a, err)) != 0)
		goto out;
	if (a.replace)
		unlink(strb_str(&a.dst));
	if ((r = file_private_dir(a.root, err)) != 0 ||
	    (r = file_private_dir(a.dir, err)) != 0 ||
	    (r = copy_file(path, strb_str(&a.dst), &a.pi, err)) != 0)
		goto out;
	/* A first part that passed lifts an earlier refusal. */
	if (a.pi.index == 0) {
		strb_reset(&a.dst);
		strb_addf(&a.dst, "%s/%s", a.dir, XPORT_SPOOL_MARK);
		if (!strb_error(&a.dst))
			unlink(strb_str(&a.dst));
	}
	r = 0;
out:
	free(a.root);
	free(a.dir);
	free(a.name);
	strb_release(&a.dst);
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

/* Removes dir/name (a dot file the listing leaves out). */
static void
unlink_in(const char *dir, const char *name)
{
	struct strb sb;

	strb_init(&sb);
	strb_addf(&sb, "%s/%s", dir, name);
	if (!strb_error(&sb))
		unlink(strb_str(&sb));
	strb_release(&sb);
}

void
xport_spool_remove(const char *db, const char *idhex)
{
	char *dir, *root;

	if ((dir = xport_spool_dir(db, idhex)) != NULL) {
		unlink_in(dir, XPORT_SPOOL_MARK);
		unlink_in(dir, SPOOL_JOINED);
		xport_dir_remove(dir);
	}
	if ((root = xport_spool_dir(db, NULL)) != NULL)
		rmdir(root);	/* only when it is empty */
	free(dir);
	free(root);
}

/* When the group's first part (or its marker) came: the oldest mtime. */
static time_t
group_since(const char *dir)
{
	char **v = NULL;
	size_t i, n = 0;
	struct stat st;
	struct strb sb;
	time_t since = 0;

	strb_init(&sb);
	strb_addf(&sb, "%s/%s", dir, XPORT_SPOOL_MARK);
	if (!strb_error(&sb) && strv_push(&v, n, strb_str(&sb)) == 0)
		n++;
	/* What was listed counts, even if listing stopped half way. */
	(void)xport_dir_list(dir, NULL, &v, &n, NULL);
	for (i = 0; i < n; i++)
		if (lstat(v[i], &st) == 0 && (since == 0 ||
		    st.st_mtime < since))
			since = st.st_mtime;
	if (since == 0 && stat(dir, &st) == 0)
		since = st.st_mtime;
	strv_free(v, n);
	strb_release(&sb);
	return since;
}

/* One group's parts and what they lack; 1 when it can be read. */
static int
spool_group(const char *db, const char *id, struct xport_spool_group *g)
{
	struct parts_status st;
	char **paths = NULL, *dir;
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
	g->ndata = st.info.ndata;
	if ((dir = xport_spool_dir(db, id)) != NULL)
		g->since = group_since(dir);
	free(dir);
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
xport_spool_expire(const char *db, unsigned days, time_t now,
    struct xport_spool_group **gone, size_t *n, char *err)
{
	struct xport_spool_group *v = NULL;
	char **ids = NULL, *dir;
	size_t i, nid = 0, k = 0;
	time_t since;
	int r = 0, had;

	*gone = NULL;
	*n = 0;
	if (xport_spool_groups(db, &ids, &nid, NULL) != 0 || nid == 0)
		goto out;
	if ((v = calloc(nid, sizeof(*v))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nid; i++) {
		if ((dir = xport_spool_dir(db, ids[i])) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		since = group_since(dir);
		free(dir);
		if (now - since < (time_t)days * 86400)
			continue;
		had = spool_group(db, ids[i], &v[k]);
		xport_spool_remove(db, ids[i]);
		if (had) {
			v[k].id = ids[i];
			ids[i] = NULL;
			k++;
		}
	}
	*gone = v;
	*n = k;
	v = NULL;
out:
	xport_spool_status_free(v, k);
	strv_free(ids, nid);
	return r;
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
	strb_addf(&sb, "%s/%s", dir ? dir : ".", SPOOL_JOINED);
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
