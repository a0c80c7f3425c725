/* cli/cmd_schema_log.c — mule schema log [--json]: the recorded
 * versions, each with its checksum checked. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_schema.h"
#include "replica/schema.h"

static void
log_print(struct cli *c, uint32_t k, const struct replica_schema_version *v)
{
	if (c->json) {
		printf("%s{\"version\":%u,\"fingerprint\":\"",
		    k > 1 ? "," : "", k);
		print_hex(stdout, v->fpr, SCHEMA_FPR_LEN);
		printf("\",\"at\":");
		json_str(stdout, v->at);
		printf(",\"kind\":\"%s\",\"checksum_ok\":%s,\"migration\":",
		    v->handwritten ? "hand-written" : "generated",
		    v->checksum_ok ? "true" : "false");
		json_str(stdout, v->migration);
		printf("}");
	} else {
		printf("%4u  ", k);
		print_hex(stdout, v->fpr, 8);
		printf("%s  %s  %s%s\n", cli_sym("\xe2\x80\xa6", "..."),
		    v->at, v->handwritten ? "hand-written" : "generated",
		    v->checksum_ok ? "" : "  CHECKSUM MISMATCH");
	}
}

int
cmd_schema_log(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	struct replica_schema_version v;
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint32_t latest, k;
	int r, bad = 0;

	memset(&v, 0, sizeof(v));
	if ((r = replica_schema_latest(rp, &latest, fpr, err)) != 0)
		return cli_fail(r, err);
	if (c->json)
		printf("[");
	for (k = 1; k <= latest; k++) {
		if ((r = replica_schema_get(rp, k, &v, err)) != 0) {
			if (c->json)
				printf("]\n");
			return cli_fail(r, err);
		}
		bad |= !v.checksum_ok;
		log_print(c, k, &v);
		replica_schema_version_release(&v);
	}
	if (c->json)
		printf("]\n");
	else if (latest == 0)
		printf("no schema versions yet (version 1 is recorded when "
		    "the first table is tracked)\n");
	if (bad) {
		cli_error("schema log: a version's checksum does not match its "
		    "contents (the catalogue was altered outside mule)");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
