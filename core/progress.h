/*
 * core/progress.h — how long steps report progress.  Library code is
 * given a callback and calls it now and then; only cli/ shows anything
 * (cli/progress.c draws one line on stderr when it is a terminal).
 *
 * A call says the phase `what` (one of the names below), how much of
 * it is done and of how much (`total` 0: not known; done and total both
 * 0: only that the phase began).  A phase counts rows, unless progress_counts_bytes(what)
 * says it counts bytes.  A phase is reported at least once when it
 * starts (done 0), so that a step that takes a while never shows the
 * counter of the one before it frozen.
 */
#ifndef MULE_CORE_PROGRESS_H
#define MULE_CORE_PROGRESS_H

#include <stddef.h>

/* Row phases. */
#define PROGRESS_SCANNING	"scanning"
#define PROGRESS_PACKING	"packing"
#define PROGRESS_APPLYING	"applying"
#define PROGRESS_VERIFYING	"checking the signature"
/* Steps reported only when they begin. */
#define PROGRESS_FETCHING	"fetching mail"
#define PROGRESS_READ_IMAGE	"reading image"
#define PROGRESS_JOINING	"rebuilding from parts"
#define PROGRESS_COMMITTING	"committing"
/* Byte phases. */
#define PROGRESS_COMPRESSING	"compressing"
#define PROGRESS_SEALING	"compressing and encrypting"
#define PROGRESS_PARTS		"writing parts"
#define PROGRESS_IMAGE		"writing image"
#define PROGRESS_MAIL		"sending mail"
#define PROGRESS_EML		"writing messages"

typedef void (*progress_fn)(void *arg, const char *what,
    unsigned long long done, unsigned long long total);

/* 1 if the phase `what` counts bytes (the byte phases above), else 0. */
int progress_counts_bytes(const char *what);

/*
 * The progress line for one report into line[len] (always terminated):
 * "what: done of total rows (P%), R rows/s, M:SS left" (bytes as "2.0
 * MiB"); the count alone when total is 0 or passed; "what..." when done
 * and total are both 0; the rate once `elapsed` (seconds since the phase
 * began) is PROGRESS_RATE_AFTER or more, and the time left with it when
 * the total is known.  ASCII only.
 */
#define PROGRESS_RATE_AFTER 0.5
void progress_format(char *line, size_t len, const char *what,
    unsigned long long done, unsigned long long total, double elapsed);

/* Calls fn(arg, what, done, total) when fn is not NULL. */
void progress_report(progress_fn fn, void *arg, const char *what,
    unsigned long long done, unsigned long long total);

#endif
