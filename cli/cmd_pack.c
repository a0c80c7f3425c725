/* cli/cmd_pack.c — mule pack --to PEER[,PEER] [-o FILE|DIR] [--full]
 * [--no-encrypt] [--volume-size SIZE [--parity N]] [--iso FILE]
 * [--mail | --eml DIR]: options, sync_pack, output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/strb.h"
#include "sync/sync.h"
#include "transports/dir.h"
#include "transports/media.h"

/* What the options ask for. */
struct pack_args {
	char *tolist;
	const char *out, *iso, *eml;
	int full, encrypt, mail;
	uint64_t volume;
	unsigned long parity;
	/* For delivery: */
	struct replica *rp;
	char *scratch;		/* heap: DB.mule-mail-PID */
	size_t nfiles;		/* parts or messages written */
	char *mailto;		/* heap: where the messages went */
};

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Numbers: --volume-size and --parity.  -1 or a usage status. */
static int
pack_number(int ch, const char *arg, struct pack_args *a)
{
	char *end;

	if (ch == 'v' && xport_size_parse(arg, &a->volume) != 0) {
		cli_error("--volume-size: '%s' is not a size (examples: 1440k, "
		    "1.44M, 650M, 4G)", arg);
		return EXIT_USAGE;
	}
	if (ch == 'p') {
		a->parity = strtoul(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || a->parity > 200) {
			cli_error("--parity: '%s' is not a number of parity "
			    "parts (0 to 200)", arg);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Options that exclude each other.  -1 or a usage status. */
static int
pack_check(const struct pack_args *a)
{
	const char *msg = NULL;

	if (a->mail && a->eml != NULL)
		msg = "--mail sends the messages, --eml DIR writes them: "
		    "choose one";
	else if ((a->mail || a->eml != NULL) && (a->volume > 0 ||
	    a->iso != NULL || a->out != NULL))
		msg = "--mail and --eml split bundles by mail.max-size "
		    "themselves: no -o, --volume-size or --iso with them";
	else if (a->parity > 0 && a->volume == 0)
		msg = "--parity needs --volume-size (parity parts repair lost "
		    "parts)";
	if (msg != NULL)
		cli_error("%s", msg);
	else if (a->eml != NULL && !is_dir(a->eml))
		cli_error("--eml: %s is not a directory", a->eml);
	else if (a->volume > 0 && a->out != NULL && !is_dir(a->out))
		cli_error("with --volume-size, -o names a directory for the "
		    "parts: %s is not one", a->out);
	else
		return -1;
	return EXIT_USAGE;
}

static int
pack_options(const struct cli_cmd *cmd, int argc, char **argv,
    struct pack_args *a)
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
	int ch, rc;

	a->encrypt = 1;
	while ((ch = getopt_long(argc, argv, "t:o:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': a->tolist = optarg; break;
		case 'o': a->out = optarg; break;
		case 'f': a->full = 1; break;
		case 'N': a->encrypt = 0; break;
		case 'i': a->iso = optarg; break;
		case 'm': a->mail = 1; break;
		case 'e': a->eml = optarg; break;
		case 'v':
		case 'p':
			if ((rc = pack_number(ch, optarg, a)) >= 0)
				return rc;
			break;
		case 'h': return cli_help(cmd);
		default: return cli_usage(cmd);
		}
	}
	if (optind != argc || a->tolist == NULL)
		return cli_usage(cmd);
	return pack_check(a);
}

/* Splits "a,b" into distinct names.  -1 or a usage status. */
static int
pack_names(char *list, const char **names, size_t *n)
{
	char *tok, *save = NULL;
	size_t i;

	*n = 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < *n && strcmp(names[i], tok) != 0; i++)
			;
		if (i < *n)
			continue;
		if (*n >= SYNC_MAX_PEERS) {
			cli_error("too many recipients (at most %d)",
			    SYNC_MAX_PEERS);
			return EXIT_USAGE;
		}
		names[(*n)++] = tok;
	}
	if (*n == 0) {
		cli_error("--to needs at least one peer name");
		return EXIT_USAGE;
	}
	return -1;
}

/* Parts, an image or mail from the whole bundle at `tmp` (sync_pack's
 * deliver callback); the base name is the bundle's without .mule. */
static int
pack_deliver(void *arg, const char *tmp, const struct sync_pack_result *res,
    char *err)
{
	struct pack_args *a = arg;
	const char *slash = strrchr(res->path, '/');
	char *base;
	size_t n;
	int r;

	if ((base = strdup(slash != NULL ? slash + 1 : res->path)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	if ((n = strlen(base)) > 5 && strcmp(base + n - 5, ".mule") == 0)
		base[n - 5] = '\0';
	if (a->mail || a->eml != NULL)
		r = sync_mail_pack(a->rp, res, tmp, a->scratch, base, a->eml,
		    &a->nfiles, &a->mailto, err);
	else
		r = xport_media_pack(tmp, a->out != NULL ? a->out : ".", base,
		    a->volume, (uint32_t)a->parity, a->iso, &a->nfiles, err);
	free(base);
	return r;
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

static void
pack_print(const struct pack_args *a, const struct sync_pack_result *res)
{
	const char *plain = a->encrypt ? "" : ", not encrypted";
	char vol[32];
	struct strb size;
	size_t i, nf = a->nfiles;

	for (i = 0; i < res->schema.ntracked; i++)
		printf("new table %s is now tracked (this replica tracks "
		    "--all)\n", res->schema.tracked[i]);
	if (res->schema.recorded > 0)
		printf("recorded schema changes as version %u\n",
		    res->schema.recorded);
	strb_init(&size);
	strb_add_size(&size, res->size);
	if (a->mail || a->eml != NULL)
		printf("packed %s → %s %zu message%s to %s (%s%s)\n",
		    res->summary, a->mail ? "mailed" : "wrote", nf,
		    nf == 1 ? "" : "s", a->mailto, strb_str(&size), plain);
	else if (a->iso != NULL)
		printf("packed %s → %s (%s%s, %zu file%s)\n", res->summary,
		    a->iso, strb_str(&size), plain, nf, nf == 1 ? "" : "s");
	else if (a->volume > 0)
		printf("packed %s → %zu parts in %s (%zu data + %lu parity, "
		    "%s in all): needs %zu media of %s\n", res->summary, nf,
		    a->out != NULL ? a->out : ".", nf - a->parity, a->parity,
		    strb_str(&size), nf, volume_text(a->volume, vol));
	else
		printf("packed %s → %s, %s%s\n", res->summary, res->path,
		    strb_str(&size), a->encrypt ? "" : " (not encrypted)");
	strb_release(&size);
}

int
cmd_pack(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "", *tmp = NULL;
	const char *names[SYNC_MAX_PEERS];
	struct sync_pack_result res;
	struct sync_pack_opts o;
	struct ident_secret *sec = NULL;
	struct pack_args a;
	int r, rc;

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	if ((rc = pack_options(cli_find("pack"), argc, argv, &a)) >= 0)
		return rc;
	if ((rc = cli_open(c, 0, &a.rp)) != 0)
		return rc;
	if ((rc = cli_load_secret(c, &sec)) != 0 ||
	    (rc = pack_names(a.tolist, names, &o.npeers)) >= 0)
		goto out;
	/* Parts, images and mail are made from the whole bundle. */
	if ((a.volume > 0 || a.iso != NULL || a.mail || a.eml != NULL) &&
	    ((tmp = xport_scratch_name(c->db, "tmp")) == NULL ||
	    (a.scratch = xport_scratch_name(c->db, "mail")) == NULL)) {
		rc = cli_fail(MULE_ENOMEM, NULL);
		goto out;
	}
	o.peers = names;
	o.me = sec;
	o.out = a.out;
	o.tmp = tmp;
	o.deliver = pack_deliver;
	o.darg = &a;
	o.full = a.full;
	o.encrypt = a.encrypt;
	o.progress = cli_progress_cb;
	r = sync_pack(a.rp, &o, &res, err);
	cli_progress_done();
	rc = r != 0 ? cli_fail(r, err) : EXIT_OK;
	if (r == 0)
		pack_print(&a, &res);
out:
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(a.mailto);
	free(a.scratch);
	sync_pack_result_release(&res);
	ident_secret_free(sec);
	replica_close(a.rp);
	return rc;
}
