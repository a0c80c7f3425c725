/* cli/cmd_inspect.c — mule inspect PATH [--raw] [--json]: options,
 * sync_inspect, output (cli/print_inspect.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "sync/inspect.h"

/* Options and operand.  -1 to go on, or the exit status. */
static int
inspect_options(struct cli *c, int argc, char **argv, int *raw)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("inspect");
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'r')
			*raw = 1;
		else if (ch == 'j')
			c->json = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (optind + 1 != argc)
		return cli_usage(cmd);
	if (*raw && isatty(STDOUT_FILENO)) {
		cli_error("--raw writes a compressed archive; redirect it: "
		    "mule inspect --raw FILE > inner.tar.zst");
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_inspect(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	struct sync_inspection x;
	int r, rc, raw = 0;

	memset(&x, 0, sizeof(x));
	if ((rc = inspect_options(c, argc, argv, &raw)) >= 0)
		return rc;
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((rc = cli_load_secret(c, &sec)) != 0)
		goto out;
	if ((r = sync_inspect(rp, sec, argv[optind], raw ? STDOUT_FILENO : -1,
	    &x, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (!raw)
		inspect_print(&x, c->json);
	rc = EXIT_OK;
out:
	sync_inspection_release(&x);
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
