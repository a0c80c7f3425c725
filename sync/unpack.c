/* sync/unpack.c — verifying and applying one bundle (see sync.h). */
#include <stdlib.h>
#include <string.h>

#include "core/strb.h"
#include "replica/prune/prune.h"
#include "sync/reconcile.h"
#include "sync/recover.h"

/* State of one bundle being applied, for the reader's callbacks. */
struct unpacker {
	struct replica *rp;
	const struct sync_unpack_opts *o;
	const struct bundle_info *info;
	const char *peer;
	struct replica_apply *apply;
	struct manifest m;	/* what the bookkeeping needs of MANIFEST */
	uint64_t rows;
	char *err;
	uint32_t unrecorded_from;	/* versions recorded from local drift */
	uint64_t nschema, steps_seen, steps_run;
	int separate;	/* the sender keeps a schema of its own */
	int authority;	/* enum sync_schema_authority */
	int fresh;	/* 1: we had no schema when the bundle's steps began */
	struct sync_unpack_result *res;
	struct replica_review hold;	/* a step to hold for review */
	struct recon_in recon;	/* digests and summaries it carries */
	uint64_t own;		/* our own counter before the bundle */
	int notes;	/* the current segment is the sender's conflict notes */
	/*
	 * 1: the vectors are coded against a bundle of ours this restored
	 * copy does not hold; only the restore is handled, nothing applied.
	 */
	int blind;
};

/* After the last schema step: the sender's version must be ours too. */
static int
check_schema(struct unpacker *u)
{
	if (u->separate)
		return 0;
	return replica_schema_check_peer(u->rp, u->m.schema_to, u->m.fpr_to,
	    u->err);
}

/*
 * Evidence that this copy was restored from a backup and so lost the
 * bundle the sender coded its vectors against: the reference is a
 * number we have not reached, the sender saw more of our changes than we
 * have, 'mule recover' marked us, or a restore found out earlier put the
 * numbers after the reference out of use (the sender had not heard of
 * it yet).
 */
static int
unpack_restored(struct unpacker *u, const struct manifest *m, int *yes,
    char *err)
{
	struct replica_site me;
	char *flag = NULL;
	int64_t next;
	int r, after = 0;

	/* "restored": the key sync/recover.c sets. */
	if ((r = replica_site(u->rp, &me, err)) != 0 ||
	    (r = replica_next_seq(u->rp, &next, err)) != 0 ||
	    (r = replica_config_get(u->rp, "restored", &flag, err)) != 0 ||
	    (r = replica_log_restored_after(u->rp, (int64_t)m->ref, &after,
	    err)) != 0) {
		free(flag);
		return r;
	}
	*yes = flag != NULL || after || m->ref >= (uint64_t)next ||
	    vector_get(&m->recv, me.id) >= (uint64_t)next ||
	    vector_get(&m->seen, me.id) > u->own;
	free(flag);
	return 0;
}

/*
 * The vectors into u->m, rebuilt against the bundle of ours the sender
 * names.  Without it: a restored copy reads the bundle blind (u->blind),
 * anything else refuses it (MULE_ENOTFOUND), nothing changed.
 */
static int
unpack_vectors(struct unpacker *u, const struct manifest *m)
{
	struct replica_site me;
	struct vector ref;
	int r, found = 0, restored = 0;

	vector_init(&ref);
	if (!m->coded) {
		r = vector_copy(&u->m.base, &m->base) != 0 ||
		    vector_copy(&u->m.top, &m->top) != 0 ||
		    vector_copy(&u->m.ack, &m->ack) != 0 ? MULE_ENOMEM : 0;
		goto out;
	}
	if ((r = replica_log_sent_top(u->rp, (int64_t)m->ref, m->ref_id,
	    &ref, &found, u->err)) != 0)
		goto out;
	if (found) {
		r = manifest_vectors(m, &ref, &u->m.base, &u->m.top, &u->m.ack,
		    u->err);
		goto out;
	}
	if ((r = unpack_restored(u, m, &restored, u->err)) != 0)
		goto out;
	if (restored) {
		u->blind = 1;
		r = vector_copy(&u->m.ack, &m->seen) != 0 ? MULE_ENOMEM : 0;
		goto out;
	}
	if ((r = replica_site(u->rp, &me, u->err)) != 0)
		goto out;
	r = mule_errf(u->err, MULE_ENOTFOUND, "the bundle from %s codes its "
	    "vectors against bundle #%llu of this site, which this site does "
	    "not hold (no longer in its bundle log); nothing was applied.  "
	    "At %s: mule pack --resend --to %s (a bundle coded against "
	    "nothing), then unpack that one", u->peer,
	    (unsigned long long)m->ref, u->peer, me.name);
out:
	if (r == MULE_ENOMEM)
		r = mule_errf(u->err, r, "out of memory");
	vector_release(&ref);
	return r;
}

