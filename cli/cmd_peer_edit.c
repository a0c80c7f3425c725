/* cli/cmd_peer_edit.c — mule peer add NAME KEY|FILE|- | remove NAME |
 * set NAME KEY [VALUE]: the sub-commands that change whom we trust. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_peer.h"
#include "core/file.h"
#include "sync/sync.h"

#define PEER_KEYFILE_MAX 65536	/* bytes read from a FILE or stdin */

/* 1 if s starts with the key string prefix "mule1" (either case). */
static int
is_keystring(const char *s)
{
	return strncasecmp(s, "mule1", 5) == 0;
}

/*
 * The one key string in text (a 'mule id' printout, its --json, what a
 * QR scanner wrote ...): the word of letters and digits that starts with
 * "mule1".  Its parse into *pub; `src` names the text in messages.
 */
static int
key_from_text(char *text, const char *src, struct ident_pub *pub,
    char *err)
{
	char *p = text, *found = NULL, *end, last;
	size_t n = 0;
	int r;

	while (*p != '\0') {
		for (end = p; isalnum((unsigned char)*end); end++)
			;
		last = *end;
		*end = '\0';
		if (end > p && is_keystring(p) && (found == NULL ||
		    strcasecmp(found, p) != 0)) {
			found = p;
			n++;
		}
		p = last != '\0' ? end + 1 : end;
	}
	if (n == 0)
		return mule_errf(err, MULE_EKEYSTRING, "%s holds no mule key "
		    "string (a word starting with \"mule1\")", src);
	if (n > 1)
		return mule_errf(err, MULE_EKEYSTRING, "%s holds more than "
		    "one key string; give just one", src);
	if ((r = ident_parse_keystring(found, pub, err)) != 0)
		return mule_errprefix(err, r, "%s", src);
	return 0;
}

/* The key KEY, or read from FILE or stdin ("-"), into *pub. */
static int
peer_key(const char *arg, struct ident_pub *pub, char *err)
{
	uint8_t *text = NULL;
	size_t len = 0, got = 0;
	const char *src = strcmp(arg, "-") == 0 ? "stdin" : arg;
	int r;

	if (is_keystring(arg))
		return ident_parse_keystring(arg, pub, err);
	if (strcmp(arg, "-") != 0 && access(arg, F_OK) != 0)
		return mule_errf(err, MULE_EKEYSTRING, "'%s' is neither a "
		    "mule key string (they start with \"mule1\") nor a file "
		    "holding one", arg);
	if (strcmp(arg, "-") == 0) {
		if ((text = malloc(PEER_KEYFILE_MAX + 1)) == NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		/* Typed or pasted on a terminal: one line (then the
		 * question); else all of it. */
		r = 0;
		if (isatty(STDIN_FILENO))
			got = fgets((char *)text, PEER_KEYFILE_MAX + 1,
			    stdin) != NULL ? strlen((char *)text) : 0;
		else
			r = file_read_full(STDIN_FILENO, text,
			    PEER_KEYFILE_MAX, &got, "stdin", err);
		text[got] = '\0';
	} else
		r = file_read_all(arg, PEER_KEYFILE_MAX, &text, &len, err);
	if (r == 0)
		r = key_from_text((char *)text, src, pub, err);
	free(text);
	return r;
}

/* On a terminal, unless --yes: asks whether to trust the key.  1 yes. */
static int
peer_confirm(const char *name, const char *fpr, const struct peer_opts *po)
{
	char line[64];

	if (po->yes || !isatty(STDIN_FILENO))
		return 1;
	printf("peer '%s' has the fingerprint\n  %s\n"
	    "compare it with what 'mule id' prints at %s (read it aloud "
	    "over the phone or radio)\n", name, fpr, name);
	printf("trust this key as peer '%s'? [y/N] ", name);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

int
cmd_peer_add(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po)
{
	char err[MULE_ERRLEN] = "", fpr[IDENT_FPR_MAX];
	struct ident_pub pub;
	const char *name = args[0];
	int r;

	if ((r = peer_key(args[1], &pub, err)) != 0)
		return cli_fail(r, err);
	ident_fingerprint(&pub, fpr);
	if (!peer_confirm(name, fpr, po)) {
		printf("not added: nothing changed\n");
		return EXIT_FAIL;
	}
	if ((r = replica_peer_add(rp, name, &pub, err)) != 0)
		return cli_fail(r, err);
	printf("added peer '%s'\n", name);
	printf("fingerprint: %s\n", fpr);
	printf("compare it with what 'mule id' prints at %s "
	    "(read it aloud over the phone or radio)\n", name);
	printf("to undo: mule peer remove %s\n", name);
	return EXIT_OK;
}

/* peer remove NAME */
int
cmd_peer_remove(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po)
{
	char err[MULE_ERRLEN] = "";
	const char *name = args[0];
	int r;

	if ((r = replica_peer_remove(rp, name, err)) != 0)
		return cli_fail(r, err);
	printf("removed peer '%s'; bundles it signs are now refused\n",
	    name);
	return EXIT_OK;
}

/* peer set NAME KEY [VALUE]: email, schema (no VALUE: cleared). */
int
cmd_peer_set(struct cli *c, struct replica *rp, char **args,
    const struct peer_opts *po)
{
	char err[MULE_ERRLEN] = "";
	const char *name = args[0], *key = args[1], *value = args[2];
	int r;

	if (strcmp(key, "email") != 0 && strcmp(key, "schema") != 0) {
		cli_error("unknown peer setting '%s' (known: email, schema)",
		    key);
		return EXIT_USAGE;
	}
	if (strcmp(key, "schema") == 0 && value != NULL &&
	    sync_schema_authority_parse(value) < 0) {
		cli_error("peer setting schema is accept, review, refuse or "
		    "separate, not '%s'", value);
		return EXIT_USAGE;
	}
	if ((r = replica_peer_set(rp, name, key, value, err)) != 0)
		return cli_fail(r, err);
	if (value != NULL)
		printf("peer '%s': %s = %s\n", name, key, value);
	else
		printf("peer '%s': %s cleared\n", name, key);
	return EXIT_OK;
}
