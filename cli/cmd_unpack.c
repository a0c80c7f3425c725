/* cli/cmd_unpack.c — mule unpack [--dry-run] PATH... */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "transports/media.h"
#include "transports/spool.h"
#include "core/hex.h"
#include "core/strb.h"
#include "replica/schema.h"
#include "sync/sync.h"
#include "transports/dir.h"
#include "transports/iso.h"

/* One run of unpack: what to apply, and what happened. */
struct unpacker {
	const char *db;
	struct replica *rp;
	struct ident_secret *sec;
	char keyhex[2 * IDENT_KEYID_LEN + 1];
	int dry, mail;
	char **paths;		/* bundles and parts, in the order to apply */
	int *fromdir;		/* per path: found in a directory or image */
	size_t npaths;
	char **groups;		/* spooled bundle ids the parts belong to */
	size_t ngroups;
	char *isodir;		/* scratch directory for ISO images */
	struct xport_mail_fetch *mf;	/* attachments of mail and .eml */
	struct xport_mail_settings ms;
	size_t applied, already, skipped;
	int worst;		/* the worst exit status so far */
};

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
unpack_wanted(const char *name)
{
	size_t len = strlen(name);

	return (len > 5 && strcmp(name + len - 5, ".mule") == 0) ||
	    (len > 10 && strcmp(name + len - 10, PARTS_SUFFIX) == 0) ||
	    xport_mail_is_eml(name);
}

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

/*
 * Verifies and applies one bundle (sync_unpack) and says what it did.
 * Returns 0, MULE_EAPPLIED, or an error (message in err).  In a
 * directory, bundles for other sites are MULE_ENOTRECIPIENT and the
 * caller skips them.
 */
static int
unpack_one(struct unpacker *u, const char *path, const char *label,
    char *err)
{
	struct sync_unpack_result res;
	struct sync_unpack_opts o;
	int r;

	memset(&res, 0, sizeof(res));
	memset(&o, 0, sizeof(o));
	o.me = u->sec;
	o.path = path;
	o.label = label;
	o.dry = u->dry;
	o.progress = progress_cb;
	r = sync_unpack(u->rp, &o, &res, err);
	progress_done();
	if (r == 0)
		unpack_print(u, label, &res);
	sync_unpack_result_release(&res);
	return r;
}

/* Reports one bundle's result and counts it. */
static void
tally(struct unpacker *u, const char *path, int indir, int r,
    const char *err)
{
	int rc;

	if (r == 0) {
		u->applied++;
	} else if (r == MULE_EAPPLIED) {
		if (indir)
			u->already++;
		else
			printf("%s: already applied; nothing changed\n", path);
	} else if (r == MULE_ENOTRECIPIENT && indir) {
		u->skipped++;
	} else {
		rc = cli_fail(r, err);
		if (rc > u->worst)
			u->worst = rc;
	}
}

static int
add_group(char ***v, size_t *n, const char *id)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], id) == 0)
			return 0;
	return add_path(v, n, id);
}

