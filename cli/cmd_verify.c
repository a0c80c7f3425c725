/* cli/cmd_verify.c — mule verify PATH: signature and integrity only. */
#include <getopt.h>
#include <stdio.h>

#include "cli/commands.h"
#include "sync/sync.h"
#include "core/strb.h"

int
cmd_verify(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("verify");
	char err[MULE_ERRLEN] = "", fpr[IDENT_FPR_MAX];
	const struct bundle_info *info;
	struct bundle_reader *br = NULL;
	struct replica_site site;
	struct replica_peer peer;
	struct replica *rp = NULL;
	struct strb sb;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 0, 0)) >= 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	strb_init(&sb);
	if ((r = replica_site(rp, &site, err)) != 0 ||
	    (r = sync_bundle_check(rp, NULL, argv[optind], &br, &peer,
	    err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	info = bundle_get_info(br);
	ident_fingerprint(&peer.pub, fpr);
	strb_add_size(&sb, info->file_size);
	printf("%s: good signature from %s (%s), %s, %s\n", argv[optind],
	    peer.name, fpr, strb_str(&sb),
	    info->encrypted ? "encrypted" : "not encrypted");
	/* docs/design.md §1: a misaddressed bundle is refused like a bad one. */
	if (!bundle_is_recipient(br, &site.pub)) {
		rc = cli_fail(MULE_ENOTRECIPIENT, "the signature is good, but "
		    "the bundle is not addressed to this site");
		goto out;
	}
	rc = EXIT_OK;
out:
	strb_release(&sb);
	bundle_close(br);
	replica_close(rp);
	return rc;
}
