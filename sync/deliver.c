/* sync/deliver.c — pack with the bundle delivered as parts, an ISO image
 * or mail (see deliver.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/strb.h"
#include "sync/deliver.h"
#include "transports/dir.h"
#include "transports/media.h"

/* The deliver step's state. */
struct deliver {
	struct replica *rp;
	const struct sync_pack_opts *o;
	const struct sync_deliver_opts *d;
	struct sync_delivered *out;
	char *scratch;		/* heap: DB.mule-mail-PID */
	char *logged;		/* heap: where it went, for the log */
};

/* What the bundle log says of a delivered bundle BASE: "x.iso:
 * BASE.mule", "DIR/BASE.*.mule-part (5 parts)", "BASE.mule by mail to
 * b@example.org", "BASE.mule as .eml in DIR".  Heap, or NULL. */
static char *
delivered_as(const struct deliver *dv, const char *base)
{
	const struct sync_deliver_opts *d = dv->d;
	const char *dir = dv->o->out != NULL ? dv->o->out : ".";
	size_t n = dv->out->nfiles;
	struct strb sb;

	strb_init(&sb);
	if (d->mail)
		strb_addf(&sb, "%s.mule by mail to %s", base, dv->out->where != NULL ?
		    dv->out->where : "the peers");
	else if (d->eml != NULL)
		strb_addf(&sb, "%s.mule as .eml in %s", base, d->eml);
	else if (d->iso != NULL && d->volume == 0)
		strb_addf(&sb, "%s: %s.mule", d->iso, base);
	else if (d->iso != NULL)
		strb_addf(&sb, "%s: %s.*.mule-part (%zu part%s)", d->iso,
		    base, n, n == 1 ? "" : "s");
	else
		strb_addf(&sb, "%s%s%s.*.mule-part (%zu part%s)", dir,
		    dir[strlen(dir) - 1] == '/' ? "" : "/", base, n,
		    n == 1 ? "" : "s");
	return strb_detach(&sb);
}

/* Parts, an image or mail from the whole bundle at `tmp` (sync_pack's
 * deliver callback); the base name is the bundle's without .mule. */
static int
deliver_tmp(void *arg, const char *tmp, const struct sync_pack_result *res,
    char *err)
{
	struct deliver *dv = arg;
	const struct sync_deliver_opts *d = dv->d;
	const char *slash = strrchr(res->path, '/');
	char *base;
	size_t n;
	int r;

	if ((base = strdup(slash != NULL ? slash + 1 : res->path)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((n = strlen(base)) > 5 && strcmp(base + n - 5, ".mule") == 0)
		base[n - 5] = '\0';
	if (d->mail || d->eml != NULL)
		r = sync_mail_pack(dv->rp, res, tmp, dv->scratch, base, d->eml,
		    &dv->out->nfiles, &dv->out->where, dv->o->progress,
		    dv->o->parg, err);
	else
		r = xport_media_pack(tmp, dv->o->out != NULL ? dv->o->out :
		    ".", base, d->volume, d->parity, d->iso, &dv->out->nfiles,
		    &dv->out->bytes, dv->o->progress, dv->o->parg, err);
	if (r == 0 && (dv->logged = delivered_as(dv, base)) == NULL)
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
out:
	free(base);
	return r;
}

int
sync_pack_deliver(struct replica *rp, const struct sync_pack_opts *o,
    const struct sync_deliver_opts *d, struct sync_pack_result *res,
    struct sync_delivered *out, char *err)
{
	struct sync_pack_opts po = *o;
	struct deliver dv;
	char *tmp = NULL;
	int r = MULE_ENOMEM;

	memset(&dv, 0, sizeof(dv));
	dv.rp = rp;
	dv.o = o;
	dv.d = d;
	dv.out = out;
	po.tmp = NULL;
	po.deliver = NULL;
	po.darg = NULL;
	po.logged = NULL;
	/* Parts, images and mail are made from the whole bundle. */
	if (d->volume > 0 || d->iso != NULL || d->mail || d->eml != NULL) {
		if ((tmp = xport_scratch_name(d->db, "tmp")) == NULL ||
		    (dv.scratch = xport_scratch_name(d->db, "mail")) == NULL)
			goto out;
		po.tmp = tmp;
		po.deliver = deliver_tmp;
		po.darg = &dv;
		po.logged = &dv.logged;
	}
	/* Mail that cannot go is found before a number is spent. */
	if ((d->mail || d->eml != NULL) && (r = sync_mail_check(rp, o->peers,
	    o->npeers, d->eml, err)) != 0)
		goto out;
	r = sync_pack(rp, &po, res, err);
out:
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dv.scratch);
	free(dv.logged);
	return r;
}

void
sync_delivered_release(struct sync_delivered *out)
{
	free(out->where);
	out->where = NULL;
}