static int
sink_manifest(void *arg, const struct manifest *m)
{
	struct unpacker *u = arg;
	int r;

	if ((r = sync_manifest_check(u->info, m, u->err)) != 0 ||
	    (r = unpack_vectors(u, m)) != 0 ||
	    (r = replica_recv_check(u->rp, u->peer, u->info->sender_site,
	    m->bundle_id, m->seq, vector_get(u->blind ? &m->seen : &u->m.top,
	    u->info->sender_site), u->err)) != 0)
		return r;
	if (vector_copy(&u->m.seen, &m->seen) != 0 ||
	    vector_copy(&u->m.recv, &m->recv) != 0)
		return mule_errf(u->err, MULE_ENOMEM, "out of memory");
	u->m.seq = m->seq;
	u->m.nrows = m->nrows;
	u->m.schema_to = m->schema_to;
	memcpy(u->m.fpr_to, m->fpr_to, BUNDLE_FPR_LEN);
	u->nschema = m->nschema;
	u->rows = 0;
	progress_report(u->o->progress, u->o->parg, PROGRESS_APPLYING, 0,
	    m->nrows);
	if (m->nschema == 0 && (r = check_schema(u)) != 0)
		return r;
	if ((r = replica_apply_new(u->rp, u->peer, m->bundle_id, &u->m.ack,
	    &u->apply, u->err)) != 0 ||
	    (r = replica_prune_guard(u->rp, u->apply, u->peer, &u->m.top,
	    m->seq, u->err)) != 0)
		return r;
	return replica_apply_sender_schema(u->apply, m->schema_to, u->err);
}

/*
 * May the sender's step change our schema?  Steps we have are no change;
 * a replica without a schema takes its first ones (every step of that
 * bundle); else the peer's
 * authority decides (review: a person accepts the step first; the bundle
 * is held, and the step kept to show, see sync_unpack).
 */
static int
schema_allowed(struct unpacker *u, const struct bundle_schema *s)
{
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint32_t latest;
	int r, state;

	if ((r = replica_schema_latest(u->rp, &latest, fpr, u->err)) != 0)
		return r;
	if (u->steps_seen == 0)
		u->fresh = latest == 0;
	if (s->version <= latest || u->fresh ||
	    u->authority == SYNC_SCHEMA_ACCEPT)
		return 0;
	if (u->authority == SYNC_SCHEMA_REFUSE)
		return mule_errf(u->err, MULE_EREFUSED, "the bundle from %s "
		    "carries schema step %u, and this site takes no schema "
		    "changes from %s; nothing was applied (mule peer set %s "
		    "schema review, or accept, to change that)", u->peer,
		    s->version, u->peer, u->peer);
	if ((r = replica_schema_review_state(u->rp, u->peer, s->version,
	    s->fpr, &state, u->err)) != 0 || state == REPLICA_REVIEW_ACCEPTED)
		return r;
	/* A dry run shows what the step would do; it is rolled back. */
	if (u->o->dry && state != REPLICA_REVIEW_REJECTED)
		return 0;
	if (state == REPLICA_REVIEW_REJECTED)
		return mule_errf(u->err, MULE_EREFUSED, "the bundle from %s "
		    "carries schema step %u, which was rejected here; "
		    "nothing was applied (mule schema review)", u->peer,
		    s->version);
	if (!u->o->dry && u->hold.sql == NULL &&
	    (u->hold.sql = strdup(s->sql)) != NULL) {
		u->hold.version = s->version;
		memcpy(u->hold.fpr, s->fpr, SCHEMA_FPR_LEN);
	}
	return mule_errf(u->err, MULE_EREFUSED, "the bundle from %s waits: it "
	    "carries schema step %u, which this site reviews before it runs; "
	    "nothing was applied.  See it with 'mule schema review' (and what "
	    "it would do with 'mule unpack --dry-run'), then 'mule schema "
	    "accept %u' (or reject) and unpack again", u->peer, s->version,
	    s->version);
}

