/* cli/cmd_inspect.c — mule inspect PATH... [--raw] [--json]: options,
 * sync_inspect for each bundle the paths hold, output
 * (cli/print_inspect.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "sync/inspect.h"

/* The run: what each bundle needs, and the worst outcome so far. */
struct inspect_run {
	struct cli *c;
	struct replica *rp;
	struct ident_secret *sec;
	int raw;
	int rc;			/* EXIT_OK, EXIT_FAIL or EXIT_VERIFY */
	size_t n;		/* bundles (and problems) reported */
};

/* Options and operands.  -1 to go on, or the exit status. */
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
	if (optind >= argc || (*raw && optind + 1 != argc))
		return cli_usage(cmd);
	if (*raw && isatty(STDOUT_FILENO)) {
		cli_error("--raw writes a compressed archive; redirect it: "
		    "mule inspect --raw FILE > inner.tar.zst");
		return EXIT_USAGE;
	}
	return -1;
}

/* EXIT_VERIFY outranks EXIT_FAIL, as for verify. */
static void
inspect_worse(struct inspect_run *v, int code)
{
	int rc = cli_exit_code(code);

	if (rc == EXIT_VERIFY || (rc != EXIT_OK && v->rc == EXIT_OK))
		v->rc = rc;
}

static void
inspect_found(void *arg, const struct sync_found *f)
{
	struct inspect_run *v = arg;
	struct sync_inspection x;
	char err[MULE_ERRLEN] = "";
	int r = f->code;

	memset(&x, 0, sizeof(x));
	if (v->raw && v->n > 0)
		r = mule_errf(err, MULE_EINVAL, "%s: --raw writes one bundle "
		    "and the path holds more; name the bundle", f->label);
	else if (f->path == NULL)
		snprintf(err, sizeof(err), "%s", f->err);
	else if ((r = sync_inspect(v->rp, v->sec, f->path, v->raw ?
	    STDOUT_FILENO : -1, &x, err)) != 0)
		sync_found_relabel(err, f->path, f->label);
	v->n++;
	if (r != 0)
		cli_error("%s", err);
	else if (!v->raw) {
		if (v->n > 1 && !v->c->json)
			printf("\n");
		inspect_print(&x, f->label, v->c->json);
	}
	inspect_worse(v, r);
	sync_inspection_release(&x);
}

int
cmd_inspect(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	struct inspect_run v;
	int r, rc;

	memset(&v, 0, sizeof(v));
	if ((rc = inspect_options(c, argc, argv, &v.raw)) >= 0)
		return rc;
	if ((rc = cli_open(c, 1, &v.rp)) != 0)
		return rc;
	v.c = c;
	if ((rc = cli_load_secret(c, &v.sec)) != 0)
		goto out;
	if ((r = sync_inspect_inputs(v.rp, c->db, argv + optind,
	    (size_t)(argc - optind), inspect_found, &v, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	rc = v.rc;
out:
	ident_secret_free(v.sec);
	replica_close(v.rp);
	return rc;
}
