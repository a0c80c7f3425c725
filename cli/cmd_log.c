/* cli/cmd_log.c — mule log [-n N] [--peer NAME] [--reverse] [--json]:
 * bundles sent and received, newest first. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

/* What the options ask for. */
struct log_args {
	long long limit;	/* -n: 0 for all */
	const char *peer;	/* --peer */
	int reverse;		/* --reverse: oldest first */
};

/* -1 to go on, or the exit status (help shown, or a usage error). */
static int
log_options(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
    struct log_args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "peer", required_argument, NULL, 'p' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			a->limit = strtoll(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    a->limit < 1) {
				cli_error("-n takes a number of bundles, 1 or "
				    "more, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			a->peer = optarg;
			break;
		case 'r':
			a->reverse = 1;
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
	if (optind != argc)
		return cli_usage(cmd);
	return -1;
}

static void
print_json(const struct replica_logent *v, size_t n)
{
	size_t i;

	printf("[");
	for (i = 0; i < n; i++) {
		printf("%s{\"dir\":\"%s\",\"peer\":", i ? "," : "", v[i].dir);
		json_str(stdout, v[i].peer);
		printf(",\"seq\":%lld,\"bundle\":\"", (long long)v[i].seq);
		print_hex(stdout, v[i].bundle, 16);
		printf("\",\"file\":");
		json_str(stdout, v[i].file);
		printf(",\"summary\":");
		json_str(stdout, v[i].summary);
		printf(",\"at\":");
		json_str(stdout, v[i].at);
		printf("}");
	}
	printf("]\n");
}

/* --peer NAME with nothing logged: 0 if NAME is a peer, else the
 * peer's own error ("no peer 'x'; did you mean ...") and its status. */
static int
check_peer(struct replica *rp, const char *peer)
{
	char err[MULE_ERRLEN] = "";
	struct replica_peer p;
	int r;

	if ((r = replica_peer_get(rp, peer, &p, err)) != 0)
		return cli_fail(r, err);
	return 0;
}

int
cmd_log(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("log");
	char err[MULE_ERRLEN] = "";
	struct replica_logent *v = NULL;
	struct replica *rp = NULL;
	struct log_args a;
	size_t i, n = 0;
	int r, rc;

	memset(&a, 0, sizeof(a));
	if ((rc = log_options(c, cmd, argc, argv, &a)) >= 0)
		return rc;
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	/* JSON keeps the order the log grew in; people see the newest
	 * first (docs/decisions.md). */
	if ((r = replica_log_query(rp, a.peer, a.limit, c->json || a.reverse,
	    &v, &n, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (n == 0 && a.peer != NULL && (rc = check_peer(rp, a.peer)) != 0)
		goto out;
	if (c->json)
		print_json(v, n);
	for (i = 0; !c->json && i < n; i++) {
		printf("%s  %-5s %-12s #%-4lld ", v[i].at, v[i].dir,
		    v[i].peer, (long long)v[i].seq);
		cli_puts(stdout, v[i].summary, 1);
		printf("  (%s)\n", v[i].file);
	}
	if (!c->json && n == 0 && a.peer != NULL)
		printf("no bundles sent to or received from %s yet\n",
		    a.peer);
	else if (!c->json && n == 0)
		printf("no bundles sent or received yet\n");
	rc = EXIT_OK;
out:
	free(v);
	replica_close(rp);
	return rc;
}
