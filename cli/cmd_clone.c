/* cli/cmd_clone.c — mule clone SRC DST --name NAME [--key FILE]: options,
 * sync_clone, output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/local.h"

/* What was made, and what to do next. */
static void
clone_print(const char *src, const char *dst, const char *name,
    const char *keyfile, const struct sync_clone_result *res)
{
	char fpr[IDENT_FPR_MAX], ks[IDENT_KEYSTRING_MAX];

	ident_keystring(&res->pub, ks);
	ident_fingerprint(&res->pub, fpr);
	printf("cloned %s (site '%s') into %s as site '%s'\n", src,
	    res->src.name, dst, name);
	printf("secret key: %s (keep it private; mode 0600)\n", keyfile);
	printf("public key: %s\n", ks);
	printf("fingerprint: %s\n", fpr);
	printf("'%s' and '%s' trust each other and know what the other "
	    "holds:\nthe first bundle either way carries only what changed "
	    "since\n", res->src.name, name);
	printf("next: take %s and %s to the new site; exchange with "
	    "'mule -d %s pack --to %s'\n", dst, keyfile, dst, res->src.name);
}

int
cmd_clone(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("clone");
	char err[MULE_ERRLEN] = "";
	struct sync_clone_result res;
	const char *src, *dst, *name = NULL;
	char *keyfile = NULL;
	int ch, r, rc;

	memset(&res, 0, sizeof(res));
	while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		if (ch == 'n')
			name = optarg;
		else if (ch == 'k')
			c->keyfile = optarg;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (argc - optind != 2 || name == NULL)
		return cli_usage(cmd);
	src = argv[optind];
	dst = argv[optind + 1];
	if (replica_check_name(name, err) != 0) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	if ((keyfile = cli_keyfile(c, dst)) == NULL)
		return cli_fail(MULE_ENOMEM, NULL);
	if ((r = sync_clone(src, dst, name, keyfile, &res, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	clone_print(src, dst, name, keyfile, &res);
	rc = EXIT_OK;
out:
	free(keyfile);
	return rc;
}
