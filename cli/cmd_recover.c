/* cli/cmd_recover.c — mule recover: options, sync_recover_mark, output. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/sync.h"

int
cmd_recover(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("recover");
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 0, 0)) >= 0)
		return rc;
	if (argc != optind)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = sync_recover_mark(rp, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	printf("marked as restored from a backup.  Next: unpack a bundle from "
	    "a peer (at the peer: mule pack --to this site).  It tells how "
	    "far this site had gone: its counters and bundle numbers move "
	    "past that, edits made since the restore go out again, and a "
	    "full comparison with that peer brings back what the backup "
	    "lost.  Until then, pack refuses.\n");
	rc = EXIT_OK;
out:
	replica_close(rp);
	return rc;
}
