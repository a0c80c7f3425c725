/* cli/cmd_status.c — mule status [--json]: sync_status and the bundles
 * waiting in the spool, then output (cli/print_status.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/sync.h"
#include "transports/spool.h"

int
cmd_status(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("status");
	char err[MULE_ERRLEN] = "";
	struct xport_spool_group *spool = NULL;
	struct replica *rp = NULL;
	struct sync_status s;
	size_t nspool = 0;
	int r, rc;

	memset(&s, 0, sizeof(s));
	if ((rc = cli_opts(c, cmd, argc, argv, 1, 0)) >= 0)
		return rc;
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	r = sync_status(rp, &s, cli_progress_cb, NULL, err);
	cli_progress_done();
	if (r != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	/* A spool that cannot be read shows as empty. */
	if (xport_spool_status(c->db, &spool, &nspool, NULL) != 0)
		nspool = 0;
	status_print(&s, spool, nspool, c->json);
	rc = EXIT_OK;
out:
	xport_spool_status_free(spool, nspool);
	sync_status_release(&s);
	replica_close(rp);
	return rc;
}
