/* cli/cmd_peer_list.c — mule peer list [--json]: the trusted peers. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cmd_peer.h"

int
cmd_peer_list(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po)
{
	char err[MULE_ERRLEN] = "", fpr[IDENT_FPR_MAX];
	char ks[IDENT_KEYSTRING_MAX];
	struct replica_peer *v = NULL;
	char *email = NULL;
	size_t i, n = 0;
	int r;

	if ((r = replica_peer_list(rp, &v, &n, err)) != 0)
		return cli_fail(r, err);
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		ident_fingerprint(&v[i].pub, fpr);
		ident_keystring(&v[i].pub, ks);
		email = NULL;
		(void)replica_peer_prop(rp, v[i].name, "email", &email, NULL);
		if (c->json) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, v[i].name);
			printf(",\"key\":\"%s\",\"fingerprint\":\"%s\"", ks,
			    fpr);
			if (email != NULL) {
				printf(",\"email\":");
				json_str(stdout, email);
			}
			printf("}");
		} else {
			printf("%-16s %s%s%s\n", v[i].name, fpr,
			    email ? "  " : "", email ? email : "");
		}
		free(email);
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("no peers yet; add one with: mule peer add NAME KEY\n");
	free(v);
	return EXIT_OK;
}
