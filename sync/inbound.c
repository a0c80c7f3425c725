/* sync/inbound.c — one unpack run over many inputs (see inbound.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/strb.h"
#include "sync/inbound.h"
#include "transports/inbound.h"

/* One run: what to apply, and what happened. */
struct run {
	struct replica *rp;
	const struct sync_inputs_opts *o;
	struct sync_inputs_result *res;
	struct xport_inbound in;
	char keyhex[2 * IDENT_KEYID_LEN + 1];
};

static void
run_failed(struct run *u, const char *path, int code, const char *err)
{
	struct sync_input_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = SYNC_INPUT_FAILED;
	ev.path = path;
	ev.code = code;
	ev.err = err;
	u->o->event(u->o->arg, &ev);
}

/* The spooled bundle `idhex` waits, or was rebuilt. */
static void
run_joined(struct run *u, enum sync_input_kind kind, const char *idhex,
    const struct xport_spool_join *j)
{
	struct sync_input_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.idhex = idhex;
	ev.join = j;
	u->o->event(u->o->arg, &ev);
}

/*
 * Verifies and applies one bundle and reports it.  Returns what
 * sync_unpack returned.  Found in a directory (indir), bundles applied
 * before are counted and bundles for other sites skipped, silently.
 */
static int
run_one(struct run *u, const char *path, const char *label, int indir)
{
	struct sync_unpack_result res;
	struct sync_unpack_opts uo;
	struct sync_input_event ev;
	char err[MULE_ERRLEN] = "";
	int r;

	memset(&res, 0, sizeof(res));
	memset(&uo, 0, sizeof(uo));
	memset(&ev, 0, sizeof(ev));
	uo.me = u->o->me;
	uo.path = path;
	uo.label = label;
	uo.dry = u->o->dry;
	uo.progress = u->o->progress;
	uo.parg = u->o->parg;
	r = sync_unpack(u->rp, &uo, &res, err);
	ev.path = path;
	ev.label = label;
	if (r == 0) {
		ev.kind = SYNC_INPUT_APPLIED;
		ev.res = &res;
		u->o->event(u->o->arg, &ev);
		u->res->applied++;
	} else if (r == MULE_EAPPLIED && indir) {
		u->res->already++;
	} else if (r == MULE_EAPPLIED) {
		ev.kind = SYNC_INPUT_ALREADY;
		u->o->event(u->o->arg, &ev);
	} else if (r == MULE_ENOTRECIPIENT && indir) {
		u->res->skipped++;
	} else {
		run_failed(u, path, r, err);
	}
	sync_unpack_result_release(&res);
	return r;
}

/* A spooled bundle: rebuilt and applied once enough parts are here. */
static void
run_group(struct run *u, const char *idhex)
{
	struct xport_spool_join j;
	char err[MULE_ERRLEN] = "";
	struct strb label;
	int r;

	strb_init(&label);
	if ((r = xport_spool_join(u->in.db, idhex, &j, err)) != 0) {
		run_failed(u, NULL, r, err);
		goto out;
	}
	if (j.path == NULL) {
		run_joined(u, SYNC_INPUT_WAITING, idhex, &j);
		goto out;
	}
	run_joined(u, SYNC_INPUT_REBUILT, idhex, &j);
	strb_addf(&label, "bundle %.12s… (from %u parts)", idhex, j.ngood);
	r = run_one(u, j.path, strb_str(&label), 1);
	unlink(j.path);
	/* Applied, applied before, or for another site: the parts go. */
	if (r == 0 || r == MULE_EAPPLIED || r == MULE_ENOTRECIPIENT)
		xport_spool_remove(u->in.db, idhex);
out:
	xport_spool_join_release(&j);
	strb_release(&label);
}

/* Bundles that waited in the spool longer than spool.expire-days go. */
static void
run_expire(struct run *u)
{
	struct xport_spool_group *v = NULL;
	struct sync_input_event ev;
	char err[MULE_ERRLEN] = "";
	size_t i, n = 0;
	int r;

	if (u->o->dry)
		return;
	if ((r = xport_spool_expire(u->in.db, u->in.spool.expire_days,
	    time(NULL), &v, &n, err)) != 0) {
		run_failed(u, NULL, r, err);
		return;
	}
	for (i = 0; i < n; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = SYNC_INPUT_EXPIRED;
		ev.group = &v[i];
		ev.days = u->in.spool.expire_days;
		u->o->event(u->o->arg, &ev);
	}
	xport_spool_status_free(v, n);
}

/* Applies the inputs in order; parts go to the spool, then the groups
 * they complete are applied. */
