/*
 * sync/inspect_inputs.c — the bundles that the operands of verify and
 * inspect hold: files, directories, ISO images, parts (see inspect.h).
 * Read through the inbound reader unpack uses (transports/inbound.h);
 * parts are joined into a scratch file beside the database, never into
 * the spool: nothing here changes the replica.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/parts.h"
#include "core/hex.h"
#include "core/strb.h"
#include "sync/inspect.h"
#include "transports/dir.h"
#include "transports/inbound.h"
#include "transports/media.h"

/* One walk over the operands. */
struct finder {
	struct replica *rp;
	struct xport_inbound in;
	char keyhex[2 * IDENT_KEYID_LEN + 1];
	char **labels;		/* heap, per in.paths: how people name it */
	size_t nlabels;
	int *done;		/* heap, per in.paths: reported */
	sync_found_fn fn;
	void *arg;
};

static void
found_report(struct finder *f, const char *path, const char *label,
    int code, const char *err)
{
	struct sync_found x;

	memset(&x, 0, sizeof(x));
	x.path = path;
	x.label = label;
	x.code = code;
	x.err = err != NULL ? err : "";
	f->fn(f->arg, &x);
}

static int
found_settings(void *arg, struct xport_mail_settings *ms, char *err)
{
	return sync_mail_settings(arg, ms, err);
}

/* An .eml file that is not a mule message for us: reported. */
static void
found_note(void *arg, int code, const char *msg)
{
	if (code != 0)
		found_report(arg, NULL, "mail", code, msg);
}

/* Labels for paths[from..n) of one operand: "IMAGE:NAME" for what an
 * ISO image held, else as the inbound reader names them. */
static int
found_label(struct finder *f, size_t from, const char *operand, int iso)
{
	const char *base;
	struct strb sb;
	size_t i;

	for (i = from; i < f->in.n; i++) {
		strb_init(&sb);
		if (iso) {
			base = strrchr(f->in.paths[i], '/');
			strb_addf(&sb, "%s:%s", operand, base != NULL ?
			    base + 1 : f->in.paths[i]);
		} else
			strb_add(&sb, xport_inbound_label(&f->in, i));
		if (strv_push(&f->labels, f->nlabels, strb_str(&sb)) != 0) {
			strb_release(&sb);
			return MULE_ENOMEM;
		}
		f->nlabels++;
		strb_release(&sb);
	}
	return 0;
}

