/*
 * cli/cmd_share.c — mule share PEER TABLE [--where EXPR]
 * [--columns a,b | --exclude c,d] | share PEER --list [--json] |
 * share PEER --reset.  (The listing is cli/print_share.c; unshare is
 * cli/cmd_unshare.c.)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

#define SHARE_MAX_COLS 2000	/* names in one --columns / --exclude */

/* Splits "a,b" into names (heap copy in *buf); refuses empty names. */
static int
split_cols(const char *opt, const char *list, char **buf, char ***out,
    size_t *n)
{
	char *tok, *save = NULL, **v;

	*n = 0;
	if ((*buf = strdup(list)) == NULL ||
	    (*out = calloc(SHARE_MAX_COLS, sizeof(char *))) == NULL) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	v = *out;
	if (*list == '\0' || list[strlen(list) - 1] == ',' || *list == ',' ||
	    strstr(list, ",,") != NULL) {
		cli_error("%s: '%s' has an empty column name (write "
		    "a,b,c)", opt, list);
		return EXIT_USAGE;
	}
	for (tok = strtok_r(*buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (*n == SHARE_MAX_COLS) {
			cli_error("%s: more than %d columns", opt,
			    SHARE_MAX_COLS);
			return EXIT_USAGE;
		}
		v[(*n)++] = tok;
	}
	return 0;
}

/* What the options of share ask for. */
struct share_args {
	const char *where, *colopt;
	int colmode, list, reset;
};

/* Options and operands.  -1 to go on, or the exit status. */
static int
share_options(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, struct share_args *a)
{
	static const struct option opts[] = {
		{ "where", required_argument, NULL, 'w' },
		{ "columns", required_argument, NULL, 'c' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "list", no_argument, NULL, 'l' },
		{ "reset", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			a->where = optarg;
			break;
		case 'c':
		case 'x':
			if (a->colopt != NULL) {
				cli_error("--columns and --exclude: give one "
				    "of them, once");
				return EXIT_USAGE;
			}
			a->colopt = optarg;
			a->colmode = ch == 'c' ? REPLICA_COLS_ONLY :
			    REPLICA_COLS_EXCEPT;
			break;
		case 'l':
			a->list = 1;
			break;
		case 'R':
			a->reset = 1;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if ((a->list || a->reset) && (optind != argc - 1 || a->where != NULL ||
	    a->colopt != NULL || (a->list && a->reset)))
		return cli_usage(cmd);
	if (!a->list && !a->reset && optind != argc - 2)
		return cli_usage(cmd);
	if (c->json && !a->list)
		return cli_usage(cmd);
	return -1;
}

/* Shares one table and says what changes for the peer. */
static int
share_add(struct replica *rp, const char *peer, const char *table,
    const struct share_args *a, char **cols, size_t ncols)
{
	char err[MULE_ERRLEN] = "";
	size_t others = 0;
	int r;

	if ((r = sync_share(rp, peer, table, a->where, a->colmode,
	    (const char *const *)cols, ncols, &others, err)) != 0)
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
	char *buf = NULL, **cols = NULL;
	struct replica *rp = NULL;
	struct share_args a;
	const char *peer;
	size_t ncols = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = share_options(c, cmd, argc, argv, &a)) >= 0)
		return rc;
	peer = argv[optind];
	if (a.colopt != NULL && (rc = split_cols(a.colmode ==
	    REPLICA_COLS_ONLY ? "--columns" : "--exclude", a.colopt, &buf,
	    &cols, &ncols)) != 0)
		goto out;
	if ((rc = cli_open(c, a.list, &rp)) != 0)
		goto out;
	if (a.list)
		rc = share_list(rp, peer, c->json);
	else if (a.reset)
		rc = share_reset(rp, peer);
	else
		rc = share_add(rp, peer, argv[optind + 1], &a, cols, ncols);
out:
	free(cols);
	free(buf);
	replica_close(rp);
	return rc;
}
