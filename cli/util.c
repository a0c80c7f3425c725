/* cli/util.c — messages, exit codes, opening the replica, output helpers. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/passphrase.h"
#include "core/strb.h"

void
cli_error(const char *fmt, ...)
{
	char msg[2 * MULE_ERRLEN];
	va_list ap;

	cli_progress_done();	/* not after a half-drawn progress line */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("mule: ", stderr);
	cli_puts(stderr, msg, 0);
	fputc('\n', stderr);
}

int
cli_exit_code(int code)
{
	switch (code) {
	case MULE_OK:
	case MULE_EAPPLIED:
		return EXIT_OK;
	case MULE_EVERIFY:
	case MULE_ENOTRECIPIENT:
	case MULE_EUNKNOWNSENDER:
		return EXIT_VERIFY;
	}
	return EXIT_FAIL;
}

int
cli_fail(int code, const char *err)
{
	cli_error("%s", err != NULL && err[0] != '\0' ? err :
	    mule_strerror(code));
	return cli_exit_code(code);
}

int
cli_usage(const struct cli_cmd *cmd)
{
	fprintf(stderr, "usage: mule %s\n", cmd->usage);
	fprintf(stderr, "see: mule %s --help\n", cmd->name);
	return EXIT_USAGE;
}

int
cli_help(const struct cli_cmd *cmd)
{
	printf("usage: mule [-d DB] %s\n\n%s", cmd->usage, cmd->help);
	return EXIT_OK;
}

const struct cli_cmd *
cli_find(const char *name)
{
	int i;

	for (i = 0; cli_commands[i].name != NULL; i++)
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	return NULL;
}

int
cli_need_db(struct cli *c, const char **db)
{
	if (c->db == NULL || c->db[0] == '\0') {
		cli_error("no database given: use -d DB or set MULE_DB");
		return EXIT_USAGE;
	}
	*db = c->db;
	return 0;
}

char *
cli_keyfile(struct cli *c, const char *db)
{
	struct strb sb;

	if (c->keyfile != NULL)
		return strdup(c->keyfile);
	strb_init(&sb);
	strb_addf(&sb, "%s.mule-key", db);
	return strb_detach(&sb);
}

int
cli_open(struct cli *c, int readonly, struct replica **rp)
{
	char err[MULE_ERRLEN] = "";
	const char *db;
	int r;

	if ((r = cli_need_db(c, &db)) != 0)
		return r;
	if (access(db, F_OK) != 0 && errno == ENOENT) {
		cli_error("no database %s%s: check the path, or make a replica "
		    "there with 'mule init %s'", db, c->db_from_env ?
		    " (named by MULE_DB)" : "", db);
		return EXIT_FAIL;
	}
	if ((r = replica_open(db, readonly, rp, err)) != 0)
		return cli_fail(r, err);
	return 0;
}

int
cli_load_secret(struct cli *c, struct ident_secret **s)
{
	char err[MULE_ERRLEN] = "";
	char *path;
	int r;

	if ((path = cli_keyfile(c, c->db)) == NULL)
		return cli_fail(MULE_ENOMEM, NULL);
	/* A protected key file's passphrase: cli/passphrase.c. */
	r = ident_read_keyfile_pass(path, cli_pass_get, NULL, s, err);
	free(path);
	if (r != 0)
		return cli_fail(r, err);
	return 0;
}

void
json_str(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	fputc('"', f);
	for (; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\')
			fprintf(f, "\\%c", *u);
		else if (*u == '\n')
			fputs("\\n", f);
		else if (*u == '\t')
			fputs("\\t", f);
		else if (*u < 0x20)
			fprintf(f, "\\u%04x", *u);
		else
			fputc(*u, f);
	}
	fputc('"', f);
}

void
json_words(FILE *f, const char *s)
{
	FILE *m;
	char *buf = NULL;
	size_t n = 0;

	if ((m = open_memstream(&buf, &n)) != NULL) {
		cli_puts(m, s, 0);
		if (fclose(m) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	json_str(f, buf != NULL ? buf : s);
	free(buf);
}

/* n bytes as a JSON string (a NUL byte as \u0000). */
static void
json_bytes(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] == '\n')
			fputs("\\n", f);
		else if (p[i] == '\t')
			fputs("\\t", f);
		else if (p[i] < 0x20)
			fprintf(f, "\\u%04x", p[i]);
		else
			fputc(p[i], f);
	}
	fputc('"', f);
}

/* n bytes in base64 (RFC 4648, with padding). */
static void
base64_put(FILE *f, const uint8_t *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t w;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		w = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		fprintf(f, "%c%c%c%c", abc[w >> 18], abc[w >> 12 & 63],
		    abc[w >> 6 & 63], abc[w & 63]);
	}
	if (n - i == 1)
		fprintf(f, "%c%c==", abc[p[i] >> 2], abc[(p[i] & 3) << 4]);
	else if (n - i == 2)
		fprintf(f, "%c%c%c=", abc[p[i] >> 2], abc[(p[i] & 3) << 4 |
		    p[i + 1] >> 4], abc[(p[i + 1] & 15) << 2]);
}

