/* cli/cmd_status.c — mule status [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "replica/schema.h"
#include "transports/media.h"
#include "transports/spool.h"

/* How far behind `have` is compared with `want`: changes it lacks. */
static uint64_t
vector_behind(const struct vector *have, const struct vector *want)
{
	uint64_t n = 0, h;
	size_t i;

	for (i = 0; i < want->n; i++) {
		h = vector_get(have, want->e[i].origin);
		if (h < want->e[i].counter)
			n++;
	}
	return n;
}

/* Whether `name` is one of the '+'-separated names in `list`. */
static int
in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == '+') && (p[n] == '\0' ||
		    p[n] == '+'))
			return 1;
		p += n;
	}
	return 0;
}

/*
 * The newest bundle (highest number) sent to or received from `peer`: a
 * stale one read late does not count (seq 0 when none).
 */
static void
last_bundle(struct replica_logent *v, size_t n, const char *peer,
    const char *dir, int64_t *seq, const char **at)
{
	size_t i;

	*seq = 0;
	*at = "";
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].dir, dir) != 0 || !in_list(v[i].peer, peer) ||
		    v[i].seq < *seq)
			continue;
		*seq = v[i].seq;
		*at = v[i].at;
	}
}

/* A numeric peer property (0 when unset). */
static long long
peer_num(struct replica *rp, const char *peer, const char *key)
{
	char *v = NULL;
	long long n = 0;

	if (replica_peer_prop(rp, peer, key, &v, NULL) == 0 && v != NULL)
		n = atoll(v);
	free(v);
	return n;
}

/* Bundles whose parts wait in the spool, and what is missing. */
static void
print_spool(struct cli *c, const char *db)
{
	struct parts_status st;
	char **ids = NULL, **paths = NULL, *have, *missing;
	size_t i, n = 0, np;

	if (xport_spool_groups(db, &ids, &n, NULL) != 0)
		return;
	for (i = 0; i < n; i++) {
		np = 0;
		paths = NULL;
		if (xport_spool_parts(db, ids[i], &paths, &np, NULL) != 0 ||
		    parts_status_compute((const char *const *)paths, np, 0,
		    &st, NULL) != 0) {
			parts_paths_free(paths, np);
			continue;
		}
		have = xport_media_parts_list(&st, PART_GOOD);
		missing = xport_media_parts_list(&st, PART_MISSING);
		if (c->json) {
			printf("%s{\"bundle\":\"%s\",\"have\":\"%s\","
			    "\"missing\":\"%s\",\"needed\":%u}", i ? "," : "",
			    ids[i], have ? have : "", missing ? missing : "",
			    st.nneeded);
		} else {
			printf("incomplete bundle %.12s…: have %s; missing %s; "
			    "%u more part%s needed\n", ids[i],
			    have ? have : "-", missing ? missing : "-",
			    st.nneeded, st.nneeded == 1 ? "" : "s");
		}
		free(have);
		free(missing);
		parts_paths_free(paths, np);
	}
	parts_paths_free(ids, n);
}

