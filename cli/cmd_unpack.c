/* cli/cmd_unpack.c — mule unpack [--dry-run] PATH... */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/bundlecheck.h"
#include "cli/cmd_mail.h"
#include "cli/commands.h"
#include "cli/media.h"
#include "core/hex.h"
#include "core/strb.h"
#include "replica/schema.h"
#include "transports/iso.h"

struct unpacker {
	const char *db;
	struct replica *rp;
	struct ident_secret *sec;
	const struct bundle_info *info;
	struct replica_peer peer;
	struct replica_apply *apply;
	struct manifest m;
	int dry;
	uint64_t rows;
	char *err;
	uint32_t unrecorded_from;	/* versions recorded from local drift */
	uint64_t nschema, steps_seen, steps_run;
	int separate;	/* the sender keeps a schema of its own */
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

static int
sink_manifest(void *arg, const struct manifest *m)
{
	struct unpacker *u = arg;
	int r;

	if (memcmp(m->from, u->info->sender_site, SITE_ID_LEN) != 0 ||
	    memcmp(m->bundle_id, u->info->bundle_id, BUNDLE_ID_LEN) != 0)
		return mule_errf(u->err, MULE_EVERIFY, "the manifest does not "
		    "match the bundle's signed header");
	if ((r = vector_copy(&u->m.base, &m->base)) != 0 ||
	    (r = vector_copy(&u->m.top, &m->top)) != 0 ||
	    (r = vector_copy(&u->m.ack, &m->ack)) != 0 ||
	    (r = vector_copy(&u->m.recv, &m->recv)) != 0)
		return mule_errf(u->err, r, "out of memory");
	u->m.seq = m->seq;
	u->m.nrows = m->nrows;
	u->m.schema_to = m->schema_to;
	memcpy(u->m.fpr_to, m->fpr_to, BUNDLE_FPR_LEN);
	u->nschema = m->nschema;
	u->rows = 0;
	if (m->nschema == 0 && (r = check_schema(u)) != 0)
		return r;
	return replica_apply_new(u->rp, u->peer.name, m->bundle_id, &m->ack,
	    &u->apply, u->err);
}

static int
sink_schema(void *arg, const struct bundle_schema *s)
{
	struct unpacker *u = arg;
	int r, applied;

	if (u->apply == NULL)
		return mule_errf(u->err, MULE_EFORMAT, "schema before manifest");
	if (u->separate) {
		u->steps_seen++;
		return 0;	/* its catalogue is not ours */
	}
	if ((r = replica_schema_apply_step(u->rp, s->version, s->fpr, s->sql,
	    u->unrecorded_from, &applied, u->err)) != 0)
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
	return replica_apply_value(u->apply, hash, type, p, n, u->err);
}

static int
sink_table(void *arg, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols)
{
	struct unpacker *u = arg;
	char e2[MULE_ERRLEN];
	uint8_t fpr[BUNDLE_FPR_LEN];
	uint32_t have = 0;
	int r;

	if (u->apply == NULL)
		return mule_errf(u->err, MULE_EFORMAT, "table before manifest");
	r = replica_apply_table(u->apply, table, ncols, cols, npk, pkcols,
	    u->err);
	/* Rows in the layout of an older schema version than ours. */
	if (r == MULE_ESCHEMA && replica_schema_latest(u->rp, &have, fpr,
	    NULL) == 0 && u->m.schema_to < have) {
		memcpy(e2, u->err, sizeof(e2));
		r = mule_errf(u->err, r, "%s (the sender is at schema version "
		    "%u, this database at %u: once it has applied this site's "
		    "migrations, ask it for a bundle made with --full)", e2,
		    u->m.schema_to, have);
	}
	return r;
}

static int
sink_row(void *arg, const struct rowchange *rc)
{
	struct unpacker *u = arg;

	if (++u->rows % 65536 == 0)
		progress("applying", u->rows, u->m.nrows);
	return replica_apply_row(u->apply, rc, u->err);
}

static int
add_path(char ***v, size_t *n, const char *path)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(char *));

	if (nv == NULL)
		return MULE_ENOMEM;
	*v = nv;
	if ((nv[*n] = strdup(path)) == NULL)
		return MULE_ENOMEM;
	(*n)++;
	return 0;
}

