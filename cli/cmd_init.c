/* cli/cmd_init.c — mule init DB [--name NAME] */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/commands.h"

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

/* Refuses, before creating anything, a replica or a key file that
 * exist already.  0 or an exit status. */
static int
init_refuse(const char *db, const char *keyfile)
{
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	int r;

	r = replica_open(db, 1, &rp, err);
	replica_close(rp);
	if (r == 0) {
		cli_error("%s is already a mule replica", db);
		return EXIT_FAIL;
	}
	if (r != MULE_ENOTREPLICA && r != MULE_ENOTFOUND)
		return cli_fail(r, err);
	if (access(keyfile, F_OK) == 0) {
		cli_error("key file %s exists already; move it away or use "
		    "--key FILE", keyfile);
		return EXIT_FAIL;
	}
	return 0;
}

int
cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("init");
	char err[MULE_ERRLEN] = "", name[REPLICA_NAME_MAX + 1] = "";
	char fpr[IDENT_FPR_MAX], ks[IDENT_KEYSTRING_MAX];
	struct ident_secret *sec = NULL;
	uint8_t site[SITE_ID_LEN];
	const char *db = c->db, *nameopt = NULL;
	char *keyfile = NULL;
	int ch, r, rc, wrote_key = 0;

	while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		if (ch == 'n')
			nameopt = optarg;
		else
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
	if ((rc = init_refuse(db, keyfile)) != 0)
		goto out;
	randombytes_buf(site, sizeof(site));
	/* The key first: a replica must never exist without its key. */
	if ((r = ident_generate(site, &sec, err)) != 0 ||
	    (r = ident_write_keyfile(sec, keyfile, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	wrote_key = 1;
	if ((r = replica_init(db, name, site, &sec->pub, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	wrote_key = 0;
	ident_keystring(&sec->pub, ks);
	ident_fingerprint(&sec->pub, fpr);
	printf("initialised %s as site '%s'\n", db, name);
	printf("secret key: %s (keep it private; mode 0600)\n", keyfile);
	printf("public key: %s\n", ks);
	printf("fingerprint: %s\n", fpr);
	printf("next: give the public key to your peers; "
	    "then 'mule track --all'\n");
	rc = EXIT_OK;
out:
	if (wrote_key)
		unlink(keyfile);
	ident_secret_free(sec);
	free(keyfile);
	return rc;
}
