/* cli/cmd_unpack.c — mule unpack [--dry-run] PATH... | unpack --mail
 * [PATH...]: options; the bundles gathered (xport_inbound); each applied
 * with sync_unpack; output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/hex.h"
#include "core/strb.h"
#include "sync/sync.h"
#include "transports/inbound.h"
#include "transports/spool.h"

/* One run of unpack: what to apply, and what happened. */
struct unpacker {
	struct replica *rp;
	struct ident_secret *sec;
	char keyhex[2 * IDENT_KEYID_LEN + 1];
	int dry, mail;
	struct xport_inbound in;
	size_t applied, already, skipped, skipped_parts;
	int worst;		/* the worst exit status so far */
};

static void
unpack_print(const struct unpacker *u, const char *label,
    const struct sync_unpack_result *res)
{
	const char *peer = res->peer.name;

	if (u->dry) {
		printf("%s from %s: would apply: %s (nothing changed: "
		    "--dry-run)\n", label, peer, res->summary);
		return;
	}
	printf("applied %s from %s: %s\n", label, peer, res->summary);
	if (res->st.gap)
		printf("note: %s had sent changes this site never received "
		    "(a bundle is missing); they were applied, and %s will "
		    "resend what is missing after your next bundle reaches "
		    "it\n", peer, peer);
	if (res->lost)
		printf("note: %s lacks changes this site sent it (a bundle "
		    "was lost on the way); the next 'mule pack --to %s' "
		    "carries them again\n", peer, peer);
	if (res->st.conflicts > 0)
		printf("note: %llu conflict%s: see 'mule conflicts'\n",
		    (unsigned long long)res->st.conflicts,
		    res->st.conflicts == 1 ? "" : "s");
}

/* Raises the exit status to the one for `code`. */
static void
unpack_worst(struct unpacker *u, int rc)
{
	if (rc > u->worst)
		u->worst = rc;
}

/*
 * Verifies, applies and reports one bundle; counts it.  Returns what
 * sync_unpack returned.  In a directory (indir), bundles applied before
 * are counted and bundles for other sites skipped, silently.
 */
static int
unpack_one(struct unpacker *u, const char *path, const char *label,
    int indir)
{
	struct sync_unpack_result res;
	struct sync_unpack_opts o;
	char err[MULE_ERRLEN] = "";
	int r;

	memset(&res, 0, sizeof(res));
	memset(&o, 0, sizeof(o));
	o.me = u->sec;
	o.path = path;
	o.label = label;
	o.dry = u->dry;
	o.progress = cli_progress_cb;
	r = sync_unpack(u->rp, &o, &res, err);
	cli_progress_done();
	if (r == 0) {
		unpack_print(u, label, &res);
		u->applied++;
	} else if (r == MULE_EAPPLIED && indir) {
		u->already++;
	} else if (r == MULE_EAPPLIED) {
		printf("%s: already applied; nothing changed\n", path);
	} else if (r == MULE_ENOTRECIPIENT && indir) {
		u->skipped++;
	} else {
		unpack_worst(u, cli_fail(r, err));
	}
	sync_unpack_result_release(&res);
	return r;
}

