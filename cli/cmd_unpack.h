/*
 * cli/cmd_unpack.h — mule unpack: the command (cli/cmd_unpack.c) and its
 * output (cli/print_unpack.c).
 */
#ifndef MULE_CLI_CMD_UNPACK_H
#define MULE_CLI_CMD_UNPACK_H

#include "sync/inbound.h"

#include "core/strb.h"

/* The options, the worst exit status so far, and the inputs that failed
 * ("; "-separated, for the closing line; nfailed of them). */
struct unpack_args {
	int dry, mail;
	int json, quiet;	/* --json: one JSON object per line and input */
	int worst;
	struct strb failed;
	size_t nfailed;
};

/* sync_inputs_opts.event: prints one input's fate (arg: the args) and
 * raises a->worst for a failure. */
void unpack_event(void *arg, const struct sync_input_event *ev);
/* sync_inputs_opts.note: a problem with one message (stderr, and the
 * exit status raised) or a remark (stdout). */
void unpack_note(void *arg, int code, const char *msg);
/*
 * The totals (when the inputs were gathered; not with --json or
 * --quiet), the inputs that failed (on stderr, when there were several
 * inputs), then closing the inbox and what the fetch did.  Returns the
 * exit status: rc, raised when closing the inbox failed after a gathered
 * run.
 */
int unpack_totals(const struct unpack_args *a,
    const struct sync_inputs_result *s, int gathered, int rc);

#endif
