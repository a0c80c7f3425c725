/* cli/cmd_schema_review.c — mule schema review [--json] | accept V |
 * reject V: schema steps from peers that wait for a person. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_schema.h"
#include "replica/schema.h"
#include "sync/local.h"

static void
review_print(struct cli *c, size_t k, const struct replica_review *v)
{
	if (c->json) {
		printf("%s{\"peer\":", k ? "," : "");
		json_str(stdout, v->peer);
		printf(",\"version\":%u,\"fingerprint\":\"", v->version);
		print_hex(stdout, v->fpr, SCHEMA_FPR_LEN);
		printf("\",\"state\":\"%s\",\"sql\":",
		    replica_review_state_name(v->state));
		json_str(stdout, v->sql);
		printf("}");
		return;
	}
	printf("version %u from %s: %s\n", v->version, v->peer,
	    replica_review_state_name(v->state));
	printf("%s%s", v->sql, v->sql[0] != '\0' &&
	    v->sql[strlen(v->sql) - 1] != '\n' ? "\n" : "");
	if (v->state == REPLICA_REVIEW_PENDING)
		printf("-- to run it: mule schema accept %u, then unpack its "
		    "bundle again; to refuse it: mule schema reject %u\n",
		    v->version, v->version);
	printf("\n");
}

int
cmd_schema_review(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	struct replica_review *v = NULL;
	size_t n = 0, k;
	int r;

	(void)args;
	if ((r = replica_schema_reviews(rp, &v, &n, err)) != 0)
		return cli_fail(r, err);
	if (c->json)
		printf("[");
	else if (n == 0)
		printf("no schema step from a peer waits for review\n");
	for (k = 0; k < n; k++)
		review_print(c, k, &v[k]);
	if (c->json)
		printf("]\n");
	replica_schema_reviews_free(v, n);
	return EXIT_OK;
}

/* accept V or reject V. */
static int
schema_decide(struct cli *c, char **args, int accept)
{
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	uint32_t v = cli_version_arg(args[0]);
	size_t n = 0;
	int r, rc;

	if (v == 0) {
		cli_error("schema %s: '%s' is not a version number",
		    accept ? "accept" : "reject", args[0]);
		return EXIT_USAGE;
	}
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = sync_schema_decide(rp, v, accept, &n, err)) != 0) {
		rc = cli_fail(r, err);
	} else {
		printf(accept ? "accepted schema step %u; unpack its bundle "
		    "again to run it\n" : "rejected schema step %u; bundles "
		    "that carry it are refused\n", v);
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}

int
cmd_schema_accept(struct cli *c, struct replica *rp, char **args)
{
	(void)rp;
	return schema_decide(c, args, 1);
}

int
cmd_schema_reject(struct cli *c, struct replica *rp, char **args)
{
	(void)rp;
	return schema_decide(c, args, 0);
}
