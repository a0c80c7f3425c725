/* cli/cmd_init.c — mule init DB [--name NAME]: the name, sync_init,
 * output. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/passphrase.h"
#include "cli/commands.h"
#include "sync/local.h"

/* Default site name: the database file name without its extension. */
static void
default_name(const char *db, char *out, size_t n)
{
	char *copy = strdup(db), *base, *dot;
	size_t i;

	base = copy != NULL ? basename(copy) : "site";
	if ((dot = strrchr(base, '.')) != NULL && dot != base)
		*dot = '\0';
	snprintf(out, n, "%s", base);
	for (i = 0; out[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", out[i]) == NULL)
			out[i] = '-';
	free(copy);
}

/* The site's name: --name NAME, or one made from the file name.
 * -1 to go on, or a usage status. */
static int
init_name(const char *db, const char *nameopt, char *name, size_t size)
{
	char err[MULE_ERRLEN] = "";

	if (nameopt != NULL)
		snprintf(name, size, "%s", nameopt);
	else
		default_name(db, name, size);
	if (nameopt != NULL && strlen(nameopt) > REPLICA_NAME_MAX) {
		cli_error("name '%s' is longer than %d characters", nameopt,
		    REPLICA_NAME_MAX);
		return EXIT_USAGE;
	}
	if (replica_check_name(name, err) != 0) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "passphrase", optional_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("init");
	char err[MULE_ERRLEN] = "", name[REPLICA_NAME_MAX + 1] = "";
	char fpr[IDENT_FPR_MAX], ks[IDENT_KEYSTRING_MAX];
	struct ident_pub pub;
	const char *db = c->db, *nameopt = NULL, *passfile = NULL;
	char *keyfile = NULL, *pass = NULL;
	int ch, r, rc, existed, protect = 0;

	while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		if (ch == 'n')
			nameopt = optarg;
		else if (ch == 'P') {
			protect = 1;
			passfile = optarg;
		} else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (optind < argc)
		db = argv[optind++];
	if (optind != argc || db == NULL)
		return cli_usage(cmd);
	if ((rc = init_name(db, nameopt, name, sizeof(name))) >= 0)
		return rc;
	c->db = db;
	if ((keyfile = cli_keyfile(c, db)) == NULL)
		return cli_fail(MULE_ENOMEM, NULL);
	existed = access(db, F_OK) == 0;
	if (protect && ((pass = sodium_malloc(IDENT_PASS_MAX + 1)) == NULL ||
	    (r = cli_pass_new(passfile, keyfile, pass, IDENT_PASS_MAX + 1,
	    err)) != 0)) {
		rc = cli_fail(pass == NULL ? MULE_ENOMEM : r, err);
		goto out;
	}
	if ((r = sync_init(db, name, keyfile, pass, &pub, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	ident_keystring(&pub, ks);
	ident_fingerprint(&pub, fpr);
	if (!existed)
		printf("%s did not exist: made a new, empty database (check "
		    "the path if you meant an existing one)\n", db);
	printf("initialised %s as site '%s'\n", db, name);
	printf("secret key: %s (keep it private; mode 0600%s)\n", keyfile,
	    protect ? ", protected by the passphrase" : "");
	printf("public key: %s\n", ks);
	printf("fingerprint: %s\n", fpr);
	printf("next: give the public key to your peers; "
	    "then 'mule track --all'\n");
	rc = EXIT_OK;
out:
	if (pass != NULL)
		sodium_free(pass);
	free(keyfile);
	return rc;
}
