/*
 * cli/cmd_map.c — mule map PEER REMOTE_TABLE LOCAL_TABLE
 * [REMOTE_COL=LOCAL_COL ...] | map PEER --list [--json] |
 * map PEER REMOTE_TABLE --remove.  (The listing is cli/cmd_map_list.c.)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

/* REMOTE=LOCAL pairs into rcols/lcols (heap arrays of n pointers into
 * argv).  0 or an exit status. */
static int
map_pairs(char **argv, size_t n, char ***rcols, char ***lcols)
{
	char *eq;
	size_t i;

	if ((*rcols = calloc(n + 1, sizeof(char *))) == NULL ||
	    (*lcols = calloc(n + 1, sizeof(char *))) == NULL) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		(*rcols)[i] = argv[i];
		if ((eq = strchr(argv[i], '=')) == NULL || eq == argv[i] ||
		    eq[1] == '\0') {
			cli_error("'%s' is not REMOTE_COL=LOCAL_COL", argv[i]);
			return EXIT_USAGE;
		}
		*eq = '\0';
		(*lcols)[i] = eq + 1;
	}
	return 0;
}

/* Maps PEER's RTABLE to LTABLE (args[0..2]) and says so. */
static int
map_add(struct replica *rp, char **args, char **rcols, char **lcols,
    size_t n)
{
	char err[MULE_ERRLEN] = "";
	size_t i;
	int r;

	if ((r = sync_map(rp, args[0], args[1], args[2],
	    (const char *const *)rcols, (const char *const *)lcols, n,
	    err)) != 0)
		return cli_fail(r, err);
	printf("%s's %s lands in %s", args[0], args[1], args[2]);
	for (i = 0; i < n; i++)
		printf("%s%s=%s", i ? ", " : " (", rcols[i], lcols[i]);
	printf("%s\n", n ? ")" : "");
	return EXIT_OK;
}

int
cmd_map(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "remove", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("map");
	char err[MULE_ERRLEN] = "", **rcols = NULL, **lcols = NULL;
	struct replica *rp = NULL;
	size_t n = 0;
	int ch, r, rc, list = 0, rm = 0;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'l')
			list = 1;
		else if (ch == 'r')
			rm = 1;
		else if (ch == 'j')
			c->json = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if ((list && (rm || optind != argc - 1)) ||
	    (rm && optind != argc - 2) || (!list && !rm && argc - optind < 3) ||
	    (c->json && !list))
		return cli_usage(cmd);
	if (!list && !rm) {
		n = (size_t)(argc - optind - 3);
		if ((rc = map_pairs(argv + optind + 3, n, &rcols,
		    &lcols)) != 0)
			goto out;
	}
	if ((rc = cli_open(c, list, &rp)) != 0)
		goto out;
	if (list) {
		rc = cmd_map_list(c, rp, argv[optind]);
	} else if (rm) {
		if ((r = replica_unmap(rp, argv[optind], argv[optind + 1],
		    err)) != 0) {
			rc = cli_fail(r, err);
			goto out;
		}
		printf("%s's %s lands in our %s again\n", argv[optind],
		    argv[optind + 1], argv[optind + 1]);
	} else {
		rc = map_add(rp, argv + optind, rcols, lcols, n);
	}
out:
	free(rcols);
	free(lcols);
	replica_close(rp);
	return rc;
}