static int
sink_schema(void *arg, const struct bundle_schema *s)
{
	struct unpacker *u = arg;
	int r, applied;

	if (u->apply == NULL)
		return mule_errf(u->err, MULE_EFORMAT, "schema before "
		    "manifest");
	if (u->separate || u->blind) {
		u->steps_seen++;
		return 0;	/* its catalogue is not ours */
	}
	if ((r = schema_allowed(u, s)) != 0)
		return r;
	if ((r = replica_schema_apply_step(u->rp, s->version, s->fpr, s->sql,
	    u->unrecorded_from, u->o->dry ? &u->res->steps : NULL, &applied,
	    u->err)) != 0)
		return r;
	u->steps_run += applied != 0;
	if (++u->steps_seen == u->nschema)
		return check_schema(u);
	return 0;
}

static int
sink_value(void *arg, const uint8_t hash[VALUE_REF_LEN], int type,
    const uint8_t *p, size_t n)
{
	struct unpacker *u = arg;

	if (u->apply == NULL)
		return mule_errf(u->err, MULE_EFORMAT, "value before manifest");
	if (u->blind)
		return 0;
	return replica_apply_value(u->apply, hash, type, p, n, u->err);
}

static int
sink_table(void *arg, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols)
{
	struct unpacker *u = arg;
	int r, ours;

	if (u->apply == NULL)
		return mule_errf(u->err, MULE_EFORMAT, "table before manifest");
	u->recon.mode = 0;
	u->notes = 0;
	if (u->blind)
		return 0;
	if ((r = replica_notes_table(table, ncols, cols, npk, pkcols,
	    u->err)) < 0)
		return r;
	if ((u->notes = r) == 1)
		return 0;
	if ((r = recon_table(&u->recon, table, ncols, cols, &ours,
	    u->err)) != 0 || ours)
		return r;
	return replica_apply_table(u->apply, table, ncols, cols, npk, pkcols,
	    u->err);
}

static int
sink_row(void *arg, const struct rowchange *rc)
{
	struct unpacker *u = arg;

	if (++u->rows % 65536 == 0 || u->rows == u->m.nrows)
		progress_report(u->o->progress, u->o->parg, PROGRESS_APPLYING,
		    u->rows, u->m.nrows);
	if (u->blind)
		return 0;
	if (u->recon.mode != 0)
		return recon_row(&u->recon, rc, u->err);
	if (u->notes && ++u->res->notes > REPLICA_MAX_NOTES)
		return mule_errf(u->err, MULE_ETOOLARGE, "the bundle carries "
		    "more than %d conflict notes", REPLICA_MAX_NOTES);
	if (u->notes)
		return replica_note_in(u->rp, u->peer, u->info->bundle_id, rc,
		    u->err);
	return replica_apply_row(u->apply, rc, u->err);
}

/* Reads the bundle into the apply; a sink's own message says more than
 * the reader's summary of it. */
static int
unpack_read(struct unpacker *u, struct bundle_reader *br, char *err)
{
	struct bundle_sink sink;
	char serr[MULE_ERRLEN] = "", e2[MULE_ERRLEN];
	int r;

	sink.arg = u;
	sink.manifest = sink_manifest;
	sink.schema = sink_schema;
	sink.value = sink_value;
	sink.table = sink_table;
	sink.row = sink_row;
	u->err = serr;
	r = bundle_read(br, u->o->me, &sink, err);
	u->err = err;
	if (r != 0) {
		memcpy(e2, serr[0] != '\0' ? serr : err, sizeof(e2));
		return mule_errf(err, r, "%s: %s", u->o->label != NULL ?
		    u->o->label : u->o->path, e2);
	}
	if (u->apply == NULL)
		return mule_errf(err, MULE_EFORMAT, "%s: no manifest",
		    u->o->path);
	return 0;
}

