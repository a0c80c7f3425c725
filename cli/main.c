/* cli/main.c — `mule [-d DB] [--key FILE] COMMAND [ARGS]`: dispatch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static void
main_usage(FILE *f)
{
	int i;

	fprintf(f, "usage: mule [-d DB] [--key FILE] COMMAND [ARGS]\n"
	    "       mule --help | --version\n\ncommands:\n");
	for (i = 0; cli_commands[i].name != NULL; i++)
		fprintf(f, "  %s\n", cli_commands[i].usage);
	fprintf(f, "\nThe database comes from -d DB or $MULE_DB.  "
	    "'mule COMMAND --help' tells more;\n'man mule' tells all.\n");
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
	c.db = getenv("MULE_DB");
	if (ident_lib_init() != 0) {
		cli_error("cannot initialise libsodium");
		return EXIT_FAIL;
	}
	while ((ch = getopt_long(argc, argv, "+d:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			c.db = optarg;
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
	if ((cmd = cli_find(argv[optind])) == NULL) {
		cli_error("unknown command '%s'", argv[optind]);
		main_usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* getopt_long restarts for the command */
	return cmd->run(&c, argc, argv);
}
