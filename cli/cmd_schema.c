/*
 * cli/cmd_schema.c — mule schema status | diff | log | record FILE.sql |
 * install V | upgrade I J | identify DBFILE
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/file.h"
#include "replica/schema.h"

/* Parses a version number (1 .. 2^32-1); 0 on a bad one. */
static uint32_t
parse_version(const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > 0xffffffffUL)
		return 0;
	return (uint32_t)v;
}

static void
print_fpr(const uint8_t *fpr)
{
	print_hex(stdout, fpr, SCHEMA_FPR_LEN);
}

static int
schema_status(struct cli *c, struct replica *rp)
{
	char err[MULE_ERRLEN] = "";
	struct replica_schema_info si;
	int r;

	if ((r = replica_schema_info(rp, &si, err)) != 0)
		return cli_fail(r, err);
	if (c->json) {
		printf("{\"version\":%u,\"fingerprint\":\"", si.version);
		print_fpr(si.fpr);
		printf("\",\"live\":\"");
		print_fpr(si.live);
		printf("\",\"unrecorded\":%s,\"objects\":%zu}\n",
		    si.unrecorded ? "true" : "false", si.objects);
		return EXIT_OK;
	}
	if (si.version == 0) {
		printf("schema: no version recorded yet\n");
	} else {
		printf("schema version %u, fingerprint ", si.version);
		print_fpr(si.fpr);
		printf("\n");
	}
	if (si.unrecorded) {
		printf("live schema differs (fingerprint ");
		print_fpr(si.live);
		printf("): unrecorded changes; 'mule schema diff' shows them, "
		    "the next 'mule pack' records them\n");
	} else {
		printf("live schema matches it (%zu object%s)\n", si.objects,
		    si.objects == 1 ? "" : "s");
	}
	return EXIT_OK;
}

static int
schema_diffcmd(struct replica *rp)
{
	char err[MULE_ERRLEN] = "", *sql = NULL;
	int r;

	if ((r = replica_schema_pending(rp, &sql, err)) != 0)
		return cli_fail(r, err);
	if (sql == NULL)
		printf("-- no unrecorded schema changes\n");
	else
		fputs(sql, stdout);
	free(sql);
	return EXIT_OK;
}

