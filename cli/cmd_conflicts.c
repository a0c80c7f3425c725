/* cli/cmd_conflicts.c — mule conflicts [--json]: values that lost. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "replica/schema.h"

/* The name of a site id: ours, a peer's, or its hex. */
static void
site_name(struct replica *rp, const uint8_t id[SITE_ID_LEN], char *out,
    size_t n)
{
	struct replica_peer *v = NULL;
	struct replica_site site;
	size_t i, np = 0;

	if (replica_site(rp, &site, NULL) == 0 &&
	    memcmp(site.id, id, SITE_ID_LEN) == 0) {
		snprintf(out, n, "%s", site.name);
		return;
	}
	if (replica_peer_list(rp, &v, &np, NULL) == 0) {
		for (i = 0; i < np; i++) {
			if (v[i].has_site &&
			    memcmp(v[i].site_id, id, SITE_ID_LEN) == 0) {
				snprintf(out, n, "%s", v[i].name);
				free(v);
				return;
			}
		}
	}
	free(v);
	for (i = 0; i < 8 && 2 * i + 2 < n; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* mule conflicts resolve ID --keep local|remote|VALUE */
static int
conflicts_resolve(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[MULE_ERRLEN] = "", *end;
	struct replica_scan_stats scan;
	struct replica_schema_sync ss;
	struct replica *rp = NULL;
	const char *keep = NULL, *value = NULL;
	long long id;
	int ch, r, rc;

	memset(&scan, 0, sizeof(scan));
	memset(&ss, 0, sizeof(ss));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			keep = optarg;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if (optind + 1 != argc || keep == NULL)
		return cli_usage(cmd);
	id = strtoll(argv[optind], &end, 10);
	if (*end != '\0' || id <= 0) {
		cli_error("'%s' is not a conflict number (see 'mule "
		    "conflicts')", argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(keep, "local") != 0 && strcmp(keep, "remote") != 0) {
		value = keep;
		keep = NULL;
	}
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	/* Earlier edits first, then the resolution as a change of its own. */
	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_schema_sync(rp, &ss, err)) != 0 ||
	    (r = replica_scan(rp, 0, &scan, cli_progress_cb, NULL, err)) != 0 ||
	    (r = replica_conflict_resolve(rp, id, keep, value, err)) != 0)
		goto fail;
	replica_scan_stats_release(&scan);
	if ((r = replica_scan(rp, 0, &scan, cli_progress_cb, NULL, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0)
		goto fail;
	cli_progress_done();
	printf("conflict #%lld resolved: kept %s%s%s; it goes to peers with "
	    "the next pack\n", id, value != NULL ? "'" : "",
	    value != NULL ? value : keep, value != NULL ? "'" : "");
	rc = EXIT_OK;
	goto out;
fail:
	cli_progress_done();
	replica_rollback(rp);
	rc = cli_fail(r, err);
out:
	replica_scan_stats_release(&scan);
	replica_schema_sync_release(&ss);
	replica_close(rp);
	return rc;
}

int
cmd_conflicts(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("conflicts");
	char err[MULE_ERRLEN] = "", ln[80], rn[80];
	struct replica_conflict *v = NULL;
	struct replica *rp = NULL;
	size_t i, n = 0;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 1, 1)) >= 0)
		return rc;
	if (optind < argc && strcmp(argv[optind], "resolve") == 0) {
		argv[optind] = "conflicts resolve";
		argc -= optind;
		argv += optind;
		optind = 0;	/* restart getopt on the sub-command */
		return conflicts_resolve(c, cmd, argc, argv);
	}
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((r = replica_conflicts(rp, &v, &n, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (c->json)
		printf("[");
	for (i = 0; i < n; i++) {
		site_name(rp, v[i].local_st.origin, ln, sizeof(ln));
		site_name(rp, v[i].remote_st.origin, rn, sizeof(rn));
		if (c->json) {
			printf("%s{\"id\":%lld,\"table\":", i ? "," : "",
			    (long long)v[i].id);
			json_str(stdout, v[i].table);
			printf(",\"key\":");
			json_str(stdout, v[i].pk);
			printf(",\"column\":");
			json_str(stdout, v[i].col);
			printf(",\"local\":");
			json_str(stdout, v[i].local);
			printf(",\"local_stamp\":[%llu,",
			    (unsigned long long)v[i].local_st.lamport);
			json_str(stdout, ln);
			printf("],\"remote\":");
			json_str(stdout, v[i].remote);
			printf(",\"remote_stamp\":[%llu,",
			    (unsigned long long)v[i].remote_st.lamport);
			json_str(stdout, rn);
			printf("],\"winner\":\"%s\",\"kind\":\"%s\"}",
			    v[i].winner, replica_conflict_kind_name(v[i].kind));
		} else {
			int rw = strcmp(v[i].winner, "remote") == 0;
			printf("#%lld %s (%s) column %s: %s\n",
			    (long long)v[i].id, v[i].table, v[i].pk, v[i].col,
			    replica_conflict_kind_name(v[i].kind));
			printf("    kept  %s  (%s edit, stamp %llu@%s)\n",
			    rw ? v[i].remote : v[i].local,
			    rw ? "remote" : "local",
			    (unsigned long long)(rw ? v[i].remote_st.lamport :
			    v[i].local_st.lamport), rw ? rn : ln);
			printf("    lost  %s  (%s edit, stamp %llu@%s)\n",
			    rw ? v[i].local : v[i].remote,
			    rw ? "local" : "remote",
			    (unsigned long long)(rw ? v[i].local_st.lamport :
			    v[i].remote_st.lamport), rw ? ln : rn);
		}
	}
	if (c->json)
		printf("]\n");
	else if (n == 0)
		printf("no conflicts\n");
	rc = EXIT_OK;
out:
	replica_conflicts_free(v, n);
	replica_close(rp);
	return rc;
}
