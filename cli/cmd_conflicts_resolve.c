/* cli/cmd_conflicts_resolve.c — mule conflicts resolve ID
 * --keep local|remote|VALUE: options, sync_conflict_resolve, output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

int
cmd_conflicts_resolve(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("conflicts");
	char err[MULE_ERRLEN] = "", *end;
	struct replica *rp = NULL;
	const char *keep = NULL, *value = NULL;
	long long id;
	int ch, r, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'k')
			keep = optarg;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (optind + 1 != argc || keep == NULL)
		return cli_usage(cmd);
	id = strtoll(argv[optind], &end, 10);
	if (*end != '\0' || id <= 0) {
		cli_error("'%s' is not a conflict number (see 'mule "
		    "conflicts')", argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(keep, "local") != 0 && strcmp(keep, "remote") != 0) {
		value = keep;
		keep = NULL;
	}
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	r = sync_conflict_resolve(rp, id, keep, value, cli_progress_cb, NULL,
	    err);
	cli_progress_done();
	if (r != 0) {
		rc = cli_fail(r, err);
	} else {
		printf("conflict #%lld resolved: kept %s%s%s; it goes to peers "
		    "with the next pack\n", id, value != NULL ? "'" : "",
		    value != NULL ? value : keep, value != NULL ? "'" : "");
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}
