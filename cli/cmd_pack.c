/* cli/cmd_pack.c — mule pack --to PEER[,PEER] [-o FILE|DIR] [--full]
 * [--no-encrypt] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bundle/bundle.h"
#include "cli/cli.h"
#include "cli/cmd_mail.h"
#include "cli/commands.h"
#include "cli/media.h"
#include "core/hex.h"
#include "core/strb.h"
#include "replica/schema.h"

#define PACK_MAX_PEERS 64

struct packsink {
	struct bundle_writer *w;
	char *err;
	uint64_t rows, tables;
};

static int
sink_table(void *arg, const struct replica_table *t)
{
	struct packsink *ps = arg;

	ps->tables++;
	return bundle_writer_begin_table(ps->w, t->name, t->ncols,
	    (const char *const *)t->cols, t->npk, t->pkcols, ps->err);
}

static int
sink_row(void *arg, const struct rowchange *rc)
{
	struct packsink *ps = arg;

	ps->rows++;
	return bundle_writer_add_row(ps->w, rc, ps->err);
}

/* Keys of rows that left the peer's sync set (not counted as changes). */
static int
sink_left_table(void *arg, const struct replica_table *t)
{
	struct packsink *ps = arg;

	return bundle_writer_begin_table(ps->w, t->name, t->ncols,
	    (const char *const *)t->cols, t->npk, t->pkcols, ps->err);
}

static int
sink_left_row(void *arg, const struct rowchange *rc)
{
	struct packsink *ps = arg;

	return bundle_writer_add_row(ps->w, rc, ps->err);
}

/*
 * What the peers are known to have: per peer the larger of what we sent
 * and what it acknowledged; across several peers the smallest.
 */
static int
pack_base(struct replica *rp, struct replica_peer *peers, size_t n,
    struct vector *base, char *err)
{
	struct vector sent, acked, all;
	size_t i, k;
	uint64_t v, m;
	int r = 0;

	vector_init(&sent);
	vector_init(&acked);
	vector_init(&all);
	for (i = 0; i < n && r == 0; i++) {
		if ((r = replica_peer_vector(rp, peers[i].name, "sent", &sent,
		    err)) != 0 ||
		    (r = replica_peer_vector(rp, peers[i].name, "acked", &acked,
		    err)) != 0)
			break;
		for (k = 0; k < acked.n && r == 0; k++)
			if (vector_get(&sent, acked.e[k].origin) <
			    acked.e[k].counter)
				r = vector_set(&sent, acked.e[k].origin,
				    acked.e[k].counter);
		if (i == 0) {
			r = r ? r : vector_copy(&all, &sent);
			continue;
		}
		/* min across peers: an origin missing at one peer is 0. */
		for (k = 0; k < all.n && r == 0; k++) {
			v = vector_get(&sent, all.e[k].origin);
			m = all.e[k].counter;
			all.e[k].counter = v < m ? v : m;
		}
	}
	if (r == 0)
		r = vector_copy(base, &all);
	vector_release(&sent);
	vector_release(&acked);
	vector_release(&all);
	return r;
}

/*
 * Schema steps for the peers: from the lowest version any of them (but
 * those with a schema of their own) is known to have to ours, into the
 * writer and the manifest.
 */
static int
pack_schema(struct replica *rp, struct replica_peer *peers, size_t n,
    struct bundle_writer *w, struct manifest *m, size_t *nsteps, char *err)
{
	struct replica_schema_step *steps = NULL;
	struct replica_schema_version v;
	struct bundle_schema bs;
	uint32_t from = UINT32_MAX, pv;
	size_t i, cnt = 0;
	int r = 0;

	memset(&v, 0, sizeof(v));
	for (i = 0; i < n && r == 0; i++) {
		if (cli_peer_separate(rp, peers[i].name))
			continue;	/* a schema of its own: no steps */
		r = replica_schema_peer_version(rp, peers[i].name, &pv, err);
		if (r == 0 && pv < from)
			from = pv;
	}
	if (r != 0 || (r = replica_schema_latest(rp, &m->schema_to,
	    m->fpr_to, err)) != 0)
		goto out;
	if (from > m->schema_to)
		from = m->schema_to;
	m->schema_from = from;
	if (from > 0) {
		if ((r = replica_schema_get(rp, from, &v, err)) != 0)
			goto out;
		memcpy(m->fpr_from, v.fpr, BUNDLE_FPR_LEN);
	}
	if ((r = replica_schema_steps(rp, from, &steps, &cnt, err)) != 0)
		goto out;
	for (i = 0; i < cnt && r == 0; i++) {
		bs.version = steps[i].version;
		memcpy(bs.fpr, steps[i].fpr, BUNDLE_FPR_LEN);
		bs.sql = steps[i].sql;
		bs.len = strlen(steps[i].sql);
		r = bundle_writer_add_schema(w, &bs, err);
	}
	*nsteps = cnt;
out:
	replica_schema_version_release(&v);
	replica_schema_steps_free(steps, cnt);
	return r;
}

