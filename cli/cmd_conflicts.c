/* cli/cmd_conflicts.c — mule conflicts [--all | --peers] [--json]: values
 * that lost, with --all the resolved ones and how, with --peers those
 * peers logged where a value from here won; "conflicts resolve" goes to
 * cmd_conflicts_resolve.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

static int
conflicts_options(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, int *all, int *peers)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "peers", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (ch == 'j')
			c->json = 1;
		else if (ch == 'a')
			*all = 1;
		else if (ch == 'p')
			*peers = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	return -1;
}

int
cmd_conflicts(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("conflicts");
	char err[MULE_ERRLEN] = "", ln[80], rn[80], *now = NULL;
	struct replica_conflict *v = NULL;
	struct replica *rp = NULL;
	size_t i, n = 0;
	uint64_t noted = 0;
	int all = 0, peers = 0, r, rc;

	if ((rc = conflicts_options(c, cmd, argc, argv, &all, &peers)) >= 0)
		return rc;
	if (optind < argc && strcmp(argv[optind], "resolve") == 0) {
		argv[optind] = "conflicts resolve";
		argc -= optind;
		argv += optind;
		optind = 0;	/* restart getopt on the sub-command */
		return cmd_conflicts_resolve(c, argc, argv);
	}
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((r = peers ? replica_conflict_notes(rp, &v, &n, err) :
	    replica_conflicts(rp, all, &v, &n, err)) != 0 ||
	    (r = replica_conflict_count_noted(rp, &noted, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	printf("%s", c->json ? "[" : "");
	for (i = 0; i < n; i++) {
		sync_site_name(rp, v[i].local_st.origin, ln, sizeof(ln));
		sync_site_name(rp, v[i].remote_st.origin, rn, sizeof(rn));
		free(now);
		now = NULL;
		if (!v[i].resolved && !peers)	/* the row as it is, if
						 * readable */
			(void)replica_conflict_current(rp, v[i].id, &now, NULL);
		if (c->json)
			conflict_json(&v[i], i == 0, ln, rn, now);
		else
			conflict_text(&v[i], ln, rn, now);
	}
	if (c->json)
		printf("]\n");
	else if (n == 0 && peers)
		printf("no conflicts logged at peers\n");
	else if (n == 0)
		printf("%s\n", all ? "no conflicts, resolved or not" :
		    "no conflicts");
	if (!c->json && !peers && noted > 0)
		printf("%llu conflict%s logged at peers, where a value from "
		    "this site won: mule conflicts --peers\n",
		    (unsigned long long)noted, noted == 1 ? "" : "s");
	rc = EXIT_OK;
out:
	free(now);
	replica_conflicts_free(v, n);
	replica_close(rp);
	return rc;
}
