/* cli/cmd_track.c — mule track TABLE... | --all;  mule untrack TABLE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "replica/schema.h"

/* Tracks one table, printing what happened; 0 or a MULE_E* code. */
static int
track_one(struct replica *rp, const char *name, int quiet_nopk, char *err)
{
	int intkey, already, r;

	r = replica_track(rp, name, &intkey, &already, err);
	if (r == MULE_ENOPK && quiet_nopk) {
		printf("skipped %s: no primary key\n", name);
		return 0;
	}
	if (r != 0)
		return r;
	if (already) {
		printf("%s is tracked already\n", name);
		return 0;
	}
	printf("tracking %s\n", name);
	if (intkey)
		fprintf(stderr, "mule: warning: %s has an integer key; if "
		    "your program assigns it locally (autoincrement), rows "
		    "inserted independently at two sites will collide — the "
		    "collisions are reported in 'mule conflicts'\n", name);
	return 0;
}

int
cmd_track(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("track");
	char err[MULE_ERRLEN] = "", cnt[32];
	struct replica_scan_stats st;
	struct replica_schema_sync ss;
	struct replica *rp = NULL;
	char **names = NULL;
	size_t i, n = 0;
	int ch, r, rc = EXIT_FAIL, all = 0;

	memset(&st, 0, sizeof(st));
	memset(&ss, 0, sizeof(ss));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if ((all && optind != argc) || (!all && optind == argc))
		return cli_usage(cmd);
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	rc = EXIT_FAIL;
	if ((r = replica_begin(rp, err)) != 0)
		goto fail;
	if (all) {
		if ((r = replica_user_tables(rp, &names, &n, err)) != 0)
			goto fail;
		for (i = 0; i < n; i++)
			if ((r = track_one(rp, names[i], 1, err)) != 0)
				goto fail;
		if (n == 0)
			printf("no tables to track yet\n");
	} else {
		for (i = (size_t)optind; i < (size_t)argc; i++)
			if ((r = track_one(rp, argv[i], 0, err)) != 0 ||
			    (r = replica_schema_exclude(rp, argv[i], 0,
			    err)) != 0)
				goto fail;
	}
	/* The tracked set is the schema: version 1, or a new version. */
	if ((all && (r = replica_schema_track_all(rp, err)) != 0) ||
	    (r = replica_schema_sync(rp, &ss, err)) != 0)
		goto fail;
	/* Existing rows become the baseline: one local commit. */
	if ((r = replica_scan(rp, 0, &st, cli_progress_cb, NULL, err)) != 0)
		goto fail;
	cli_progress_done();
	if ((r = replica_commit(rp, err)) != 0)
		goto fail;
	if (st.inserted > 0)
		printf("recorded %s existing rows as the baseline\n",
		    fmt_count(st.inserted, cnt));
	rc = EXIT_OK;
	goto out;
fail:
	cli_progress_done();
	replica_rollback(rp);
	rc = cli_fail(r, err);
out:
	replica_scan_stats_release(&st);
	replica_schema_sync_release(&ss);
	replica_names_free(names, n);
	replica_close(rp);
	return rc;
}

int
cmd_untrack(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("untrack");
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	int r, rc;

	if ((rc = cli_opts(c, cmd, argc, argv, 0, 0)) >= 0)
		return rc;
	if (optind + 1 != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_untrack(rp, argv[optind], err)) != 0 ||
	    (r = replica_schema_exclude(rp, argv[optind], 1, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0) {
		replica_rollback(rp);
		rc = cli_fail(r, err);
	} else {
		printf("stopped tracking %s; its rows stay, mule forgets "
		    "their history\n", argv[optind]);
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}
