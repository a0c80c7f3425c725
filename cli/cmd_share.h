/*
 * cli/cmd_share.h — the options of mule share (cli/cmd_share_opts.c),
 * for cli/cmd_share.c.
 */
#ifndef MULE_CLI_CMD_SHARE_H
#define MULE_CLI_CMD_SHARE_H

#include <stddef.h>

#include "cli/cli.h"

/* What the options of share ask for. */
struct share_args {
	const char *where, *colopt;
	int colmode, list, reset;
	char **cols;		/* heap: the names of --columns / --exclude */
	size_t ncols;
	char *buf;		/* heap: what cols point into */
};

/*
 * Parses and checks the options and operands of `cmd` into *a (zeroed
 * before; --json sets c->json) and splits the column list.  -1 to go on,
 * or the exit status to return.  Release *a with share_args_release in
 * every case.
 */
int share_options(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, struct share_args *a);
void share_args_release(struct share_args *a);

#endif
