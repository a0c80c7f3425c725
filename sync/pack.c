/* sync/pack.c — what a bundle to the peers holds (see sync.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/file.h"
#include "core/strb.h"
#include "replica/prune/prune.h"
#include "sync/reconcile.h"
#include "transports/dir.h"

/* Hands table segments and rows to the bundle writer. */
struct pack_sink {
	struct bundle_writer *w;
	char *err;
	int counting;		/* 0 for rows leaving a set: not changes */
	uint64_t rows, tables;
};

static int
sink_table(void *arg, const struct replica_table *t)
{
	struct pack_sink *ps = arg;

	ps->tables += ps->counting;
	return bundle_writer_begin_table(ps->w, t->name, t->ncols,
	    (const char *const *)t->cols, t->npk, t->pkcols, ps->err);
}

static int
sink_row(void *arg, const struct rowchange *rc)
{
	struct pack_sink *ps = arg;

	ps->rows += ps->counting;
	return bundle_writer_add_row(ps->w, rc, ps->err);
}

/* Raises each origin of `v` to at least its counter in `by`. */
static int
vector_raise(struct vector *v, const struct vector *by)
{
	size_t k;
	int r = 0;

	for (k = 0; k < by->n && r == 0; k++)
		if (vector_get(v, by->e[k].origin) < by->e[k].counter)
			r = vector_set(v, by->e[k].origin, by->e[k].counter);
	return r;
}

/*
 * What the peers are known to have: per peer what it acknowledged, with
 * `sent` raised by what we sent it; across several peers the smallest (an
 * origin missing at one peer is 0).  The base of a bundle is that with
 * sent; what every peer is known to hold, without.
 */
static int
pack_base(struct replica *rp, const struct replica_peer *peers, size_t n,
    int with_sent, struct vector *base, char *err)
{
	struct vector sent, acked, all;
	size_t i, k;
	uint64_t v;
	int r = 0;

	vector_init(&sent);
	vector_init(&acked);
	vector_init(&all);
	for (i = 0; i < n && r == 0; i++) {
		vector_release(&sent);
		if ((with_sent && (r = replica_peer_vector(rp, peers[i].name,
		    "sent", &sent, err)) != 0) ||
		    (r = replica_peer_vector(rp, peers[i].name, "acked", &acked,
		    err)) != 0 ||
		    (r = vector_raise(&sent, &acked)) != 0)
			break;
		if (i == 0) {
			r = vector_copy(&all, &sent);
			continue;
		}
		for (k = 0; k < all.n; k++) {
			v = vector_get(&sent, all.e[k].origin);
			if (v < all.e[k].counter)
				all.e[k].counter = v;
		}
	}
	if (r == 0)
		r = vector_copy(base, &all);
	vector_release(&sent);
	vector_release(&acked);
	vector_release(&all);
	return r;
}

/* The lowest schema version the peers (but those with a schema of their
 * own) are known to have; UINT32_MAX when none counts. */
static int
pack_schema_from(struct replica *rp, const struct replica_peer *peers,
    size_t n, uint32_t *from, char *err)
{
	uint32_t pv;
	size_t i;
	int r = 0;

	*from = UINT32_MAX;
	for (i = 0; i < n && r == 0; i++) {
		if (sync_peer_separate(rp, peers[i].name))
			continue;	/* a schema of its own: no steps */
		r = replica_schema_peer_version(rp, peers[i].name, &pv, err);
		if (r == 0 && pv < *from)
			*from = pv;
	}
	return r;
}

/*
 * Schema steps for the peers: from the lowest version any of them is
 * known to have to ours, into the writer and the manifest.
 */
static int
pack_schema(struct replica *rp, const struct replica_peer *peers, size_t n,
    struct bundle_writer *w, struct manifest *m, size_t *nsteps, char *err)
{
	struct replica_schema_step *steps = NULL;
	struct replica_schema_version v;
	struct bundle_schema bs;
	uint32_t from;
	size_t i, cnt = 0;
	int r;