/*
 * Bundles apply in the order their names give (SITE-PEER-NNNN: each
 * sender's in sequence), numbers compared as numbers, wherever they are.
 */
static int
cmp_str(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');

	return strverscmp(bx ? bx + 1 : x, by ? by + 1 : y);
}

/* Bundles in a directory: *.mule files, sorted by name. */
static int
list_dir(const char *dir, char ***v, size_t *n, char *err)
{
	struct dirent *de;
	struct strb sb;
	size_t len, first = *n;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return mule_errf(err, MULE_EIO, "cannot read directory %s", dir);
	strb_init(&sb);
	while ((de = readdir(d)) != NULL && r == 0) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || !((len > 5 &&
		    strcmp(de->d_name + len - 5, ".mule") == 0) ||
		    (len > 10 && strcmp(de->d_name + len - 10,
		    PARTS_SUFFIX) == 0) || mail_is_eml(de->d_name)))
			continue;
		strb_reset(&sb);
		strb_add(&sb, dir);
		if (sb.len > 0 && sb.s[sb.len - 1] != '/')
			strb_addc(&sb, '/');
		strb_add(&sb, de->d_name);
		r = strb_error(&sb) ? MULE_ENOMEM : add_path(v, n, sb.s);
	}
	closedir(d);
	strb_release(&sb);
	if (r == 0)
		qsort(*v + first, *n - first, sizeof(char *), cmp_str);
	return r;
}

/*
 * Verifies and applies one bundle.  Returns 0, MULE_EAPPLIED, or an
 * error (message in err).  In a directory, bundles for other sites are
 * MULE_ENOTRECIPIENT and the caller skips them.
 */
