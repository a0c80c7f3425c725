/* core/progress.c — the progress phases (see progress.h). */
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

void
progress_report(progress_fn fn, void *arg, const char *what,
    unsigned long long done, unsigned long long total)
{
	if (fn != NULL)
		fn(arg, what, done, total);
}