	memset(&v, 0, sizeof(v));
	if ((r = pack_schema_from(rp, peers, n, &from, err)) != 0 ||
	    (r = replica_schema_latest(rp, &m->schema_to, m->fpr_to,
	    err)) != 0)
		goto out;
	if (from > m->schema_to)
		from = m->schema_to;
	m->schema_from = from;
	if (from > 0) {
		if ((r = replica_schema_get(rp, from, &v, err)) != 0)
			goto out;
		memcpy(m->fpr_from, v.fpr, BUNDLE_FPR_LEN);
	}
	if ((r = replica_schema_steps(rp, from, &steps, &cnt, err)) != 0)
		goto out;
	for (i = 0; i < cnt && r == 0; i++) {
		bs.version = steps[i].version;
		memcpy(bs.fpr, steps[i].fpr, BUNDLE_FPR_LEN);
		bs.sql = steps[i].sql;
		bs.len = strlen(steps[i].sql);
		r = bundle_writer_add_schema(w, &bs, err);
	}
	*nsteps = cnt;
out:
	replica_schema_version_release(&v);
	replica_schema_steps_free(steps, cnt);
	return r;
}

/* The output path: the file `out`, or DIR/FROM-TO-NNNN.mule. */
static char *
pack_path(const char *out, const char *from, const char *to, int64_t seq)
{
	struct strb sb;
	struct stat st;
	size_t n;

	strb_init(&sb);
	if (out != NULL && !(stat(out, &st) == 0 && S_ISDIR(st.st_mode)) &&
	    (n = strlen(out)) > 0 && out[n - 1] != '/') {
		strb_add(&sb, out);
		return strb_detach(&sb);
	}
	if (out != NULL) {
		strb_add(&sb, out);
		if (out[strlen(out) - 1] != '/')
			strb_addc(&sb, '/');
	}
	strb_addf(&sb, "%s-%s-%04lld.mule", from, to, (long long)seq);
	return strb_detach(&sb);
}

/* 1 when pack_path makes the file name (`out` is NULL or a directory). */
static int
pack_named(const char *out)
{
	struct stat st;
	size_t n;

	return out == NULL || (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) ||
	    ((n = strlen(out)) > 0 && out[n - 1] == '/');
}

/*
 * Before a number is spent: the directory the bundle goes to must exist
 * and be one we can write into (the commonest mistake, refused with
 * nothing changed), and a file the user named (-o FILE) must not exist
 * unless `force`.
 */
static int
pack_outdir(const char *out, int force, char *err)
{
	struct stat st;
	const char *slash;
	struct strb dir;
	int r = 0;

	strb_init(&dir);
	if (out == NULL || pack_named(out))
		strb_add(&dir, out != NULL ? out : ".");
	else if ((slash = strrchr(out, '/')) == NULL)
		strb_add(&dir, ".");
	else
		strb_addf(&dir, "%.*s", slash == out ? 1 : (int)(slash - out),
		    out);
	if (strb_error(&dir))
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	else if (access(dir.s, W_OK | X_OK) != 0)
		r = mule_errf(err, file_errno_code(errno), "cannot write into "
		    "%s: %s%s%s%s", dir.s, strerror(errno), errno == ENOENT ?
		    " (pack does not create it: is the medium mounted? if the "
		    "directory is new: mkdir -p " : "", errno == ENOENT ? dir.s :
		    "", errno == ENOENT ? ")" : "");
	/* A symbolic link is left to the writer, which refuses it. */
	else if (out != NULL && !pack_named(out) && !force &&
	    lstat(out, &st) == 0 && !S_ISLNK(st.st_mode))
		r = mule_errf(err, MULE_EEXIST, "%s already exists (a bundle "
		    "not applied yet?): pack does not overwrite it; choose "
		    "another name, or --force to replace it", out);
	strb_release(&dir);
	return r;
}

/* The recipients: resolved by name, joined by "+" in res->to. */
static int
pack_peers(struct replica *rp, const struct sync_pack_opts *o,
    struct sync_pack_result *res, char *err)
{
	struct strb to;
	size_t i;
	int r = 0;

