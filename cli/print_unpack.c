/* cli/print_unpack.c — what 'mule unpack' says about each input as it
 * is done, and the totals at the end (see cmd_unpack.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_unpack.h"

static void
unpack_worst(struct unpack_args *a, int rc)
{
	if (rc > a->worst)
		a->worst = rc;
}

/* What each statement of the schema steps would do (--dry-run). */
static void
print_steps(const struct replica_step_report *rep)
{
	const struct replica_stmt_report *e;
	size_t i, n;

	for (i = 0; i < rep->n; i++) {
		e = &rep->v[i];
		if (i == 0 || e->version != rep->v[i - 1].version)
			printf("  schema step %u would run:\n", e->version);
		n = strcspn(e->sql, "\n");
		printf("    %.*s%s\n      tables: %s; rows changed: %lld\n",
		    (int)(n < 100 ? n : 100), e->sql, n > 100 ||
		    e->sql[n] != '\0' ? " ..." : "",
		    e->tables[0] != '\0' ? e->tables : "none",
		    (long long)e->rows);
	}
}

static void
unpack_print(const struct unpack_args *a, const char *label,
    const struct sync_unpack_result *res)
{
	const char *peer = res->peer.name;

	if (a->quiet)
		return;
	if (a->dry) {
		cli_puts(stdout, label, 0);
		printf(" from %s: would apply: ", peer);
		cli_puts(stdout, res->summary, 1);
		printf(" (nothing changed: --dry-run)\n");
		print_steps(&res->steps);
		return;
	}
	printf("applied ");
	cli_puts(stdout, label, 0);
	printf(" from %s: ", peer);
	cli_puts(stdout, res->summary, 1);
	printf("\n");
	if (res->st.gap)
		printf("note: %s had sent changes this site never received "
		    "(a bundle is missing); they were applied, and %s will "
		    "resend what is missing after your next bundle reaches "
		    "it\n", peer, peer);
	if (res->lost)
		printf("note: %s lacks changes this site sent it (a bundle "
		    "was lost on the way); the next 'mule pack --to %s' "
		    "carries them again\n", peer, peer);
	if (res->st.conflicts > 0)
		printf("note: %llu conflict%s: see 'mule conflicts'\n",
		    (unsigned long long)res->st.conflicts,
		    res->st.conflicts == 1 ? "" : "s");
	if (res->notes > 0)
		printf("note: %s logged %llu conflict%s where a value from "
		    "this site won: see 'mule conflicts --peers'\n", peer,
		    (unsigned long long)res->notes, res->notes == 1 ? "" : "s");
}

/* --json: an applied (or --dry-run) bundle, one line. */
static void
unpack_json_applied(const struct unpack_args *a, const char *path,
    const char *label, const struct sync_unpack_result *res)
{
	const struct replica_apply_stats *st = &res->st;

	printf("{\"file\":");
	json_str(stdout, path);
	printf(",\"label\":");
	json_words(stdout, label);
	printf(",\"status\":\"%s\",\"peer\":", a->dry ? "dry-run" :
	    "applied");
	json_str(stdout, res->peer.name);
	printf(",\"rows\":%llu,\"inserted\":%llu,\"updated\":%llu,"
	    "\"deleted\":%llu,\"conflicts\":%llu,\"left_set\":%llu,"
	    "\"refused_rows\":%llu,\"kept_values\":%llu,\"ignored\":%llu,"
	    "\"schema_steps\":%llu,\"gap\":%s,\"peer_lost_bundle\":%s,"
	    "\"conflicts_logged_by_peer\":%llu}\n",
	    (unsigned long long)st->rows, (unsigned long long)st->inserted,
	    (unsigned long long)st->updated, (unsigned long long)st->deleted,
	    (unsigned long long)st->conflicts, (unsigned long long)st->left,
	    (unsigned long long)st->refused, (unsigned long long)st->kept,
	    (unsigned long long)st->ignored,
	    (unsigned long long)res->steps_run, st->gap ? "true" : "false",
	    res->lost ? "true" : "false", (unsigned long long)res->notes);
}

/* --json: any other fate, one line ("why" may be NULL). */
static void
unpack_json_other(const char *key, const char *name, const char *status,
    const char *why, int code)
{
	printf("{\"%s\":", key);
	json_str(stdout, name);
	printf(",\"status\":\"%s\"", status);
	if (why != NULL) {
		printf(",\"why\":");
		json_words(stdout, why);
		printf(",\"exit\":%d", code);
	}
	printf("}\n");
}

/* A bundle that failed: its message, the exit status raised, and its
 * path kept for the closing line. */
static void
unpack_failed(struct unpack_args *a, const struct sync_input_event *ev)
{
	int rc = cli_fail(ev->code, ev->err);

	unpack_worst(a, rc);
	if (a->json)
		unpack_json_other("file", ev->path, "refused", ev->err != NULL &&
		    ev->err[0] != '\0' ? ev->err : mule_strerror(ev->code),
		    rc);
	strb_add(&a->failed, a->nfailed > 0 ? "; " : "");
	strb_add(&a->failed, ev->path);
	a->nfailed++;
}

/* A spooled bundle as messages name it: the name its parts carry
 * ("hq-lap-0003"), else the start of its id. */
static const char *
bundle_name(const struct sync_input_event *ev)
{
	static char id[32];

	if (ev->name != NULL)
		return ev->name;
	snprintf(id, sizeof(id), "%.12s%s", ev->idhex, cli_sym("\xe2\x80\xa6",
	    "..."));
	return id;
}

