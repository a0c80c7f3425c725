/* cli/cmd_peer.c — mule peer add NAME KEY | list | remove NAME | set ... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static int
peer_add(struct replica *rp, const char *name, const char *key)
{
	char err[MULE_ERRLEN] = "", fpr[IDENT_FPR_MAX];
	struct ident_pub pub;
	int r;

	if ((r = ident_parse_keystring(key, &pub, err)) != 0)
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

static int
peer_list(struct cli *c, struct replica *rp)
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

/* peer remove NAME */
static int
peer_remove(struct replica *rp, const char *name)
{
	char err[MULE_ERRLEN] = "";
	int r;

	if ((r = replica_peer_remove(rp, name, err)) != 0)
		return cli_fail(r, err);
	printf("removed peer '%s'; bundles it signs are now refused\n",
	    name);
	return EXIT_OK;
}

/* peer set NAME KEY [VALUE]: email, schema (no VALUE: cleared). */
static int
peer_set(struct replica *rp, const char *name, const char *key,
    const char *value)
{
	char err[MULE_ERRLEN] = "";
	int r;

	if (strcmp(key, "email") != 0 && strcmp(key, "schema") != 0) {
		cli_error("unknown peer setting '%s' (known: email, schema)",
		    key);
		return EXIT_USAGE;
	}
	if (strcmp(key, "schema") == 0 && value != NULL &&
	    strcmp(value, "separate") != 0 && strcmp(value, "shared") != 0) {
		cli_error("peer setting schema is 'separate' or 'shared', not "
		    "'%s'", value);
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

/* Options, before the verb (stop) or after it.  -1 or an exit status. */
static int
peer_options(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, int stop)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, stop ? "+h" : "h", opts,
	    NULL)) != -1) {
		if (ch == 'j')
			c->json = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	return -1;
}

int
cmd_peer(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("peer");
	struct replica *rp = NULL;
	const char *verb;
	int rc;

	if ((rc = peer_options(c, cmd, argc, argv, 1)) >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage(cmd);
	verb = argv[optind++];
	/* Options may also follow the verb ("peer list --json"). */
	if ((rc = peer_options(c, cmd, argc, argv, 0)) >= 0)
		return rc;
	argc -= optind;
	argv += optind;
	if (!((strcmp(verb, "add") == 0 && argc == 2) ||
	    (strcmp(verb, "list") == 0 && argc == 0) ||
	    (strcmp(verb, "remove") == 0 && argc == 1) ||
	    (strcmp(verb, "set") == 0 && (argc == 3 || argc == 2))))
		return cli_usage(cmd);
	if ((rc = cli_open(c, strcmp(verb, "list") == 0, &rp)) != 0)
		return rc;
	if (strcmp(verb, "add") == 0)
		rc = peer_add(rp, argv[0], argv[1]);
	else if (strcmp(verb, "list") == 0)
		rc = peer_list(c, rp);
	else if (strcmp(verb, "remove") == 0)
		rc = peer_remove(rp, argv[0]);
	else
		rc = peer_set(rp, argv[0], argv[1], argc == 3 ? argv[2] : NULL);
	replica_close(rp);
	return rc;
}