/* Gathers what the operands hold, with their labels. */
static int
found_gather(struct finder *f, const char *db, char *const *operands,
    size_t n, char *err)
{
	struct replica_site site;
	size_t i, before;
	int r;

	if ((r = replica_site(f->rp, &site, err)) != 0)
		return r;
	hex_encode(f->keyhex, site.pub.key_id, IDENT_KEYID_LEN);
	f->in.db = db;
	f->in.keyhex = f->keyhex;
	f->in.dry = 1;
	f->in.settings = found_settings;
	f->in.sarg = f->rp;
	f->in.note = found_note;
	f->in.narg = f;
	for (i = 0; i < n; i++) {
		before = f->in.n;
		if ((r = xport_inbound_add(&f->in, operands[i], err)) != 0)
			return r;
		if ((r = found_label(f, before, operands[i],
		    xport_media_is_iso(operands[i]))) != 0)
			return mule_errf(err, r, "out of memory");
	}
	if ((f->done = calloc(f->in.n + 1, sizeof(int))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

/* "LABEL-WITHOUT-.dNNN-of-MMM.mule-part (parts)" for a group. */
static char *
group_label(const char *label)
{
	struct strb sb;
	size_t len = strlen(label), sl = strlen(PARTS_SUFFIX);
	const char *dot;

	strb_init(&sb);
	if (len > sl && strcmp(label + len - sl, PARTS_SUFFIX) == 0)
		len -= sl;
	strb_addn(&sb, label, len);
	if ((dot = strrchr(strb_str(&sb), '.')) != NULL &&
	    strstr(dot, "-of-") != NULL)
		len = (size_t)(dot - strb_str(&sb));
	strb_release(&sb);
	strb_init(&sb);
	strb_addn(&sb, label, len);
	strb_add(&sb, " (parts)");
	return strb_detach(&sb);
}

/*
 * The parts of the bundle that paths[i] is a part of (header `pi`), from
 * paths[i..]: joined into a scratch file and reported, or reported
 * missing.
 */
static void
found_group(struct finder *f, const char *db, size_t i,
    const struct part_info *pi)
{
	char e2[MULE_ERRLEN] = "", *label = NULL, *tmp = NULL;
	const char **v = NULL;
	struct part_info pj;
	size_t j, n = 0;
	int r;

	if ((v = calloc(f->in.n, sizeof(*v))) == NULL ||
	    (label = group_label(f->labels[i])) == NULL ||
	    (tmp = xport_scratch_name(db, "tmp")) == NULL) {
		found_report(f, NULL, f->labels[i], MULE_ENOMEM,
		    "out of memory");
		goto out;
	}
	for (j = i; j < f->in.n; j++) {
		if (f->done[j] || !xport_media_is_part(f->in.paths[j]) ||
		    parts_read_header(f->in.paths[j], &pj, NULL) != 0 ||
		    memcmp(pj.bundle_id, pi->bundle_id, PARTS_ID_LEN) != 0)
			continue;
		v[n++] = f->in.paths[j];
		f->done[j] = 1;
	}
	if ((r = parts_join(v, n, tmp, NULL, e2)) != 0) {
		mule_errprefix(e2, r, "%s", label);
		found_report(f, NULL, label, r, e2);
		goto out;
	}
	found_report(f, tmp, label, 0, NULL);
	unlink(tmp);
out:
	free(tmp);
	free(label);
	free(v);
}

/* Reports paths[i]: a bundle, or the group of parts it starts. */
static void
found_one(struct finder *f, const char *db, size_t i)
{
	char e2[MULE_ERRLEN] = "";
	struct part_info pi;
	int r;

	if (f->done[i])
		return;
	if (!xport_media_is_part(f->in.paths[i])) {
		f->done[i] = 1;
		found_report(f, f->in.paths[i], f->labels[i], 0, NULL);
		return;
	}
	if ((r = parts_read_header(f->in.paths[i], &pi, e2)) != 0) {
		f->done[i] = 1;
		mule_errprefix(e2, r, "%s", f->labels[i]);
		found_report(f, NULL, f->labels[i], r, e2);
		return;
	}
	found_group(f, db, i, &pi);
}

int
sync_inspect_inputs(struct replica *rp, const char *db,
    char *const *operands, size_t n, sync_found_fn fn, void *arg, char *err)
{
	struct finder f;
	size_t i;
	int r;

	memset(&f, 0, sizeof(f));
	f.rp = rp;
	f.fn = fn;
	f.arg = arg;
	if ((r = found_gather(&f, db, operands, n, err)) != 0)
		goto out;
	if (f.in.n == 0) {
		r = mule_errf(err, MULE_ENOTFOUND, "%s%s: no bundles or "
		    "parts there (files ending in .mule or .mule-part)",
		    operands[0], n > 1 ? " ..." : "");
		goto out;
	}
	for (i = 0; i < f.in.n; i++)
		found_one(&f, db, i);
	r = 0;
out:
	xport_inbound_release(&f.in);
	strv_free(f.labels, f.nlabels);
	free(f.done);
	return r;
}

void
sync_found_relabel(char *err, const char *path, const char *label)
{
	char copy[MULE_ERRLEN];
	size_t n = strlen(path);

	if (err == NULL || strcmp(path, label) == 0 ||
	    strncmp(err, path, n) != 0 || strncmp(err + n, ": ", 2) != 0)
		return;
	snprintf(copy, sizeof(copy), "%s%s", label, err + n);
	memcpy(err, copy, MULE_ERRLEN);
}
