/*
 * cli/cmd_track.c — mule track [--triggers | --no-triggers] TABLE... |
 * --all;  mule untrack TABLE
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/strb.h"
#include "sync/local.h"

/* The tracked tables with an integer key, for the one warning at the
 * end (names joined by ", "). */
struct track_out {
	struct strb intkeys;
	size_t nintkeys;
};

/* What happened to one table, as it happens. */
static void
track_print(void *arg, const char *name, enum sync_tracked what, int intkey)
{
	struct track_out *t = arg;

	if (what == SYNC_TRACKED_NOPK) {
		printf("skipped %s: no primary key\n", name);
		return;
	}
	if (what == SYNC_TRACKED_ALREADY) {
		printf("%s is tracked already\n", name);
		return;
	}
	printf("tracking %s\n", name);
	if (intkey) {
		strb_add(&t->intkeys, t->nintkeys > 0 ? ", " : "");
		strb_add(&t->intkeys, name);
		t->nintkeys++;
	}
}

/* One warning for every table with an integer key, and the remedy. */
static void
track_warn(const struct track_out *t)
{
	if (t->nintkeys == 0 || strb_error(&t->intkeys))
		return;
	cli_error("warning: %zu table%s an integer key: %s\n"
	    "  if your programs assign such keys locally (autoincrement), rows "
	    "inserted\n  independently at two sites get the same key and "
	    "collide ('mule conflicts'\n  reports each collision); remedy: "
	    "keys that cannot collide, such as text\n  keys that include the "
	    "site name, random keys, or a key range for each site", t->nintkeys,
	    t->nintkeys == 1 ? " has" : "s have", strb_str(&t->intkeys));
}

/* A table's capture mode, as it changes. */
static void
capture_print(void *arg, const char *name, int on, int changed)
{
	if (!changed)
		printf("%s %s triggers already\n", name, on ? "has" : "has no");
	else if (on)
		printf("%s: changes captured by triggers (the next scan reads "
		    "the whole table once)\n", name);
	else
		printf("%s: triggers removed; every scan reads the whole "
		    "table\n", name);
}

int
cmd_track(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "triggers", no_argument, NULL, 't' },
		{ "no-triggers", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("track");
	char err[MULE_ERRLEN] = "", cnt[32];
	struct replica *rp = NULL;
	struct track_out t;
	const char *const *names;
	uint64_t baseline = 0;
	size_t ntables = 0;
	int ch, r = 0, rc, all = 0, trig = -1;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'a')
			all = 1;
		else if ((ch == 't' || ch == 'n') && trig < 0)
			trig = ch == 't';
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if ((all && optind != argc) || (!all && optind == argc))
		return cli_usage(cmd);
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	memset(&t, 0, sizeof(t));
	strb_init(&t.intkeys);
	names = all ? NULL : (const char *const *)argv + optind;
	/* --no-triggers leaves the tracking as it is. */
	if (trig != 0)
		r = sync_track(rp, names, (size_t)(argc - optind), track_print,
		    &t, cli_progress_cb, NULL, &ntables, &baseline, err);
	cli_progress_done();
	if (r == 0 && trig >= 0)
		r = replica_capture_set(rp, names, (size_t)(argc - optind),
		    trig, capture_print, NULL, err);
	if (r != 0) {
		rc = cli_fail(r, err);
	} else {
		track_warn(&t);
		if (all && ntables == 0 && trig != 0)
			printf("no tables to track yet\n");
		if (baseline > 0)
			printf("recorded %s existing rows as the baseline\n",
			    fmt_count(baseline, cnt));
		rc = EXIT_OK;
	}
	strb_release(&t.intkeys);
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
	if ((r = sync_untrack(rp, argv[optind], err)) != 0) {
		rc = cli_fail(r, err);
	} else {
		printf("stopped tracking %s; its rows stay, mule forgets "
		    "their history\n", argv[optind]);
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}
