/* cli/cmd_peer.c — mule peer add NAME KEY|FILE|- | list | remove NAME |
 * set ...:
 * the dispatcher (the sub-commands are in cli/cmd_peer_*.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_peer.h"
#include "cli/commands.h"

static const struct peer_sub {
	const char *name;
	int min, max;		/* operands after the verb */
	int ro;			/* the replica opened read-only */
	int (*run)(struct cli *c, struct replica *rp, char **args,
	    const struct peer_opts *po);
} peer_subs[] = {
	{ "add", 2, 2, 0, cmd_peer_add },
	{ "list", 0, 0, 1, cmd_peer_list },
	{ "remove", 1, 1, 0, cmd_peer_remove },
	{ "set", 2, 3, 0, cmd_peer_set },
};

/* Options, before the verb (stop) or after it.  -1 or an exit status. */
static int
peer_options(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, int stop, struct peer_opts *po)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, stop ? "+hy" : "hy", opts,
	    NULL)) != -1) {
		if (ch == 'j')
			c->json = 1;
		else if (ch == 'y')
			po->yes = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	return -1;
}

int
cmd_peer(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("peer");
	const struct peer_sub *sub = NULL;
	struct peer_opts po = { 0 };
	struct replica *rp = NULL;
	char *args[3] = { NULL, NULL, NULL };
	const char *verb;
	size_t i;
	int rc;

	if ((rc = peer_options(c, cmd, argc, argv, 1, &po)) >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage(cmd);
	verb = argv[optind++];
	/* Options may also follow the verb ("peer list --json"). */
	if ((rc = peer_options(c, cmd, argc, argv, 0, &po)) >= 0)
		return rc;
	argc -= optind;
	argv += optind;
	for (i = 0; i < sizeof(peer_subs) / sizeof(peer_subs[0]); i++)
		if (strcmp(verb, peer_subs[i].name) == 0)
			sub = &peer_subs[i];
	if (sub == NULL || argc < sub->min || argc > sub->max)
		return cli_usage(cmd);
	for (i = 0; i < (size_t)argc; i++)
		args[i] = argv[i];
	if ((rc = cli_open(c, sub->ro, &rp)) != 0)
		return rc;
	rc = sub->run(c, rp, args, &po);
	replica_close(rp);
	return rc;
}
