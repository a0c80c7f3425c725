/* sync/reconcile.c — content digests and reconciliation (see reconcile.h). */
#include <stdlib.h>
#include <string.h>

#include "core/strb.h"
#include "sync/reconcile.h"

static const char *const digest_cols[] = { "tbl", "n", "sum" };
static const char *const summary_cols[] = { "i", "tbl", "lo", "hi", "n",
	"sum", "kind" };
static const uint32_t pk0[] = { 0 };

#define NCOLS(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

int
recon_plain(struct replica *rp, const char *peer)
{
	return replica_peer_plain(rp, peer) && !sync_peer_separate(rp, peer);
}

int
recon_compare_all(struct replica *rp, const char *peer, size_t *ntables,
    char *err)
{
	struct replica_table **tabs = NULL;
	size_t i, n = 0;
	int r;

	if ((r = replica_tables(rp, &tabs, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++)
		r = replica_recon_add(rp, peer, tabs[i]->tid, RECON_COMPARE,
		    NULL, NULL, err);
	if (r == 0 && ntables != NULL)
		*ntables = n;
	replica_tables_free(tabs, n);
	return r;
}

void
recon_in_release(struct recon_in *in)
{
	size_t i;

	for (i = 0; i < in->ndig; i++)
		free(in->dig[i].tbl);
	for (i = 0; i < in->nsum; i++) {
		free(in->sum[i].tbl);
		if (in->sum[i].range.lo.type == MVAL_BLOB)
			free((void *)in->sum[i].range.lo.p);
		if (in->sum[i].range.hi.type == MVAL_BLOB)
			free((void *)in->sum[i].range.hi.p);
	}
	free(in->dig);
	free(in->sum);
	memset(in, 0, sizeof(*in));
}

static int
cols_are(uint32_t ncols, const char *const *cols, const char *const *want,
    uint32_t nwant)
{
	uint32_t i;

	if (ncols != nwant)
		return 0;
	for (i = 0; i < ncols; i++)
		if (strcmp(cols[i], want[i]) != 0)
			return 0;
	return 1;
}

int
recon_table(struct recon_in *in, const char *table, uint32_t ncols,
    const char *const *cols, int *taken, char *err)
{
	*taken = 0;
	in->mode = 0;
	if (strcmp(table, RECON_DIGEST_TABLE) == 0) {
		if (!cols_are(ncols, cols, digest_cols, NCOLS(digest_cols)))
			return mule_errf(err, MULE_EFORMAT, "segment %s: "
			    "unexpected columns", table);
		in->mode = 1;
	} else if (strcmp(table, RECON_SUMMARY_TABLE) == 0) {
		if (!cols_are(ncols, cols, summary_cols, NCOLS(summary_cols)))
			return mule_errf(err, MULE_EFORMAT, "segment %s: "
			    "unexpected columns", table);
		in->mode = 2;
	}
	*taken = in->mode != 0;
	return 0;
}

/* The value of column `col` among the row's cells, or NULL. */
static const struct mval *
cell_of(const struct rowchange *rc, uint32_t col)
{
	uint32_t i;

	for (i = 0; i < rc->ncells; i++)
		if (rc->cells[i].col == col)
			return &rc->cells[i].v;
	return NULL;
}

static int
get_count(const struct mval *v, uint64_t *n)
{
	if (v == NULL || v->type != MVAL_INT || v->i < 0)
		return 0;
	*n = (uint64_t)v->i;
	return 1;
}

static int
get_sum(const struct mval *v, uint8_t sum[REPLICA_DIGEST_LEN])
{
	if (v == NULL || v->type != MVAL_BLOB || v->n != REPLICA_DIGEST_LEN)
		return 0;
	memcpy(sum, v->p, REPLICA_DIGEST_LEN);
	return 1;
}

static char *
get_name(const struct mval *v)
{
	char *s;

	if (v == NULL || v->type != MVAL_TEXT || v->n == 0 ||
	    v->n > BUNDLE_MAX_NAME || memchr(v->p, '\0', v->n) != NULL ||
	    (s = malloc(v->n + 1)) == NULL)
		return NULL;
	memcpy(s, v->p, v->n);
	s[v->n] = '\0';
	return s;
}

/* A bound: NULL (open), INTEGER or BLOB of at most RECON_MAX_BOUND. */
static int
get_bound(const struct mval *v, struct mval *out)
{
	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return 0;
	if (v->type == MVAL_NULL)
		return 1;
	if (v->type == MVAL_INT) {
		*out = *v;
		return 1;
	}
	if (v->type != MVAL_BLOB || v->n > RECON_MAX_BOUND)
		return 0;
	return replica_bound_dup(out, v) == 0;
}

static int
take_digest(struct recon_in *in, const struct rowchange *rc, char *err)
{
	struct recon_digest *e;
	void *p;

	if (in->ndig >= RECON_MAX_DIGESTS)
		return mule_errf(err, MULE_ETOOLARGE, "more than %d table "
		    "digests", RECON_MAX_DIGESTS);
	if ((p = realloc(in->dig, (in->ndig + 1) * sizeof(*in->dig))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	in->dig = p;
	e = &in->dig[in->ndig];
	memset(e, 0, sizeof(*e));
	if (rc->npk != 1 || !get_count(cell_of(rc, 1), &e->d.n) ||
	    !get_sum(cell_of(rc, 2), e->d.sum) ||
	    (e->tbl = get_name(&rc->pk[0])) == NULL)
		return mule_errf(err, MULE_EFORMAT, "table digest %zu: not a "
		    "table name, a count and a %d-byte sum", in->ndig + 1,
		    REPLICA_DIGEST_LEN);
	in->ndig++;
	return 0;
}

static int
take_summary(struct recon_in *in, const struct rowchange *rc, char *err)
{
	const struct mval *kind = cell_of(rc, 6);
	struct recon_summary *e;
	void *p;
	int ok;

	if (in->nsum >= RECON_MAX_SUMMARIES)
		return mule_errf(err, MULE_ETOOLARGE, "more than %d key-range "
		    "summaries", RECON_MAX_SUMMARIES);
	if ((p = realloc(in->sum, (in->nsum + 1) * sizeof(*in->sum))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	in->sum = p;
	e = &in->sum[in->nsum];
	memset(e, 0, sizeof(*e));
	/* Kept before checking the rest, so that release frees its bounds. */
	ok = get_bound(cell_of(rc, 2), &e->range.lo);
	ok = get_bound(cell_of(rc, 3), &e->range.hi) && ok;
	in->nsum++;
	if (!ok || rc->npk != 1 || !get_count(cell_of(rc, 4), &e->d.n) ||
	    !get_sum(cell_of(rc, 5), e->d.sum) || kind == NULL ||
	    kind->type != MVAL_INT || (kind->i != 1 && kind->i != 2) ||
	    (e->tbl = get_name(cell_of(rc, 1))) == NULL)
		return mule_errf(err, MULE_EFORMAT, "key-range summary %zu: "
		    "not a table name, two bounds (NULL, an integer or a blob "
		    "of at most %d bytes), a count, a %d-byte sum and a kind "
		    "(1 or 2)", in->nsum, RECON_MAX_BOUND, REPLICA_DIGEST_LEN);
	e->want = kind->i == 2;
	return 0;
}

int
recon_row(struct recon_in *in, const struct rowchange *rc, char *err)
{
	if (in->mode == 1)
		return take_digest(in, rc, err);
	if (in->mode == 2)
		return take_summary(in, rc, err);
	return mule_errf(err, MULE_EINTERNAL, "not a reconciliation segment");
}

/* ---- receiving ---- */

/* The tracked table named `name`, or NULL. */
static const struct replica_table *
table_named(struct replica_table **tabs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(tabs[i]->name, name) == 0)
			return tabs[i];
	return NULL;
}

/* May this bundle's digests be compared with ours? */
static int
comparable(struct replica *rp, const char *peer, const struct manifest *m,
    int *yes, char *err)
{
	uint8_t fpr[SCHEMA_FPR_LEN];
	struct vector known;
	uint32_t version;
	int r;

	*yes = 0;
	vector_init(&known);
	if ((r = replica_known(rp, &known, err)) != 0 ||
	    (r = replica_schema_latest(rp, &version, fpr, err)) != 0)
		goto out;
	/* Exactly the changes the sender knew, at its schema. */
	*yes = vector_covers(&known, &m->top) && vector_covers(&m->top,
	    &known) && version == m->schema_to && memcmp(fpr, m->fpr_to,
	    SCHEMA_FPR_LEN) == 0;
out:
	vector_release(&known);
	return r;
}

/*
 * What to ask next about [lo, hi) of t, which holds `here` rows here and
 * `there` at the peer, and differs: its rows when few, else its pieces.
 */
static int
refine(struct replica *rp, const char *peer, const struct replica_table *t,
    const struct replica_range *rg, uint64_t here, uint64_t there,
    uint64_t *queued, char *err)
{
	struct replica_range *parts = NULL;
	size_t i, n = 0;
	int r;

	/*
	 * Few rows, or one side lacks at least half of the other's: the
	 * rows go whole (at least half of what travels is missing there).
	 */
	if (here + there <= RECON_LEAF || here < there / 2 ||
	    there < here / 2) {
		*queued += 1;
		return replica_recon_add(rp, peer, t->tid, RECON_EXCHANGE,
		    &rg->lo, &rg->hi, err);
	}
	if ((r = replica_digest_split(rp, t->tid, &rg->lo, &rg->hi, here,
	    RECON_FANOUT, &parts, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++)
		r = replica_recon_add(rp, peer, t->tid, RECON_COMPARE,
		    &parts[i].lo, &parts[i].hi, err);
	*queued += n;
	replica_ranges_free(parts, n);
	return r;
}

static int
has_summary(const struct recon_in *in, const char *tbl)
{
	size_t i;

	for (i = 0; i < in->nsum; i++)
		if (strcmp(in->sum[i].tbl, tbl) == 0)
			return 1;
	return 0;
}

/*
 * "_digest:TABLE", the peer property saying how the last comparison of
 * the table's digests went: "differs" (status shows it) or "same" (then
 * edits of rows of a first scan may name their base by the row).
 */
static int
mark(struct replica *rp, const char *peer, const char *tbl, int differs,
    char *err)
{
	struct strb key;
	int r;

	strb_init(&key);
	strb_addf(&key, "_digest:%s", tbl);
	r = strb_error(&key) ? mule_errf(err, MULE_ENOMEM, "out of memory") :
	    replica_peer_set(rp, peer, strb_str(&key), differs ? "differs" :
	    "same", err);
	strb_release(&key);
	return r;
}

/* The bundle's digests against ours; tables that differ start. */
static int
check_digests(struct replica *rp, const char *peer, const struct recon_in *in,
    struct replica_table **tabs, size_t ntabs, struct sync_unpack_result *res,
    char *err)
{
	const struct replica_table *t;
	struct replica_digest mine;
	struct replica_range all;
	struct strb names;
	size_t i;
	int r = 0;

	strb_init(&names);
	memset(&all, 0, sizeof(all));
	for (i = 0; i < in->ndig && r == 0; i++) {
		if ((t = table_named(tabs, ntabs, in->dig[i].tbl)) == NULL)
			continue;
		if ((r = replica_digest_get(rp, t->tid, &mine, err)) != 0)
			break;
		res->compared++;
		if (mine.n == in->dig[i].d.n && memcmp(mine.sum,
		    in->dig[i].d.sum, REPLICA_DIGEST_LEN) == 0) {
			r = mark(rp, peer, t->name, 0, err);
			continue;
		}
		if ((r = mark(rp, peer, t->name, 1, err)) != 0)
			break;
		/* Under way already: the peer's summaries are answered. */
		if (has_summary(in, t->name))
			continue;
		strb_add(&names, names.len ? ", " : "");
		strb_add(&names, t->name);
		r = refine(rp, peer, t, &all, mine.n, in->dig[i].d.n,
		    &res->recon_ranges, err);
	}
	if (r == 0 && names.len > 0 && (res->diverged =
	    strb_detach(&names)) == NULL)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
	strb_release(&names);
	return r;
}

/* The peer's summaries: answered into the queue for our next bundle. */
static int
answer_summaries(struct replica *rp, const char *peer, int plain,
    const struct recon_in *in, struct replica_table **tabs, size_t ntabs,
    struct sync_unpack_result *res, char *err)
{
	const struct recon_summary *s;
	const struct replica_table *t;
	struct replica_digest mine;
	size_t i;
	int r = 0;

	for (i = 0; i < in->nsum && r == 0; i++) {
		s = &in->sum[i];
		if (!plain || (t = table_named(tabs, ntabs, s->tbl)) == NULL) {
			res->recon_ignored++;
			continue;
		}
		if (s->want) {
			res->recon_ranges++;
			r = replica_recon_add(rp, peer, t->tid, RECON_SEND,
			    &s->range.lo, &s->range.hi, err);
			continue;
		}
		if ((r = replica_digest_range(rp, t->tid, &s->range.lo,
		    &s->range.hi, &mine, err)) != 0)
			break;
		if (mine.n == s->d.n && memcmp(mine.sum, s->d.sum,
		    REPLICA_DIGEST_LEN) == 0)
			continue;
		r = refine(rp, peer, t, &s->range, mine.n, s->d.n,
		    &res->recon_ranges, err);
	}
	return r;
}

int
recon_unpack(struct replica *rp, const char *peer, const struct manifest *m,
    const struct recon_in *in, struct sync_unpack_result *res, char *err)
{
	struct replica_table **tabs = NULL;
	size_t ntabs = 0;
	int r, plain, yes = 0;

	plain = recon_plain(rp, peer);
	if (in->ndig == 0 && in->nsum == 0)
		return 0;
	if ((r = replica_tables(rp, &tabs, &ntabs, err)) != 0 ||
	    (plain && in->ndig > 0 && (r = comparable(rp, peer, m, &yes,
	    err)) != 0))
		goto out;
	if ((yes && (r = check_digests(rp, peer, in, tabs, ntabs, res,
	    err)) != 0) ||
	    (r = answer_summaries(rp, peer, plain, in, tabs, ntabs, res,
	    err)) != 0)
		goto out;
	r = 0;
out:
	replica_tables_free(tabs, ntabs);
	return r;
}

/* ---- sending ---- */

static int
put_digests(struct replica *rp, struct bundle_writer *w, char *err)
{
	struct replica_table **tabs = NULL;
	struct replica_digest d;
	struct rowchange rc;
	struct cell cells[2];
	struct mval pk;
	size_t i, n = 0;
	int r;

	if ((r = replica_tables(rp, &tabs, &n, err)) != 0 || n == 0 ||
	    (r = bundle_writer_begin_table(w, RECON_DIGEST_TABLE,
	    NCOLS(digest_cols), digest_cols, 1, pk0, err)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++) {
		if ((r = replica_digest_get(rp, tabs[i]->tid, &d, err)) != 0)
			break;
		memset(&rc, 0, sizeof(rc));
		memset(cells, 0, sizeof(cells));
		memset(&pk, 0, sizeof(pk));
		pk.type = MVAL_TEXT;
		pk.p = (const uint8_t *)tabs[i]->name;
		pk.n = strlen(tabs[i]->name);
		cells[0].col = 1;
		cells[0].v.type = MVAL_INT;
		cells[0].v.i = (int64_t)d.n;
		cells[1].col = 2;
		cells[1].v.type = MVAL_BLOB;
		cells[1].v.p = d.sum;
		cells[1].v.n = REPLICA_DIGEST_LEN;
		rc.npk = 1;
		rc.pk = &pk;
		rc.cl = 1;
		rc.ncells = 2;
		rc.cells = cells;
		r = bundle_writer_add_row(w, &rc, err);
	}
out:
	replica_tables_free(tabs, n);
	return r;
}

/* One summary row: our digest of the range (kind 1) or a request (2). */
static int
put_summary(struct bundle_writer *w, int64_t i, const char *tbl,
    const struct replica_range *rg, const struct replica_digest *d, int kind,
    char *err)
{
	struct rowchange rc;
	struct cell cells[6];
	struct mval pk;
	uint32_t j;

	memset(&rc, 0, sizeof(rc));
	memset(cells, 0, sizeof(cells));
	memset(&pk, 0, sizeof(pk));
	pk.type = MVAL_INT;
	pk.i = i;
	for (j = 0; j < 6; j++)
		cells[j].col = j + 1;
	cells[0].v.type = MVAL_TEXT;
	cells[0].v.p = (const uint8_t *)tbl;
	cells[0].v.n = strlen(tbl);
	cells[1].v = rg->lo;
	cells[2].v = rg->hi;
	cells[3].v.type = MVAL_INT;
	cells[3].v.i = (int64_t)d->n;
	cells[4].v.type = MVAL_BLOB;
	cells[4].v.p = d->sum;
	cells[4].v.n = REPLICA_DIGEST_LEN;
	cells[5].v.type = MVAL_INT;
	cells[5].v.i = kind;
	rc.npk = 1;
	rc.pk = &pk;
	rc.cl = 1;
	rc.ncells = 6;
	rc.cells = cells;
	return bundle_writer_add_row(w, &rc, err);
}

/* The name of tracked table tid ("" when untracked since). */
static const char *
tid_name(struct replica_table **tabs, size_t n, int64_t tid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tabs[i]->tid == tid)
			return tabs[i]->name;
	return "";
}

int
recon_pack_rows(struct replica *rp, const char *peer,
    const struct replica_out_sink *rows, struct sync_pack_result *res,
    char *err)
{
	struct replica_recon *q = NULL;
	uint64_t nrows;
	size_t i, n = 0;
	int r;

	if (!recon_plain(rp, peer))
		return 0;
	if ((r = replica_recon_list(rp, peer, &q, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if (q[i].kind == RECON_COMPARE)
			continue;
		r = replica_changes_range(rp, q[i].tid, &q[i].range.lo,
		    &q[i].range.hi, rows, &nrows, err);
		res->recon_rows += nrows;
	}
	replica_recon_free(q, n);
	return r;
}

int
recon_pack_notes(struct replica *rp, const char *peer, struct bundle_writer *w,
    struct sync_pack_result *res, char *err)
{
	struct replica_table **tabs = NULL;
	struct replica_recon *q = NULL;
	struct replica_digest d;
	const char *name;
	size_t i, n = 0, ntabs = 0;
	int64_t seq = 0;
	int r, started = 0;

	if (!recon_plain(rp, peer))
		return 0;
	if ((r = put_digests(rp, w, err)) != 0 ||
	    (r = replica_recon_list(rp, peer, &q, &n, err)) != 0 ||
	    (r = replica_tables(rp, &tabs, &ntabs, err)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++) {
		if (q[i].kind == RECON_SEND || *(name = tid_name(tabs, ntabs,
		    q[i].tid)) == '\0')
			continue;
		memset(&d, 0, sizeof(d));
		if (q[i].kind == RECON_COMPARE && (r = replica_digest_range(rp,
		    q[i].tid, &q[i].range.lo, &q[i].range.hi, &d, err)) != 0)
			break;
		if (!started && (r = bundle_writer_begin_table(w,
		    RECON_SUMMARY_TABLE, NCOLS(summary_cols), summary_cols, 1,
		    pk0, err)) != 0)
			break;
		started = 1;
		res->recon_ranges++;
		r = put_summary(w, ++seq, name, &q[i].range, &d,
		    q[i].kind == RECON_COMPARE ? 1 : 2, err);
	}
	if (r == 0)
		r = replica_recon_clear(rp, peer, err);
out:
	replica_recon_free(q, n);
	replica_tables_free(tabs, ntabs);
	return r;
}

int
sync_check(struct replica *rp, const char *peer, size_t *ntables, char *err)
{
	struct replica_scan_stats scan;
	struct replica_peer p;
	size_t n = 0;
	int r;

	memset(&p, 0, sizeof(p));
	memset(&scan, 0, sizeof(scan));
	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		return r;
	if (!recon_plain(rp, peer))
		return mule_errf(err, MULE_EINVAL, "%s has a sync set, a map or "
		    "a schema of its own here: the two sites are not meant to "
		    "hold the same tables, so there is nothing to compare "
		    "(mule share --list %s)", peer, peer);
	if ((r = replica_begin(rp, err)) != 0)
		return r;
	/*
	 * Trust nothing: a full scan (this transaction has written, so it
	 * is never skipped) brings the state to the data, and the digests
	 * are computed again from the state.
	 */
	if ((r = recon_compare_all(rp, peer, &n, err)) == 0 &&
	    (r = replica_scan(rp, 0, &scan, NULL, NULL, err)) == 0 &&
	    (r = replica_digest_reset(rp, err)) == 0 &&
	    (r = replica_commit(rp, err)) == 0)
		*ntables = n;
	if (r != 0)
		replica_rollback(rp);
	replica_scan_stats_release(&scan);
	return r;
}