static int
unpack_one(struct unpacker *u, const char *path, const char *label,
    char *err)
{
	struct bundle_reader *br = NULL;
	struct replica_scan_stats scan;
	struct replica_schema_sync ss;
	struct replica_apply_stats st;
	struct bundle_sink sink;
	struct strb sum;
	char cnt[4][32], serr[MULE_ERRLEN] = "";
	int r, yes, began = 0, lost = 0;

	memset(&scan, 0, sizeof(scan));
	memset(&ss, 0, sizeof(ss));
	memset(&st, 0, sizeof(st));
	strb_init(&sum);
	manifest_init(&u->m);
	u->unrecorded_from = 0;
	u->nschema = u->steps_seen = u->steps_run = 0;
	u->apply = NULL;
	u->err = err;
	if ((r = cli_bundle_check(u->rp, &u->sec->pub, path, &br, &u->peer,
	    err)) != 0)
		goto out;
	u->separate = cli_peer_separate(u->rp, u->peer.name);
	u->info = bundle_get_info(br);
	if ((r = replica_log_has(u->rp, u->info->bundle_id, "recv", &yes,
	    err)) != 0)
		goto out;
	if (yes) {
		r = MULE_EAPPLIED;
		goto out;
	}
	if ((r = replica_begin(u->rp, err)) != 0)
		goto out;
	began = 1;
	/* Local schema changes and edits are recorded first, likewise. */
	if ((r = replica_schema_sync(u->rp, &ss, err)) != 0)
		goto out;
	u->unrecorded_from = ss.recorded;
	if ((r = replica_scan(u->rp, 0, &scan, progress_cb, NULL, err)) != 0)
		goto out;
	sink.arg = u;
	sink.manifest = sink_manifest;
	sink.schema = sink_schema;
	sink.value = sink_value;
	sink.table = sink_table;
	sink.row = sink_row;
	/* The sinks' own messages say more than the reader's summary. */
	u->err = serr;
	r = bundle_read(br, u->sec, &sink, err);
	u->err = err;
	if (r != 0) {
		char e2[MULE_ERRLEN];
		memcpy(e2, serr[0] != '\0' ? serr : err, sizeof(e2));
		r = mule_errf(err, r, "%s: %s", path, e2);
		goto out;
	}
	if (u->apply == NULL) {
		r = mule_errf(err, MULE_EFORMAT, "%s: no manifest", path);
		goto out;
	}
	if ((r = replica_apply_finish(u->apply, &u->m.base, &u->m.top, &st,
	    err)) != 0)
		goto out;
	strb_addf(&sum, "%s inserted, %s updated, %s deleted, %s conflict%s",
	    fmt_count(st.inserted, cnt[0]), fmt_count(st.updated, cnt[1]),
	    fmt_count(st.deleted, cnt[2]), fmt_count(st.conflicts, cnt[3]),
	    st.conflicts == 1 ? "" : "s");
	if (st.left > 0)
		strb_addf(&sum, ", %s removed (left the set %s shares)",
		    fmt_count(st.left, cnt[0]), u->peer.name);
	if (st.ignored > 0)
		strb_addf(&sum, ", %s row%s already newer here",
		    fmt_count(st.ignored, cnt[0]), st.ignored == 1 ? "" : "s");
	if (u->steps_run > 0)
		strb_addf(&sum, ", %llu migration%s",
		    (unsigned long long)u->steps_run,
		    u->steps_run == 1 ? "" : "s");
	if ((r = replica_peer_set_site(u->rp, u->peer.name,
	    u->info->sender_site, err)) != 0 ||
	    (u->m.schema_to > 0 && !u->separate &&
	    (r = replica_schema_set_peer_version(u->rp,
	    u->peer.name, u->m.schema_to, err)) != 0) ||
	    (r = replica_log_add(u->rp, u->info->bundle_id, "recv",
	    u->peer.name, (int64_t)u->m.seq, label, strb_str(&sum), NULL,
	    err)) != 0 ||
	    (r = replica_check_lost(u->rp, u->peer.name, u->m.seq, &u->m.recv,
	    &u->m.ack, &lost, err)) != 0)
		goto out;
	if (u->dry) {
		replica_rollback(u->rp);
		began = 0;
		progress_done();
		printf("%s from %s: would apply: %s (nothing changed: "
		    "--dry-run)\n", label, u->peer.name, strb_str(&sum));
		r = 0;
		goto out;
	}
	if ((r = replica_commit(u->rp, err)) != 0)
		goto out;
	began = 0;
	progress_done();
	printf("applied %s from %s: %s\n", label, u->peer.name,
	    strb_str(&sum));
	if (st.gap)
		printf("note: %s had sent changes this site never received "
		    "(a bundle is missing); they were applied, and %s will "
		    "resend what is missing after your next bundle reaches "
		    "it\n", u->peer.name, u->peer.name);
	if (lost)
		printf("note: %s lacks changes this site sent it (a bundle "
		    "was lost on the way); the next 'mule pack --to %s' "
		    "carries them again\n", u->peer.name, u->peer.name);
	if (st.conflicts > 0)
		printf("note: %llu conflict%s: see 'mule conflicts'\n",
		    (unsigned long long)st.conflicts,
		    st.conflicts == 1 ? "" : "s");
	r = 0;
out:
	progress_done();
	if (began)
		replica_rollback(u->rp);
	replica_apply_free(u->apply);
	u->apply = NULL;
	manifest_release(&u->m);
	replica_scan_stats_release(&scan);
	replica_schema_sync_release(&ss);
	strb_release(&sum);
	bundle_close(br);
	return r;
}

/* What happened to the bundles of one run. */
struct tally {
	size_t applied, already, skipped;
	int worst;
};

