/* sync/inspect.c — what a bundle holds, counted (see inspect.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync/inspect.h"
#include "sync/reconcile.h"

/* The reader's callbacks' state. */
struct inspector {
	struct replica *rp;
	struct sync_inspection *x;
	const struct bundle_info *info;	/* the verified outer header */
	char err[MULE_ERRLEN];		/* the manifest check's message */
	int recon;		/* in a digest (1) or summary (2) segment */
};

static int
ins_manifest(void *arg, const struct manifest *m)
{
	struct inspector *in = arg;
	struct manifest *to = &in->x->m;
	struct vector ref;
	int r, found = 0;

	if ((r = sync_manifest_check(in->info, m, in->err)) != 0)
		return r;
	/* Coded against a bundle of ours: rebuilt when we still hold it. */
	if (m->coded) {
		vector_init(&ref);
		to->ref = m->ref;
		to->coded = 1;
		if ((r = replica_log_sent_top(in->rp, (int64_t)m->ref,
		    m->ref_id, &ref, &found, in->err)) == 0 && found &&
		    (r = manifest_vectors(m, &ref, &to->base, &to->top,
		    &to->ack, in->err)) == 0)
			to->coded = 0;
		vector_release(&ref);
		if (r != 0)
			return r;
	}
	memcpy(to->bundle_id, m->bundle_id, BUNDLE_ID_LEN);
	memcpy(to->from, m->from, SITE_ID_LEN);
	to->seq = m->seq;
	to->full = m->full;
	to->schema_from = m->schema_from;
	to->schema_to = m->schema_to;
	if ((to->from_name = strdup(m->from_name ? m->from_name : "")) ==
	    NULL || (!m->coded && (vector_copy(&to->base, &m->base) != 0 ||
	    vector_copy(&to->top, &m->top) != 0 ||
	    vector_copy(&to->ack, &m->ack) != 0)))
		return MULE_ENOMEM;
	return 0;
}

static int
ins_schema(void *arg, const struct bundle_schema *s)
{
	((struct inspector *)arg)->x->schema++;
	return 0;
}

static int
ins_value(void *arg, const uint8_t hash[VALUE_REF_LEN], int type,
    const uint8_t *p, size_t n)
{
	struct sync_inspection *x = ((struct inspector *)arg)->x;

	x->values++;
	x->value_bytes += n;
	return 0;
}

static int
ins_table(void *arg, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols)
{
	struct inspector *in = arg;
	struct sync_inspection *x = in->x;
	void *p;

	/* Digests and summaries are not a table's rows (reconcile.h). */
	in->recon = strcmp(table, RECON_DIGEST_TABLE) == 0 ? 1 :
	    strcmp(table, RECON_SUMMARY_TABLE) == 0 ? 2 : 0;
	if (in->recon != 0)
		return 0;
	if (x->nt > 0 && strcmp(x->t[x->nt - 1].name, table) == 0)
		return 0;	/* the same table continued in a new segment */
	if ((p = realloc(x->t, (x->nt + 1) * sizeof(*x->t))) == NULL)
		return MULE_ENOMEM;
	x->t = p;
	memset(&x->t[x->nt], 0, sizeof(*x->t));
	if ((x->t[x->nt].name = strdup(table)) == NULL)
		return MULE_ENOMEM;
	x->nt++;
	return 0;
}

static int
ins_row(void *arg, const struct rowchange *rc)
{
	struct inspector *in = arg;
	struct sync_inspection *x = in->x;
	struct sync_inspect_table *t;

	if (in->recon != 0) {
		*(in->recon == 1 ? &x->digests : &x->summaries) += 1;
		return 0;
	}
	t = &x->t[x->nt - 1];
	t->rows++;
	if (rc->cl % 2 == 0)
		t->deletes++;
	t->cells += rc->ncells;
	return 0;
}

/* Reads the bundle into x (or its inner archive to raw_fd); the message
 * of a failure in err. */
static int
inspect_read(struct replica *rp, struct bundle_reader *br,
    const struct ident_secret *me, int raw_fd, struct sync_inspection *x,
    char *err)
{
	struct bundle_sink sink;
	struct inspector in;
	int r;

	if (raw_fd >= 0)
		return bundle_write_raw(br, me, raw_fd, err);
	memset(&in, 0, sizeof(in));
	in.rp = rp;
	in.x = x;
	in.info = bundle_get_info(br);
	sink.arg = &in;
	sink.manifest = ins_manifest;
	sink.schema = ins_schema;
	sink.value = ins_value;
	sink.table = ins_table;
	sink.row = ins_row;
	r = bundle_read(br, me, &sink, err);
	if (r != 0 && in.err[0] != '\0')
		memcpy(err, in.err, MULE_ERRLEN);
	return r;
}

int
sync_inspect(struct replica *rp, const struct ident_secret *me,
    const char *path, int raw_fd, struct sync_inspection *out, char *err)
{
	struct bundle_reader *br = NULL;
	int r;

	manifest_init(&out->m);
	if ((r = sync_bundle_check(rp, NULL, path, &br, &out->peer,
	    err)) != 0)
		goto out;
	out->info = *bundle_get_info(br);
	if (out->info.encrypted && !bundle_is_recipient(br, &me->pub)) {
		r = mule_errf(err, MULE_ENOTRECIPIENT, "the bundle is "
		    "encrypted for other sites; only its recipients can look "
		    "inside");
		goto out;
	}
	r = inspect_read(rp, br, me, raw_fd, out, err);
out:
	bundle_close(br);
	return r;
}

void
sync_inspection_release(struct sync_inspection *x)
{
	size_t i;

	for (i = 0; i < x->nt; i++)
		free(x->t[i].name);
	free(x->t);
	x->t = NULL;
	x->nt = 0;
	manifest_release(&x->m);
}
