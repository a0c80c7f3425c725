/* cli/cmd_conflicts_resolve.c — mule conflicts resolve ID --keep
 * local|remote | --value SQL-LITERAL: options, sync_conflict_resolve,
 * output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

/* The options, checked before the replica is opened: -1, or an exit
 * status. */
static int
resolve_options(const struct cli_cmd *cmd, int argc, char **argv,
    long long *id, const char **keep, const char **value)
{
	static const struct option opts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "value", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[MULE_ERRLEN] = "", *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'k')
			*keep = optarg;
		else if (ch == 'V')
			*value = optarg;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (optind + 1 != argc || (*keep == NULL && *value == NULL))
		return cli_usage(cmd);
	*id = strtoll(argv[optind], &end, 10);
	if (*end != '\0' || *id <= 0) {
		cli_error("'%s' is not a conflict number (see 'mule "
		    "conflicts')", argv[optind]);
		return EXIT_USAGE;
	}
	if (*keep != NULL && *value != NULL) {
		cli_error("--keep and --value exclude each other: keep one "
		    "side, or set a value");
		return EXIT_USAGE;
	}
	if (*keep != NULL && strcmp(*keep, "local") != 0 &&
	    strcmp(*keep, "remote") != 0) {
		cli_error("--keep takes local or remote, not '%s' (to write a "
		    "value of your own: --value SQL-LITERAL)", *keep);
		return EXIT_USAGE;
	}
	if (*value != NULL && replica_literal_check(*value, err) != 0) {
		cli_error("--value: %s", err);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_conflicts_resolve(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("conflicts");
	char err[MULE_ERRLEN] = "";
	struct replica_resolution res;
	struct replica *rp = NULL;
	const char *keep = NULL, *value = NULL;
	long long id = 0;
	int r, rc;

	memset(&res, 0, sizeof(res));
	if ((rc = resolve_options(cmd, argc, argv, &id, &keep, &value)) >= 0)
		return rc;
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	r = sync_conflict_resolve(rp, id, keep, value, &res, cli_progress_cb,
	    NULL, err);
	cli_progress_done();
	if (r != 0) {
		rc = cli_fail(r, err);
	} else {
		printf("conflict #%lld resolved: %s%s\n", id,
		    keep != NULL ? "kept " : "set to ",
		    keep != NULL ? keep : value);
		printf("  %s (%s) %s%s\n", res.table, res.pk,
		    strcmp(res.col, "*") == 0 ? "whole row" : "column ",
		    strcmp(res.col, "*") == 0 ? "" : res.col);
		printf("  was  %s\n  now  %s\n", res.was, res.now);
		printf("%s\n", strcmp(res.was, res.now) == 0 ? "nothing "
		    "changed here" : "the change goes to peers with the next "
		    "pack");
		rc = EXIT_OK;
	}
	replica_resolution_release(&res);
	replica_close(rp);
	return rc;
}
