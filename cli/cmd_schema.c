/*
 * cli/cmd_schema.c — mule schema status | diff | log | record FILE.sql |
 * install V | upgrade I J | identify DBFILE | forget V | review |
 * accept V | reject V: the dispatcher.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_schema.h"
#include "cli/commands.h"

static const struct schema_sub {
	const char *name;
	int nargs;		/* operands after the name */
	int writes;		/* opens the replica itself, to write */
	int (*run)(struct cli *c, struct replica *rp, char **args);
} schema_subs[] = {
	{ "status", 0, 0, cmd_schema_status },
	{ "diff", 0, 0, cmd_schema_diff },
	{ "log", 0, 0, cmd_schema_log },
	{ "record", 1, 1, cmd_schema_record },
	{ "install", 1, 0, cmd_schema_install },
	{ "identify", 1, 0, cmd_schema_identify },
	{ "forget", 1, 1, cmd_schema_forget },
	{ "upgrade", 2, 0, cmd_schema_upgrade },
	{ "review", 0, 0, cmd_schema_review },
	{ "accept", 1, 1, cmd_schema_accept },
	{ "reject", 1, 1, cmd_schema_reject },
};

int
cmd_schema(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("schema");
	const struct schema_sub *sub = NULL;
	struct replica *rp = NULL;
	size_t i;
	int rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 1, 0)) >= 0)
		return rc;
	for (i = 0; optind < argc && i < sizeof(schema_subs) /
	    sizeof(schema_subs[0]); i++)
		if (strcmp(argv[optind], schema_subs[i].name) == 0)
			sub = &schema_subs[i];
	if (sub == NULL || argc - optind - 1 != sub->nargs)
		return cli_usage(cmd);
	if (!sub->writes && (rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	rc = sub->run(c, rp, argv + optind + 1);
	replica_close(rp);
	return rc;
}
