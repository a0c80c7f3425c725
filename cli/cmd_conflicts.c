/* cli/cmd_conflicts.c — mule conflicts [--json]: values that lost;
 * "conflicts resolve" goes to cmd_conflicts_resolve.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

/* One conflict as a JSON object (ln, rn: the sites' names). */
static void
conflict_json(const struct replica_conflict *k, int first, const char *ln,
    const char *rn)
{
	printf("%s{\"id\":%lld,\"table\":", first ? "" : ",",
	    (long long)k->id);
	json_str(stdout, k->table);
	printf(",\"key\":");
	json_str(stdout, k->pk);
	printf(",\"column\":");
	json_str(stdout, k->col);
	printf(",\"local\":");
	json_str(stdout, k->local);
	printf(",\"local_stamp\":[%llu,",
	    (unsigned long long)k->local_st.lamport);
	json_str(stdout, ln);
	printf("],\"remote\":");
	json_str(stdout, k->remote);
	printf(",\"remote_stamp\":[%llu,",
	    (unsigned long long)k->remote_st.lamport);
	json_str(stdout, rn);
	printf("],\"winner\":\"%s\",\"kind\":\"%s\"}", k->winner,
	    replica_conflict_kind_name(k->kind));
}

/* One conflict for people: what was kept, what was lost. */
static void
conflict_text(const struct replica_conflict *k, const char *ln,
    const char *rn)
{
	int rw = strcmp(k->winner, "remote") == 0;

	printf("#%lld %s (%s) column %s: %s\n", (long long)k->id, k->table,
	    k->pk, k->col, replica_conflict_kind_name(k->kind));
	printf("    kept  %s  (%s edit, stamp %llu@%s)\n",
	    rw ? k->remote : k->local, rw ? "remote" : "local",
	    (unsigned long long)(rw ? k->remote_st.lamport :
	    k->local_st.lamport), rw ? rn : ln);
	printf("    lost  %s  (%s edit, stamp %llu@%s)\n",
	    rw ? k->local : k->remote, rw ? "local" : "remote",
	    (unsigned long long)(rw ? k->local_st.lamport :
	    k->remote_st.lamport), rw ? ln : rn);
}

int
cmd_conflicts(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("conflicts");
	char err[MULE_ERRLEN] = "", ln[80], rn[80];
	struct replica_conflict *v = NULL;
	struct replica *rp = NULL;
	size_t i, n = 0;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 1, 1)) >= 0)
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
	if ((r = replica_conflicts(rp, &v, &n, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	printf("%s", c->json ? "[" : "");
	for (i = 0; i < n; i++) {
		sync_site_name(rp, v[i].local_st.origin, ln, sizeof(ln));
		sync_site_name(rp, v[i].remote_st.origin, rn, sizeof(rn));
		if (c->json)
			conflict_json(&v[i], i == 0, ln, rn);
		else
			conflict_text(&v[i], ln, rn);
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("no conflicts\n");
	rc = EXIT_OK;
out:
	replica_conflicts_free(v, n);
	replica_close(rp);
	return rc;
}
