/*
 * cli/cmd_pack.h — the options of mule pack (cli/cmd_pack_opts.c), for
 * cli/cmd_pack.c.
 */
#ifndef MULE_CLI_CMD_PACK_H
#define MULE_CLI_CMD_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "sync/sync.h"

/* What the options ask for. */
struct pack_args {
	char *tolist;		/* --to (split in place by pack_names) */
	const char *out, *iso, *eml;
	int full, encrypt, mail;
	int resend, force;	/* --resend, --force */
	int json, quiet;	/* --json, -q/--quiet */
	uint64_t volume;
	unsigned long parity;
};

/*
 * Parses and checks the options of `cmd` into *a (zeroed before); -1 to
 * go on, or the exit status to return (help shown, or a usage error
 * printed).
 */
int pack_options(const struct cli_cmd *cmd, int argc, char **argv,
    struct pack_args *a);

/* Splits the --to list into distinct names (pointers into a->tolist),
 * at most SYNC_MAX_PEERS.  -1 or a usage status. */
int pack_names(char *list, const char **names, size_t *n);

#endif
