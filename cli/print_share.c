/* cli/print_share.c — a peer's sync set for people or as JSON, for
 * 'mule share PEER --list' and 'mule status'. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

/* The column part of a definition, for people. */
static void
print_cols(const struct replica_share *sh)
{
	size_t i;

	if (sh->colmode == REPLICA_COLS_ALL) {
		printf("every column");
		return;
	}
	printf(sh->colmode == REPLICA_COLS_ONLY ? "only " : "all but ");
	for (i = 0; i < sh->ncols; i++)
		printf("%s%s", i ? ", " : "", sh->cols[i]);
	if (sh->colmode == REPLICA_COLS_ONLY)
		printf(" (and the key)");
}

void
share_print(const char *peer, const struct replica_share *v, size_t n,
    int json, const char *indent)
{
	size_t i;

	if (json) {
		printf("{\"peer\":");
		json_str(stdout, peer);
		printf(",\"set\":%s,\"tables\":[", n ? "true" : "false");
		for (i = 0; i < n; i++) {
			printf("%s{\"table\":", i ? "," : "");
			json_str(stdout, v[i].table);
			printf(",\"shared\":%s", v[i].shared ? "true" : "false");
			if (v[i].filter != NULL) {
				printf(",\"where\":");
				json_str(stdout, v[i].filter);
			}
			if (v[i].colmode != REPLICA_COLS_ALL) {
				printf(",\"%s\":", v[i].colmode ==
				    REPLICA_COLS_ONLY ? "columns" : "exclude");
				json_strv(stdout, v[i].cols, v[i].ncols);
			}
			printf("}");
		}
		printf("]}");
	} else if (n == 0) {
		printf("%s%s has no sync set: it gets every tracked table in "
		    "full\n", indent, peer);
	} else {
		printf("%s%s gets only these tables:\n", indent, peer);
		for (i = 0; i < n; i++) {
			printf("%*s  %s: ", (int)strlen(indent), "",
			    v[i].table);
			if (!v[i].shared) {
				printf("not shared\n");
				continue;
			}
			if (v[i].filter != NULL)
				printf("rows where %s; ", v[i].filter);
			else
				printf("every row; ");
			print_cols(&v[i]);
			printf("\n");
		}
	}
}
