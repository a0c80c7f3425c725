/* cli/cmd_unshare.c — mule unshare PEER TABLE */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"

int
cmd_unshare(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("unshare");
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 0, 0)) >= 0)
		return rc;
	if (optind != argc - 2)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = replica_unshare(rp, argv[optind], argv[optind + 1],
	    err)) != 0) {
		cli_error("cannot unshare %s with %s: %s", argv[optind + 1],
		    argv[optind], err);
		rc = cli_exit_code(r);
	} else {
		printf("%s: no longer shares %s; its rows there are removed "
		    "at the next exchange\n", argv[optind], argv[optind + 1]);
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}
