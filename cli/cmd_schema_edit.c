/* cli/cmd_schema_edit.c — mule schema record FILE.sql | forget V: the
 * two sub-commands that change the catalogue (one transaction each). */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd_schema.h"
#include "sync/local.h"

int
cmd_schema_record(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	uint32_t v = 0;
	int r, rc;

	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = sync_schema_record(rp, args[0], &v, err)) != 0) {
		rc = cli_fail(r, err);
	} else {
		printf("recorded %s as schema version %u; peers run it "
		    "verbatim with the next bundle\n", args[0], v);
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}

int
cmd_schema_forget(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	uint32_t v = cli_version_arg(args[0]), n = 0;
	int r, rc;

	if (v == 0) {
		cli_error("schema forget: '%s' is not a version number",
		    args[0]);
		return EXIT_USAGE;
	}
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = sync_schema_forget(rp, v, &n, err)) != 0) {
		rc = cli_fail(r, err);
	} else {
		printf("forgot %u schema version%s; this database is at "
		    "version %u again\n", n, n == 1 ? "" : "s", v);
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}
