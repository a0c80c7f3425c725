/* cli/cmd_pack_opts.c — the options of mule pack, parsed and checked
 * against each other (see cmd_pack.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cmd_pack.h"
#include "transports/media.h"

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Numbers: --volume-size and --parity.  -1 or a usage status. */
static int
pack_number(int ch, const char *arg, struct pack_args *a)
{
	char *end;

	if (ch == 'v' && xport_size_parse(arg, &a->volume) != 0) {
		cli_error("--volume-size: '%s' is not a size (examples: 1440k, "
		    "1.44M, 650M, 4G)", arg);
		return EXIT_USAGE;
	}
	if (ch == 'p') {
		a->parity = strtoul(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || a->parity > 200) {
			cli_error("--parity: '%s' is not a number of parity "
			    "parts (0 to 200)", arg);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Options that exclude each other.  -1 or a usage status. */
static int
pack_check(const struct pack_args *a)
{
	const char *msg = NULL;

	if (a->mail && a->eml != NULL)
		msg = "--mail sends the messages, --eml DIR writes them: "
		    "choose one";
	else if ((a->mail || a->eml != NULL) && (a->volume > 0 ||
	    a->iso != NULL || a->out != NULL))
		msg = "--mail and --eml split bundles by mail.max-size "
		    "themselves: no -o, --volume-size or --iso with them";
	else if (a->full && a->resend)
		msg = "--full sends everything, --resend what the peers have "
		    "not acknowledged: choose one";
	else if (a->parity > 0 && a->volume == 0)
		msg = "--parity needs --volume-size (parity parts repair lost "
		    "parts)";
	if (msg != NULL)
		cli_error("%s", msg);
	else if (a->eml != NULL && !is_dir(a->eml))
		cli_error("--eml: %s is not a directory", a->eml);
	else if (a->volume > 0 && a->out != NULL && !is_dir(a->out))
		cli_error("with --volume-size, -o names a directory for the "
		    "parts: %s is not one", a->out);
	else
		return -1;
	return EXIT_USAGE;
}

int
pack_options(const struct cli_cmd *cmd, int argc, char **argv,
    struct pack_args *a)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "full", no_argument, NULL, 'f' },
		{ "resend", no_argument, NULL, 'R' },
		{ "force", no_argument, NULL, 'F' },
		{ "no-encrypt", no_argument, NULL, 'N' },
		{ "volume-size", required_argument, NULL, 'v' },
		{ "parity", required_argument, NULL, 'p' },
		{ "iso", required_argument, NULL, 'i' },
		{ "mail", no_argument, NULL, 'm' },
		{ "eml", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc;

	a->encrypt = 1;
	while ((ch = getopt_long(argc, argv, "t:o:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 't': a->tolist = optarg; break;
		case 'o': a->out = optarg; break;
		case 'f': a->full = 1; break;
		case 'R': a->resend = 1; break;
		case 'F': a->force = 1; break;
		case 'N': a->encrypt = 0; break;
		case 'i': a->iso = optarg; break;
		case 'm': a->mail = 1; break;
		case 'e': a->eml = optarg; break;
		case 'j': a->json = 1; break;
		case 'q': a->quiet = 1; break;
		case 'v':
		case 'p':
			if ((rc = pack_number(ch, optarg, a)) >= 0)
				return rc;
			break;
		case 'h': return cli_help(cmd);
		default: return cli_usage(cmd);
		}
	}
	if (optind != argc || a->tolist == NULL)
		return cli_usage(cmd);
	return pack_check(a);
}

int
pack_names(char *list, const char **names, size_t *n)
{
	char *tok, *save = NULL;
	size_t i;

	*n = 0;
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < *n && strcmp(names[i], tok) != 0; i++)
			;
		if (i < *n)
			continue;
		if (*n >= SYNC_MAX_PEERS) {
			cli_error("too many recipients (at most %d)",
			    SYNC_MAX_PEERS);
			return EXIT_USAGE;
		}
		names[(*n)++] = tok;
	}
	if (*n == 0) {
		cli_error("--to needs at least one peer name");
		return EXIT_USAGE;
	}
	return -1;
}
