/* cli/main.c — `mule [-d DB] [--key FILE] COMMAND [ARGS]`: dispatch. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"

#ifndef MULE_MANDIR
#define MULE_MANDIR "/usr/local/share/man"
#endif

/* How to read the manual: 'man mule' once `make install` put the page
 * where it looks; before that, the page in the source tree. */
static const char *
man_page(void)
{
	if (access(MULE_MANDIR "/man1/mule.1", R_OK) == 0)
		return "'man mule'";
	return "'man ./man/mule.1' (in the source tree; 'make install' "
	    "installs it)";
}

static void
main_usage(FILE *f)
{
	int i;

	fprintf(f, "usage: mule [-d DB] [--key FILE] COMMAND [ARGS]\n"
	    "       mule --help | --version\n\ncommands:\n");
	for (i = 0; cli_commands[i].name != NULL; i++)
		fprintf(f, "  %s\n", cli_commands[i].usage);
	fprintf(f, "\nThe database comes from -d DB or $MULE_DB (global "
	    "options go before the\ncommand).  'mule help COMMAND' or 'mule "
	    "COMMAND --help' tells more;\n%s tells all.\n", man_page());
}

/* Edit distance of a and b, capped at 3 (small words only). */
static int
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int d[32][32];

	if (la >= 32 || lb >= 32)
		return 3;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;

			d[i][j] = sub < del ? (sub < ins ? sub : ins) :
			    (del < ins ? del : ins);
		}
	return d[la][lb] < 3 ? d[la][lb] : 3;
}

/* An unknown command: the closest known one, if any is close. */
static int
unknown_command(const char *name)
{
	const char *best = NULL;
	int i, d, bestd = 3;

	for (i = 0; cli_commands[i].name != NULL; i++) {
		d = distance(name, cli_commands[i].name);
		if (strncmp(cli_commands[i].name, name, strlen(name)) == 0 &&
		    strlen(name) >= 2)
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = cli_commands[i].name;
		}
	}
	if (best != NULL)
		cli_error("unknown command '%s'; did you mean '%s'?", name,
		    best);
	else
		cli_error("unknown command '%s' ('mule --help' lists them)",
		    name);
	return EXIT_USAGE;
}

/*
 * -d DB and --key FILE belong before the command; no command has options
 * of those names (but clone's --key, the new site's key file), so after
 * it they are a mistake worth naming.
 */
static int
misplaced_global(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-d") == 0 || strncmp(argv[i], "-d", 2) ==
		    0 || strncmp(argv[i], "--db", 4) == 0 ||
		    (strncmp(argv[i], "--key", 5) == 0 &&
		    strcmp(argv[0], "clone") != 0)) {
			cli_error("'%s' is an option of mule itself: global "
			    "options go before the command (mule -d DB %s "
			    "...)", argv[i], argv[0]);
			return 1;
		}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd;
	struct cli c;
	int ch;

	memset(&c, 0, sizeof(c));
	/*
	 * Blocks of 128 KiB and more are mapped and unmapped on their own.
	 * By default glibc raises that threshold to the size of each such
	 * block freed, after which the next ones come from the heap, which
	 * keeps what it grew to: the peak memory of a full apply of 1M rows
	 * went from 24 to 32 MiB with nothing but the order of allocations
	 * changed (docs/decisions.md).
	 */
#ifdef M_MMAP_THRESHOLD
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
	c.db = getenv("MULE_DB");
	c.db_from_env = c.db != NULL;
	/* Testing: fold the state overlay at this many rows (state.md). */
	if (getenv("MULE_FOLD_ROWS") != NULL)
		replica_set_fold_rows(strtoll(getenv("MULE_FOLD_ROWS"), NULL,
		    10));
	if (ident_lib_init() != 0) {
		cli_error("cannot initialise libsodium");
		return EXIT_FAIL;
	}
	while ((ch = getopt_long(argc, argv, "+d:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			c.db = optarg;
			c.db_from_env = 0;
			break;
		case 'k':
			c.keyfile = optarg;
			break;
		case 'h':
			main_usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("mule %s\n", MULE_VERSION);
			return EXIT_OK;
		default:
			main_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	/* mule help [COMMAND]: the same as --help. */
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			main_usage(stdout);
			return EXIT_OK;
		}
		if ((cmd = cli_find(argv[optind + 1])) == NULL)
			return unknown_command(argv[optind + 1]);
		return cli_help(cmd);
	}
	/* Hidden: what completion/mule.bash offers. */
	if (strcmp(argv[optind], "__complete") == 0)
		return cmd_complete(&c, argc - optind, argv + optind);
	if ((cmd = cli_find(argv[optind])) == NULL)
		return unknown_command(argv[optind]);
	argc -= optind;
	argv += optind;
	if (misplaced_global(argc, argv))
		return EXIT_USAGE;
	optind = 0;	/* getopt_long restarts for the command */
	return cmd->run(&c, argc, argv);
}
