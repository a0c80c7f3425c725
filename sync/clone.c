/*
 * sync/clone.c — a new site from a replica: a consistent copy, a fresh
 * identity, and both sites trusting and knowing each other (see local.h;
 * docs/decisions.md "mule clone").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/file.h"
#include "core/strb.h"
#include "sync/local.h"

/* What one site records of the other at a clone. */
struct clone_peer {
	const char *name;
	const struct ident_pub *pub;
	const uint8_t *site;
};

/*
 * Refusals before anything is written: a bad name, DST or the key file
 * existing, a directory we cannot write into, SRC not a replica, NAME
 * being SRC's name or a peer's of SRC.  *rp: SRC opened for writing.
 */
static int
clone_refuse(const char *src, const char *dst, const char *name,
    const char *keyfile, struct replica **rp, struct replica_site *site,
    char *err)
{
	struct replica_peer p;
	const char *slash = strrchr(dst, '/');
	struct strb dir;
	int r = MULE_EINTERNAL;

	strb_init(&dir);
	if (slash == NULL)
		strb_add(&dir, ".");
	else
		strb_addf(&dir, "%.*s", slash == dst ? 1 : (int)(slash - dst),
		    dst);
	if ((r = replica_check_name(name, err)) != 0)
		goto out;
	if (file_exists(dst)) {
		r = mule_errf(err, MULE_EEXIST, "%s exists already; clone makes "
		    "a new file (name another, or move that one away)", dst);
		goto out;
	}
	if (file_exists(keyfile)) {
		r = mule_errf(err, MULE_EEXIST, "key file %s exists already; "
		    "move it away or use --key FILE", keyfile);
		goto out;
	}
	if (strb_error(&dir) || access(dir.s, W_OK | X_OK) != 0) {
		r = strb_error(&dir) ? mule_errf(err, MULE_ENOMEM, "out of "
		    "memory") : mule_errf(err, file_errno_code(errno), "cannot "
		    "write into %s: %s", dir.s, strerror(errno));
		goto out;
	}
	if ((r = replica_open(src, 0, rp, err)) != 0 ||
	    (r = replica_site(*rp, site, err)) != 0)
		goto out;
	if (strcmp(site->name, name) == 0) {
		r = mule_errf(err, MULE_EINVAL, "'%s' is the name of %s's site; "
		    "the new site needs a name of its own", name, src);
		goto out;
	}
	if (replica_peer_get(*rp, name, &p, NULL) == 0) {
		r = mule_errf(err, MULE_EEXIST, "%s trusts a peer named '%s' "
		    "already; choose another name for the new site", src, name);
		goto out;
	}
	r = 0;
out:
	strb_release(&dir);
	return r;
}

/* Tries at a copy holding no edit SRC has not recorded (clone_copy). */
#define CLONE_TRIES 8

/*
 * Records SRC's unrecorded edits as its own before the copy; *since:
 * SRC's data version just after.
 */
