/* cli/cmd_verify.c — mule verify [--json] PATH...: signature and
 * integrity only, of every bundle the paths hold. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "core/strb.h"
#include "sync/inspect.h"
#include "sync/sync.h"

/* The run: the replica, and the worst outcome so far. */
struct verify_run {
	struct cli *c;
	struct replica *rp;
	struct replica_site site;
	int rc;			/* EXIT_OK, EXIT_FAIL or EXIT_VERIFY */
	size_t n;		/* bundles reported */
};

/* EXIT_VERIFY outranks EXIT_FAIL: a bundle that fails verification is
 * what verify is for. */
static void
verify_worse(struct verify_run *v, int rc)
{
	if (rc == EXIT_VERIFY || (rc != EXIT_OK && v->rc == EXIT_OK))
		v->rc = rc;
}

/* One bundle's result as a JSON object on a line of its own. */
static void
verify_json(const char *label, const struct replica_peer *peer,
    const struct bundle_info *info, int for_us, int code, const char *err)
{
	char fpr[IDENT_FPR_MAX];

	printf("{\"file\":");
	json_str(stdout, label);
	printf(",\"ok\":%s", code == 0 ? "true" : "false");
	if (peer != NULL) {
		ident_fingerprint(&peer->pub, fpr);
		printf(",\"from\":");
		json_str(stdout, peer->name);
		printf(",\"fingerprint\":\"%s\"", fpr);
	}
	if (info != NULL)
		printf(",\"size\":%llu,\"encrypted\":%s,\"for_us\":%s",
		    (unsigned long long)info->file_size,
		    info->encrypted ? "true" : "false",
		    for_us ? "true" : "false");
	printf(",\"error\":");
	if (code == 0)
		printf("null");
	else
		json_words(stdout, err);
	printf(",\"exit\":%d}\n", cli_exit_code(code));
}

/* Checks one bundle and reports it. */
static void
verify_one(struct verify_run *v, const char *path, const char *label)
{
	char err[MULE_ERRLEN] = "", fpr[IDENT_FPR_MAX];
	const struct bundle_info *info = NULL;
	struct bundle_reader *br = NULL;
	struct replica_peer peer;
	struct strb sb;
	int r, for_us = 0;

	strb_init(&sb);
	if ((r = sync_bundle_check(v->rp, NULL, path, &br, &peer,
	    err)) != 0) {
		sync_found_relabel(err, path, label);
		goto out;
	}
	info = bundle_get_info(br);
	/* docs/design.md §1: a misaddressed bundle is refused like a bad one. */
	if (!(for_us = bundle_is_recipient(br, &v->site.pub)))
		r = mule_errf(err, MULE_ENOTRECIPIENT, "%s: the signature is "
		    "good, but the bundle is not addressed to this site",
		    label);
	if (!v->c->json) {
		ident_fingerprint(&peer.pub, fpr);
		strb_add_size(&sb, info->file_size);
		printf("%s: good signature from %s (%s), %s, %s\n", label,
		    peer.name, fpr, strb_str(&sb),
		    info->encrypted ? "encrypted" : "not encrypted");
	}
out:
	if (v->c->json)
		verify_json(label, info != NULL ? &peer : NULL, info, for_us,
		    r, err);
	else if (r != 0)
		cli_error("%s", err);
	verify_worse(v, cli_exit_code(r));
	strb_release(&sb);
	bundle_close(br);
}

static void
verify_found(void *arg, const struct sync_found *f)
{
	struct verify_run *v = arg;

	v->n++;
	if (f->path != NULL) {
		verify_one(v, f->path, f->label);
		return;
	}
	if (v->c->json)
		verify_json(f->label, NULL, NULL, 0, f->code, f->err);
	else
		cli_error("%s", f->err);
	verify_worse(v, cli_exit_code(f->code));
}

int
cmd_verify(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("verify");
	char err[MULE_ERRLEN] = "";
	struct verify_run v = { 0 };
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 1, 0)) >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 1, &v.rp)) != 0)
		return rc;
	v.c = c;
	if ((r = replica_site(v.rp, &v.site, err)) != 0 ||
	    (r = sync_inspect_inputs(v.rp, c->db, argv + optind,
	    (size_t)(argc - optind), verify_found, &v, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	rc = v.rc;
	if (!c->json && v.n > 1)
		printf("%zu bundles checked: %s\n", v.n, rc == EXIT_OK ?
		    "all good" : "see the errors above");
out:
	replica_close(v.rp);
	return rc;
}