/* Splits "a,b" into peers; prints and returns an exit status on error. */
static int
pack_peers(struct replica *rp, char *list, struct replica_peer *peers,
    size_t *n)
{
	char err[MULE_ERRLEN] = "", *tok, *save = NULL;
	size_t i;
	int r;

	*n = 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (*n >= PACK_MAX_PEERS) {
			cli_error("too many recipients (at most %d)",
			    PACK_MAX_PEERS);
			return EXIT_USAGE;
		}
		if ((r = replica_peer_get(rp, tok, &peers[*n], err)) != 0)
			return cli_fail(r, err);
		for (i = 0; i < *n; i++)
			if (strcmp(peers[i].name, tok) == 0)
				break;
		if (i == *n)
			(*n)++;
	}
	if (*n == 0) {
		cli_error("--to needs at least one peer name");
		return EXIT_USAGE;
	}
	return 0;
}

/* The output path: FILE, or DIR/FROM-TO-NNNN.mule. */
static char *
pack_path(const char *out, const char *from, const char *to, int64_t seq)
{
	struct strb sb;
	struct stat st;
	size_t n;

	strb_init(&sb);
	if (out != NULL && !(stat(out, &st) == 0 && S_ISDIR(st.st_mode)) &&
	    (n = strlen(out)) > 0 && out[n - 1] != '/') {
		strb_add(&sb, out);
		return strb_detach(&sb);
	}
	if (out != NULL) {
		strb_add(&sb, out);
		if (out[strlen(out) - 1] != '/')
			strb_addc(&sb, '/');
	}
	strb_addf(&sb, "%s-%s-%04lld.mule", from, to, (long long)seq);
	return strb_detach(&sb);
}

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "1.44M" style text for a volume size, into buf[32]. */
static const char *
volume_text(uint64_t v, char buf[32])
{
	if (v % ((uint64_t)1024 * 1000 * 1000) == 0)
		snprintf(buf, 32, "%lluG", (unsigned long long)(v /
		    ((uint64_t)1024 * 1000 * 1000)));
	else if (v % (1024 * 1000) == 0)
		snprintf(buf, 32, "%lluM", (unsigned long long)(v /
		    (1024 * 1000)));
	else if (v % 1024 == 0)
		snprintf(buf, 32, "%lluk", (unsigned long long)(v / 1024));
	else
		snprintf(buf, 32, "%llu bytes", (unsigned long long)v);
	return buf;
}

/*
 * For parts and images: a temporary name beside the database for the
 * whole bundle, and the base name (the bundle's file name without .mule).
 */
static int
media_names(const char *db, const char *path, char **tmp, char **base)
{
	struct strb sb;
	const char *slash = strrchr(path, '/');
	size_t n;

	strb_init(&sb);
	strb_addf(&sb, "%s.mule-tmp-%ld", db, (long)getpid());
	*tmp = strb_detach(&sb);
	strb_init(&sb);
	strb_add(&sb, slash != NULL ? slash + 1 : path);
	n = sb.len;
	if (n > 5 && strcmp(sb.s + n - 5, ".mule") == 0)
		sb.s[n - 5] = '\0';
	*base = strb_detach(&sb);
	return *tmp != NULL && *base != NULL ? 0 : MULE_ENOMEM;
}