/* "N inserted, N updated, N deleted, N conflicts, ..." */
static int
unpack_summary(struct sync_unpack_result *res, int blind, char *err)
{
	const struct replica_apply_stats *st = &res->st;
	struct strb sb;

	strb_init(&sb);
	strb_add_count(&sb, st->inserted);
	strb_add(&sb, " inserted, ");
	strb_add_count(&sb, st->updated);
	strb_add(&sb, " updated, ");
	strb_add_count(&sb, st->deleted);
	strb_add(&sb, " deleted, ");
	strb_add_count(&sb, st->conflicts);
	strb_addf(&sb, " conflict%s", st->conflicts == 1 ? "" : "s");
	if (st->left > 0) {
		strb_add(&sb, ", ");
		strb_add_count(&sb, st->left);
		strb_addf(&sb, " removed (left the set %s shares)",
		    res->peer.name);
	}
	if (st->refused > 0) {
		strb_add(&sb, ", ");
		strb_add_count(&sb, st->refused);
		strb_addf(&sb, " row change%s refused (outside the set shared "
		    "with %s; see mule conflicts)", st->refused == 1 ? "" : "s",
		    res->peer.name);
	}
	if (st->kept > 0) {
		strb_add(&sb, ", ");
		strb_add_count(&sb, st->kept);
		strb_addf(&sb, " value%s of columns not shared with %s left "
		    "as they are", st->kept == 1 ? "" : "s", res->peer.name);
	}
	if (st->asked > 0) {
		strb_add(&sb, ", ");
		strb_add_count(&sb, st->asked);
		strb_addf(&sb, " edit%s of rows this site lacked (the whole "
		    "rows are asked for in the next bundle to %s)",
		    st->asked == 1 ? "" : "s", res->peer.name);
	}
	if (st->ignored > 0) {
		strb_add(&sb, ", ");
		strb_add_count(&sb, st->ignored);
		strb_addf(&sb, " row%s already newer here",
		    st->ignored == 1 ? "" : "s");
	}
	if (st->forgotten > 0) {
		strb_add(&sb, ", ");
		strb_add_count(&sb, st->forgotten);
		strb_addf(&sb, " row%s deleted here long ago not brought back",
		    st->forgotten == 1 ? "" : "s");
	}
	if (res->steps_run > 0)
		strb_addf(&sb, ", %llu migration%s",
		    (unsigned long long)res->steps_run,
		    res->steps_run == 1 ? "" : "s");
	if (res->restored)
		strb_addf(&sb, "; this site was restored from a backup: %s "
		    "holds its changes up to counter %llu and its bundles up "
		    "to number %llu, this copy held them only up to %llu.  "
		    "New changes go on after them (%llu cell%s made since "
		    "the restore moved past them), and the next bundle to "
		    "each peer starts a full comparison that brings back what "
		    "the backup lost", res->peer.name,
		    (unsigned long long)res->restored_ack,
		    (unsigned long long)res->restored_seq,
		    (unsigned long long)res->restored_own,
		    (unsigned long long)res->restamped,
		    res->restamped == 1 ? "" : "s");
	if (blind)
		strb_addf(&sb, "; its changes were not applied: the bundle "
		    "codes its vectors against a bundle of this site that the "
		    "backup lacks, and %s sends them again", res->peer.name);
	if (res->diverged != NULL)
		strb_addf(&sb, "; %s and this site disagree on %s: "
		    "reconciling (the next bundle to %s carries the "
		    "comparison)", res->peer.name, res->diverged,
		    res->peer.name);
	else if (res->recon_ranges > 0)
		strb_addf(&sb, "; reconciling with %s: %llu key range%s to "
		    "answer in the next bundle to %s", res->peer.name,
		    (unsigned long long)res->recon_ranges,
		    res->recon_ranges == 1 ? "" : "s", res->peer.name);
	if (res->recon_ignored > 0)
		strb_addf(&sb, "; %llu comparison%s ignored (tables not shared "
		    "whole with %s)", (unsigned long long)res->recon_ignored,
		    res->recon_ignored == 1 ? "" : "s", res->peer.name);
	if ((res->summary = strb_detach(&sb)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

/* After the rows: the sender's site and schema, the log, lost bundles. */
static int
unpack_record(struct unpacker *u, struct sync_unpack_result *res,
    char *err)
{
	const struct manifest *m = &u->m;
	const char *label = u->o->logged != NULL ? u->o->logged :
	    u->o->label != NULL ? u->o->label : u->o->path;
	const uint8_t *site = u->info->sender_site;
	struct vector own;	/* logged for replica_recv_check */
	int r;

	vector_init(&own);
	if (!u->blind && (r = replica_apply_finish(u->apply, &m->base, &m->top,
	    &res->st, err)) != 0)
		goto out;
	res->steps_run = u->steps_run;
	if ((!u->blind && (r = recon_unpack(u->rp, u->peer, m, &u->recon, res,
	    err)) != 0) ||
	    (r = recover_after_unpack(u->rp, u->peer, m, u->own, res,
	    err)) != 0)
		goto out;
	/* Restored: what we knew of the peers' bundles is old. */
	if ((res->restored && (r = replica_drop_peer_refs(u->rp, err)) != 0) ||
	    (!u->blind && (r = replica_set_peer_ref(u->rp, u->peer,
	    (int64_t)m->seq, u->info->bundle_id, &m->top, err)) != 0))
		goto out;
	if (vector_set(&own, site, vector_get(u->blind ? &m->seen : &m->top,
	    site)) != 0) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = unpack_summary(res, u->blind, err)) != 0 ||
	    (r = replica_peer_set_site(u->rp, u->peer, u->info->sender_site,
	    err)) != 0 ||
	    (m->schema_to > 0 && !u->separate &&
	    (r = replica_schema_set_peer_version(u->rp, u->peer,
	    m->schema_to, err)) != 0) ||
	    (r = replica_log_add(u->rp, u->info->bundle_id, "recv", u->peer,
	    (int64_t)m->seq, label, res->summary, &own, err)) != 0 ||
	    (!u->blind && (r = replica_check_lost(u->rp, u->peer, m->seq,
	    &m->recv, &m->ack, &res->lost, err)) != 0))
		goto out;
	r = res->lost ? replica_sets_lost(u->rp, u->peer, err) : 0;
out:
	vector_release(&own);
	return r;
}

/*
 * After the bundle was refused for review: keeps the step to show (best
 * effort, in a transaction of its own; the refusal stands either way).
 */
static void
unpack_hold(struct replica *rp, const char *peer,
    const struct replica_review *h)
{
	char e2[MULE_ERRLEN];

	if (replica_begin(rp, e2) != 0)
		return;
	if (replica_schema_review_hold(rp, peer, h->version, h->fpr, h->sql,
	    e2) != 0 || replica_commit(rp, e2) != 0)
		replica_rollback(rp);
}

/* Inside the transaction: local drift and edits first, then the bundle. */
static int
unpack_apply(struct unpacker *u, struct bundle_reader *br,
    struct sync_unpack_result *res, char *err)
{
	struct replica_scan_stats scan;
	struct replica_schema_sync ss;
	int r;

	memset(&scan, 0, sizeof(scan));
	memset(&ss, 0, sizeof(ss));
	if ((r = replica_schema_sync(u->rp, &ss, err)) != 0)
		goto out;
	u->unrecorded_from = ss.recorded;
	if ((r = replica_scan(u->rp, 0, &scan, u->o->progress, u->o->parg,
	    err)) != 0 ||
	    (r = recover_own(u->rp, &u->own, err)) != 0 ||
	    (r = unpack_read(u, br, err)) != 0 ||
	    (r = unpack_record(u, res, err)) != 0 ||
	    (r = replica_prune(u->rp, NULL, err)) != 0)
		goto out;
	r = 0;
out:
	replica_scan_stats_release(&scan);
	replica_schema_sync_release(&ss);
	return r;
}

int
sync_unpack(struct replica *rp, const struct sync_unpack_opts *o,
    struct sync_unpack_result *res, char *err)
{
	struct bundle_reader *br = NULL;
	struct unpacker u;
	int r, yes, began = 0;

	memset(&u, 0, sizeof(u));
	manifest_init(&u.m);
	u.rp = rp;
	u.o = o;
	u.err = err;
	u.res = res;
	progress_report(o->progress, o->parg, PROGRESS_VERIFYING, 0, 0);
	if ((r = sync_bundle_check(rp, &o->me->pub, o->path, &br, &res->peer,
	    err)) != 0)
		goto out;
	u.peer = res->peer.name;
	u.authority = sync_peer_schema(rp, u.peer);
	u.separate = u.authority == SYNC_SCHEMA_SEPARATE;
	u.info = bundle_get_info(br);
	if ((r = replica_peer_check_site(rp, &res->peer, u.info->sender_site,
	    err)) != 0 ||
	    (r = replica_log_has(rp, u.info->bundle_id, "recv", &yes,
	    err)) != 0)
		goto out;
	if (yes) {
		r = MULE_EAPPLIED;
		goto out;
	}
	if ((r = replica_begin(rp, err)) != 0)
		goto out;
	began = 1;
	if ((r = unpack_apply(&u, br, res, err)) != 0)
		goto out;
	if (o->dry) {
		r = 0;
		goto out;	/* rolled back below */
	}
	progress_report(o->progress, o->parg, PROGRESS_COMMITTING, 0, 0);
	if ((r = replica_commit(rp, err)) != 0)
		goto out;
	began = 0;
	r = 0;
out:
	if (began)
		replica_rollback(rp);
	if (u.hold.sql != NULL)
		unpack_hold(rp, u.peer, &u.hold);
	free(u.hold.sql);
	recon_in_release(&u.recon);
	replica_apply_free(u.apply);
	manifest_release(&u.m);
	bundle_close(br);
	return r;
}

void
sync_unpack_result_release(struct sync_unpack_result *res)
{
	if (res == NULL)
		return;
	replica_step_report_release(&res->steps);
	free(res->summary);
	free(res->diverged);
	memset(res, 0, sizeof(*res));
}
