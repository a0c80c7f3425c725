/* core/progress.c — the progress phases and the line that shows one
 * report (see progress.h). */
#include <stdio.h>
#include <string.h>

#include "core/progress.h"

int
progress_counts_bytes(const char *what)
{
	static const char *const bytes[] = {
		PROGRESS_COMPRESSING, PROGRESS_SEALING, PROGRESS_PARTS,
		PROGRESS_IMAGE, PROGRESS_MAIL, PROGRESS_EML,
	};
	size_t i;

	for (i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
		if (strcmp(what, bytes[i]) == 0)
			return 1;
	return 0;
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

void
progress_format(char *line, size_t len, const char *what,
    unsigned long long done, unsigned long long total, double elapsed)
{
	int bytes = progress_counts_bytes(what);
	const char *rows = bytes ? "" : " rows";
	char a[32], b[32], r[32];
	double rate = elapsed >= PROGRESS_RATE_AFTER ? (double)done / elapsed :
	    0;
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
progress_report(progress_fn fn, void *arg, const char *what,
    unsigned long long done, unsigned long long total)
{
	if (fn != NULL)
		fn(arg, what, done, total);
}
