/*
 * cli/passphrase.h — the passphrase of a protected key file: from the
 * file $MULE_PASSPHRASE_FILE names, or asked on the terminal with echo
 * off.  Buffers are IDENT_PASS_MAX + 1 bytes; the callers wipe them
 * (sodium_memzero) after use.
 */
#ifndef MULE_CLI_PASSPHRASE_H
#define MULE_CLI_PASSPHRASE_H

#include <stddef.h>

/*
 * An ident_pass_fn (crypto/ident.h; arg unused): the passphrase to open
 * the key file `path`.  From $MULE_PASSPHRASE_FILE when it is set (its
 * first line; the file must be private, as a key file); else, when stdin
 * is a terminal, asked there; else MULE_EPASSPHRASE saying how to give
 * it.  0 or a MULE_E* code with the message in err.
 */
int cli_pass_get(void *arg, const char *path, char *buf, size_t size,
    char *err);

/*
 * A new passphrase for the key file `path` into buf: the first line of
 * `file` when it is not NULL, else of $MULE_PASSPHRASE_FILE when it is
 * set; else asked twice on the terminal (stdin must be one).  An empty
 * one is refused.  0 or a MULE_E* code with the
 * message in err.
 */
int cli_pass_new(const char *file, const char *path, char *buf, size_t size,
    char *err);

#endif
