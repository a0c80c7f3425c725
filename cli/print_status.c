/* cli/print_status.c — what 'mule status' shows, as text or JSON. */
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/commands.h"

static void
json_head(const struct sync_status *s)
{
	const struct replica_table_stats *t;
	size_t i;

	printf("{\"site\":");
	json_str(stdout, s->site.name);
	printf(",\"lamport\":%llu,\"conflicts\":%llu,\"conflicts_at_peers\":"
	    "%llu,\"schema_version\":%u,\"schema_unrecorded\":%s,"
	    "\"wal\":%s,\"tables\":[", (unsigned long long)s->site.lamport,
	    (unsigned long long)s->conflicts,
	    (unsigned long long)s->conflicts_at_peers, s->schema.version,
	    s->schema.unrecorded ? "true" : "false", s->wal ? "true" :
	    "false");
	for (i = 0; i < s->scan.ntables; i++) {
		t = &s->scan.tables[i];
		printf("%s{\"name\":", i ? "," : "");
		json_str(stdout, t->name);
		printf(",\"inserted\":%llu,\"updated\":%llu,\"deleted\":%llu,"
		    "\"capture\":\"%s\",\"cores\":%d}",
		    (unsigned long long)t->inserted,
		    (unsigned long long)t->updated,
		    (unsigned long long)t->deleted,
		    t->triggers ? "triggers" : "scan", t->cores == 2 ? 2 : 1);
	}
	printf("],\"peers\":[");
}

/* Tables with unrecorded edits (with `all`, every table). */
static void
text_head(const struct sync_status *s, int all)
{
	const struct replica_table_stats *t;
	char cnt[3][32];
	size_t i, quiet = 0, scanned = 0;

	printf("site %s (lamport %llu)\n", s->site.name,
	    (unsigned long long)s->site.lamport);
	if (s->scan.ntables == 0)
		printf("no tracked tables: see 'mule track'\n");
	for (i = 0; i < s->scan.ntables; i++) {
		t = &s->scan.tables[i];
		if (t->inserted + t->updated + t->deleted == 0 && !all)
			quiet++;
		else if (t->inserted + t->updated + t->deleted == 0)
			printf("  %-24s no unrecorded changes\n", t->name);
		else
			printf("  %-24s unrecorded: %s new, %s changed, %s "
			    "deleted\n", t->name,
			    fmt_count(t->inserted, cnt[0]),
			    fmt_count(t->updated, cnt[1]),
			    fmt_count(t->deleted, cnt[2]));
		if (t->triggers)
			printf("  %-24s capture: triggers%s%s%s\n", t->name,
			    t->full_why ? " (next scan reads the whole table: "
			    : "", t->full_why ? t->full_why : "",
			    t->full_why ? ")" : "");
		else
			scanned++;
	}
	if (quiet > 0)
		printf("  %s%zu tracked table%s with no unrecorded changes "
		    "(--all lists them)\n", quiet == s->scan.ntables ? "" :
		    "and ", quiet, quiet == 1 ? "" : "s");
	if (s->wal && scanned > 0)
		printf("  database in WAL mode: every pack and unpack reads %s "
		    "whole\n  (SQLite keeps no change counter in WAL mode) %s "
		    "mule track --triggers %s\n", scanned < s->scan.ntables ?
		    "the tables not in trigger capture" : scanned == 1 ?
		    "the table" : "every table", cli_sym("\xe2\x86\x92",
		    "->"), scanned == s->scan.ntables ? "--all" : "TABLE...");
}

static void
json_peer(const struct sync_peer_status *p, int first)
{
	printf("%s{\"name\":", first ? "" : ",");
	json_str(stdout, p->peer.name);
	printf(",\"last_sent\":%lld,\"last_received\":%lld,"
	    "\"applied_by_peer\":%lld,\"lost_after\":%lld,"
	    "\"origins_unacked\":%llu,\"bundles_unacked\":%llu,"
	    "\"oldest_unacked\":",
	    (long long)p->last_sent, (long long)p->last_recv, p->applied,
	    p->lost, (unsigned long long)p->behind,
	    (unsigned long long)p->unacked);
	if (p->unacked > 0)
		json_str(stdout, p->unacked_name);
	else
		printf("null");
	printf(",\"unpacked\":%llu,\"unpacked_at_most\":%s,\"next\":\"%s\"",
	    (unsigned long long)p->unpacked, p->unpacked_upto ? "true" :
	    "false", p->unpacked > 0 || p->lost > 0 || p->recon_queued > 0 ?
	    "pack" : p->unacked > 0 ? "wait" : "nothing");
	printf(",\"differs\":");
	if (p->differ != NULL)
		json_str(stdout, p->differ);
	else
		printf("null");
	printf(",\"reconcile_ranges\":%llu",
	    (unsigned long long)p->recon_queued);
	printf(",\"sync_set\":");
}

/* What to do next about peer p, in one line. */
static void
text_next(const struct sync_peer_status *p)
{
	const char *to = cli_sym("\xe2\x86\x92", "->");
	char n[32];

	fmt_count(p->unpacked, n);
	if (p->unpacked > 0)
		printf("  next:         %s%s change%s not yet packed for %s %s "
		    "mule pack --to %s\n", p->unpacked_upto ? "up to " : "", n,
		    p->unpacked == 1 ? "" : "s", p->peer.name, to,
		    p->peer.name);
	else if (p->lost > 0)
		printf("  next:         a bundle never reached %s %s mule pack "
		    "--to %s\n", p->peer.name, to, p->peer.name);
	else if (p->recon_queued > 0)
		printf("  next:         %llu key range%s to compare with %s %s "
		    "mule pack --to %s\n", (unsigned long long)p->recon_queued,
		    p->recon_queued == 1 ? "" : "s", p->peer.name, to,
		    p->peer.name);
	else if (p->unacked > 0)
		printf("  next:         sent in %s, not acknowledged yet %s "
		    "wait for a bundle from %s\n", p->unacked_name, to,
		    p->peer.name);
	else
		printf("  next:         nothing to do\n");
}

