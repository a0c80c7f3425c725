/*
 * cli/cmd_peer.h — the sub-commands of 'mule peer', called by the
 * dispatcher in cli/cmd_peer.c with the replica open (read-only for
 * list) and the operands after the verb (their number checked; args[2]
 * of set is NULL when no VALUE is given) and the options.  Each prints
 * its output and returns the exit status.
 */
#ifndef MULE_CLI_CMD_PEER_H
#define MULE_CLI_CMD_PEER_H

#include "cli/cli.h"

/* The options of 'mule peer' besides --json. */
struct peer_opts {
	int yes;		/* --yes: add without asking */
};

/* cmd_peer_list.c: list [--json]. */
int cmd_peer_list(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po);
/*
 * cmd_peer_edit.c: add NAME KEY|FILE|-, remove NAME, set NAME KEY [VALUE].
 * add reads the key string from FILE or stdin (-) when it is not one
 * itself, and asks before trusting it when stdin is a terminal (not with
 * --yes).
 */
int cmd_peer_add(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po);
int cmd_peer_remove(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po);
int cmd_peer_set(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po);

#endif
