/* cli/cmd_log.c — mule log [--json]: bundles sent and received. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/commands.h"

int
cmd_log(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("log");
	char err[MULE_ERRLEN] = "";
	struct replica_logent *v = NULL;
	struct replica *rp = NULL;
	size_t i, n = 0;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 1, 0)) >= 0)
		return rc;
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((r = replica_log_list(rp, &v, &n, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (c->json) {
			printf("%s{\"dir\":\"%s\",\"peer\":", i ? "," : "",
			    v[i].dir);
			json_str(stdout, v[i].peer);
			printf(",\"seq\":%lld,\"bundle\":\"",
			    (long long)v[i].seq);
			print_hex(stdout, v[i].bundle, 16);
			printf("\",\"file\":");
			json_str(stdout, v[i].file);
			printf(",\"summary\":");
			json_str(stdout, v[i].summary);
			printf(",\"at\":");
			json_str(stdout, v[i].at);
			printf("}");
		} else {
			printf("%s  %s %-4s %-12s #%-4lld %s  (%s)\n", v[i].at,
			    v[i].dir[0] == 's' ? "→" : "←", v[i].dir,
			    v[i].peer, (long long)v[i].seq, v[i].summary,
			    v[i].file);
		}
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("no bundles sent or received yet\n");
	rc = EXIT_OK;
out:
	free(v);
	replica_close(rp);
	return rc;
}
