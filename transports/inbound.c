/* transports/inbound.c — what one unpack run looks at (see inbound.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/parts.h"
#include "core/error.h"
#include "core/strb.h"
#include "transports/dir.h"
#include "transports/inbound.h"
#include "transports/iso.h"
#include "transports/media.h"
#include "transports/spool.h"

static int
add_path(char ***v, size_t *n, const char *path)
{
	if (strv_push(v, *n, path) != 0)
		return MULE_ENOMEM;
	(*n)++;
	return 0;
}

/* What unpack looks at in a directory: bundles, parts, mail files. */
static int
wanted(const char *name)
{
	size_t len = strlen(name);

	return (len > 5 && strcmp(name + len - 5, ".mule") == 0) ||
	    (len > 10 && strcmp(name + len - 10, PARTS_SUFFIX) == 0) ||
	    xport_mail_is_eml(name);
}

/* The mail settings and the fetch state, on first use. */
static int
mail_init(struct xport_inbound *in, char *err)
{
	char *scratch;
	int r;

	if (in->mf != NULL)
		return 0;
	if (!in->have_ms) {
		if ((r = in->settings(in->sarg, &in->ms, err)) != 0)
			return r;
		in->have_ms = 1;
	}
	if ((scratch = xport_scratch_name(in->db, "mail")) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	r = xport_mail_fetch_new(scratch, &in->mf, err);
	free(scratch);
	return r;
}

/* Remembers that `path` came out of the image `iso`: "IMAGE: NAME". */
static int
iso_label(struct xport_inbound *in, const char *iso, const char *path)
{
	const char *name = strrchr(path, '/');
	struct strb sb;
	int r;

	strb_init(&sb);
	strb_addf(&sb, "%s: %s", iso, name != NULL ? name + 1 : path);
	if (strb_error(&sb) || strv_push(&in->isolabels, in->niso,
	    strb_str(&sb)) != 0) {
		strb_release(&sb);
		return MULE_ENOMEM;
	}
	strb_release(&sb);
	if ((r = strv_push(&in->isopaths, in->niso, path)) != 0) {
		free(in->isolabels[in->niso]);
		return MULE_ENOMEM;
	}
	in->niso++;
	return 0;
}

/* Extracts the bundles and parts of an ISO image into a scratch dir. */
static int
add_iso(struct xport_inbound *in, const char *iso, char *err)
{
	char **got = NULL;
	size_t i, ngot = 0;
	int r;

	if (in->isodir == NULL) {
		if ((in->isodir = xport_scratch_name(in->db, "iso")) == NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		if (mkdir(in->isodir, 0700) != 0)
			return mule_errf(err, MULE_EIO, "cannot make %s: %s",
			    in->isodir, strerror(errno));
	}
	if ((r = xport_iso_extract(iso, in->isodir, ".mule", PARTS_SUFFIX,
	    &got, &ngot, err)) != 0)
		return r;
	for (i = 0; i < ngot && r == 0; i++)
		if ((r = add_path(&in->paths, &in->n, got[i])) == 0)
			r = iso_label(in, iso, got[i]);
	xport_iso_paths_free(got, ngot);
	return r == 0 ? 0 : mule_errf(err, r, "out of memory");
}

/* .eml files among paths[before..]: their mule attachments instead. */
static int
add_eml(struct xport_inbound *in, size_t before, char *err)
{
	size_t i, nnew = in->n - before;
	int r;

	for (i = before; i < in->n && !xport_mail_is_eml(in->paths[i]); i++)
		;
	if (i == in->n)
		return 0;
	if ((r = mail_init(in, err)) == 0)
		r = xport_mail_fetch_eml(in->mf, &in->ms, in->keyhex,
		    in->paths + before, &nnew, in->note, in->narg, err);
	in->n = before + nnew;
	return r;
}

/* Marks paths[from..n) as found in a directory (or not). */
static int
mark(struct xport_inbound *in, size_t from, int dirlike, char *err)
{
	int *fd;

	if ((fd = realloc(in->fromdir, (in->n + 1) * sizeof(int))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	in->fromdir = fd;
	while (from < in->n)
		in->fromdir[from++] = dirlike;
	return 0;
}

int
xport_inbound_add(struct xport_inbound *in, const char *operand, char *err)
{
	size_t before = in->n;
	struct stat sb;
	int r, dirlike;

	if (stat(operand, &sb) != 0)
		return mule_errf(err, MULE_ENOTFOUND, "%s: no such file or "
		    "directory", operand);
	dirlike = S_ISDIR(sb.st_mode);
	if (dirlike) {
		r = xport_dir_list(operand, wanted, &in->paths, &in->n, err);
	} else if (xport_media_is_iso(operand)) {
		r = add_iso(in, operand, err);
		dirlike = 1;
	} else if ((r = add_path(&in->paths, &in->n, operand)) != 0) {
		r = mule_errf(err, r, "out of memory");
	}
	if (r != 0 || (r = add_eml(in, before, err)) != 0)
		return r;
	return mark(in, before, dirlike, err);
}

int
xport_inbound_mail(struct xport_inbound *in, char *err)
{
	size_t before = in->n;
	int r;

	if ((r = mail_init(in, err)) != 0 ||
	    (r = xport_mail_fetch_inbox(in->mf, &in->ms, in->keyhex, in->dry,
	    &in->paths, &in->n, in->note, in->narg, err)) != 0)
		return r;
	return mark(in, before, 1, err);
}

/* 1 for data part 1 of a bundle (its header read), else 0. */
static int
first_part(const char *path)
{
	struct part_info pi;

	return xport_media_is_part(path) &&
	    parts_read_header(path, &pi, NULL) == 0 && pi.index == 0;
}

/* Moves paths[j] to position i (i <= j), the others keeping order. */
static void
move_to(struct xport_inbound *in, size_t i, size_t j)
{
	char *tp = in->paths[j];
	int tf = in->fromdir[j];

	memmove(in->paths + i + 1, in->paths + i, (j - i) * sizeof(char *));
	memmove(in->fromdir + i + 1, in->fromdir + i, (j - i) * sizeof(int));
	in->paths[i] = tp;
	in->fromdir[i] = tf;
}

void
xport_inbound_sort(struct xport_inbound *in)
{
	size_t i, j, k;
	char *tp;
	int tf;

	/* Stable: equal names keep the order they were found in. */
	for (i = 1; i < in->n; i++) {
		for (j = i; j > 0 && xport_dir_cmp(&in->paths[j - 1],
		    &in->paths[j]) > 0; j--) {
			tp = in->paths[j];
			tf = in->fromdir[j];
			in->paths[j] = in->paths[j - 1];
			in->fromdir[j] = in->fromdir[j - 1];
			in->paths[j - 1] = tp;
			in->fromdir[j - 1] = tf;
		}
	}
	/* First data parts to the front: bundles keep their order. */
	for (j = 0, k = 0; j < in->n; j++)
		if (first_part(in->paths[j]))
			move_to(in, k++, j);
}

int
xport_inbound_is_part(const struct xport_inbound *in, size_t i)
{
	return xport_media_is_part(in->paths[i]);
}

/* 1 if the spool holds parts of bundle idhex. */
static int
group_has_parts(const struct xport_inbound *in, const char *idhex)
{
	char **v = NULL;
	size_t n = 0;
	int has;

	has = xport_spool_parts(in->db, idhex, &v, &n, NULL) == 0 && n > 0;
	strv_free(v, n);
	return has;
}

int
xport_inbound_spool(struct xport_inbound *in, size_t i, char *err)
{
	char idhex[33];
	size_t k;
	int r;

	r = xport_spool_add(in->db, in->paths[i], xport_inbound_label(in, i),
	    &in->spool, idhex, err);
	for (k = 0; k < in->ngroups; k++)
		if (strcmp(in->groups[k], idhex) == 0)
			break;
	if (r != 0 && k < in->ngroups && !group_has_parts(in, idhex)) {
		/* Refused by its first part: nothing left to rebuild. */
		free(in->groups[k]);
		memmove(in->groups + k, in->groups + k + 1,
		    (in->ngroups - k - 1) * sizeof(char *));
		in->ngroups--;
	}
	if (r != 0 || k < in->ngroups)
		return r;
	if ((r = add_path(&in->groups, &in->ngroups, idhex)) != 0)
		return mule_errf(err, r, "out of memory");
	return 0;
}

const char *
xport_inbound_label(const struct xport_inbound *in, size_t i)
{
	const char *label = xport_mail_fetch_label(in->mf, in->paths[i]);
	size_t k;

	for (k = 0; label == NULL && k < in->niso; k++)
		if (strcmp(in->isopaths[k], in->paths[i]) == 0)
			label = in->isolabels[k];
	return label != NULL ? label : in->paths[i];
}

void
xport_inbound_result(struct xport_inbound *in, size_t i, int r)
{
	xport_mail_fetch_result(in->mf, in->paths[i], in->dry ? 1 : r);
}

int
xport_inbound_finish(struct xport_inbound *in,
    struct xport_mail_fetch_summary *sum, char *err)
{
	int r;

	r = xport_mail_fetch_finish(in->mf, sum, err);
	in->mf = NULL;
	return r;
}

void
xport_inbound_release(struct xport_inbound *in)
{
	xport_mail_fetch_free(in->mf);
	in->mf = NULL;
	strv_free(in->paths, in->n);
	strv_free(in->isopaths, in->niso);
	strv_free(in->isolabels, in->niso);
	free(in->fromdir);
	strv_free(in->groups, in->ngroups);
	if (in->isodir != NULL)
		xport_dir_remove(in->isodir);
	free(in->isodir);
	xport_mail_settings_release(&in->ms);
	in->paths = in->groups = NULL;
	in->fromdir = NULL;
	in->isodir = NULL;
	in->n = in->ngroups = 0;
	in->have_ms = 0;
}