void
json_mval(FILE *f, const struct mval *v)
{
	switch (v->type) {
	case MVAL_INT:
		fprintf(f, "%lld", (long long)v->i);
		break;
	case MVAL_REAL:
		if (v->f != v->f || v->f - v->f != 0)	/* NaN, infinite */
			fputs("null", f);
		else
			fprintf(f, "%.17g", v->f);
		break;
	case MVAL_TEXT:
		json_bytes(f, v->p, v->n);
		break;
	case MVAL_BLOB:
		fputs("{\"type\":\"blob\",\"base64\":\"", f);
		base64_put(f, v->p, v->n);
		fputs("\"}", f);
		break;
	default:
		fputs("null", f);
		break;
	}
}

void
json_strv(FILE *f, char *const *v, size_t n)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		json_str(f, v[i]);
	}
	fputc(']', f);
}

void
json_pairs(FILE *f, char *const *k, char *const *v, size_t n)
{
	size_t i;

	fputc('{', f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		json_str(f, k[i]);
		fputc(':', f);
		json_str(f, v[i]);
	}
	fputc('}', f);
}

void
print_hex(FILE *f, const void *p, size_t n)
{
	const unsigned char *u = p;
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%02x", u[i]);
}

int
cli_utf8(void)
{
	static int known = -1;
	const char *names[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	const char *v = NULL;
	size_t i;

	if (known >= 0)
		return known;
	/* The first of these that is set and not empty decides, as for
	 * setlocale(LC_CTYPE, ""); the program's own locale stays "C". */
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && v == NULL; i++)
		if ((v = getenv(names[i])) != NULL && v[0] == '\0')
			v = NULL;
	known = v != NULL && (strcasestr(v, "utf-8") != NULL ||
	    strcasestr(v, "utf8") != NULL);
	return known;
}

const char *
cli_sym(const char *utf8, const char *ascii)
{
	return cli_utf8() ? utf8 : ascii;
}

/* The ASCII for the UTF-8 symbol at s, its length in *n (NULL: none). */
static const char *
ascii_for(const char *s, size_t *n)
{
	static const char *const map[][2] = {
		{ "\xe2\x86\x92", "->" }, { "\xe2\x86\x90", "<-" },
		{ "\xe2\x80\xa6", "..." }, { "\xe2\x80\x94", "-" },
		{ "\xe2\x80\x93", "-" }, { "\xe2\x80\x98", "'" },
		{ "\xe2\x80\x99", "'" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(s, map[i][0], 3) == 0) {
			*n = 3;
			return map[i][1];
		}
	return NULL;
}

void
cli_puts(FILE *f, const char *s, int counts)
{
	const char *a, *start = s;
	size_t n;

	if (cli_utf8()) {
		fputs(s, f);
		return;
	}
	for (; *s != '\0'; s++) {
		if ((a = ascii_for(s, &n)) != NULL) {
			fputs(a, f);
			s += n - 1;
		} else if (!(counts && *s == ',' && s[1] >= '0' && s[1] <=
		    '9' && s > start && s[-1] >= '0' && s[-1] <= '9')) {
			fputc(*s, f);
		}
	}
}

const char *
fmt_count(unsigned long long n, char buf[32])
{
	struct strb sb;

	if (!cli_utf8()) {
		snprintf(buf, 32, "%llu", n);
		return buf;
	}
	strb_init(&sb);
	strb_add_count(&sb, n);
	snprintf(buf, 32, "%s", strb_error(&sb) ? "?" : strb_str(&sb));
	strb_release(&sb);
	return buf;
}

const char *
fmt_volume(uint64_t v, char buf[32])
{
	if (v % ((uint64_t)1024 * 1000 * 1000) == 0)
		snprintf(buf, 32, "%lluG", (unsigned long long)(v /
		    ((uint64_t)1024 * 1000 * 1000)));
	else if (v % (1024 * 1000) == 0)
		snprintf(buf, 32, "%lluM", (unsigned long long)(v /
		    (1024 * 1000)));
	else if (v % 1024 == 0)
		snprintf(buf, 32, "%lluk", (unsigned long long)(v / 1024));
	else
		snprintf(buf, 32, "%llu bytes", (unsigned long long)v);
	return buf;
}

int
cli_opts(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv,
    int json, int stop)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, stop ? "+h" : "h", opts,
	    NULL)) != -1) {
		if (ch == 'j' && json)
			c->json = 1;
		else if (ch == 'h')
			return cli_help(cmd);
		else
			return cli_usage(cmd);
	}
	return -1;
}

uint32_t
cli_version_arg(const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > 0xffffffffUL)
		return 0;
	return (uint32_t)v;
}
