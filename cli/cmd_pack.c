/* cli/cmd_pack.c — mule pack --to PEER[,PEER] [-o FILE|DIR] [--full]
 * [--resend] [--force] [--no-encrypt] [--json] [-q] [--volume-size SIZE [--parity N]] [--iso FILE]
 * [--mail | --eml DIR]: options (cli/cmd_pack_opts.c), sync_pack_deliver,
 * output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_pack.h"
#include "cli/commands.h"
#include "core/strb.h"
#include "sync/deliver.h"

/* The length of a bundle's file name without ".mule". */
static int
base_len(const char *name)
{
	size_t n = strlen(name);

	return (int)(n > 5 && strcmp(name + n - 5, ".mule") == 0 ? n - 5 : n);
}

static void
pack_print(const struct pack_args *a, const struct sync_pack_result *res,
    const struct sync_delivered *d)
{
	const char *plain = a->encrypt ? "" : ", not encrypted";
	const char *base = strrchr(res->path, '/') != NULL ?
	    strrchr(res->path, '/') + 1 : res->path;
	const char *to = cli_sym("\xe2\x86\x92", "->");
	char vol[32];
	struct strb size;
	size_t i, nf = d->nfiles;

	for (i = 0; i < res->schema.ntracked; i++)
		printf("new table %s is now tracked (this replica tracks "
		    "--all)\n", res->schema.tracked[i]);
	if (res->schema.recorded > 0)
		printf("recorded schema changes as version %u\n",
		    res->schema.recorded);
	strb_init(&size);
	/* Parts: what they take in all, parity and headers too. */
	strb_add_size(&size, a->volume > 0 && a->iso == NULL ? d->bytes :
	    res->size);
	printf("packed ");
	cli_puts(stdout, res->summary, 1);
	if (a->mail || a->eml != NULL)
		printf(" %s %s %zu message%s to %s (%s%s)\n", to,
		    a->mail ? "mailed" : "wrote", nf, nf == 1 ? "" : "s",
		    d->where, strb_str(&size), plain);
	else if (a->iso != NULL)
		printf(" %s %s (%s%s, %zu file%s)\n", to, a->iso,
		    strb_str(&size), plain, nf, nf == 1 ? "" : "s");
	else if (a->volume > 0)
		printf(" %s %.*s as %zu parts in %s (%zu data + %lu parity, "
		    "%s in all): needs %zu media of %s\n", to, base_len(base),
		    base, nf, a->out != NULL ? a->out : ".", nf - a->parity,
		    a->parity, strb_str(&size), nf, fmt_volume(a->volume, vol));
	else
		printf(" %s %s, %s%s\n", to, res->path, strb_str(&size),
		    a->encrypt ? "" : " (not encrypted)");
	if (res->notes > 0)
		printf("told %s of %llu conflict%s logged here\n", res->to,
		    (unsigned long long)res->notes, res->notes == 1 ? "" :
		    "s");
	strb_release(&size);
}

/* pack --json: one object for the bundle written. */
static void
pack_json(const struct pack_args *a, const struct sync_pack_result *res,
    const struct sync_delivered *d)
{
	size_t i;

	printf("{\"file\":");
	if (a->mail || a->eml != NULL || a->volume > 0 || a->iso != NULL)
		printf("null");
	else
		json_str(stdout, res->path);
	printf(",\"delivery\":\"%s\",\"where\":", a->mail ? "mail" :
	    a->eml != NULL ? "eml" : a->iso != NULL ? "iso" : a->volume > 0 ?
	    "parts" : "file");
	json_str(stdout, a->mail || a->eml != NULL ? d->where : a->iso !=
	    NULL ? a->iso : a->volume > 0 ? (a->out != NULL ? a->out : ".") :
	    res->path);
	printf(",\"files\":%zu,\"from\":", a->mail || a->eml != NULL ||
	    a->volume > 0 || a->iso != NULL ? d->nfiles : 1);
	json_str(stdout, res->site.name);
	printf(",\"to\":[");
	for (i = 0; i < res->npeers; i++) {
		printf("%s", i ? "," : "");
		json_str(stdout, res->peers[i].name);
	}
	printf("],\"seq\":%lld,\"changes\":%llu,\"tables\":%llu,"
	    "\"left_set\":%llu,\"schema_steps\":%zu,\"bytes\":%llu,"
	    "\"encrypted\":%s,\"schema_recorded\":%u,\"conflict_notes\":%llu,"
	    "\"newly_tracked\":",
	    (long long)res->seq, (unsigned long long)res->rows,
	    (unsigned long long)res->tables, (unsigned long long)res->left,
	    res->nsteps, (unsigned long long)res->size, a->encrypt ? "true" :
	    "false", res->schema.recorded, (unsigned long long)res->notes);
	json_strv(stdout, res->schema.tracked, res->schema.ntracked);
	printf("}\n");
}

int
cmd_pack(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	const char *names[SYNC_MAX_PEERS];
	struct sync_deliver_opts d;
	struct sync_pack_result res;
	struct sync_delivered out;
	struct sync_pack_opts o;
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	struct pack_args a;
	int r, rc;

	memset(&a, 0, sizeof(a));
	memset(&d, 0, sizeof(d));
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	memset(&out, 0, sizeof(out));
	if ((rc = pack_options(cli_find("pack"), argc, argv, &a)) >= 0)
		return rc;
	if (a.iso != NULL && !a.force && access(a.iso, F_OK) == 0) {
		cli_error("%s already exists (a bundle not applied yet?): pack "
		    "does not overwrite it; choose another name, or --force to "
		    "replace it", a.iso);
		return EXIT_FAIL;
	}
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((rc = cli_load_secret(c, &sec)) != 0 ||
	    (rc = pack_names(a.tolist, names, &o.npeers)) >= 0)
		goto out;
	o.peers = names;
	o.me = sec;
	o.out = a.out;
	o.full = a.full;
	o.resend = a.resend;
	o.force = a.force;
	o.encrypt = a.encrypt;
	o.progress = cli_progress_cb;
	d.db = c->db;
	d.volume = a.volume;
	d.parity = (uint32_t)a.parity;
	d.iso = a.iso;
	d.mail = a.mail;
	d.eml = a.eml;
	r = sync_pack_deliver(rp, &o, &d, &res, &out, err);
	cli_progress_done();
	rc = r != 0 ? cli_fail(r, err) : EXIT_OK;
	if (r == 0 && a.json)
		pack_json(&a, &res, &out);
	else if (r == 0 && !a.quiet)
		pack_print(&a, &res, &out);
out:
	sync_delivered_release(&out);
	sync_pack_result_release(&res);
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
