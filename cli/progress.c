/*
 * cli/progress.c — the one progress line of every command (cli.h): the
 * phase, how much of how much, the percent, the rate and the time left,
 * redrawn in place on stderr when stderr is a terminal, never otherwise.
 *
 *   scanning: 131072 of 400000 rows (32%), 52000 rows/s, 0:05 left
 *   writing parts: 2.0 MiB of 6.7 MiB (30%), 11.3 MiB/s, 0:01 left
 *   packing: 65536 rows
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/progress.h"

#define DRAW_EVERY 0.2		/* seconds between redraws of one phase */
#define RATE_AFTER 0.5		/* seconds before a rate means anything */

static struct {
	int shown;		/* a line is on the terminal */
	char phase[64];		/* the phase drawn last */
	double start;		/* when that phase began */
	double drawn;		/* when the line was drawn last */
} pg;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n in the phase's unit: "65536" (rows) or "2.0 MiB" (bytes). */
static void
amount(char *out, size_t len, int bytes, double n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	if (!bytes) {
		snprintf(out, len, "%.0f", n);
		return;
	}
	while (n >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		n /= 1024;
		u++;
	}
	snprintf(out, len, u == 0 ? "%.0f %s" : "%.1f %s", n, unit[u]);
}

/* The line for one report, into line[len]. */
static void
render(char *line, size_t len, const char *what, unsigned long long done,
    unsigned long long total, double elapsed)
{
	int bytes = progress_counts_bytes(what);
	const char *rows = bytes ? "" : " rows";
	char a[32], b[32], r[32];
	double rate = elapsed >= RATE_AFTER ? (double)done / elapsed : 0;
	unsigned long long left;
	size_t n;

	amount(a, sizeof(a), bytes, (double)done);
	if (done == 0 && total == 0) {
		snprintf(line, len, "%s...", what);
		return;
	}
	if (total > 0 && done <= total) {
		amount(b, sizeof(b), bytes, (double)total);
		n = (size_t)snprintf(line, len, "%s: %s of %s%s (%llu%%)",
		    what, a, b, rows, done * 100 / total);
	} else {
		n = (size_t)snprintf(line, len, "%s: %s%s", what, a, rows);
	}
	if (n >= len || rate <= 0)
		return;
	amount(r, sizeof(r), bytes, rate);
	n += (size_t)snprintf(line + n, len - n, ", %s%s/s", r, rows);
	if (n >= len || total == 0 || done >= total)
		return;
	left = (unsigned long long)((double)(total - done) / rate + 0.5);
	snprintf(line + n, len - n, ", %llu:%02llu left", left / 60,
	    left % 60);
}

void
cli_progress_cb(void *arg, const char *what, unsigned long long done,
    unsigned long long total)
{
	char line[160];
	double t;
	int fresh;

	(void)arg;
	if (!isatty(STDERR_FILENO))
		return;
	t = now();
	fresh = strcmp(pg.phase, what) != 0 || !pg.shown;
	if (fresh) {
		snprintf(pg.phase, sizeof(pg.phase), "%s", what);
		pg.start = t;
	} else if (t - pg.drawn < DRAW_EVERY && done != total) {
		return;
	}
	render(line, sizeof(line), what, done, total, t - pg.start);
	fprintf(stderr, "\r%s\033[K", line);
	fflush(stderr);
	pg.drawn = t;
	pg.shown = 1;
}

void
cli_progress_done(void)
{
	if (pg.shown && isatty(STDERR_FILENO)) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	pg.shown = 0;
	pg.phase[0] = '\0';
}
