/* cli/cmd_unpack.c — mule unpack [--dry-run] PATH... | unpack --mail
 * [PATH...] [--json] [-q]: options; sync_unpack_inputs gathers and applies the
 * bundles; output (cli/print_unpack.c) as each one is done, then the
 * totals. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_unpack.h"
#include "cli/commands.h"

static int
unpack_options(struct unpack_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "mail", no_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("unpack");
	int ch;

	while ((ch = getopt_long(argc, argv, "nqh", opts, NULL)) != -1) {
		if (ch == 'n')
			a->dry = 1;
		else if (ch == 'm')
			a->mail = 1;
		else if (ch == 'j')
			a->json = 1;
		else if (ch == 'q')
			a->quiet = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (optind == argc && !a->mail)
		return cli_usage(cmd);
	return -1;
}

int
cmd_unpack(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	struct sync_inputs_result res;
	struct sync_inputs_opts o;
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	struct unpack_args a;
	int r, rc;

	memset(&a, 0, sizeof(a));
	strb_init(&a.failed);
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	if ((rc = unpack_options(&a, argc, argv)) >= 0)
		return rc;
	if ((rc = cli_open(c, 0, &rp)) != 0 ||
	    (rc = cli_load_secret(c, &sec)) != 0)
		goto out;
	o.me = sec;
	o.db = c->db;
	o.operands = argv + optind;
	o.noperands = (size_t)(argc - optind);
	o.mail = a.mail;
	o.dry = a.dry;
	o.progress = cli_progress_cb;
	o.event = unpack_event;
	o.note = unpack_note;
	o.arg = &a;
	r = sync_unpack_inputs(rp, &o, &res, err);
	cli_progress_done();
	rc = r != 0 ? cli_fail(r, err) : a.worst;
	rc = unpack_totals(&a, &res, r == 0, rc);
out:
	strb_release(&a.failed);
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
