/* cli/cmd_pack.c — mule pack --to PEER[,PEER] [-o FILE|DIR] [--full]
 * [--resend] [--force] [--no-encrypt] [--volume-size SIZE [--parity N]] [--iso FILE]
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
	if (a->mail || a->eml != NULL)
		printf("packed %s → %s %zu message%s to %s (%s%s)\n",
		    res->summary, a->mail ? "mailed" : "wrote", nf,
		    nf == 1 ? "" : "s", d->where, strb_str(&size), plain);
	else if (a->iso != NULL)
		printf("packed %s → %s (%s%s, %zu file%s)\n", res->summary,
		    a->iso, strb_str(&size), plain, nf, nf == 1 ? "" : "s");
	else if (a->volume > 0)
		printf("packed %s → %.*s as %zu parts in %s (%zu data + %lu "
		    "parity, %s in all): needs %zu media of %s\n",
		    res->summary, base_len(base), base, nf, a->out != NULL ?
		    a->out : ".", nf - a->parity, a->parity, strb_str(&size),
		    nf, fmt_volume(a->volume, vol));
	else
		printf("packed %s → %s, %s%s\n", res->summary, res->path,
		    strb_str(&size), a->encrypt ? "" : " (not encrypted)");
	strb_release(&size);
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
	if (r == 0)
		pack_print(&a, &res, &out);
out:
	sync_delivered_release(&out);
	sync_pack_result_release(&res);
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
