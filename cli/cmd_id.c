/* cli/cmd_id.c — mule id [--json] [--qr[=FILE.png]] [--export FILE]
 * [--passphrase[=FILE] | --no-passphrase] */
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/passphrase.h"
#include "cli/qr.h"

/* What 'mule id' was asked to do besides printing the identity. */
struct id_opts {
	int qr;			/* --qr: draw the key string */
	const char *png;	/* --qr=FILE.png */
	const char *export;	/* --export FILE */
	int protect;		/* --passphrase: 1, --no-passphrase: -1 */
	const char *passfile;	/* --passphrase=FILE */
};

/* Options.  -1 to go on, or the exit status. */
static int
id_options(struct cli *c, int argc, char **argv, struct id_opts *o)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "qr", optional_argument, NULL, 'q' },
		{ "export", required_argument, NULL, 'e' },
		{ "passphrase", optional_argument, NULL, 'P' },
		{ "no-passphrase", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("id");
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'j')
			c->json = 1;
		else if (ch == 'q' && optarg != NULL)
			o->png = optarg;
		else if (ch == 'q')
			o->qr = 1;
		else if (ch == 'e')
			o->export = optarg;
		else if (ch == 'P' || ch == 'N') {
			if (o->protect != 0)
				return cli_usage(cmd);
			o->protect = ch == 'P' ? 1 : -1;
			o->passfile = optarg;
		} else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	/* One thing at a time. */
	if (optind != argc || c->json + (o->qr || o->png != NULL) +
	    (o->export != NULL) + (o->protect != 0) > 1)
		return cli_usage(cmd);
	return -1;
}

/* --passphrase / --no-passphrase: the key file written again. */
static int
id_protect(struct cli *c, const struct ident_secret *sec,
    const struct id_opts *o)
{
	char err[MULE_ERRLEN] = "", *path = NULL, *pass = NULL;
	int r, rc = EXIT_FAIL;

	if ((path = cli_keyfile(c, c->db)) == NULL ||
	    (pass = sodium_malloc(IDENT_PASS_MAX + 1)) == NULL) {
		rc = cli_fail(MULE_ENOMEM, NULL);
		goto out;
	}
	pass[0] = '\0';
	if ((o->protect > 0 && (r = cli_pass_new(o->passfile, path, pass,
	    IDENT_PASS_MAX + 1, err)) != 0) ||
	    (r = ident_write_keyfile_pass(sec, path, pass, 1, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (o->protect > 0)
		printf("key file %s is now protected by the passphrase; "
		    "unattended runs read it from MULE_PASSPHRASE_FILE\n", path);
	else
		printf("key file %s is no longer protected by a passphrase "
		    "(it stays mode 0600)\n", path);
	rc = EXIT_OK;
out:
	if (pass != NULL)
		sodium_free(pass);
	free(path);
	return rc;
}

/* --export FILE: a copy of the key file as it is. */
static int
id_export(struct cli *c, const char *dst)
{
	char err[MULE_ERRLEN] = "", *path;
	int r;

	if ((path = cli_keyfile(c, c->db)) == NULL)
		return cli_fail(MULE_ENOMEM, NULL);
	r = ident_copy_keyfile(path, dst, err);
	if (r == 0)
		printf("copied the secret key %s to %s (mode 0600%s); keep it "
		    "offline; to restore it, copy it back beside the database "
		    "as %s\n", path, dst, ident_keyfile_protected(path,
		    NULL) == 1 ? ", still protected by the passphrase" : "",
		    path);
	free(path);
	return r == 0 ? EXIT_OK : cli_fail(r, err);
}

/* --qr, --qr=FILE.png */
static int
id_qr(const struct id_opts *o, const char *ks)
{
	char err[MULE_ERRLEN] = "";
	const char *cs;
	int r;

	if (o->png != NULL) {
		if ((r = qr_write_png(o->png, ks, err)) != 0)
			return cli_fail(r, err);
		printf("wrote the key string's QR code to %s\n", o->png);
		return EXIT_OK;
	}
	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	if ((r = qr_print(stdout, ks, cs != NULL && strcmp(cs, "UTF-8") == 0,
	    err)) != 0)
		return cli_fail(r, err);
	return EXIT_OK;
}

static void
id_print(struct cli *c, const struct replica_site *site, const char *ks)
{
	char fpr[IDENT_FPR_MAX];

	ident_fingerprint(&site->pub, fpr);
	if (c->json) {
		printf("{\"name\":");
		json_str(stdout, site->name);
		printf(",\"site_id\":\"");
		print_hex(stdout, site->id, sizeof(site->id));
		printf("\",\"key\":\"%s\",\"fingerprint\":\"%s\"}\n", ks, fpr);
		return;
	}
	printf("name:        %s\n", site->name);
	printf("site id:     ");
	print_hex(stdout, site->id, sizeof(site->id));
	printf("\npublic key:  %s\n", ks);
	printf("fingerprint: %s\n", fpr);
}

int
cmd_id(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "", ks[IDENT_KEYSTRING_MAX];
	struct replica_site site;
	struct replica *rp = NULL;
	struct ident_secret *sec = NULL;
	struct id_opts o;
	int r, rc;

	memset(&o, 0, sizeof(o));
	if ((rc = id_options(c, argc, argv, &o)) >= 0)
		return rc;
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((r = replica_site(rp, &site, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	/* The key must be there, private, and ours. */
	if ((rc = cli_load_secret(c, &sec)) != 0)
		goto out;
	if (memcmp(&sec->pub, &site.pub, sizeof(site.pub)) != 0) {
		cli_error("the key file does not belong to this database "
		    "(its key id differs); use --key FILE to name the right one");
		rc = EXIT_FAIL;
		goto out;
	}
	ident_keystring(&site.pub, ks);
	if (o.protect != 0)
		rc = id_protect(c, sec, &o);
	else if (o.export != NULL)
		rc = id_export(c, o.export);
	else if (o.qr || o.png != NULL)
		rc = id_qr(&o, ks);
	else {
		id_print(c, &site, ks);
		rc = EXIT_OK;
	}
out:
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