int
cmd_pack(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "full", no_argument, NULL, 'f' },
		{ "no-encrypt", no_argument, NULL, 'N' },
		{ "volume-size", required_argument, NULL, 'v' },
		{ "parity", required_argument, NULL, 'p' },
		{ "iso", required_argument, NULL, 'i' },
		{ "mail", no_argument, NULL, 'm' },
		{ "eml", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("pack");
	char err[MULE_ERRLEN] = "", cnt[32];
	struct replica_peer peers[PACK_MAX_PEERS];
	struct ident_pub pubs[PACK_MAX_PEERS];
	struct replica_out_sink sink, lsink;
	struct replica_set *set = NULL;
	const char *names[PACK_MAX_PEERS];
	struct replica_scan_stats scan;
	struct replica_schema_sync ss;
	struct replica_site site;
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	struct packsink ps;
	struct manifest m;
	struct strb to, sum;
	const char *out = NULL;
	char *tolist = NULL, *path = NULL, *tmp = NULL, *base = NULL, *end;
	const char *iso = NULL, *eml = NULL;
	char idhex[2 * BUNDLE_ID_LEN + 1], *mailto = NULL;
	int mail = 0;
	uint64_t size = 0, volume = 0, left = 0;
	unsigned long parity = 0;
	size_t nfiles = 1, nsteps = 0;
	int64_t seq = 0;
	size_t i, npeers = 0;
	int ch, r = 0, rc = EXIT_FAIL, full = 0, encrypt = 1, began = 0;

	memset(&scan, 0, sizeof(scan));
	memset(&ss, 0, sizeof(ss));
	memset(&ps, 0, sizeof(ps));
	manifest_init(&m);
	strb_init(&to);
	strb_init(&sum);
	while ((ch = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tolist = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			full = 1;
			break;
		case 'N':
			encrypt = 0;
			break;
		case 'v':
			if (cli_parse_size(optarg, &volume) != 0) {
				cli_error("--volume-size: '%s' is not a size "
				    "(examples: 1440k, 1.44M, 650M, 4G)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			parity = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || parity > 200) {
				cli_error("--parity: '%s' is not a number of "
				    "parity parts (0 to 200)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			iso = optarg;
			break;
		case 'm':
			mail = 1;
			break;
		case 'e':
			eml = optarg;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if (optind != argc || tolist == NULL)
		return cli_usage(cmd);
	if (mail && eml != NULL) {
		cli_error("--mail sends the messages, --eml DIR writes them: "
		    "choose one");
		return EXIT_USAGE;
	}
	if ((mail || eml != NULL) && (volume > 0 || iso != NULL ||
	    out != NULL)) {
		cli_error("--mail and --eml split bundles by mail.max-size "
		    "themselves: no -o, --volume-size or --iso with them");
		return EXIT_USAGE;
	}
	if (eml != NULL && !is_dir(eml)) {
		cli_error("--eml: %s is not a directory", eml);
		return EXIT_USAGE;
	}
	if (parity > 0 && volume == 0) {
		cli_error("--parity needs --volume-size (parity parts repair "
		    "lost parts)");
		return EXIT_USAGE;
	}
	if (volume > 0 && out != NULL && !is_dir(out)) {
		cli_error("with --volume-size, -o names a directory for the "
		    "parts: %s is not one", out);
		return EXIT_USAGE;
	}
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	rc = EXIT_FAIL;
	if ((r = replica_site(rp, &site, err)) != 0)
		goto fail;
	if ((rc = cli_load_secret(c, &sec)) != 0)
		goto out;
	rc = EXIT_FAIL;
	if (memcmp(&sec->pub, &site.pub, sizeof(site.pub)) != 0) {
		cli_error("the key file does not belong to this database");
		goto out;
	}
	if ((rc = pack_peers(rp, tolist, peers, &npeers)) != 0)
		goto out;
	rc = EXIT_FAIL;
	for (i = 0; i < npeers; i++) {
		pubs[i] = peers[i].pub;
		names[i] = peers[i].name;
		strb_add(&to, i ? "+" : "");
		strb_add(&to, peers[i].name);
	}
	if ((r = replica_begin(rp, err)) != 0)
		goto fail;
	began = 1;
	/* Schema changes made by any program become a version first. */
	if ((r = replica_schema_sync(rp, &ss, err)) != 0)
		goto fail;
	/* Record local edits first: they go out in this bundle. */
	if ((r = replica_scan(rp, 0, &scan, progress_cb, NULL, err)) != 0)
		goto fail;
	if (!full && (r = pack_base(rp, peers, npeers, &m.base, err)) != 0)
		goto fail;
	if ((r = replica_set_new(rp, names, npeers, full, &set, err)) != 0)
		goto fail;
	if ((r = replica_known(rp, &m.top, err)) != 0 ||
	    (r = vector_copy(&m.ack, &m.top)) != 0 ||
	    (r = replica_recv_seqs(rp, &m.recv, err)) != 0 ||
	    (r = replica_next_seq(rp, &seq, err)) != 0)
		goto fail;
	if ((path = pack_path(out, site.name, strb_str(&to), seq)) == NULL) {
		r = MULE_ENOMEM;
		goto fail;
	}
	if ((volume > 0 || iso != NULL || mail || eml != NULL) &&
	    (r = media_names(c->db, path, &tmp,
	    &base)) != 0)
		goto fail;
	if ((r = bundle_writer_new(tmp != NULL ? tmp : path, NULL, sec, pubs,
	    npeers, encrypt, &ps.w, err)) != 0)
		goto fail;
	if ((r = pack_schema(rp, peers, npeers, ps.w, &m, &nsteps, err)) != 0)
		goto fail;
	ps.err = err;
	sink.arg = &ps;
	sink.table = sink_table;
	sink.row = sink_row;
	lsink.arg = &ps;
	lsink.table = sink_left_table;
	lsink.row = sink_left_row;
	if ((r = replica_changes_set(rp, &m.base, set, &sink, progress_cb,
	    NULL, err)) != 0 ||
	    (r = replica_set_finish(set, &lsink, &left, err)) != 0)
		goto fail;
	randombytes_buf(m.bundle_id, sizeof(m.bundle_id));
	memcpy(m.from, site.id, SITE_ID_LEN);
	if ((m.from_name = strdup(site.name)) == NULL ||
	    (m.to = calloc(npeers, SITE_ID_LEN)) == NULL) {
		r = MULE_ENOMEM;
		goto fail;
	}
	/* Site ids we know (from their bundles); the header's key ids rule. */
	for (i = 0; i < npeers; i++)
		if (peers[i].has_site)
			memcpy(m.to[m.nto++], peers[i].site_id, SITE_ID_LEN);
	m.seq = (uint64_t)seq;
	m.full = full;
	if ((r = bundle_writer_finish(ps.w, &m, &size, err)) != 0)
		goto fail;
	/* Parts or an image: the whole bundle was a temporary file. */
	if (tmp != NULL && (mail || eml != NULL)) {
		hex_encode(idhex, m.bundle_id, BUNDLE_ID_LEN);
		if ((r = mail_pack(rp, c->db, tmp, base, idhex, site.name,
		    peers, npeers, eml, &nfiles, &mailto, err)) != 0)
			goto fail;
	} else if (tmp != NULL && (r = media_pack(tmp, out != NULL ? out :
	    ".", base, volume, (uint32_t)parity, iso, &nfiles, err)) != 0)
		goto fail;
	/* The file is durable: now "sent" may advance. */
	for (i = 0; i < npeers; i++)
		if ((r = replica_set_peer_vector(rp, peers[i].name, "sent",
		    &m.top, err)) != 0 ||
		    (r = replica_peer_set(rp, peers[i].name, "_lost", NULL,
		    err)) != 0)
			goto fail;
	strb_addf(&sum, "%s change%s in %llu table%s",
	    fmt_count(ps.rows, cnt), ps.rows == 1 ? "" : "s",
	    (unsigned long long)ps.tables,
	    ps.tables == 1 ? "" : "s");
	if (left > 0)
		strb_addf(&sum, ", %s row%s leaving the set",
		    fmt_count(left, cnt), left == 1 ? "" : "s");
	if (nsteps > 0)
		strb_addf(&sum, ", %zu migration%s", nsteps,
		    nsteps == 1 ? "" : "s");
	if ((r = replica_log_add(rp, m.bundle_id, "sent", strb_str(&to), seq,
	    path, strb_str(&sum), &m.top, err)) != 0 ||
	    (r = replica_journal_prune(rp, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		goto fail;
	began = 0;
	progress_done();
	for (i = 0; i < ss.ntracked; i++)
		printf("new table %s is now tracked (this replica tracks "
		    "--all)\n", ss.tracked[i]);
	if (ss.recorded > 0)
		printf("recorded schema changes as version %u\n", ss.recorded);
	strb_reset(&to);
	strb_add_size(&to, size);
	if (mail || eml != NULL)
		printf("packed %s → %s %zu message%s to %s (%s%s)\n",
		    strb_str(&sum), mail ? "mailed" : "wrote", nfiles,
		    nfiles == 1 ? "" : "s", mailto, strb_str(&to),
		    encrypt ? "" : ", not encrypted");
	else if (iso != NULL)
		printf("packed %s → %s (%s%s, %zu file%s)\n", strb_str(&sum),
		    iso, strb_str(&to), encrypt ? "" : ", not encrypted",
		    nfiles, nfiles == 1 ? "" : "s");
	else if (volume > 0)
		printf("packed %s → %zu parts in %s (%zu data + %lu parity, "
		    "%s in all): needs %zu media of %s\n", strb_str(&sum),
		    nfiles, out != NULL ? out : ".", nfiles - parity, parity,
		    strb_str(&to), nfiles, volume_text(volume, cnt));
	else
		printf("packed %s → %s, %s%s\n", strb_str(&sum), path,
		    strb_str(&to), encrypt ? "" : " (not encrypted)");
	rc = EXIT_OK;
	goto out;
fail:
	progress_done();
	if (r == MULE_ENOMEM && err[0] == '\0')
		snprintf(err, sizeof(err), "out of memory");
	rc = cli_fail(r, err);
out:
	if (began)
		replica_rollback(rp);
	bundle_writer_free(ps.w);
	replica_set_free(set);
	manifest_release(&m);
	replica_scan_stats_release(&scan);
	replica_schema_sync_release(&ss);
	strb_release(&to);
	strb_release(&sum);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(mailto);
	free(base);
	free(path);
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
