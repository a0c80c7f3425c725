/*
 * cli/cmd_unpack.h — mule unpack: the command (cli/cmd_unpack.c) and its
 * output (cli/print_unpack.c).
 */
#ifndef MULE_CLI_CMD_UNPACK_H
#define MULE_CLI_CMD_UNPACK_H

#include "sync/inbound.h"

/* The options, and the worst exit status so far. */
struct unpack_args {
	int dry, mail;
	int worst;
};

/* sync_inputs_opts.event: prints one input's fate (arg: the args) and
 * raises a->worst for a failure. */
void unpack_event(void *arg, const struct sync_input_event *ev);
/* sync_inputs_opts.note: a problem with one message (stderr, and the
 * exit status raised) or a remark (stdout). */
void unpack_note(void *arg, int code, const char *msg);
/*
 * The totals (when the inputs were gathered), then closing the inbox
 * and what the fetch did.  Returns the exit status: rc, raised when
 * closing the inbox failed after a gathered run.
 */
int unpack_totals(const struct sync_inputs_result *s, int gathered, int rc);

#endif