static int
clone_record(struct replica *rp, int64_t *since, char *err)
{
	struct replica_scan_stats scan;
	struct replica_schema_sync ss;
	int r;

	memset(&scan, 0, sizeof(scan));
	memset(&ss, 0, sizeof(ss));
	if ((r = replica_begin(rp, err)) != 0)
		return r;
	if ((r = replica_schema_sync(rp, &ss, err)) != 0 ||
	    (r = replica_scan(rp, 0, &scan, NULL, NULL, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		replica_rollback(rp);
	else
		r = replica_data_version(rp, since, err);
	replica_scan_stats_release(&scan);
	replica_schema_sync_release(&ss);
	return r;
}

/*
 * Copies SRC into `tmp` just after recording its edits.  Should another
 * program commit in between, the copy would hold edits SRC has not
 * recorded, which DST would record as its own (an extra conflict entry
 * where SRC edits them again): then it records and tries again, and the
 * last try copies whatever happened.
 */
static int
clone_copy(struct replica *rp, const char *tmp, char *err)
{
	int64_t since;
	int i, r = 0, raced = 1;

	for (i = 0; i < CLONE_TRIES && raced && r == 0; i++)
		if ((r = clone_record(rp, &since, err)) == 0)
			r = replica_copy(rp, i + 1 < CLONE_TRIES ? since : -1,
			    tmp, &raced, err);
	return r;
}

/*
 * Inside a transaction: `rp` trusts the other site, bound to its site
 * id, which holds everything in `known` (acknowledged and sent) and the
 * schema version `schema`.
 */
static int
clone_trust(struct replica *rp, const struct clone_peer *o,
    const struct vector *known, uint32_t schema, char *err)
{
	int r;

	if ((r = replica_peer_add(rp, o->name, o->pub, err)) == 0 &&
	    (r = replica_peer_set_site(rp, o->name, o->site, err)) == 0 &&
	    (r = replica_set_peer_vector(rp, o->name, "acked", known,
	    err)) == 0 &&
	    (r = replica_set_peer_vector(rp, o->name, "sent", known,
	    err)) == 0 && schema > 0)
		r = replica_schema_set_peer_version(rp, o->name, schema, err);
	return r;
}

/*
 * The copy at `tmp` becomes the new site (res->site, res->pub, named
 * `name`) trusting SRC; *known and res->schema: what the copy holds.
 */
static int
clone_rebirth(const char *tmp, const char *name, struct sync_clone_result *res,
    struct vector *known, char *err)
{
	uint8_t fpr[SCHEMA_FPR_LEN];
	struct replica *cp = NULL;
	struct clone_peer src;
	int r, began = 0;

	if ((r = replica_open(tmp, 0, &cp, err)) != 0 ||
	    (r = replica_known(cp, known, err)) != 0 ||
	    (r = replica_schema_latest(cp, &res->schema, fpr, err)) != 0 ||
	    (r = replica_begin(cp, err)) != 0)
		goto out;
	began = 1;
	src.name = res->src.name;
	src.pub = &res->src.pub;
	src.site = res->src.id;
	if ((r = replica_clone_reset(cp, name, res->site, &res->pub,
	    err)) != 0 ||
	    (r = clone_trust(cp, &src, known, res->schema, err)) != 0 ||
	    (r = replica_commit(cp, err)) != 0)
		goto out;
	began = 0;
	r = 0;
out:
	if (began)
		replica_rollback(cp);
	replica_close(cp);
	return r;
}

/* The finished copy takes its name, unless something appeared there. */
static int
clone_publish(const char *tmp, const char *dst, char *err)
{
	int r = 0;

	if (link(tmp, dst) != 0)
		r = mule_errf(err, errno == EEXIST ? MULE_EEXIST :
		    file_errno_code(errno), "%s: %s", dst, strerror(errno));
	unlink(tmp);
	return r;
}

/* "DIR/.BASE.PID.clone": the copy's name until it is complete. */
static char *
clone_tmpname(const char *dst)
{
	const char *slash = strrchr(dst, '/');
	struct strb sb;

	strb_init(&sb);
	if (slash != NULL)
		strb_addn(&sb, dst, (size_t)(slash - dst) + 1);
	strb_addf(&sb, ".%s.%ld.clone", slash != NULL ? slash + 1 : dst,
	    (long)getpid());
	return strb_detach(&sb);
}

/* The new identity: the key file first, as for mule init. */
static int
clone_identity(const char *keyfile, struct sync_clone_result *res,
    char *err)
{
	struct ident_secret *sec = NULL;
	int r;

	randombytes_buf(res->site, sizeof(res->site));
	if ((r = ident_generate(res->site, &sec, err)) == 0 &&
	    (r = ident_write_keyfile(sec, keyfile, err)) == 0)
		res->pub = sec->pub;
	ident_secret_free(sec);
	return r;
}

int
sync_clone(const char *src, const char *dst, const char *name,
    const char *keyfile, struct sync_clone_result *res, char *err)
{
	struct replica *rp = NULL;
	struct clone_peer me;
	struct vector known;
	char *tmp = NULL;
	int r, made = 0, began = 0;

	vector_init(&known);
	if ((r = clone_refuse(src, dst, name, keyfile, &rp, &res->src,
	    err)) != 0)
		goto out;
	if ((tmp = clone_tmpname(dst)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = clone_copy(rp, tmp, err)) != 0)
		goto out;
	made = 1;
	if ((r = clone_identity(keyfile, res, err)) != 0)
		goto out;
	made = 2;
	if ((r = clone_rebirth(tmp, name, res, &known, err)) != 0 ||
	    (r = clone_publish(tmp, dst, err)) != 0)
		goto out;
	made = 3;
	me.name = name;
	me.pub = &res->pub;
	me.site = res->site;
	if ((r = replica_begin(rp, err)) != 0)
		goto out;
	began = 1;
	if ((r = clone_trust(rp, &me, &known, res->schema, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		goto out;
	began = 0;
	made = 0;
	r = 0;
out:
	if (began)
		replica_rollback(rp);
	if (made >= 1)
		unlink(tmp);
	if (made >= 2)
		unlink(keyfile);
	if (made >= 3)
		unlink(dst);
	replica_close(rp);
	vector_release(&known);
	free(tmp);
	return r;
}