	if (o->npeers == 0 || o->npeers > SYNC_MAX_PEERS)
		return mule_errf(err, MULE_EINVAL, "a bundle goes to 1 to %d "
		    "peers", SYNC_MAX_PEERS);
	if ((res->peers = calloc(o->npeers, sizeof(*res->peers))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	strb_init(&to);
	for (i = 0; i < o->npeers && r == 0; i++) {
		r = replica_peer_get(rp, o->peers[i], &res->peers[i], err);
		res->npeers += r == 0;
		strb_add(&to, i ? "+" : "");
		strb_add(&to, o->peers[i]);
	}
	if (r == 0 && (res->to = strb_detach(&to)) == NULL)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	strb_release(&to);
	return r;
}

/*
 * The vectors that go in full (mule-bundle(5)): `recv` only for the
 * recipients, `seen` for them and for us.  From m->to, ack and recv.
 */
static int
pack_full_vectors(struct manifest *m, const struct vector *recv)
{
	const uint8_t *site;
	size_t i;
	int r = 0;

	/* Counters of 0 need no line: absent is 0. */
	for (i = 0; i <= m->nto && r == 0; i++) {
		site = i < m->nto ? m->to[i] : m->from;
		if (vector_get(&m->ack, site) > 0)
			r = vector_set(&m->seen, site, vector_get(&m->ack,
			    site));
		if (r == 0 && i < m->nto && vector_get(recv, site) > 0)
			r = vector_set(&m->recv, site, vector_get(recv, site));
	}
	return r;
}

/*
 * The reference the vectors are coded against: the newest bundle of the
 * one peer applied here; none for --full, --resend (a way out when the
 * peer lost it) or several peers (no common one).
 */
static int
pack_ref(struct replica *rp, const struct sync_pack_opts *o,
    const struct sync_pack_result *res, struct manifest *m, char *err)
{
	int64_t seq = 0;
	int r;

	if (o->full || o->resend || res->npeers != 1)
		return 0;
	if ((r = replica_peer_ref(rp, res->peers[0].name, &seq, m->ref_id,
	    &m->refvec, err)) == 0)
		m->ref = (uint64_t)seq;
	return r;
}

/* The manifest's vectors and numbers, before any row is written. */
static int
pack_manifest(struct replica *rp, const struct sync_pack_opts *o,
    struct sync_pack_result *res, struct manifest *m, char *err)
{
	struct vector recv;
	size_t i;
	int r;

	vector_init(&recv);
	/* --resend: from what they acknowledged, as if nothing was sent. */
	if ((!o->full && (r = pack_base(rp, res->peers, res->npeers,
	    !o->resend, &m->base, err)) != 0) ||
	    (r = replica_known(rp, &m->top, err)) != 0 ||
	    (r = replica_recv_seqs(rp, &recv, err)) != 0 ||
	    (r = pack_ref(rp, o, res, m, err)) != 0)
		goto out;
	if (vector_copy(&m->ack, &m->top) != 0 ||
	    (m->from_name = strdup(res->site.name)) == NULL ||
	    (m->to = calloc(res->npeers, SITE_ID_LEN)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(m->bundle_id, res->bundle_id, BUNDLE_ID_LEN);
	memcpy(m->from, res->site.id, SITE_ID_LEN);
	/* Site ids we know (from their bundles); the header's key ids rule. */
	for (i = 0; i < res->npeers; i++)
		if (res->peers[i].has_site)
			memcpy(m->to[m->nto++], res->peers[i].site_id,
			    SITE_ID_LEN);
	m->seq = (uint64_t)res->seq;
	m->full = o->full;
	if ((r = pack_full_vectors(m, &recv)) != 0)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	vector_release(&recv);
	return r;
}

/*
 * reconcile.whole-below: tables with fewer rows send the rows they held
 * when first tracked whole; bigger ones leave them to reconciliation.
 */
static uint64_t
pack_whole_below(struct replica *rp)
{
	uint64_t v = replica_config_num(rp, "reconcile.whole-below",
	    RECON_WHOLE_BELOW, UINT64_MAX);

	/* Every table is at least 0 rows big: 0 rows holds every one. */
	return v == 0 ? 1 : v;
}

/* Writes the bundle: schema steps, changes within the sets, rows leaving. */
static int
pack_write(struct replica *rp, const struct sync_pack_opts *o,
    struct sync_pack_result *res, struct manifest *m, char *err)
{
	struct replica_out_sink sink, lsink;
	struct pack_sink ps, pl;
	struct ident_pub pubs[SYNC_MAX_PEERS];
	struct replica_set *set = NULL;
	struct vector held;
	size_t i;
	int r;

	memset(&ps, 0, sizeof(ps));
	vector_init(&held);
	for (i = 0; i < res->npeers; i++)
		pubs[i] = res->peers[i].pub;
	if ((r = pack_base(rp, res->peers, res->npeers, 0, &held, err)) != 0 ||
	    (r = replica_set_new(rp, o->peers, o->npeers, o->full, &set,
	    err)) != 0 ||
	    (r = bundle_writer_new(o->tmp != NULL ? o->tmp : res->path, NULL,
	    o->me, pubs, res->npeers, o->encrypt, &ps.w, err)) != 0 ||
	    (r = pack_schema(rp, res->peers, res->npeers, ps.w, m,
	    &res->nsteps, err)) != 0)
		goto out;
	/* A peer sharing whole tables: big baselines go by reconciliation. */
	if (res->npeers == 1 && recon_plain(rp, res->peers[0].name))
		replica_set_hold_baselines(set, res->peers[0].name,
		    pack_whole_below(rp));
	bundle_writer_progress(ps.w, o->progress, o->parg);
	progress_report(o->progress, o->parg, PROGRESS_PACKING, 0, 0);
	ps.err = err;
	ps.counting = 1;
	pl = ps;
	pl.counting = 0;
	sink.arg = &ps;
	lsink.arg = &pl;
	sink.table = lsink.table = sink_table;
	sink.row = lsink.row = sink_row;
	/* Whole rows for reconciliation first: edits of them follow. */
	if ((res->npeers == 1 && (r = recon_pack_rows(rp, res->peers[0].name,
	    &lsink, res, err)) != 0) ||
	    (r = replica_changes_set(rp, &m->base, &held, set, &sink,
	    o->progress, o->parg, err)) != 0 ||
	    (r = replica_set_finish(set, &lsink, &res->left, err)) != 0 ||
	    (res->npeers == 1 && (r = recon_pack_notes(rp, res->peers[0].name,
	    ps.w, res, err)) != 0) ||
	    (res->npeers == 1 && (r = replica_notes_out(rp,
	    res->peers[0].name, &lsink, &res->notes, err)) != 0) ||
	    (r = bundle_writer_finish(ps.w, m, &res->size, err)) != 0)
		goto out;
	res->rows = ps.rows;
	res->tables = ps.tables;
	r = 0;
out:
	bundle_writer_free(ps.w);
	replica_set_free(set);
	vector_release(&held);
	return r;
}

/* "3 changes in 1 table, 2 rows leaving the set, 1 migration". */
static int
pack_summary(struct sync_pack_result *res, char *err)
{
	struct strb sb;

	strb_init(&sb);
	strb_add_count(&sb, res->rows);
	strb_addf(&sb, " change%s in %llu table%s", res->rows == 1 ? "" : "s",
	    (unsigned long long)res->tables, res->tables == 1 ? "" : "s");
	if (res->left > 0) {
		strb_add(&sb, ", ");
		strb_add_count(&sb, res->left);
		strb_addf(&sb, " row%s leaving the set",
		    res->left == 1 ? "" : "s");
	}
	if (res->nsteps > 0)
		strb_addf(&sb, ", %zu migration%s", res->nsteps,
		    res->nsteps == 1 ? "" : "s");
	if (res->recon_rows > 0 || res->recon_ranges > 0) {
		strb_add(&sb, ", reconciling: ");
		strb_add_count(&sb, res->recon_rows);
		strb_addf(&sb, " row%s and %llu key range%s",
		    res->recon_rows == 1 ? "" : "s",
		    (unsigned long long)res->recon_ranges,
		    res->recon_ranges == 1 ? "" : "s");
	}
	if ((res->summary = strb_detach(&sb)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

/* The bundle is durable: "sent" advances, the log and journal follow. */
static int
pack_record(struct replica *rp, struct sync_pack_result *res,
    const struct manifest *m, char *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < res->npeers && r == 0; i++)
		if ((r = replica_set_peer_vector(rp, res->peers[i].name, "sent",
		    &m->top, err)) == 0)
			r = replica_peer_set(rp, res->peers[i].name, "_lost",
			    NULL, err);
	if (r == 0 && (r = pack_summary(res, err)) == 0 &&
	    (r = replica_log_drop(rp, res->bundle_id, "spent", err)) == 0 &&
	    (r = replica_log_add(rp, res->bundle_id, "sent", res->to,
	    res->seq, res->logged != NULL ? res->logged : res->path,
	    res->summary, &m->top, err)) == 0)
		r = replica_journal_prune(rp, err);
	return r;
}

/*
 * Bookkeeping no peer can still need goes (replica/prune/prune.h); a
 * recipient behind the pruning horizon is marked first, since this
 * bundle cannot carry the deletions forgotten here.
 */
static int
pack_prune(struct replica *rp, const struct sync_pack_result *res,
    char *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < res->npeers && r == 0; i++)
		r = replica_prune_mark(rp, res->peers[i].name, err);
	return r != 0 ? r : replica_prune(rp, NULL, err);
}

/*
 * Local schema changes and edits are recorded first (they go out in this
 * bundle), then the bundle's number and id are spent: a "spent" entry in
 * the bundle log, committed before anything is written, so that the
 * number is never used again even if we crash after the file appeared
 * (issue 13; docs/decisions.md).  pack_record turns it into "sent".  The
 * scan commits with it, since a commit tells the next scan that the file
 * is as mule left it.
 */
static int
pack_reserve(struct replica *rp, const struct sync_pack_opts *o,
    struct sync_pack_result *res, char *err)
{
	struct replica_scan_stats scan;
	struct replica_set *set = NULL;
	int r;

	memset(&scan, 0, sizeof(scan));
	if ((o->tmp == NULL && (r = pack_outdir(o->out, o->force,
	    err)) != 0) ||
	    (r = replica_begin(rp, err)) != 0)
		return r;
	randombytes_buf(res->bundle_id, sizeof(res->bundle_id));
	/* Refusals of the sync sets come before anything is committed. */
	if ((r = replica_set_new(rp, o->peers, o->npeers, o->full, &set,
	    err)) != 0 ||
	    (r = replica_schema_sync(rp, &res->schema, err)) != 0 ||
	    (r = replica_scan(rp, 0, &scan, o->progress, o->parg, err)) != 0 ||
	    (r = replica_next_seq(rp, &res->seq, err)) != 0)
		goto out;
	if ((res->path = pack_path(o->out, res->site.name, res->to,
	    res->seq)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	/* A name we make is never a finished file of another bundle. */
	if (o->tmp == NULL && pack_named(o->out) && file_exists(res->path)) {
		r = mule_errf(err, MULE_EEXIST, "%s already exists: another "
		    "bundle has number %lld (is this database a restored "
		    "copy?); move the file away and pack again", res->path,
		    (long long)res->seq);
		goto out;
	}
	if ((r = replica_log_add(rp, res->bundle_id, "spent", res->to,
	    res->seq, res->path, "not finished: the pack stopped before it "
	    "was recorded (this number is not used again)", NULL,
	    err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		replica_rollback(rp);
	replica_set_free(set);
	replica_scan_stats_release(&scan);
	return r;
}

/*
 * A pack that failed before its bundle file was complete gives its number
 * back (best effort: otherwise the number stays spent).  Should the file
 * have reached its name all the same, the next pack refuses to replace it
 * (pack_reserve).
 */
static void
pack_unreserve(struct replica *rp, const struct sync_pack_result *res)
{
	char e2[MULE_ERRLEN];

	if (replica_begin(rp, e2) != 0)
		return;
	if (replica_log_drop(rp, res->bundle_id, "spent", e2) != 0 ||
	    replica_commit(rp, e2) != 0)
		replica_rollback(rp);
}

/*
 * What a crashed pack left (issue 13): its scratch files beside the
 * database, and temporaries of its bundle or parts (".FROM-TO-*.PID.*")
 * beside our output; only those of processes no longer running.  A
 * finished file of another bundle is never touched.
 */
static void
pack_sweep(const struct sync_pack_opts *o, const struct sync_pack_result *res)
{
	const char *slash = strrchr(res->path, '/');
	const char *base = slash != NULL ? slash + 1 : res->path;
	char e2[MULE_ERRLEN];
	struct strb dir, pre;
	size_t n;

	if (o->tmp != NULL)
		xport_scratch_sweep(o->tmp);
	strb_init(&dir);
	strb_init(&pre);
	if (slash == NULL)
		strb_add(&dir, ".");
	else
		strb_addf(&dir, "%.*s", slash == res->path ? 1 :
		    (int)(slash - res->path), res->path);
	strb_addf(&pre, "%s-%s-", res->site.name, res->to);
	if (!strb_error(&pre) && strncmp(base, pre.s, pre.len) != 0) {
		strb_reset(&pre);
		strb_add(&pre, base);	/* a name of the user's (-o FILE) */
	}
	if (!strb_error(&dir) && !strb_error(&pre))
		(void)file_sweep_temps(dir.s, pre.s, "", &n, e2);
	strb_release(&dir);
	strb_release(&pre);
}

int
sync_pack(struct replica *rp, const struct sync_pack_opts *o,
    struct sync_pack_result *res, char *err)
{
	struct replica_schema_sync again;
	struct replica_scan_stats scan;
	struct manifest m;
	int r, began = 0, reserved = 0, written = 0;

	memset(&scan, 0, sizeof(scan));
	memset(&again, 0, sizeof(again));
	manifest_init(&m);
	if ((r = sync_key_check(rp, o->me, &res->site, err)) != 0 ||
	    (r = sync_recover_check(rp, err)) != 0 ||
	    (r = pack_peers(rp, o, res, err)) != 0 ||
	    (r = pack_reserve(rp, o, res, err)) != 0)
		goto out;
	reserved = 1;
	if ((r = replica_begin(rp, err)) != 0)
		goto out;
	began = 1;
	pack_sweep(o, res);
	/* What another program changed since (usually nothing: no scan). */
	if ((r = replica_schema_sync(rp, &again, err)) != 0 ||
	    (r = replica_scan(rp, 0, &scan, o->progress, o->parg, err)) != 0 ||
	    (r = pack_manifest(rp, o, res, &m, err)) != 0 ||
	    (r = pack_write(rp, o, res, &m, err)) != 0)
		goto out;
	written = 1;
	if (o->tmp != NULL && o->deliver != NULL &&
	    (r = o->deliver(o->darg, o->tmp, res, err)) != 0)
		goto out;
	if (o->logged != NULL) {
		res->logged = *o->logged;	/* what deliver said */
		*o->logged = NULL;
	}
	if ((r = pack_record(rp, res, &m, err)) != 0 ||
	    (r = pack_prune(rp, res, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		goto out;
	began = 0;
	r = 0;
out:
	if (began)
		replica_rollback(rp);
	if (r != 0 && reserved && !written)
		pack_unreserve(rp, res);
	manifest_release(&m);
	replica_schema_sync_release(&again);
	replica_scan_stats_release(&scan);
	return r;
}

void
sync_pack_result_release(struct sync_pack_result *res)
{
	if (res == NULL)
		return;
	free(res->peers);
	free(res->to);
	free(res->path);
	free(res->summary);
	free(res->logged);
	replica_schema_sync_release(&res->schema);
	memset(res, 0, sizeof(*res));
}
