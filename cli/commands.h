/*
 * cli/commands.h — one entry point per command (cli/cmd_*.c, listed in
 * cli/commands.c), the sub-command files their dispatchers call, and the
 * printing shared between commands (cli/print_*.c).  Sub-commands of
 * schema and peer are declared in cli/cmd_schema.h and cli/cmd_peer.h.
 */
#ifndef MULE_CLI_COMMANDS_H
#define MULE_CLI_COMMANDS_H

#include "cli/cli.h"
#include "sync/sync.h"
#include "transports/spool.h"

/* ---- commands: options, one library call, output; the exit status ---- */

int cmd_init(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_recover(struct cli *c, int argc, char **argv);
int cmd_clone(struct cli *c, int argc, char **argv);
int cmd_id(struct cli *c, int argc, char **argv);
int cmd_peer(struct cli *c, int argc, char **argv);
int cmd_track(struct cli *c, int argc, char **argv);
int cmd_untrack(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_pack(struct cli *c, int argc, char **argv);
int cmd_unpack(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);
int cmd_inspect(struct cli *c, int argc, char **argv);
int cmd_log(struct cli *c, int argc, char **argv);
/* Hidden (cli/cmd_complete.c): the words shell completion offers. */
int cmd_complete(struct cli *c, int argc, char **argv);
int cmd_conflicts(struct cli *c, int argc, char **argv);
int cmd_share(struct cli *c, int argc, char **argv);
int cmd_unshare(struct cli *c, int argc, char **argv);
int cmd_map(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
int cmd_schema(struct cli *c, int argc, char **argv);

/* ---- parts of a command in files of their own ---- */

/* conflicts resolve ID --keep ... (cli/cmd_conflicts_resolve.c): argv[0]
 * is the sub-command. */
int cmd_conflicts_resolve(struct cli *c, int argc, char **argv);
/* map PEER --list (cli/cmd_map_list.c), with the replica open. */
int cmd_map_list(struct cli *c, struct replica *rp, const char *peer);
/* config [--json] (every setting) and config [--json] KEY (one, an
 * error when it is not set), with the replica open
 * (cli/cmd_config_show.c). */
int cmd_config_list(struct cli *c, struct replica *rp);
int cmd_config_show(struct cli *c, struct replica *rp, const char *key);

/* ---- output ---- */

/*
 * Prints a peer's sync set, n definitions (cli/print_share.c; for share
 * --list and status): text lines starting with `indent`, or one JSON
 * object.
 */
void share_print(const char *peer, const struct replica_share *v, size_t n,
    int json, const char *indent);
/*
 * Prints what 'mule status' shows (cli/print_status.c): the sync_status,
 * then the nspool bundles waiting in the spool; text, or one JSON object.
 */
void status_print(const struct sync_status *s,
    const struct xport_spool_group *spool, size_t nspool, int json, int all);
/*
 * Prints one conflict (cli/print_conflicts.c): as a JSON object (a comma
 * before it unless first) or as text; ln and rn name the sites of the
 * local and remote stamps, now (NULL: unknown) what the cell holds now.
 */
void conflict_json(const struct replica_conflict *k, int first,
    const char *ln, const char *rn, const char *now);
void conflict_text(const struct replica_conflict *k, const char *ln,
    const char *rn, const char *now);
/* Prints what inspect found in a bundle (cli/print_inspect.c). */
struct sync_inspection;
void inspect_print(const struct sync_inspection *x, const char *file,
    int json);

#endif
