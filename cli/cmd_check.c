/* cli/cmd_check.c — mule check PEER: options, sync_check, output. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/sync.h"

int
cmd_check(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("check");
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	size_t n = 0;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 0, 0)) >= 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = sync_check(rp, argv[optind], &n, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	printf("the next bundle to %s asks for a full comparison of %zu "
	    "table%s (mule pack --to %s); differences are reconciled over "
	    "the following exchanges, and 'mule status' shows them\n",
	    argv[optind], n, n == 1 ? "" : "s", argv[optind]);
	rc = EXIT_OK;
out:
	replica_close(rp);
	return rc;
}
