/*
 * cli/cli.h — the mule command: shared state and helpers for the
 * per-command files.  Only cli/ prints or exits.
 */
#ifndef MULE_CLI_CLI_H
#define MULE_CLI_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "crypto/ident.h"
#include "replica/replica.h"

/* Exit codes (docs/design.md §12). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_VERIFY 3

struct cli {
	const char *db;		/* -d DB or $MULE_DB */
	int db_from_env;	/* db came from $MULE_DB */
	const char *keyfile;	/* --key FILE (default DB.mule-key) */
	int json;		/* --json of the current command */
	int quiet;
};

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *usage;	/* one line: "init DB [--name NAME]" */
	const char *help;	/* the rest of --help */
};

extern const struct cli_cmd cli_commands[];

/* "mule: what: why" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints err (or mule_strerror(code)) and returns the exit status. */
int cli_fail(int code, const char *err);
/* Exit status for a MULE_E* code. */
int cli_exit_code(int code);
/* Prints the usage line to stderr and returns EXIT_USAGE. */
int cli_usage(const struct cli_cmd *cmd);
/* Prints the command's --help to stdout; returns EXIT_OK. */
int cli_help(const struct cli_cmd *cmd);
const struct cli_cmd *cli_find(const char *name);

/*
 * Parses the options of a command that has only --help and, when `json`
 * is set, --json; with `stop`, parsing stops at the first operand (for
 * sub-commands).  Leaves optind at the first operand.  Returns -1 to go
 * on, or the exit status to return (help shown, or a usage error).
 */
int cli_opts(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
    int json, int stop);

/* A schema version number operand (1 .. 2^32-1); 0 when it is not
 * one. */
uint32_t cli_version_arg(const char *s);

/* The database path or an error ("no database: use -d DB or MULE_DB"). */
int cli_need_db(struct cli *c, const char **db);
/* Key file path for the current database (heap; caller frees). */
char *cli_keyfile(struct cli *c, const char *db);
/* Opens the replica (printing errors).  Returns 0 or an exit status. */
int cli_open(struct cli *c, int readonly, struct replica **rp);
/* Loads our secret identity (printing errors). 0 or an exit status. */
int cli_load_secret(struct cli *c, struct ident_secret **s);


/* JSON output helpers: a string with escapes; hex bytes. */
void json_str(FILE *f, const char *s);
/* mule's own words (a label, a message) as a JSON string, in ASCII
 * unless the locale is UTF-8 (cli_puts); data goes through json_str. */
void json_words(FILE *f, const char *s);
/* An array of n strings: ["a","b"]. */
void json_strv(FILE *f, char *const *v, size_t n);
/* An object of n string pairs: {"k1":"v1","k2":"v2"}. */
void json_pairs(FILE *f, char *const *k, char *const *v, size_t n);
void print_hex(FILE *f, const void *p, size_t n);
/* A value as JSON: null, a number, a string, or a blob as
 * {"type":"blob","base64":"..."}. */
void json_mval(FILE *f, const struct mval *v);
/*
 * Output in the user's character set (docs/decisions.md "ASCII output"):
 * cli_utf8 is 1 when LC_ALL, LC_CTYPE or LANG (the first one set) names
 * UTF-8, else 0.  cli_sym returns `utf8` then, else `ascii` (a static
 * string either way).  cli_puts writes s to f: as it is under UTF-8,
 * else with the symbols mule uses (arrows, ellipsis, dashes) spelled in
 * ASCII and, with `counts`, the commas that group a number's thousands
 * left out (for the summaries sync/ writes).  Data in s is not touched.
 */
int cli_utf8(void);
const char *cli_sym(const char *utf8, const char *ascii);
void cli_puts(FILE *f, const char *s, int counts);
/* Groups thousands under UTF-8 (1204 → "1,204"), plain digits else,
 * into buf[32]. */
const char *fmt_count(unsigned long long n, char buf[32]);
/* A volume size as --volume-size takes it: 1440k, 650M, 4G, or N bytes,
 * into buf[32]. */
const char *fmt_volume(uint64_t v, char buf[32]);

/*
 * Progress on stderr, only when stderr is a terminal (cli/progress.c): a
 * progress_fn (core/progress.h) that keeps one line up to date with the
 * phase, done of total, percent, rate and time left, and the call that
 * clears that line before other output.
 */
void cli_progress_cb(void *arg, const char *what, unsigned long long done,
    unsigned long long total);
void cli_progress_done(void);

#endif
