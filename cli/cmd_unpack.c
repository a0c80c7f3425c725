/* cli/cmd_unpack.c — mule unpack [--dry-run] PATH... | unpack --mail
 * [PATH...]: options; sync_unpack_inputs gathers and applies the
 * bundles; output as each one is done, then the totals. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "sync/inbound.h"

/* The options, and the worst exit status so far. */
struct unpack_args {
	int dry, mail;
	int worst;
};

static void
unpack_worst(struct unpack_args *a, int rc)
{
	if (rc > a->worst)
		a->worst = rc;
}

static void
unpack_print(const struct unpack_args *a, const char *label,
    const struct sync_unpack_result *res)
{
	const char *peer = res->peer.name;

	if (a->dry) {
		printf("%s from %s: would apply: %s (nothing changed: "
		    "--dry-run)\n", label, peer, res->summary);
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

/* One input's fate, as it happens. */
static void
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
		printf("%s: already applied; nothing changed\n", ev->path);
		break;
	case SYNC_INPUT_FAILED:
		unpack_worst(a, cli_fail(ev->code, ev->err));
		break;
	case SYNC_INPUT_WAITING:
		printf("bundle %.12s…: %u of the %u parts needed are here "
		    "(have: %s; missing: %s); it waits in the spool for %u "
		    "more (any of the missing)\n", ev->idhex, j->ngood,
		    j->ndata, j->have ? j->have : "-",
		    j->missing ? j->missing : "-", j->nneeded);
		break;
	case SYNC_INPUT_REBUILT:
		if (j->ngood < j->ndata + j->nparity)
			printf("bundle %.12s…: rebuilt from %u of its %u "
			    "parts\n", ev->idhex, j->ngood,
			    j->ndata + j->nparity);
		break;
	}
}

/* A problem with one message: shown, and the exit status raised. */
static void
unpack_note(void *arg, int code, const char *msg)
{
	if (code == 0) {
		printf("%s\n", msg);
		return;
	}
	cli_error("%s", msg);
	unpack_worst(arg, cli_exit_code(code));
}

/* The totals, then what the mail fetch did.  The exit status. */
static int
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
	/* Closing the inbox failed: said, and counted unless it came to
	 * nothing anyway. */
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

static int
unpack_options(struct unpack_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "mail", no_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("unpack");
	int ch;

	while ((ch = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		if (ch == 'n')
			a->dry = 1;
		else if (ch == 'm')
			a->mail = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (optind == argc && !a->mail)
		return cli_usage(cmd);
	return -1;
}

int
cmd_unpack(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	struct sync_inputs_result res;
	struct sync_inputs_opts o;
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	struct unpack_args a;
	int r, rc;

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	if ((rc = unpack_options(&a, argc, argv)) >= 0)
		return rc;
	if ((rc = cli_open(c, 0, &rp)) != 0 ||
	    (rc = cli_load_secret(c, &sec)) != 0)
		goto out;
	o.me = sec;
	o.db = c->db;
	o.operands = argv + optind;
	o.noperands = (size_t)(argc - optind);
	o.mail = a.mail;
	o.dry = a.dry;
	o.progress = cli_progress_cb;
	o.event = unpack_event;
	o.note = unpack_note;
	o.arg = &a;
	r = sync_unpack_inputs(rp, &o, &res, err);
	cli_progress_done();
	rc = r != 0 ? cli_fail(r, err) : a.worst;
	rc = unpack_totals(&res, r == 0, rc);
out:
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
