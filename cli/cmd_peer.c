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

int
cmd_peer(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("peer");
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	const char *verb;
	int ch, r, rc;

	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c->json = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if (optind >= argc)
		return cli_usage(cmd);
	verb = argv[optind++];
	/* Options may also follow the verb ("peer list --json"). */
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c->json = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	argc -= optind;
	argv += optind;
	if (!((strcmp(verb, "add") == 0 && argc == 2) ||
	    (strcmp(verb, "list") == 0 && argc == 0) ||
	    (strcmp(verb, "remove") == 0 && argc == 1) ||
	    (strcmp(verb, "set") == 0 && (argc == 3 || argc == 2))))
		return cli_usage(cmd);
	if ((rc = cli_open(c, strcmp(verb, "list") == 0, &rp)) != 0)
		return rc;
	if (strcmp(verb, "add") == 0) {
		rc = peer_add(rp, argv[0], argv[1]);
	} else if (strcmp(verb, "list") == 0) {
		rc = peer_list(c, rp);
	} else if (strcmp(verb, "remove") == 0) {
		if ((r = replica_peer_remove(rp, argv[0], err)) != 0) {
			rc = cli_fail(r, err);
		} else {
			printf("removed peer '%s'; bundles it signs are now "
			    "refused\n", argv[0]);
			rc = EXIT_OK;
		}
	} else {
		if (strcmp(argv[1], "email") != 0 &&
		    strcmp(argv[1], "schema") != 0) {
			cli_error("unknown peer setting '%s' (known: email, "
			    "schema)", argv[1]);
			rc = EXIT_USAGE;
		} else if (strcmp(argv[1], "schema") == 0 && argc == 3 &&
		    strcmp(argv[2], "separate") != 0 &&
		    strcmp(argv[2], "shared") != 0) {
			cli_error("peer setting schema is 'separate' or "
			    "'shared', not '%s'", argv[2]);
			rc = EXIT_USAGE;
		} else if ((r = replica_peer_set(rp, argv[0], argv[1],
		    argc == 3 ? argv[2] : NULL, err)) != 0) {
			rc = cli_fail(r, err);
		} else {
			if (argc == 3)
				printf("peer '%s': %s = %s\n", argv[0],
				    argv[1], argv[2]);
			else
				printf("peer '%s': %s cleared\n", argv[0],
				    argv[1]);
			rc = EXIT_OK;
		}
	}
	replica_close(rp);
	return rc;
}