static void
run_all(struct run *u)
{
	struct xport_inbound *in = &u->in;
	char err[MULE_ERRLEN];
	size_t i;
	int r;

	run_expire(u);
	for (i = 0; i < in->n; i++) {
		err[0] = '\0';
		if (xport_inbound_is_part(in, i)) {
			/* Parts wait in the spool until they make a bundle;
			 * in a directory, those for other sites are left. */
			r = xport_inbound_spool(in, i, err);
			if (r == MULE_ENOTRECIPIENT && in->fromdir[i])
				u->res->skipped_parts++;
			else if (r != 0)
				run_failed(u, in->paths[i], r, err);
		} else {
			r = run_one(u, in->paths[i],
			    xport_inbound_label(in, i), in->fromdir[i]);
		}
		xport_inbound_result(in, i, r);
	}
	for (i = 0; i < in->ngroups; i++)
		run_group(u, in->groups[i]);
}

static int
run_settings(void *arg, struct xport_mail_settings *ms, char *err)
{
	return sync_mail_settings(arg, ms, err);
}

static void
run_note(void *arg, int code, const char *msg)
{
	const struct sync_inputs_opts *o = ((struct run *)arg)->o;

	if (o->note != NULL)
		o->note(o->arg, code, msg);
}

/*
 * Whether a bundle may wait in the spool, as its first part says
 * (xport_spool_opts.check): addressed to this site and signed, so it
 * claims, by a peer.  Nothing in a part is signed: this keeps other
 * sites' and strangers' bundles out, the rebuilt bundle is verified.
 */
static int
run_part_check(void *arg, const struct bundle_info *bi, char *reason)
{
	struct run *u = arg;
	struct replica_peer peer;
	char kid[2 * IDENT_KEYID_LEN + 1];
	size_t i;
	int r;

	for (i = 0; i < bi->nrecipients; i++)
		if (memcmp(bi->recipient_keys[i], u->o->me->pub.key_id,
		    IDENT_KEYID_LEN) == 0)
			break;
	if (i == bi->nrecipients)
		return mule_errf(reason, MULE_ENOTRECIPIENT, "is not addressed "
		    "to this site");
	r = replica_peer_by_keyid(u->rp, bi->sender_key, &peer, reason);
	if (r != MULE_ENOTFOUND)
		return r;
	hex_encode(kid, bi->sender_key, IDENT_KEYID_LEN);
	return mule_errf(reason, MULE_EUNKNOWNSENDER, "says it is signed by "
	    "an unknown key (key id %s); if you trust the sender, add it "
	    "with 'mule peer add NAME KEY' and unpack again", kid);
}

/* The spool settings.  0 or a MULE_E* code. */
static int
run_spool_opts(struct run *u, char *err)
{
	char *max = NULL, *days = NULL;
	int r;

	xport_spool_opts_init(&u->in.spool);
	u->in.spool.check = run_part_check;
	u->in.spool.arg = u;
	if ((r = replica_config_get(u->rp, "spool.max-size", &max,
	    err)) == 0 && (r = replica_config_get(u->rp, "spool.expire-days",
	    &days, err)) == 0)
		r = xport_spool_settings(&u->in.spool, max, days, err);
	free(max);
	free(days);
	return r;
}

/* Checks the key, reads the spool settings and gathers the inputs,
 * sorted.  0 or a MULE_E* code. */
static int
run_gather(struct run *u, char *err)
{
	const struct sync_inputs_opts *o = u->o;
	struct replica_site site;
	size_t i;
	int r;

	if ((r = sync_key_check(u->rp, o->me, &site, err)) != 0)
		return r;
	hex_encode(u->keyhex, site.pub.key_id, IDENT_KEYID_LEN);
	u->in.db = o->db;
	u->in.keyhex = u->keyhex;
	u->in.dry = o->dry;
	u->in.settings = run_settings;
	u->in.sarg = u->rp;
	u->in.note = run_note;
	u->in.narg = u;
	r = run_spool_opts(u, err);
	for (i = 0; i < o->noperands && r == 0; i++)
		r = xport_inbound_add(&u->in, o->operands[i], err);
	if (r == 0 && o->mail)
		r = xport_inbound_mail(&u->in, err);
	if (r == 0)
		xport_inbound_sort(&u->in);
	return r;
}

int
sync_unpack_inputs(struct replica *rp, const struct sync_inputs_opts *o,
    struct sync_inputs_result *res, char *err)
{
	struct run u;
	int r;

	memset(&u, 0, sizeof(u));
	u.rp = rp;
	u.o = o;
	u.res = res;
	if ((r = run_gather(&u, err)) == 0) {
		res->found = u.in.n;
		run_all(&u);
	}
	if (u.in.mf != NULL) {
		res->had_mail = 1;
		res->mail_code = xport_inbound_finish(&u.in, &res->mail,
		    res->mail_err);
	}
	xport_inbound_release(&u.in);
	return r;
}
