/* cli/cmd_schema_show.c — mule schema status [--json] | identify DBFILE
 * [--json]: where this database's schema stands, and another file's. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd_schema.h"
#include "replica/schema.h"

static void
print_fpr(const uint8_t *fpr)
{
	print_hex(stdout, fpr, SCHEMA_FPR_LEN);
}

int
cmd_schema_status(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	struct replica_schema_info si;
	int r;

	if ((r = replica_schema_info(rp, &si, err)) != 0)
		return cli_fail(r, err);
	if (c->json) {
		printf("{\"version\":%u,\"fingerprint\":\"", si.version);
		print_fpr(si.fpr);
		printf("\",\"live\":\"");
		print_fpr(si.live);
		printf("\",\"unrecorded\":%s,\"objects\":%zu}\n",
		    si.unrecorded ? "true" : "false", si.objects);
		return EXIT_OK;
	}
	if (si.version == 0) {
		printf("schema: no version recorded yet\n");
	} else {
		printf("schema version %u, fingerprint ", si.version);
		print_fpr(si.fpr);
		printf("\n");
	}
	if (si.unrecorded) {
		printf("live schema differs (fingerprint ");
		print_fpr(si.live);
		printf("): unrecorded changes; 'mule schema diff' shows them, "
		    "the next 'mule pack' records them\n");
	} else {
		printf("live schema matches it (%zu object%s)\n", si.objects,
		    si.objects == 1 ? "" : "s");
	}
	return EXIT_OK;
}

int
cmd_schema_identify(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	uint8_t fpr[SCHEMA_FPR_LEN];
	const char *file = args[0];
	uint32_t v, closest;
	int r;

	if ((r = replica_schema_identify(rp, file, &v, &closest, fpr,
	    err)) != 0)
		return cli_fail(r, err);
	if (c->json) {
		printf("{\"file\":");
		json_str(stdout, file);
		printf(",\"fingerprint\":\"");
		print_fpr(fpr);
		if (v > 0)
			printf("\",\"version\":%u}\n", v);
		else
			printf("\",\"version\":null,\"closest\":%u}\n",
			    closest);
	} else if (v > 0) {
		printf("%s: schema version %u (fingerprint ", file, v);
		print_fpr(fpr);
		printf(")\n");
	} else {
		printf("%s: unknown schema (fingerprint ", file);
		print_fpr(fpr);
		if (closest > 0)
			printf("); closest: version %u\n", closest);
		else
			printf("); no versions to compare with\n");
	}
	return EXIT_OK;
}
