/* cli/cmd_config_show.c — mule config [--json] [KEY]: every setting, or
 * one. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/strb.h"

int
cmd_config_list(struct cli *c, struct replica *rp)
{
	char err[MULE_ERRLEN] = "", **k = NULL, **v = NULL;
	size_t i, n = 0;
	int r;

	if ((r = replica_config_list(rp, &k, &v, &n, err)) != 0)
		return cli_fail(r, err);
	if (c->json) {
		json_pairs(stdout, k, v, n);
		printf("\n");
	} else {
		for (i = 0; i < n; i++)
			printf("%s = %s\n", k[i], v[i]);
	}
	if (!c->json && n == 0)
		printf("no settings yet; see 'mule config --help' for the "
		    "keys\n");
	strv_free(k, n);
	strv_free(v, n);
	return EXIT_OK;
}

int
cmd_config_show(struct cli *c, struct replica *rp, const char *key)
{
	char err[MULE_ERRLEN] = "", *val = NULL;
	int r, rc = EXIT_OK;

	if ((r = replica_config_get(rp, key, &val, err)) != 0) {
		rc = cli_fail(r, err);
	} else if (val == NULL) {
		cli_error("%s is not set", key);
		rc = EXIT_FAIL;
	} else if (c->json) {
		json_str(stdout, val);
		printf("\n");
	} else {
		printf("%s\n", val);
	}
	free(val);
	return rc;
}
