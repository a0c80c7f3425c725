/* cli/cmd_map_list.c — mule map PEER --list [--json]: how a peer's
 * tables and columns land in ours. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"

int
cmd_map_list(struct cli *c, struct replica *rp, const char *peer)
{
	char err[MULE_ERRLEN] = "";
	struct replica_map *v = NULL;
	size_t i, k, n = 0;
	int r;

	if ((r = replica_maps(rp, peer, &v, &n, err)) != 0)
		return cli_fail(r, err);
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (c->json) {
			printf("%s{\"remote\":", i ? "," : "");
			json_str(stdout, v[i].rtable);
			printf(",\"local\":");
			json_str(stdout, v[i].ltable);
			printf(",\"columns\":");
			json_pairs(stdout, v[i].rcols, v[i].lcols, v[i].ncols);
			printf("}");
			continue;
		}
		printf("%s's %s %s %s", peer, v[i].rtable,
		    cli_sym("\xe2\x86\x92", "->"), v[i].ltable);
		for (k = 0; k < v[i].ncols; k++)
			printf("%s%s=%s", k ? ", " : " (", v[i].rcols[k],
			    v[i].lcols[k]);
		printf("%s\n", v[i].ncols ? ")" : "");
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("no maps for %s: its tables and columns land in ours of "
		    "the same names\n", peer);
	replica_maps_free(v, n);
	return EXIT_OK;
}