/* A spooled bundle: rebuilt and applied once enough parts are here. */
static void
unpack_group(struct unpacker *u, const char *idhex)
{
	struct xport_spool_join j;
	char err[MULE_ERRLEN] = "";
	struct strb label;
	int r;

	strb_init(&label);
	if ((r = xport_spool_join(u->in.db, idhex, &j, err)) != 0) {
		unpack_worst(u, cli_fail(r, err));
		goto out;
	}
	if (j.path == NULL) {
		printf("bundle %.12s…: %u of the %u parts needed are here "
		    "(have: %s; missing: %s); it waits in the spool for %u "
		    "more (any of the missing)\n", idhex, j.ngood, j.ndata,
		    j.have ? j.have : "-", j.missing ? j.missing : "-",
		    j.nneeded);
		goto out;
	}
	if (j.ngood < j.ndata + j.nparity)
		printf("bundle %.12s…: rebuilt from %u of its %u parts\n",
		    idhex, j.ngood, j.ndata + j.nparity);
	strb_addf(&label, "bundle %.12s… (from %u parts)", idhex, j.ngood);
	r = unpack_one(u, j.path, strb_str(&label), 1);
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
unpack_expire(struct unpacker *u)
{
	struct xport_spool_group *v = NULL;
	char err[MULE_ERRLEN] = "";
	size_t i, n = 0;
	int r;

	if (u->dry)
		return;
	if ((r = xport_spool_expire(u->in.db, u->in.spool.expire_days,
	    time(NULL), &v, &n, err)) != 0) {
		unpack_worst(u, cli_fail(r, err));
		return;
	}
	for (i = 0; i < n; i++)
		printf("bundle %.12s…: removed from the spool, incomplete "
		    "after %u days or more (spool.expire-days); it had %s of "
		    "its %u data parts\n", v[i].id, u->in.spool.expire_days,
		    v[i].have != NULL && v[i].have[0] != '\0' ? v[i].have :
		    "none", v[i].ndata);
	xport_spool_status_free(v, n);
}

/* Applies the bundles in order; parts go to the spool, then the groups
 * they complete are applied. */
static void
unpack_all(struct unpacker *u)
{
	struct xport_inbound *in = &u->in;
	char err[MULE_ERRLEN];
	size_t i;
	int r;

	unpack_expire(u);
	for (i = 0; i < in->n; i++) {
		err[0] = '\0';
		if (xport_inbound_is_part(in, i)) {
			/* Parts wait in the spool until they make a bundle;
			 * in a directory, those for other sites are left. */
			r = xport_inbound_spool(in, i, err);
			if (r == MULE_ENOTRECIPIENT && in->fromdir[i])
				u->skipped_parts++;
			else if (r != 0)
				unpack_worst(u, cli_fail(r, err));
		} else {
			r = unpack_one(u, in->paths[i],
			    xport_inbound_label(in, i), in->fromdir[i]);
		}
		xport_inbound_result(in, i, r);
	}
	for (i = 0; i < in->ngroups; i++)
		unpack_group(u, in->groups[i]);
	if (in->n == 0)
		printf("no bundles found\n");
	if (u->already > 0)
		printf("%zu bundle%s applied before; nothing changed by "
		    "%s\n", u->already, u->already == 1 ? " was" : "s were",
		    u->already == 1 ? "it" : "them");
	if (u->skipped > 0)
		printf("skipped %zu bundle%s addressed to other sites\n",
		    u->skipped, u->skipped == 1 ? "" : "s");
	if (u->skipped_parts > 0)
		printf("left %zu part%s of bundles addressed to other sites "
		    "(not spooled)\n", u->skipped_parts,
		    u->skipped_parts == 1 ? "" : "s");
}

/* A problem with one message: shown, and the exit status raised. */
static void
unpack_note(void *arg, int code, const char *msg)
{
	if (code == 0) {
		printf("%s\n", msg);
		return;
	}
	cli_error("%s", msg);
	unpack_worst(arg, cli_exit_code(code));
}

static int
unpack_settings(void *arg, struct xport_mail_settings *ms, char *err)
{
	return sync_mail_settings(arg, ms, err);
}

/* Deletes what applied (when asked to) and says what the fetch did. */
static int
unpack_mail_finish(struct unpacker *u)
{
	struct xport_mail_fetch_summary s;
	char err[MULE_ERRLEN] = "";
	int r, rc = EXIT_OK;

	if ((r = xport_inbound_finish(&u->in, &s, err)) != 0)
		rc = cli_fail(r, err);
	if (!s.inbox)
		return rc;
	printf("fetched %zu mule message%s from %s", s.nmule,
	    s.nmule == 1 ? "" : "s", s.where);
	if (s.nother > 0)
		printf("; %zu for other sites left alone", s.nother);
	if (s.nbad > 0)
		printf("; %zu unreadable", s.nbad);
	if (s.del)
		printf("; %zu deleted", s.ndeleted);
	printf("\n");
	return rc;
}

static int
unpack_options(struct unpacker *u, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "mail", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("unpack");
	int ch;

	while ((ch = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			u->dry = 1;
			break;
		case 'm':
			u->mail = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if (optind == argc && !u->mail)
		return cli_usage(cmd);
	return -1;
}

/*
 * Whether a bundle may wait in the spool, as its first part says
 * (xport_spool_opts.check): addressed to this site and signed, so it
 * claims, by a peer.  Nothing in a part is signed: this keeps other
 * sites' and strangers' bundles out, the rebuilt bundle is verified.
 */
static int
unpack_part_check(void *arg, const struct bundle_info *bi, char *reason)
{
	struct unpacker *u = arg;
	struct replica_peer peer;
	char kid[2 * IDENT_KEYID_LEN + 1];
	size_t i;
	int r;

	for (i = 0; i < bi->nrecipients; i++)
		if (memcmp(bi->recipient_keys[i], u->sec->pub.key_id,
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

/* The spool settings; 0 or an exit status. */
static int
unpack_spool_opts(struct unpacker *u)
{
	char err[MULE_ERRLEN] = "", *max = NULL, *days = NULL;
	int r;

	xport_spool_opts_init(&u->in.spool);
	u->in.spool.check = unpack_part_check;
	u->in.spool.arg = u;
	if ((r = replica_config_get(u->rp, "spool.max-size", &max,
	    err)) == 0 && (r = replica_config_get(u->rp, "spool.expire-days",
	    &days, err)) == 0)
		r = xport_spool_settings(&u->in.spool, max, days, err);
	free(max);
	free(days);
	return r != 0 ? cli_fail(r, err) : 0;
}

/* Opens the replica and checks our key; 0 or an exit status. */
static int
unpack_open(struct cli *c, struct unpacker *u)
{
	char err[MULE_ERRLEN] = "";
	struct replica_site site;
	int r, rc;

	if ((rc = cli_open(c, 0, &u->rp)) != 0 ||
	    (rc = cli_load_secret(c, &u->sec)) != 0)
		return rc;
	if ((r = sync_key_check(u->rp, u->sec, &site, err)) != 0)
		return cli_fail(r, err);
	hex_encode(u->keyhex, site.pub.key_id, IDENT_KEYID_LEN);
	u->in.db = c->db;
	u->in.keyhex = u->keyhex;
	u->in.dry = u->dry;
	u->in.settings = unpack_settings;
	u->in.sarg = u->rp;
	u->in.note = unpack_note;
	u->in.narg = u;
	return unpack_spool_opts(u);
}

int
cmd_unpack(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	struct unpacker u;
	int i, r = 0, rc;

	memset(&u, 0, sizeof(u));
	if ((rc = unpack_options(&u, argc, argv)) >= 0)
		return rc;
	if ((rc = unpack_open(c, &u)) != 0)
		goto out;
	for (i = optind; i < argc && r == 0; i++)
		r = xport_inbound_add(&u.in, argv[i], err);
	if (r == 0 && u.mail)
		r = xport_inbound_mail(&u.in, err);
	if (r != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	xport_inbound_sort(&u.in);
	unpack_all(&u);
	rc = u.worst;
	if (u.in.mf != NULL) {
		r = unpack_mail_finish(&u);
		rc = r > rc ? r : rc;
	}
out:
	if (u.in.mf != NULL)
		(void)unpack_mail_finish(&u);
	xport_inbound_release(&u.in);
	ident_secret_free(u.sec);
	replica_close(u.rp);
	return rc;
}
