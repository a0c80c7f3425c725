/* cli/cmd_schema_sql.c — mule schema diff | install V | upgrade I J: SQL
 * on stdout (the unrecorded changes, a version's schema, the steps from
 * one version to another). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_schema.h"
#include "replica/schema.h"

int
cmd_schema_diff(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "", *sql = NULL;
	int r;

	if ((r = replica_schema_pending(rp, &sql, err)) != 0)
		return cli_fail(r, err);
	if (sql == NULL)
		printf("-- no unrecorded schema changes\n");
	else
		fputs(sql, stdout);
	free(sql);
	return EXIT_OK;
}

int
cmd_schema_install(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	struct replica_schema_version v;
	uint32_t i = cli_version_arg(args[0]);
	int r, rc;

	memset(&v, 0, sizeof(v));
	if (i == 0) {
		cli_error("schema install: '%s' is not a version number",
		    args[0]);
		rc = EXIT_USAGE;
	} else if ((r = replica_schema_get(rp, i, &v, err)) != 0) {
		rc = cli_fail(r, err);
	} else {
		printf("-- mule schema version %u\n%s", i, v.sql);
		rc = EXIT_OK;
	}
	replica_schema_version_release(&v);
	return rc;
}

int
cmd_schema_upgrade(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "", *sql = NULL;
	uint32_t i = cli_version_arg(args[0]);
	uint32_t j = cli_version_arg(args[1]);
	int r, rc;

	if (i == 0 || j == 0 || i >= j) {
		cli_error("schema upgrade: needs two version numbers, the "
		    "lower first (e.g. 'upgrade 1 4')");
		rc = EXIT_USAGE;
	} else if ((r = replica_schema_upgrade(rp, i, j, &sql, err)) != 0) {
		rc = cli_fail(r, err);
	} else {
		printf("-- mule schema upgrade from version %u to %u\n%s", i,
		    j, sql);
		rc = EXIT_OK;
	}
	free(sql);
	return rc;
}
