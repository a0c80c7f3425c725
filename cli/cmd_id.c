/* cli/cmd_id.c — mule id [--json] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

int
cmd_id(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("id");
	char err[MULE_ERRLEN] = "", ks[IDENT_KEYSTRING_MAX];
	char fpr[IDENT_FPR_MAX];
	struct replica_site site;
	struct replica *rp = NULL;
	struct ident_secret *sec = NULL;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 1, 0)) >= 0)
		return rc;
	if (optind != argc)
		return cli_usage(cmd);
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
	ident_fingerprint(&site.pub, fpr);
	if (c->json) {
		printf("{\"name\":");
		json_str(stdout, site.name);
		printf(",\"site_id\":\"");
		print_hex(stdout, site.id, sizeof(site.id));
		printf("\",\"key\":\"%s\",\"fingerprint\":\"%s\"}\n", ks, fpr);
	} else {
		printf("name:        %s\n", site.name);
		printf("site id:     ");
		print_hex(stdout, site.id, sizeof(site.id));
		printf("\npublic key:  %s\n", ks);
		printf("fingerprint: %s\n", fpr);
	}
	rc = EXIT_OK;
out:
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
