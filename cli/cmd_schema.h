/*
 * cli/cmd_schema.h — the sub-commands of 'mule schema', one file each
 * group (cli/cmd_schema_*.c), called by the dispatcher in cmd_schema.c.
 *
 * Each gets the operands after its name (their number checked) and the
 * replica opened read-only (rp), or NULL for the ones that write, which
 * open it themselves; each prints its output and returns the exit status.
 */
#ifndef MULE_CLI_CMD_SCHEMA_H
#define MULE_CLI_CMD_SCHEMA_H

#include "cli/cli.h"

/* cmd_schema_show.c: status [--json], identify DBFILE [--json]. */
int cmd_schema_status(struct cli *c, struct replica *rp, char **args);
int cmd_schema_identify(struct cli *c, struct replica *rp, char **args);
/* cmd_schema_log.c: log [--json]. */
int cmd_schema_log(struct cli *c, struct replica *rp, char **args);
/* cmd_schema_sql.c: diff, install V, upgrade I J (SQL on stdout). */
int cmd_schema_diff(struct cli *c, struct replica *rp, char **args);
int cmd_schema_install(struct cli *c, struct replica *rp, char **args);
int cmd_schema_upgrade(struct cli *c, struct replica *rp, char **args);
/* cmd_schema_edit.c: record FILE.sql, forget V (rp NULL). */
int cmd_schema_record(struct cli *c, struct replica *rp, char **args);
int cmd_schema_forget(struct cli *c, struct replica *rp, char **args);
/* cmd_schema_review.c: review [--json]; accept V, reject V (rp NULL). */
int cmd_schema_review(struct cli *c, struct replica *rp, char **args);
int cmd_schema_accept(struct cli *c, struct replica *rp, char **args);
int cmd_schema_reject(struct cli *c, struct replica *rp, char **args);

#endif
