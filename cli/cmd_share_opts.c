/* cli/cmd_share_opts.c — the options of mule share, parsed and checked
 * (see cmd_share.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_share.h"

#define SHARE_MAX_COLS 2000	/* names in one --columns / --exclude */

/* Splits "a,b" into names (heap copy in *buf); refuses empty names. */
static int
split_cols(const char *opt, const char *list, char **buf, char ***out,
    size_t *n)
{
	char *tok, *save = NULL, **v;

	*n = 0;
	if ((*buf = strdup(list)) == NULL ||
	    (*out = calloc(SHARE_MAX_COLS, sizeof(char *))) == NULL) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	v = *out;
	if (*list == '\0' || list[strlen(list) - 1] == ',' || *list == ',' ||
	    strstr(list, ",,") != NULL) {
		cli_error("%s: '%s' has an empty column name (write "
		    "a,b,c)", opt, list);
		return EXIT_USAGE;
	}
	for (tok = strtok_r(*buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (*n == SHARE_MAX_COLS) {
			cli_error("%s: more than %d columns", opt,
			    SHARE_MAX_COLS);
			return EXIT_USAGE;
		}
		v[(*n)++] = tok;
	}
	return 0;
}

int
share_options(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, struct share_args *a)
{
	static const struct option opts[] = {
		{ "where", required_argument, NULL, 'w' },
		{ "columns", required_argument, NULL, 'c' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "list", no_argument, NULL, 'l' },
		{ "reset", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			a->where = optarg;
			break;
		case 'c':
		case 'x':
			if (a->colopt != NULL) {
				cli_error("--columns and --exclude: give one "
				    "of them, once");
				return EXIT_USAGE;
			}
			a->colopt = optarg;
			a->colmode = ch == 'c' ? REPLICA_COLS_ONLY :
			    REPLICA_COLS_EXCEPT;
			break;
		case 'l':
			a->list = 1;
			break;
		case 'R':
			a->reset = 1;
			break;
		case 'j':
			c->json = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if ((a->list || a->reset) && (optind != argc - 1 || a->where != NULL ||
	    a->colopt != NULL || (a->list && a->reset)))
		return cli_usage(cmd);
	if (!a->list && !a->reset && optind != argc - 2)
		return cli_usage(cmd);
	if (c->json && !a->list)
		return cli_usage(cmd);
	if (a->colopt != NULL && (rc = split_cols(a->colmode ==
	    REPLICA_COLS_ONLY ? "--columns" : "--exclude", a->colopt,
	    &a->buf, &a->cols, &a->ncols)) != 0)
		return rc;
	return -1;
}

void
share_args_release(struct share_args *a)
{
	free(a->cols);
	free(a->buf);
	a->cols = NULL;
	a->buf = NULL;
	a->ncols = 0;
}
