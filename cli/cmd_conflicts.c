/* cli/cmd_conflicts.c — mule conflicts [--json]: values that lost;
 * "conflicts resolve" goes to cmd_conflicts_resolve.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

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
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		sync_site_name(rp, v[i].local_st.origin, ln, sizeof(ln));
		sync_site_name(rp, v[i].remote_st.origin, rn, sizeof(rn));
		if (c->json) {
			printf("%s{\"id\":%lld,\"table\":", i ? "," : "",
			    (long long)v[i].id);
			json_str(stdout, v[i].table);
			printf(",\"key\":");
			json_str(stdout, v[i].pk);
			printf(",\"column\":");
			json_str(stdout, v[i].col);
			printf(",\"local\":");
			json_str(stdout, v[i].local);
			printf(",\"local_stamp\":[%llu,",
			    (unsigned long long)v[i].local_st.lamport);
			json_str(stdout, ln);
			printf("],\"remote\":");
			json_str(stdout, v[i].remote);
			printf(",\"remote_stamp\":[%llu,",
			    (unsigned long long)v[i].remote_st.lamport);
			json_str(stdout, rn);
			printf("],\"winner\":\"%s\",\"kind\":\"%s\"}",
			    v[i].winner, replica_conflict_kind_name(v[i].kind));
		} else {
			int rw = strcmp(v[i].winner, "remote") == 0;
			printf("#%lld %s (%s) column %s: %s\n",
			    (long long)v[i].id, v[i].table, v[i].pk, v[i].col,
			    replica_conflict_kind_name(v[i].kind));
			printf("    kept  %s  (%s edit, stamp %llu@%s)\n",
			    rw ? v[i].remote : v[i].local,
			    rw ? "remote" : "local",
			    (unsigned long long)(rw ? v[i].remote_st.lamport :
			    v[i].local_st.lamport), rw ? rn : ln);
			printf("    lost  %s  (%s edit, stamp %llu@%s)\n",
			    rw ? v[i].local : v[i].remote,
			    rw ? "local" : "remote",
			    (unsigned long long)(rw ? v[i].local_st.lamport :
			    v[i].remote_st.lamport), rw ? ln : rn);
		}
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