static int
schema_logcmd(struct cli *c, struct replica *rp)
{
	char err[MULE_ERRLEN] = "";
	struct replica_schema_version v;
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint32_t latest, k;
	int r, bad = 0;

	memset(&v, 0, sizeof(v));
	if ((r = replica_schema_latest(rp, &latest, fpr, err)) != 0)
		return cli_fail(r, err);
	if (c->json)
		printf("[");
	for (k = 1; k <= latest; k++) {
		if ((r = replica_schema_get(rp, k, &v, err)) != 0) {
			if (c->json)
				printf("]\n");
			return cli_fail(r, err);
		}
		bad |= !v.checksum_ok;
		if (c->json) {
			printf("%s{\"version\":%u,\"fingerprint\":\"",
			    k > 1 ? "," : "", k);
			print_fpr(v.fpr);
			printf("\",\"at\":");
			json_str(stdout, v.at);
			printf(",\"kind\":\"%s\",\"checksum_ok\":%s,"
			    "\"migration\":", v.handwritten ? "hand-written" :
			    "generated", v.checksum_ok ? "true" : "false");
			json_str(stdout, v.migration);
			printf("}");
		} else {
			printf("%4u  ", k);
			print_hex(stdout, v.fpr, 8);
			printf("…  %s  %s%s\n", v.at,
			    v.handwritten ? "hand-written" : "generated",
			    v.checksum_ok ? "" : "  CHECKSUM MISMATCH");
		}
		replica_schema_version_release(&v);
	}
	if (c->json)
		printf("]\n");
	else if (latest == 0)
		printf("no schema versions yet (version 1 is recorded when "
		    "the first table is tracked)\n");
	if (bad) {
		cli_error("schema log: a version's checksum does not match its "
		    "contents (the catalogue was altered outside mule)");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
schema_recordcmd(struct cli *c, const char *file)
{
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t v = 0;
	int r, rc;

	if ((r = file_read_all(file, SCHEMA_MAX_SQL, &buf, &len, err)) != 0)
		return cli_fail(r, err);
	if (memchr(buf, '\0', len) != NULL) {
		free(buf);
		cli_error("%s: a SQL script cannot hold NUL bytes", file);
		return EXIT_FAIL;
	}
	{
		char *sql = realloc(buf, len + 1);
		if (sql == NULL) {
			free(buf);
			return cli_fail(MULE_ENOMEM, NULL);
		}
		buf = (uint8_t *)sql;
		buf[len] = '\0';
	}
	if ((rc = cli_open(c, 0, &rp)) != 0) {
		free(buf);
		return rc;
	}
	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_schema_record(rp, (const char *)buf, &v, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0) {
		replica_rollback(rp);
		rc = cli_fail(r, err);
	} else {
		printf("recorded %s as schema version %u; peers run it "
		    "verbatim with the next bundle\n", file, v);
		rc = EXIT_OK;
	}
	free(buf);
	replica_close(rp);
	return rc;
}

static int
schema_forgetcmd(struct cli *c, const char *arg)
{
	char err[MULE_ERRLEN] = "";
	struct replica *rp = NULL;
	uint32_t v = parse_version(arg), n = 0;
	int r, rc;

	if (v == 0) {
		cli_error("schema forget: '%s' is not a version number", arg);
		return EXIT_USAGE;
	}
	if ((rc = cli_open(c, 0, &rp)) != 0)
		return rc;
	if ((r = replica_begin(rp, err)) != 0 ||
	    (r = replica_schema_forget(rp, v, &n, err)) != 0 ||
	    (r = replica_commit(rp, err)) != 0) {
		replica_rollback(rp);
		rc = cli_fail(r, err);
	} else {
		printf("forgot %u schema version%s; this database is at "
		    "version %u again\n", n, n == 1 ? "" : "s", v);
		rc = EXIT_OK;
	}
	replica_close(rp);
	return rc;
}

static int
schema_identifycmd(struct cli *c, struct replica *rp, const char *file)
{
	char err[MULE_ERRLEN] = "";
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint32_t v, closest;
	int r;

	if ((r = replica_schema_identify(rp, file, &v, &closest, fpr,
	    err)) != 0)
		return cli_fail(r, err);
	if (c->json) {
		printf("{\"file\":");
		json_str(stdout, file);
		printf(",\"fingerprint\":\"");
		print_fpr(fpr);
		if (v > 0)
			printf("\",\"version\":%u}\n", v);
		else
			printf("\",\"version\":null,\"closest\":%u}\n",
			    closest);
	} else if (v > 0) {
		printf("%s: schema version %u (fingerprint ", file, v);
		print_fpr(fpr);
		printf(")\n");
	} else {
		printf("%s: unknown schema (fingerprint ", file);
		print_fpr(fpr);
		if (closest > 0)
			printf("); closest: version %u\n", closest);
		else
			printf("); no versions to compare with\n");
	}
	return EXIT_OK;
}

int
cmd_schema(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("schema");
	char err[MULE_ERRLEN] = "", *sql = NULL;
	struct replica_schema_version v;
	struct replica *rp = NULL;
	const char *sub;
	uint32_t i, j;
	int r, rc, nargs;

	memset(&v, 0, sizeof(v));
	if ((rc = cli_opts(c, cmd, argc, argv, 1, 0)) >= 0)
		return rc;
	if (optind >= argc)
		return cli_usage(cmd);
	sub = argv[optind];
	nargs = argc - optind - 1;
	if ((strcmp(sub, "status") == 0 || strcmp(sub, "diff") == 0 ||
	    strcmp(sub, "log") == 0) ? nargs != 0 :
	    (strcmp(sub, "record") == 0 || strcmp(sub, "install") == 0 ||
	    strcmp(sub, "identify") == 0 || strcmp(sub, "forget") == 0) ?
	    nargs != 1 :
	    strcmp(sub, "upgrade") == 0 ? nargs != 2 : 1)
		return cli_usage(cmd);
	if (strcmp(sub, "record") == 0)
		return schema_recordcmd(c, argv[optind + 1]);
	if (strcmp(sub, "forget") == 0)
		return schema_forgetcmd(c, argv[optind + 1]);
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if (strcmp(sub, "status") == 0) {
		rc = schema_status(c, rp);
	} else if (strcmp(sub, "diff") == 0) {
		rc = schema_diffcmd(rp);
	} else if (strcmp(sub, "log") == 0) {
		rc = schema_logcmd(c, rp);
	} else if (strcmp(sub, "identify") == 0) {
		rc = schema_identifycmd(c, rp, argv[optind + 1]);
	} else if (strcmp(sub, "install") == 0) {
		if ((i = parse_version(argv[optind + 1])) == 0) {
			cli_error("schema install: '%s' is not a version "
			    "number", argv[optind + 1]);
			rc = EXIT_USAGE;
		} else if ((r = replica_schema_get(rp, i, &v, err)) != 0) {
			rc = cli_fail(r, err);
		} else {
			printf("-- mule schema version %u\n%s", i, v.sql);
			rc = EXIT_OK;
		}
	} else {
		i = parse_version(argv[optind + 1]);
		j = parse_version(argv[optind + 2]);
		if (i == 0 || j == 0 || i >= j) {
			cli_error("schema upgrade: needs two version numbers, "
			    "the lower first (e.g. 'upgrade 1 4')");
			rc = EXIT_USAGE;
		} else if ((r = replica_schema_upgrade(rp, i, j, &sql,
		    err)) != 0) {
			rc = cli_fail(r, err);
		} else {
			printf("-- mule schema upgrade from version %u to %u\n"
			    "%s", i, j, sql);
			rc = EXIT_OK;
		}
	}
	replica_schema_version_release(&v);
	free(sql);
	replica_close(rp);
	return rc;
}
