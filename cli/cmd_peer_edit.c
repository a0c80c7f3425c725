/* cli/cmd_peer_edit.c — mule peer add NAME KEY | remove NAME |
 * set NAME KEY [VALUE]: the sub-commands that change whom we trust. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_peer.h"
#include "sync/sync.h"

int
cmd_peer_add(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "", fpr[IDENT_FPR_MAX];
	struct ident_pub pub;
	const char *name = args[0];
	int r;

	if ((r = ident_parse_keystring(args[1], &pub, err)) != 0)
		return cli_fail(r, err);
	if ((r = replica_peer_add(rp, name, &pub, err)) != 0)
		return cli_fail(r, err);
	ident_fingerprint(&pub, fpr);
	printf("added peer '%s'\n", name);
	printf("fingerprint: %s\n", fpr);
	printf("compare it with what 'mule id' prints at %s "
	    "(read it aloud over the phone or radio)\n", name);
	return EXIT_OK;
}

/* peer remove NAME */
int
cmd_peer_remove(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	const char *name = args[0];
	int r;

	if ((r = replica_peer_remove(rp, name, err)) != 0)
		return cli_fail(r, err);
	printf("removed peer '%s'; bundles it signs are now refused\n",
	    name);
	return EXIT_OK;
}

/* peer set NAME KEY [VALUE]: email, schema (no VALUE: cleared). */
int
cmd_peer_set(struct cli *c, struct replica *rp, char **args)
{
	char err[MULE_ERRLEN] = "";
	const char *name = args[0], *key = args[1], *value = args[2];
	int r;

	if (strcmp(key, "email") != 0 && strcmp(key, "schema") != 0) {
		cli_error("unknown peer setting '%s' (known: email, schema)",
		    key);
		return EXIT_USAGE;
	}
	if (strcmp(key, "schema") == 0 && value != NULL &&
	    sync_schema_authority_parse(value) < 0) {
		cli_error("peer setting schema is accept, review, refuse or "
		    "separate, not '%s'", value);
		return EXIT_USAGE;
	}
	if ((r = replica_peer_set(rp, name, key, value, err)) != 0)
		return cli_fail(r, err);
	if (value != NULL)
		printf("peer '%s': %s = %s\n", name, key, value);
	else
		printf("peer '%s': %s cleared\n", name, key);
	return EXIT_OK;
}
