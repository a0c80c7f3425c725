/*
 * bench/apply_changeset.c — the best anchor for apply time (issue 15):
 * applies a changeset (from `sqldiff --changeset`) to a database with the
 * session extension's sqlite3changeset_apply, in one transaction.
 *
 *   apply_changeset DB CHANGESET
 *
 * A conflict aborts (the bench's changeset applies cleanly to old.db).
 */
#include <stdio.h>
#include <stdlib.h>

/* The session API is declared only with these (Debian builds it in). */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

static int
on_conflict(void *arg, int kind, sqlite3_changeset_iter *it)
{
	(void)arg;
	(void)kind;
	(void)it;
	return SQLITE_CHANGESET_ABORT;
}

int
main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	FILE *f = NULL;
	void *cs = NULL;
	long n;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: apply_changeset DB CHANGESET\n");
		return 2;
	}
	if ((f = fopen(argv[2], "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (cs = malloc(n > 0 ? (size_t)n : 1)) == NULL ||
	    fread(cs, 1, (size_t)n, f) != (size_t)n) {
		perror(argv[2]);
		goto out;
	}
	if (sqlite3_open(argv[1], &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3changeset_apply(db, (int)n, cs, NULL, on_conflict,
	    NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "apply_changeset: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(cs);
	sqlite3_close(db);
	return rc;
}
