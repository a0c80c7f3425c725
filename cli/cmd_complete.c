/*
 * cli/cmd_complete.c — mule [-d DB] __complete WHAT [COMMAND]: the words
 * shell completion offers (completion/mule.bash), one a line.  Hidden:
 * not in the command list, since people never type it.
 *
 *   commands            the command names
 *   subcommands CMD     the sub-commands of CMD (peer add, schema log ...)
 *   options CMD         the options CMD's usage and --help name
 *   peers               this replica's peer names
 *   tables              this replica's tables (not mule's own)
 *
 * Options and sub-commands are read off the usage and help texts in
 * cli/commands.c, so that completion never drifts from --help.  Nothing
 * is printed for an unknown WHAT or COMMAND, or a database that does not
 * open (its error goes to stderr, which the script discards).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

#define WORD_MAX 64

/* Prints `w` (n bytes) unless it is among the words printed before. */
static void
put_once(char seen[][WORD_MAX], size_t *nseen, size_t cap, const char *w,
    size_t n)
{
	size_t i;

	if (n == 0 || n >= WORD_MAX)
		return;
	for (i = 0; i < *nseen; i++)
		if (strlen(seen[i]) == n && memcmp(seen[i], w, n) == 0)
			return;
	printf("%.*s\n", (int)n, w);
	if (*nseen < cap)
		snprintf(seen[(*nseen)++], WORD_MAX, "%.*s", (int)n, w);
}

/* Every "-x" and "--long-name" in text. */
static void
options_in(const char *text, char seen[][WORD_MAX], size_t *nseen,
    size_t cap)
{
	const char *p = text, *e;

	while ((p = strchr(p, '-')) != NULL) {
		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '-'
		    || p[-1] == '\'')) {
			p++;
			continue;
		}
		e = p + 1 + (p[1] == '-');
		if (!islower((unsigned char)*e)) {
			p = e;
			continue;
		}
		while (islower((unsigned char)*e) || isdigit((unsigned char)*e)
		    || (*e == '-' && islower((unsigned char)e[1])))
			e++;
		/* One letter after one dash, or a long name after two. */
		if ((p[1] != '-' && e - p == 2) || (p[1] == '-' && e - p > 3))
			put_once(seen, nseen, cap, p, (size_t)(e - p));
		p = e;
	}
}

/* The lower-case words that start each alternative of the usage line
 * ("peer add NAME KEY | list ..." gives add, list). */
static void
subcommands_in(const struct cli_cmd *cmd)
{
	char seen[32][WORD_MAX];
	const char *p = cmd->usage + strlen(cmd->name), *e;
	size_t nseen = 0, n = strlen(cmd->name);

	for (;;) {
		p += strspn(p, " \n\t");
		if (strncmp(p, cmd->name, n) == 0 && p[n] == ' ')
			p += n + 1;	/* "| conflicts resolve" */
		for (e = p; islower((unsigned char)*e); e++)
			;
		if (e > p && (*e == ' ' || *e == '\n' || *e == '\0'))
			put_once(seen, &nseen, 32, p, (size_t)(e - p));
		/* " | " separates alternatives; "local|remote" does not. */
		if ((p = strstr(p, " |")) == NULL)
			break;
		p += 2;
	}
}

/* The peer names or the table names of the replica. */
static int
replica_words(struct cli *c, int tables)
{
	char err[MULE_ERRLEN] = "", **names = NULL;
	struct replica_peer *peers = NULL;
	struct replica *rp = NULL;
	size_t i, n = 0;
	int r, rc;

	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	r = tables ? replica_user_tables(rp, &names, &n, err) :
	    replica_peer_list(rp, &peers, &n, err);
	rc = r != 0 ? cli_fail(r, err) : EXIT_OK;
	for (i = 0; r == 0 && i < n; i++)
		printf("%s\n", tables ? names[i] : peers[i].name);
	if (tables)
		replica_names_free(names, n);
	free(peers);
	replica_close(rp);
	return rc;
}

int
cmd_complete(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = NULL;
	char seen[64][WORD_MAX];
	size_t nseen = 0;
	int i;

	if (argc < 2)
		return EXIT_USAGE;
	if (argc >= 3)
		cmd = cli_find(argv[2]);
	if (strcmp(argv[1], "commands") == 0) {
		for (i = 0; cli_commands[i].name != NULL; i++)
			printf("%s\n", cli_commands[i].name);
		printf("help\n");
	} else if (strcmp(argv[1], "subcommands") == 0 && cmd != NULL) {
		subcommands_in(cmd);
	} else if (strcmp(argv[1], "options") == 0 && cmd != NULL) {
		options_in(cmd->usage, seen, &nseen, 64);
		options_in(cmd->help, seen, &nseen, 64);
		put_once(seen, &nseen, 64, "--help", 6);
	} else if (strcmp(argv[1], "peers") == 0) {
		return replica_words(c, 0);
	} else if (strcmp(argv[1], "tables") == 0) {
		return replica_words(c, 1);
	} else {
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
