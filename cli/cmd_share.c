/*
 * cli/cmd_share.c — mule share PEER TABLE [--where EXPR]
 * [--columns a,b | --exclude c,d] | share PEER --list [--json] |
 * share PEER --reset: options (cli/cmd_share_opts.c), one call, output.
 * (The listing is printed by cli/print_share.c; unshare is
 * cli/cmd_unshare.c.)
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_share.h"
#include "cli/commands.h"
#include "sync/local.h"

/* Shares one table and says what changes for the peer. */
static int
share_add(struct replica *rp, const char *peer, const char *table,
    const struct share_args *a)
{
	char err[MULE_ERRLEN] = "";
	size_t others = 0;
	int r;

	if ((r = sync_share(rp, peer, table, a->where, a->colmode,
	    (const char *const *)a->cols, a->ncols, &others, err)) != 0)
		return cli_fail(r, err);
	printf("%s: shares %s", peer, table);
	if (a->where != NULL)
		printf(" (rows where %s)", a->where);
	if (a->colopt != NULL)
		printf(" (%s %s)", a->colmode == REPLICA_COLS_ONLY ?
		    "only columns" : "without columns", a->colopt);
	printf("; takes effect at the next 'mule pack --to %s'\n", peer);
	if (others > 0)
		printf("note: %s now gets only the tables shared with it; the "
		    "%zu other tracked table%s no longer go%s, and the rows it "
		    "has of %s from here are removed there\n", peer, others,
		    others == 1 ? "" : "s", others == 1 ? "es" : "",
		    others == 1 ? "it" : "them");
	return EXIT_OK;
}

/* --list: the peer's sync set. */
static int
share_list(struct replica *rp, const char *peer, int json)
{
	char err[MULE_ERRLEN] = "";
	struct replica_share *v = NULL;
	size_t n = 0;
	int r;

	if ((r = replica_shares(rp, peer, &v, &n, err)) != 0)
		return cli_fail(r, err);
	share_print(peer, v, n, json, "");
	if (json)
		printf("\n");
	replica_shares_free(v, n);
	return EXIT_OK;
}

/* --reset: the peer gets everything again. */
static int
share_reset(struct replica *rp, const char *peer)
{
	char err[MULE_ERRLEN] = "";
	int r;

	if ((r = replica_share_reset(rp, peer, err)) != 0)
		return cli_fail(r, err);
	printf("%s: sync set forgotten; from the next pack it gets every "
	    "tracked table in full\n", peer);
	return EXIT_OK;
}

int
cmd_share(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("share");
	struct replica *rp = NULL;
	struct share_args a;
	const char *peer;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = share_options(c, cmd, argc, argv, &a)) >= 0)
		goto out;
	peer = argv[optind];
	if ((rc = cli_open(c, a.list, &rp)) != 0)
		goto out;
	if (a.list)
		rc = share_list(rp, peer, c->json);
	else if (a.reset)
		rc = share_reset(rp, peer);
	else
		rc = share_add(rp, peer, argv[optind + 1], &a);
out:
	share_args_release(&a);
	replica_close(rp);
	return rc;
}