static void
text_peer(const struct sync_peer_status *p)
{
	char more[64] = "";

	if (p->unacked > 1)
		snprintf(more, sizeof(more), " and %llu later bundle%s",
		    (unsigned long long)p->unacked - 1, p->unacked == 2 ? "" :
		    "s");
	printf("peer %s:\n", p->peer.name);
	text_next(p);
	if (p->differ != NULL)
		printf("  content:      %s and this site disagree on %s: "
		    "reconciling (bundles both ways narrow it down)\n",
		    p->peer.name, p->differ);
	if (p->last_sent > 0)
		printf("  sent:         bundle #%lld (%s UTC)\n",
		    (long long)p->last_sent, p->sent_at);
	else
		printf("  sent:         nothing yet\n");
	if (p->last_recv > 0)
		printf("  received:     bundle #%lld (%s UTC)\n",
		    (long long)p->last_recv, p->recv_at);
	else
		printf("  received:     nothing yet\n");
	if (p->applied > 0)
		printf("  acknowledged: it has applied our bundles up to "
		    "#%lld%s\n", p->applied, p->behind == 0 ?
		    ", and has everything we know" : "");
	else if (p->behind == 0)
		printf("  acknowledged: it has everything we know%s\n",
		    p->last_sent == 0 && p->last_recv == 0 ? " (no bundle "
		    "yet: one of the two sites is a clone of the other, or "
		    "nothing was recorded)" : "");
	else
		printf("  acknowledged: nothing yet (no bundle from it since "
		    "it got one of ours)\n");
	if (p->lost > 0)
		printf("  gap:          a bundle before #%lld never reached "
		    "it; the next 'mule pack --to %s' sends those changes "
		    "again\n", p->lost, p->peer.name);
	else if (p->unacked > 0)
		printf("  unacked:      sent in %s%s, not acknowledged yet; if "
		    "that bundle was lost: mule pack --to %s --resend\n",
		    p->unacked_name, more, p->peer.name);
}

/* How long ago `since` was, as people say it: "3 days", "5 hours". */
static void
age_text(time_t since, char out[32])
{
	long long s = (long long)(time(NULL) - since);

	if (s < 0)
		s = 0;
	if (s >= 2 * 86400)
		snprintf(out, 32, "%lld days", s / 86400);
	else if (s >= 2 * 3600)
		snprintf(out, 32, "%lld hours", s / 3600);
	else
		snprintf(out, 32, "%lld minutes", s / 60);
}

/* Bundles whose parts wait in the spool, what is missing, since when. */
static void
print_spool(const struct xport_spool_group *v, size_t n, int json)
{
	char age[32];
	size_t i;

	for (i = 0; i < n; i++) {
		age_text(v[i].since, age);
		if (json)
			printf("%s{\"bundle\":\"%s\",\"have\":\"%s\","
			    "\"missing\":\"%s\",\"needed\":%u,"
			    "\"since\":%lld}", i ? "," : "", v[i].id,
			    v[i].have ? v[i].have : "",
			    v[i].missing ? v[i].missing : "", v[i].nneeded,
			    (long long)v[i].since);
		else
			printf("incomplete bundle %.12s%s: have %s; missing %s; "
			    "%u more part%s needed; its first part came %s "
			    "ago\n", v[i].id, cli_sym("\xe2\x80\xa6", "..."),
			    v[i].have ? v[i].have : "-",
			    v[i].missing ? v[i].missing : "-", v[i].nneeded,
			    v[i].nneeded == 1 ? "" : "s", age);
	}
}

static void
text_tail(const struct sync_status *s)
{
	printf("schema version %u%s\n", s->schema.version,
	    s->schema.unrecorded ? ", with unrecorded changes: see 'mule "
	    "schema diff'" : "");
	printf("%llu unresolved conflict%s%s\n",
	    (unsigned long long)s->conflicts, s->conflicts == 1 ? "" : "s",
	    s->conflicts ? ": see 'mule conflicts'" : "");
	if (s->conflicts_at_peers > 0)
		printf("%llu conflict%s logged at peers, where a value from "
		    "this site won: see 'mule conflicts --peers'\n",
		    (unsigned long long)s->conflicts_at_peers,
		    s->conflicts_at_peers == 1 ? "" : "s");
}

void
status_print(const struct sync_status *s,
    const struct xport_spool_group *spool, size_t nspool, int json, int all)
{
	const struct sync_peer_status *p;
	size_t i;

	if (json)
		json_head(s);
	else
		text_head(s, all);
	for (i = 0; i < s->npeers; i++) {
		p = &s->peers[i];
		if (json)
			json_peer(p, i == 0);
		else
			text_peer(p);
		share_print(p->peer.name, p->shares, p->nshares, json,
		    json ? "" : "  sync set:     ");
		if (json)
			printf("}");
	}
	printf("%s", json ? "],\"incomplete\":[" : "");
	print_spool(spool, nspool, json);
	if (json)
		printf("]}\n");
	else
		text_tail(s);
}
