/* cli/print_unpack.c — what 'mule unpack' says about each input as it
 * is done, and the totals at the end (see cmd_unpack.h). */
#include <stdio.h>
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

	if (a->dry) {
		printf("%s from %s: would apply: %s (nothing changed: "
		    "--dry-run)\n", label, peer, res->summary);
		print_steps(&res->steps);
		return;
	}
	printf("applied %s from %s: %s\n", label, peer, res->summary);
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
}

/* A spooled bundle as messages name it: the name its parts carry
 * ("hq-lap-0003"), else the start of its id. */
static const char *
bundle_name(const struct sync_input_event *ev)
{
	static char id[32];

	if (ev->name != NULL)
		return ev->name;
	snprintf(id, sizeof(id), "%.12s…", ev->idhex);
	return id;
}

/* One input's fate, as it happens. */
void
unpack_event(void *arg, const struct sync_input_event *ev)
{
	const struct xport_spool_join *j = ev->join;
	struct unpack_args *a = arg;

	cli_progress_done();
	switch (ev->kind) {
	case SYNC_INPUT_APPLIED:
		unpack_print(a, ev->label, ev->res);
		break;
	case SYNC_INPUT_ALREADY:
		printf("%s: already applied; nothing changed\n", ev->label ?
		    ev->label : ev->path);
		break;
	case SYNC_INPUT_FAILED:
		unpack_worst(a, cli_fail(ev->code, ev->err));
		break;
	case SYNC_INPUT_WAITING:
		printf("bundle %s: %u of the %u parts needed are here "
		    "(have: %s; missing: %s); it waits in the spool for %u "
		    "more (any of the missing)\n", bundle_name(ev), j->ngood,
		    j->ndata, j->have ? j->have : "-",
		    j->missing ? j->missing : "-", j->nneeded);
		break;
	case SYNC_INPUT_EXPIRED:
		printf("bundle %.12s…: removed from the spool, incomplete "
		    "after %u days or more (spool.expire-days); it had %s of "
		    "its %u data parts\n", ev->group->id, ev->days,
		    ev->group->have != NULL && ev->group->have[0] != '\0' ?
		    ev->group->have : "none", ev->group->ndata);
		break;
	case SYNC_INPUT_REBUILT:
		printf("bundle %s: rebuilt from %u of its %u parts\n",
		    bundle_name(ev), j->ngood, j->ndata + j->nparity);
		break;
	}
}

/* A problem with one message: shown, and the exit status raised. */
void
unpack_note(void *arg, int code, const char *msg)
{
	cli_progress_done();
	if (code == 0) {
		printf("%s\n", msg);
		return;
	}
	cli_error("%s", msg);
	unpack_worst(arg, cli_exit_code(code));
}

/* The totals, then what the mail fetch did.  The exit status. */
int
unpack_totals(const struct sync_inputs_result *s, int gathered, int rc)
{
	const struct xport_mail_fetch_summary *m = &s->mail;
	int r;

	if (gathered && s->found == 0)
		printf("no bundles found\n");
	if (gathered && s->already > 0)
		printf("%zu bundle%s applied before; nothing changed by "
		    "%s\n", s->already, s->already == 1 ? " was" : "s were",
		    s->already == 1 ? "it" : "them");
	if (gathered && s->skipped > 0)
		printf("skipped %zu bundle%s addressed to other sites\n",
		    s->skipped, s->skipped == 1 ? "" : "s");
	if (gathered && s->skipped_parts > 0)
		printf("left %zu part%s of bundles addressed to other sites "
		    "(not spooled)\n", s->skipped_parts,
		    s->skipped_parts == 1 ? "" : "s");
	/* Closing the inbox failed: said always; it decides the exit status
	 * only after a gathered run (else the gathering error does). */
	if (s->had_mail && s->mail_code != 0 &&
	    (r = cli_fail(s->mail_code, s->mail_err)) > rc && gathered)
		rc = r;
	if (!s->had_mail || !m->inbox)
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
