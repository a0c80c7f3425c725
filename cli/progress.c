/*
 * cli/progress.c — the one progress line of every command (cli.h): the
 * phase, how much of how much, the percent, the rate and the time left
 * (formatted by core/progress.c), redrawn in place on stderr when stderr
 * is a terminal, never otherwise.
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
	progress_format(line, sizeof(line), what, done, total, t - pg.start);
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