/* What waits in the spool, or left it. */
static void
unpack_spool_event(const struct unpack_args *a,
    const struct sync_input_event *ev)
{
	const struct xport_spool_join *j = ev->join;
	const char *dots = cli_sym("\xe2\x80\xa6", "...");

	if (a->json && ev->kind != SYNC_INPUT_REBUILT) {
		unpack_json_other("bundle", ev->kind == SYNC_INPUT_EXPIRED ?
		    ev->group->id : ev->idhex, ev->kind == SYNC_INPUT_EXPIRED ?
		    "expired" : "waiting", NULL, 0);
		return;
	}
	if (a->json || a->quiet)
		return;
	if (ev->kind == SYNC_INPUT_WAITING)
		printf("bundle %s: %u of the %u parts needed are here "
		    "(have: %s; missing: %s); it waits in the spool for %u "
		    "more (any of the missing)\n", bundle_name(ev), j->ngood,
		    j->ndata, j->have ? j->have : "-",
		    j->missing ? j->missing : "-", j->nneeded);
	else if (ev->kind == SYNC_INPUT_EXPIRED)
		printf("bundle %.12s%s: removed from the spool, incomplete "
		    "after %u days or more (spool.expire-days); it had %s of "
		    "its %u data parts\n", ev->group->id, dots, ev->days,
		    ev->group->have != NULL && ev->group->have[0] != '\0' ?
		    ev->group->have : "none", ev->group->ndata);
	else
		printf("bundle %s: rebuilt from %u of its %u parts\n",
		    bundle_name(ev), j->ngood, j->ndata + j->nparity);
}

/* One input's fate, as it happens. */
void
unpack_event(void *arg, const struct sync_input_event *ev)
{
	struct unpack_args *a = arg;

	cli_progress_done();
	switch (ev->kind) {
	case SYNC_INPUT_APPLIED:
		if (a->json)
			unpack_json_applied(a, ev->path, ev->label, ev->res);
		else
			unpack_print(a, ev->label, ev->res);
		break;
	case SYNC_INPUT_ALREADY:
		if (a->json)
			unpack_json_other("file", ev->path, "already", NULL, 0);
		else if (!a->quiet) {
			cli_puts(stdout, ev->label ? ev->label : ev->path, 0);
			printf(": already applied; nothing changed\n");
		}
		break;
	case SYNC_INPUT_FAILED:
		unpack_failed(a, ev);
		break;
	default:
		unpack_spool_event(a, ev);
		break;
	}
}

/* A problem with one message: shown, and the exit status raised. */
void
unpack_note(void *arg, int code, const char *msg)
{
	cli_progress_done();
	const struct unpack_args *a = arg;

	if (code == 0) {
		if (!a->quiet) {
			cli_puts(a->json ? stderr : stdout, msg, 0);
			fputc('\n', a->json ? stderr : stdout);
		}
		return;
	}
	cli_error("%s", msg);
	unpack_worst(arg, cli_exit_code(code));
}

/* The totals, then what the mail fetch did.  The exit status. */
int
unpack_totals(const struct unpack_args *a,
    const struct sync_inputs_result *s, int gathered, int rc)
{
	const struct xport_mail_fetch_summary *m = &s->mail;
	int say = gathered && !a->json && !a->quiet;
	int r;

	/* --json: the totals close the stream (bundles in a directory that
	 * were applied before, or for other sites, have no line of their
	 * own). */
	if (gathered && a->json)
		printf("{\"totals\":{\"found\":%zu,\"applied\":%zu,"
		    "\"already\":%zu,\"skipped\":%zu,\"skipped_parts\":%zu,"
		    "\"failed\":%zu}}\n", s->found, s->applied, s->already,
		    s->skipped, s->skipped_parts, a->nfailed);

	if (a->nfailed > 0 && s->found > 1 && !strb_error(&a->failed))
		cli_error("%zu of %zu bundles %s not applied: %s (exit status "
		    "%d%s)", a->nfailed, s->found, a->nfailed == 1 ? "was" :
		    "were", strb_str(&a->failed), a->worst, a->worst ==
		    EXIT_VERIFY ? ": failed verification, changed nothing; the "
		    "other bundles are not affected by it" : "");
	if (say && s->found == 0)
		printf("no bundles found\n");
	if (say && s->already > 0)
		printf("%zu bundle%s applied before; nothing changed by "
		    "%s\n", s->already, s->already == 1 ? " was" : "s were",
		    s->already == 1 ? "it" : "them");
	if (say && s->skipped > 0)
		printf("skipped %zu bundle%s addressed to other sites\n",
		    s->skipped, s->skipped == 1 ? "" : "s");
	if (say && s->skipped_parts > 0)
		printf("left %zu part%s of bundles addressed to other sites "
		    "(not spooled)\n", s->skipped_parts,
		    s->skipped_parts == 1 ? "" : "s");
	/* Closing the inbox failed: said always; it decides the exit status
	 * only after a gathered run (else the gathering error does). */
	if (s->had_mail && s->mail_code != 0 &&
	    (r = cli_fail(s->mail_code, s->mail_err)) > rc && gathered)
		rc = r;
	if (!s->had_mail || !m->inbox || a->json || a->quiet)
		return rc;
	printf("fetched %zu mule message%s from %s", m->nmule,
	    m->nmule == 1 ? "" : "s", m->where);
	if (m->nother > 0)
		printf("; %zu for other sites left alone", m->nother);
	if (m->nbad > 0)
		printf("; %zu unreadable", m->nbad);
	if (m->del)
		printf("; %zu deleted", m->ndeleted);
	printf("\n");
	return rc;
}
