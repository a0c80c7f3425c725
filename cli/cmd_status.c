/* cli/cmd_status.c — mule status [--all] [--json]: sync_status and the bundles
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
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("status");
	char err[MULE_ERRLEN] = "";
	struct xport_spool_group *spool = NULL;
	struct replica *rp = NULL;
	struct sync_status s;
	size_t nspool = 0;
	int ch, r, rc, all = 0;

	memset(&s, 0, sizeof(s));
	while ((ch = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		if (ch == 'a')
			all = 1;
		else if (ch == 'j')
			c->json = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
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
	status_print(&s, spool, nspool, c->json, all);
	rc = EXIT_OK;
out:
	xport_spool_status_free(spool, nspool);
	sync_status_release(&s);
	replica_close(rp);
	return rc;
}