/* Extracts the bundles and parts of an ISO image into a scratch dir. */
static int
iso_paths(struct unpacker *u, const char *iso, char *err)
{
	char **got = NULL;
	size_t i, ngot = 0;
	int r;

	if (u->isodir == NULL) {
		if ((u->isodir = cli_scratch_name(u->db, "iso")) == NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		if (mkdir(u->isodir, 0700) != 0)
			return mule_errf(err, MULE_EIO, "cannot make %s: %s",
			    u->isodir, strerror(errno));
	}
	if ((r = xport_iso_extract(iso, u->isodir, ".mule", PARTS_SUFFIX,
	    &got, &ngot, err)) != 0)
		return r;
	for (i = 0; i < ngot && r == 0; i++)
		r = add_path(&u->paths, &u->npaths, got[i]);
	xport_iso_paths_free(got, ngot);
	return r == 0 ? 0 : mule_errf(err, r, "out of memory");
}

/* A spooled bundle: rebuild and apply it once enough parts are here. */
static void
unpack_group(struct unpacker *u, const char *idhex)
{
	struct parts_status st;
	char err[MULE_ERRLEN] = "", **paths = NULL, *dir = NULL;
	char *have = NULL, *missing = NULL;
	struct strb joined, label;
	size_t n = 0;
	int r;

	strb_init(&joined);
	strb_init(&label);
	if ((r = xport_spool_parts(u->db, idhex, &paths, &n, err)) != 0 ||
	    (r = parts_status_compute((const char *const *)paths, n, 1, &st,
	    err)) != 0) {
		tally(u, idhex, 0, r, err);
		goto out;
	}
	if (st.nneeded > 0) {
		have = xport_media_parts_list(&st, PART_GOOD);
		missing = xport_media_parts_list(&st, PART_MISSING);
		printf("bundle %.12s…: %u of the %u parts needed are here "
		    "(have: %s; missing: %s); it waits in the spool for %u "
		    "more (any of the missing)\n", idhex, st.ngood,
		    (unsigned)st.info.ndata, have ? have : "-",
		    missing ? missing : "-", st.nneeded);
		goto out;
	}
	dir = xport_spool_dir(u->db, idhex);
	strb_addf(&joined, "%s/.bundle.mule", dir ? dir : ".");
	if ((r = parts_join((const char *const *)paths, n, strb_str(&joined),
	    &st, err)) != 0) {
		tally(u, idhex, 0, r, err);
		goto out;
	}
	if (st.ngood < (unsigned)(st.info.ndata + st.info.nparity))
		printf("bundle %.12s…: rebuilt from %u of its %u parts\n",
		    idhex, st.ngood, st.info.ndata + st.info.nparity);
	err[0] = '\0';
	strb_reset(&label);
	strb_addf(&label, "bundle %.12s… (from %u parts)", idhex, st.ngood);
	r = unpack_one(u, strb_str(&joined), strb_str(&label), err);
	unlink(strb_str(&joined));
	tally(u, idhex, 1, r, err);
	/* Applied, applied before, or for another site: the parts go. */
	if (r == 0 || r == MULE_EAPPLIED || r == MULE_ENOTRECIPIENT)
		xport_spool_remove(u->db, idhex);
out:
	parts_paths_free(paths, n);
	strb_release(&joined);
	strb_release(&label);
	free(dir);
	free(have);
	free(missing);
}

/* A problem with one message: shown, and the exit status raised. */
static void
unpack_note(void *arg, int code, const char *msg)
{
	struct unpacker *u = arg;
	int rc;

	if (code == 0) {
		printf("%s\n", msg);
		return;
	}
	cli_error("%s", msg);
	rc = cli_exit_code(code);
	if (rc > u->worst)
		u->worst = rc;
}

/* The mail settings and the fetch state, on first use. */
static int
unpack_mail_init(struct cli *c, struct unpacker *u, char *err)
{
	char *scratch;
	int r;

	if (u->mf != NULL)
		return 0;
	if ((r = sync_mail_settings(u->rp, &u->ms, err)) != 0)
		return r;
	if ((scratch = cli_scratch_name(c->db, "mail")) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	r = xport_mail_fetch_new(scratch, &u->mf, err);
	free(scratch);
	return r;
}

/* Marks paths[from..npaths) as found in a directory (or not). */
static int
unpack_mark(struct unpacker *u, size_t from, int dirlike)
{
	int *fd;

	if ((fd = realloc(u->fromdir, (u->npaths + 1) * sizeof(int))) == NULL)
		return cli_fail(MULE_ENOMEM, NULL);
	u->fromdir = fd;
	while (from < u->npaths)
		u->fromdir[from++] = dirlike;
	return 0;
}

/* .eml files among paths[before..]: their mule attachments instead. */
static int
unpack_eml(struct cli *c, struct unpacker *u, size_t before)
{
	char err[MULE_ERRLEN] = "";
	size_t i, nnew = u->npaths - before;
	int r;

	for (i = before; i < u->npaths && !xport_mail_is_eml(u->paths[i]);
	    i++)
		;
	if (i == u->npaths)
		return 0;
	if ((r = unpack_mail_init(c, u, err)) == 0)
		r = xport_mail_fetch_eml(u->mf, &u->ms, u->keyhex,
		    u->paths + before, &nnew, unpack_note, u, err);
	u->npaths = before + nnew;
	return r != 0 ? cli_fail(r, err) : 0;
}

/* One operand: a file, a directory or an ISO image.  0 or an exit
 * status. */
static int
unpack_operand(struct cli *c, struct unpacker *u, const char *arg)
{
	char err[MULE_ERRLEN] = "";
	size_t before = u->npaths;
	struct stat sb;
	int r, rc, dirlike;

	if (stat(arg, &sb) != 0) {
		cli_error("%s: no such file or directory", arg);
		return EXIT_FAIL;
	}
	dirlike = S_ISDIR(sb.st_mode);
	if (dirlike)
		r = xport_dir_list(arg, unpack_wanted, &u->paths, &u->npaths,
		    err);
	else if (xport_media_is_iso(arg))
		r = iso_paths(u, arg, err), dirlike = 1;
	else
		r = add_path(&u->paths, &u->npaths, arg);
	if (r != 0)
		return cli_fail(r, err);
	if ((rc = unpack_eml(c, u, before)) != 0)
		return rc;
	return unpack_mark(u, before, dirlike);
}

/* Mail: the mule attachments of the inbox.  0 or an exit status. */
static int
unpack_mail(struct cli *c, struct unpacker *u)
{
	char err[MULE_ERRLEN] = "";
	size_t before = u->npaths;
	int r;

	if ((r = unpack_mail_init(c, u, err)) != 0 ||
	    (r = xport_mail_fetch_inbox(u->mf, &u->ms, u->keyhex, u->dry,
	    &u->paths, &u->npaths, unpack_note, u, err)) != 0)
		return cli_fail(r, err);
	return unpack_mark(u, before, 1);
}

/* Deletes what applied (when asked to) and says what the fetch did. */
static int
unpack_mail_finish(struct unpacker *u)
{
	struct xport_mail_fetch_summary s;
	char err[MULE_ERRLEN] = "";
	int r, rc = EXIT_OK;

	r = xport_mail_fetch_finish(u->mf, &s, err);
	u->mf = NULL;
	if (r != 0)
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

/* All bundles in dependency order, across directories (stable). */
static void
unpack_sort(struct unpacker *u)
{
	size_t i, j;
	char *tp;
	int tf;

	for (i = 1; i < u->npaths; i++) {
		for (j = i; j > 0 && xport_dir_cmp(&u->paths[j - 1],
		    &u->paths[j]) > 0; j--) {
			tp = u->paths[j];
			tf = u->fromdir[j];
			u->paths[j] = u->paths[j - 1];
			u->fromdir[j] = u->fromdir[j - 1];
			u->paths[j - 1] = tp;
			u->fromdir[j - 1] = tf;
		}
	}
}

/* Applies the bundles in order; parts go to the spool, then the groups
 * they complete are applied. */
static void
unpack_all(struct unpacker *u)
{
	char err[MULE_ERRLEN], idhex[33];
	const char *label;
	size_t i;
	int r, rc;

	for (i = 0; i < u->npaths; i++) {
		err[0] = '\0';
		if (xport_media_is_part(u->paths[i])) {
			/* Parts wait in the spool until they make a bundle. */
			if ((r = xport_spool_add(u->db, u->paths[i], idhex,
			    err)) != 0 || (r = add_group(&u->groups,
			    &u->ngroups, idhex)) != 0) {
				rc = cli_fail(r, err);
				u->worst = rc > u->worst ? rc : u->worst;
			}
			xport_mail_fetch_result(u->mf, u->paths[i], u->dry ? 1 : r);
			continue;
		}
		label = xport_mail_fetch_label(u->mf, u->paths[i]);
		r = unpack_one(u, u->paths[i], label ? label : u->paths[i],
		    err);
		xport_mail_fetch_result(u->mf, u->paths[i], u->dry ? 1 : r);
		tally(u, u->paths[i], u->fromdir[i], r, err);
	}
	for (i = 0; i < u->ngroups; i++)
		unpack_group(u, u->groups[i]);
	if (u->npaths == 0)
		printf("no bundles found\n");
	if (u->already > 0)
		printf("%zu bundle%s applied before; nothing changed by "
		    "%s\n", u->already, u->already == 1 ? " was" : "s were",
		    u->already == 1 ? "it" : "them");
	if (u->skipped > 0)
		printf("skipped %zu bundle%s addressed to other sites\n",
		    u->skipped, u->skipped == 1 ? "" : "s");
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

int
cmd_unpack(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	struct replica_site site;
	struct unpacker u;
	int i, r, rc;

	memset(&u, 0, sizeof(u));
	if ((rc = unpack_options(&u, argc, argv)) >= 0)
		return rc;
	if ((rc = cli_open(c, 0, &u.rp)) != 0)
		return rc;
	u.db = c->db;
	if ((rc = cli_load_secret(c, &u.sec)) != 0)
		goto out;
	if ((r = sync_key_check(u.rp, u.sec, &site, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	hex_encode(u.keyhex, site.pub.key_id, IDENT_KEYID_LEN);
	for (i = optind; i < argc; i++)
		if ((rc = unpack_operand(c, &u, argv[i])) != 0)
			goto out;
	if (u.mail && (rc = unpack_mail(c, &u)) != 0)
		goto out;
	unpack_sort(&u);
	unpack_all(&u);
	rc = u.worst;
	if (u.mf != NULL) {
		r = unpack_mail_finish(&u);
		rc = r > rc ? r : rc;
	}
out:
	if (u.mf != NULL)
		(void)unpack_mail_finish(&u);
	xport_mail_settings_release(&u.ms);
	strv_free(u.paths, u.npaths);
	free(u.fromdir);
	strv_free(u.groups, u.ngroups);
	if (u.isodir != NULL) {
		xport_dir_remove(u.isodir);
		free(u.isodir);
	}
	ident_secret_free(u.sec);
	replica_close(u.rp);
	return rc;
}
