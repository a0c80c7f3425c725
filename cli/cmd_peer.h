/*
 * cli/cmd_peer.h — the sub-commands of 'mule peer', called by the
 * dispatcher in cli/cmd_peer.c with the replica open (read-only for
 * list) and the operands after the verb (their number checked; args[2]
 * of set is NULL when no VALUE is given).  Each prints its output and
 * returns the exit status.
 */
#ifndef MULE_CLI_CMD_PEER_H
#define MULE_CLI_CMD_PEER_H

#include "cli/cli.h"

/* cmd_peer_list.c: list [--json]. */
int cmd_peer_list(struct cli *c, struct replica *rp, char **args);
/* cmd_peer_edit.c: add NAME KEY, remove NAME, set NAME KEY [VALUE]. */
int cmd_peer_add(struct cli *c, struct replica *rp, char **args);
int cmd_peer_remove(struct cli *c, struct replica *rp, char **args);
int cmd_peer_set(struct cli *c, struct replica *rp, char **args);

#endif
