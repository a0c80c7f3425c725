/* cli/cmd_config.c — mule config [--json] [--unset] [KEY [VALUE]]: the
 * settings checked (config_check), set; listing and showing them is
 * cli/cmd_config_show.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/strb.h"
#include "transports/mailbox.h"
#include "transports/spool.h"

/* Settings that are a whole number from 0 to max, and what they count. */
static const struct {
	const char *key;
	unsigned long long max;
	const char *what;
} numbers[] = {
	{ "reconcile.whole-below", 1ULL << 62, "a number of rows (0: every "
	    "table goes by reconciliation)" },
	{ "scan.full-every", 1000000, "a whole number of scans from 0 to "
	    "1000000 (how often a table with triggers is read whole; 0: only "
	    "when its triggers were bypassed or changed)" },
	{ "scan.parallel-rows", 1ULL << 62, "a number of rows (tables this "
	    "big are read on two cores; 0: never)" },
	{ "log.keep", 1ULL << 40, "a whole number of bundle log entries (the "
	    "newest, always kept; 0: only those still needed)" },
};

/*
 * Checks a setting: what a peer may bring (tables.accept-new, the limits
 * of a peer's migration) here, the spool's in xport_spool_config_check,
 * the mail settings in xport_mail_config_check.  *norm: a normalized
 * value or NULL.
 */
static int
config_check(const char *key, const char *value, char **norm, char *err)
{
	unsigned long long v, max;
	char *end;
	size_t i;

	*norm = NULL;
	if (strcmp(key, "tables.accept-new") == 0 ||
	    strcmp(key, "prune.tombstones") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return mule_errf(err, MULE_EINVAL, "%s is yes or no, "
			    "not '%s'", key, value);
		return 0;
	}
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		if (strcmp(key, numbers[i].key) != 0)
			continue;
		v = strtoull(value, &end, 10);
		if (*value < '0' || *value > '9' || *end != '\0' ||
		    v > numbers[i].max)
			return mule_errf(err, MULE_EINVAL, "%s is %s, not '%s'",
			    key, numbers[i].what, value);
		return 0;
	}
	if (strncmp(key, "spool.", 6) == 0)
		return xport_spool_config_check(key, value, err);
	if (strncmp(key, "mail.", 5) == 0)
		return xport_mail_config_check(key, value, norm, err);
	if (strcmp(key, "migration.max-seconds") != 0 &&
	    strcmp(key, "migration.max-memory") != 0)
		return mule_errf(err, MULE_ENOTFOUND, "unknown setting '%s' "
		    "(known: tables.accept-new, prune.tombstones, "
		    "reconcile.whole-below, scan.full-every, scan.parallel-rows, "
		    "log.keep, migration.max-seconds, migration.max-memory, "
		    "spool.*, mail.*; see mule help config)", key);
	max = key[14] == 's' ? 86400ULL : 1ULL << 36;
	v = strtoull(value, &end, 10);
	if (*value < '0' || *value > '9' || *end != '\0' || v == 0 || v > max)
		return mule_errf(err, MULE_EINVAL, "%s is a whole number from "
		    "1 to %llu (%s), not '%s'", key, max, key[14] == 's' ?
		    "seconds" : "bytes", value);
	return 0;
}

int
cmd_config(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "unset", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("config");
	char err[MULE_ERRLEN] = "", *norm = NULL;
	struct replica *rp = NULL;
	const char *key;
	int ch, r, rc, unset = 0;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c->json = 1;
			break;
		case 'u':
			unset = 1;
			break;
		case 'h':
			return cli_help(cmd);
		default:
			return cli_usage(cmd);
		}
	}
	if (argc - optind > 2 || (unset && argc - optind != 1))
		return cli_usage(cmd);
	key = optind < argc ? argv[optind] : NULL;
	if (key != NULL && (r = config_check(key, "", &norm, err)) ==
	    MULE_ENOTFOUND) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	free(norm);
	norm = NULL;
	if (argc - optind == 2 && (r = config_check(key, argv[optind + 1],
	    &norm, err)) != 0) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	if ((rc = cli_open(c, argc - optind < 2 && !unset, &rp)) != 0)
		goto out;
	if (key == NULL) {
		rc = cmd_config_list(c, rp);
		goto out;
	}
	if (unset || argc - optind == 2) {
		r = replica_config_set(rp, key, unset ? NULL : norm != NULL ?
		    norm : argv[optind + 1], err);
		rc = r != 0 ? cli_fail(r, err) : EXIT_OK;
		goto out;
	}
	rc = cmd_config_show(c, rp, key);
out:
	free(norm);
	replica_close(rp);
	return rc;
}