int
cmd_status(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find("status");
	char err[MULE_ERRLEN] = "", cnt[3][32];
	struct replica_scan_stats scan;
	struct replica_site site;
	struct replica_peer *peers = NULL;
	struct replica_logent *log = NULL;
	struct replica *rp = NULL;
	struct vector known, acked;
	const char *sat, *rat;
	int64_t sseq, rseq;
	uint64_t nconf = 0, behind;
	long long applied, lost;
	size_t i, np = 0, nlog = 0;
	struct replica_schema_info si;
	int r, rc;

	memset(&scan, 0, sizeof(scan));
	vector_init(&known);
	vector_init(&acked);
	if ((rc = cli_opts(c, cmd, argc, argv, 1, 0)) >= 0)
		return rc;
	if (optind != argc)
		return cli_usage(cmd);
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((r = replica_site(rp, &site, err)) != 0 ||
	    (r = replica_scan(rp, 1, &scan, progress_cb, NULL, err)) != 0 ||
	    (r = replica_known(rp, &known, err)) != 0 ||
	    (r = replica_peer_list(rp, &peers, &np, err)) != 0 ||
	    (r = replica_log_list(rp, &log, &nlog, err)) != 0 ||
	    (r = replica_conflict_count(rp, &nconf, err)) != 0 ||
	    (r = replica_schema_info(rp, &si, err)) != 0) {
		progress_done();
		rc = cli_fail(r, err);
		goto out;
	}
	progress_done();
	if (c->json) {
		printf("{\"site\":");
		json_str(stdout, site.name);
		printf(",\"lamport\":%llu,\"conflicts\":%llu,"
		    "\"schema_version\":%u,\"schema_unrecorded\":%s,"
		    "\"tables\":[", (unsigned long long)site.lamport,
		    (unsigned long long)nconf, si.version,
		    si.unrecorded ? "true" : "false");
		for (i = 0; i < scan.ntables; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, scan.tables[i].name);
			printf(",\"inserted\":%llu,\"updated\":%llu,"
			    "\"deleted\":%llu}",
			    (unsigned long long)scan.tables[i].inserted,
			    (unsigned long long)scan.tables[i].updated,
			    (unsigned long long)scan.tables[i].deleted);
		}
		printf("],\"peers\":[");
	} else {
		printf("site %s (lamport %llu)\n", site.name,
		    (unsigned long long)site.lamport);
		if (scan.ntables == 0)
			printf("no tracked tables: see 'mule track'\n");
		for (i = 0; i < scan.ntables; i++) {
			struct replica_table_stats *t = &scan.tables[i];
			if (t->inserted + t->updated + t->deleted == 0)
				printf("  %-24s no unrecorded changes\n",
				    t->name);
			else
				printf("  %-24s unrecorded: %s new, %s changed, "
				    "%s deleted\n", t->name,
				    fmt_count(t->inserted, cnt[0]),
				    fmt_count(t->updated, cnt[1]),
				    fmt_count(t->deleted, cnt[2]));
		}
	}
	for (i = 0; i < np; i++) {
		if ((r = replica_peer_vector(rp, peers[i].name, "acked",
		    &acked, err)) != 0) {
			rc = cli_fail(r, err);
			goto out;
		}
		last_bundle(log, nlog, peers[i].name, "sent", &sseq, &sat);
		last_bundle(log, nlog, peers[i].name, "recv", &rseq, &rat);
		behind = vector_behind(&acked, &known);
		applied = peer_num(rp, peers[i].name, "_applied");
		lost = peer_num(rp, peers[i].name, "_lost");
		if (c->json) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, peers[i].name);
			printf(",\"last_sent\":%lld,\"last_received\":%lld,"
			    "\"applied_by_peer\":%lld,\"lost_after\":%lld,"
			    "\"origins_unacked\":%llu,\"sync_set\":",
			    (long long)sseq, (long long)rseq, applied, lost,
			    (unsigned long long)behind);
			if ((rc = share_describe(rp, peers[i].name, 1,
			    "")) != EXIT_OK)
				goto out;
			printf("}");
			continue;
		}
		printf("peer %s:\n", peers[i].name);
		if (sseq > 0)
			printf("  sent:         bundle #%lld (%s)\n",
			    (long long)sseq, sat);
		else
			printf("  sent:         nothing yet\n");
		if (rseq > 0)
			printf("  received:     bundle #%lld (%s)\n",
			    (long long)rseq, rat);
		else
			printf("  received:     nothing yet\n");
		if (applied > 0)
			printf("  acknowledged: it has applied our bundles up "
			    "to #%lld%s\n", applied, behind == 0 ?
			    ", and has everything we know" : "");
		else
			printf("  acknowledged: nothing yet (no bundle from it "
			    "since it got one of ours)\n");
		if (lost > 0)
			printf("  gap:          a bundle before #%lld never "
			    "reached it; the next 'mule pack --to %s' sends "
			    "those changes again\n", lost, peers[i].name);
		else if (behind > 0 && applied > 0)
			printf("  pending:      changes from %llu origin%s it "
			    "has not confirmed yet (in bundles on their way)\n",
			    (unsigned long long)behind, behind == 1 ? "" : "s");
		if ((rc = share_describe(rp, peers[i].name, 0,
		    "  sync set:     ")) != EXIT_OK)
			goto out;
	}
	if (c->json)
		printf("],\"incomplete\":[");
	print_spool(c, c->db);
	if (c->json)
		printf("]}\n");
	else {
		printf("schema version %u%s\n", si.version, si.unrecorded ?
		    ", with "
		    "unrecorded changes: see 'mule schema diff'" : "");
		printf("%llu unresolved conflict%s%s\n",
		    (unsigned long long)nconf, nconf == 1 ? "" : "s",
		    nconf ? ": see 'mule conflicts'" : "");
	}
	rc = EXIT_OK;
out:
	replica_scan_stats_release(&scan);
	vector_release(&known);
	vector_release(&acked);
	free(peers);
	free(log);
	replica_close(rp);
	return rc;
}