/* Reports one bundle's result and counts it. */
static void
tally(struct unpacker *u, const char *path, int indir, int r,
    const char *err, struct tally *t)
{
	int rc;

	(void)u;
	if (r == 0) {
		t->applied++;
	} else if (r == MULE_EAPPLIED) {
		if (indir)
			t->already++;
		else
			printf("%s: already applied; nothing changed\n", path);
	} else if (r == MULE_ENOTRECIPIENT && indir) {
		t->skipped++;
	} else {
		rc = cli_fail(r, err);
		if (rc > t->worst)
			t->worst = rc;
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

/* Removes a directory and the files in it. */
static void
remove_tree(const char *dir)
{
	char **v = NULL;
	size_t i, n = 0;

	if (list_dir(dir, &v, &n, NULL) == 0)
		for (i = 0; i < n; i++)
			unlink(v[i]);
	strv_free(v, n);
	rmdir(dir);
}

/* Extracts the bundles and parts of an ISO image into a scratch dir. */
static int
iso_paths(const char *db, const char *iso, char **isodir, char ***paths,
    size_t *n, char *err)
{
	struct strb sb;
	char **got = NULL;
	size_t i, ngot = 0;
	int r;

	if (*isodir == NULL) {
		strb_init(&sb);
		strb_addf(&sb, "%s.mule-iso-%ld", db, (long)getpid());
		if ((*isodir = strb_detach(&sb)) == NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		if (mkdir(*isodir, 0700) != 0)
			return mule_errf(err, MULE_EIO, "cannot make %s: %s",
			    *isodir, strerror(errno));
	}
	if ((r = xport_iso_extract(iso, *isodir, ".mule", PARTS_SUFFIX, &got,
	    &ngot, err)) != 0)
		return r;
	for (i = 0; i < ngot && r == 0; i++)
		r = add_path(paths, n, got[i]);
	xport_iso_paths_free(got, ngot);
	return r == 0 ? 0 : mule_errf(err, r, "out of memory");
}

/* A spooled bundle: rebuild and apply it once enough parts are here. */
static void
unpack_group(struct unpacker *u, const char *idhex, struct tally *t)
{
	struct parts_status st;
	char err[MULE_ERRLEN] = "", **paths = NULL, *dir = NULL;
	char *have = NULL, *missing = NULL;
	struct strb joined, label;
	size_t n = 0;
	int r;

	strb_init(&joined);
	strb_init(&label);
	if ((r = spool_parts(u->db, idhex, &paths, &n, err)) != 0 ||
	    (r = parts_status_compute((const char *const *)paths, n, 1, &st,
	    err)) != 0) {
		tally(u, idhex, 0, r, err, t);
		goto out;
	}
	if (st.nneeded > 0) {
		have = parts_list(&st, PART_GOOD);
		missing = parts_list(&st, PART_MISSING);
		printf("bundle %.12s…: %u of the %u parts needed are here "
		    "(have: %s; missing: %s); it waits in the spool for %u "
		    "more (any of the missing)\n", idhex, st.ngood,
		    (unsigned)st.info.ndata, have ? have : "-",
		    missing ? missing : "-", st.nneeded);
		goto out;
	}
	dir = spool_dir(u->db, idhex);
	strb_addf(&joined, "%s/.bundle.mule", dir ? dir : ".");
	if ((r = parts_join((const char *const *)paths, n, strb_str(&joined),
	    &st, err)) != 0) {
		tally(u, idhex, 0, r, err, t);
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
	tally(u, idhex, 1, r, err, t);
	/* Applied, applied before, or for another site: the parts go. */
	if (r == 0 || r == MULE_EAPPLIED || r == MULE_ENOTRECIPIENT)
		spool_remove(u->db, idhex);
out:
	parts_paths_free(paths, n);
	strb_release(&joined);
	strb_release(&label);
	free(dir);
	free(have);
	free(missing);
}

int
cmd_unpack(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "mail", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("unpack");
	char err[MULE_ERRLEN] = "";
	struct replica_site site;
	struct unpacker u;
	struct stat sb;
	char **paths = NULL, **groups = NULL, *isodir = NULL, idhex[33];
	struct tally t;
	struct mail_fetch *mf = NULL;
	char keyhex[2 * IDENT_KEYID_LEN + 1];
	size_t i, npaths = 0, ngroups = 0;
	int ch, r, rc = EXIT_OK, worst = EXIT_OK, mail = 0;
	int *fromdir = NULL;

	memset(&u, 0, sizeof(u));
	memset(&t, 0, sizeof(t));
	u.db = c->db;
	while ((ch = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			u.dry = 1;
			break;
		case 'm':
			mail = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if (optind == argc && !mail)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 0, &u.rp)) != 0)
		return rc;
	u.db = c->db;
	if ((rc = cli_load_secret(c, &u.sec)) != 0)
		goto out;
	if ((r = replica_site(u.rp, &site, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (memcmp(&u.sec->pub, &site.pub, sizeof(site.pub)) != 0) {
		cli_error("the key file does not belong to this database");
		rc = EXIT_FAIL;
		goto out;
	}
	hex_encode(keyhex, site.pub.key_id, IDENT_KEYID_LEN);
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		size_t before = npaths, nnew;
		int dirlike;
		if (stat(argv[i], &sb) != 0) {
			cli_error("%s: no such file or directory", argv[i]);
			rc = EXIT_FAIL;
			goto out;
		}
		dirlike = S_ISDIR(sb.st_mode);
		if (dirlike)
			r = list_dir(argv[i], &paths, &npaths, err);
		else if (media_is_iso(argv[i]))
			r = iso_paths(u.db, argv[i], &isodir, &paths, &npaths,
			    err), dirlike = 1;
		else
			r = add_path(&paths, &npaths, argv[i]);
		if (r != 0) {
			rc = cli_fail(r, err);
			goto out;
		}
		/* .eml files: their mule attachments instead. */
		nnew = npaths - before;
		rc = mail_eml_expand(c, u.rp, keyhex, &mf, paths + before,
		    &nnew, &worst);
		npaths = before + nnew;
		if (rc != 0)
			goto out;
		fromdir = realloc(fromdir, (npaths + 1) * sizeof(int));
		if (fromdir == NULL) {
			rc = cli_fail(MULE_ENOMEM, NULL);
			goto out;
		}
		while (before < npaths)
			fromdir[before++] = dirlike;
	}
	/* Mail: the mule attachments of the inbox. */
	if (mail && (rc = mail_fetch_run(c, u.rp, keyhex, u.dry, &mf, &paths,
	    &npaths, &fromdir, &worst)) != 0)
		goto out;
	/* All bundles in dependency order, across directories. */
	for (i = 1; i < npaths; i++) {
		size_t j = i;
		while (j > 0 && cmp_str(&paths[j - 1], &paths[j]) > 0) {
			char *tp = paths[j];
			int tf = fromdir[j];
			paths[j] = paths[j - 1];
			fromdir[j] = fromdir[j - 1];
			paths[j - 1] = tp;
			fromdir[j - 1] = tf;
			j--;
		}
	}
	for (i = 0; i < npaths; i++) {
		err[0] = '\0';
		if (media_is_part(paths[i])) {
			/* Parts wait in the spool until they make a bundle. */
			if ((r = spool_add(u.db, paths[i], idhex, err)) != 0 ||
			    (r = add_group(&groups, &ngroups, idhex)) != 0) {
				rc = cli_fail(r, err);
				worst = rc > worst ? rc : worst;
			}
			mail_fetch_result(mf, paths[i], u.dry ? 1 : r);
			continue;
		}
		r = unpack_one(&u, paths[i], mail_fetch_label(mf, paths[i]) ?
		    mail_fetch_label(mf, paths[i]) : paths[i], err);
		mail_fetch_result(mf, paths[i], u.dry ? 1 : r);
		tally(&u, paths[i], fromdir[i], r, err, &t);
	}
	for (i = 0; i < ngroups; i++)
		unpack_group(&u, groups[i], &t);
	if (npaths == 0)
		printf("no bundles found\n");
	if (t.already > 0)
		printf("%zu bundle%s applied before; nothing changed by "
		    "%s\n", t.already, t.already == 1 ? " was" : "s were",
		    t.already == 1 ? "it" : "them");
	if (t.skipped > 0)
		printf("skipped %zu bundle%s addressed to other sites\n",
		    t.skipped, t.skipped == 1 ? "" : "s");
	rc = t.worst > worst ? t.worst : worst;
	if (mf != NULL) {
		r = mail_fetch_finish(mf);
		mf = NULL;
		rc = r > rc ? r : rc;
	}
out:
	if (mf != NULL)
		(void)mail_fetch_finish(mf);
	strv_free(paths, npaths);
	free(fromdir);
	parts_paths_free(groups, ngroups);
	if (isodir != NULL) {
		remove_tree(isodir);
		free(isodir);
	}
	ident_secret_free(u.sec);
	replica_close(u.rp);
	return rc;
}
