/*
 * tests/fuzz/fuzz_fence.c — libFuzzer target for the receiver's fence,
 * the decision "may this bundle write here" (replica/sets/fence.c, with
 * replica/apply/apply.c around it).
 *
 * A replica `hq` tracks visits and stock and shares with its peer north
 * only the visits of district 'north', without the phone column; stock
 * is not shared.  Each input is a row segment, applied as if north had
 * sent it, inside a transaction that is rolled back.  Whatever the input,
 * what hq does not share with north stays as it was: the row of another
 * district, every phone number (a row north may delete goes with its
 * number; a row it adds has none), every stock row, mule's schema, its
 * settings and peers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "bundle/internal.h"
#include "core/error.h"
#include "crypto/ident.h"
#include "replica/internal.h"
#include "replica/replica.h"
#include "replica/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct replica *rp;
static char snapshot[65536];

static const char *setup_sql =
    "CREATE TABLE visits(id INTEGER PRIMARY KEY, district TEXT NOT NULL,"
    " patient TEXT, phone TEXT);"
    "CREATE TABLE stock(item TEXT PRIMARY KEY, n INTEGER);"
    "INSERT INTO visits VALUES (1, 'north', 'Ann', '555-0101'),"
    " (2, 'south', 'Bob', '555-0102'), (3, 'north', 'Cem', '555-0103');"
    "INSERT INTO stock VALUES ('gauze', 10);";

/* What north may never change, as text. */
static const char *fenced_sql =
    "SELECT 'v', id, district, patient, phone FROM visits WHERE id = 2 "
    "UNION ALL SELECT 'p', id, phone, NULL, NULL FROM visits WHERE phone "
    "IS NOT (CASE id WHEN 1 THEN '555-0101' WHEN 2 THEN '555-0102' "
    "WHEN 3 THEN '555-0103' END) "
    "UNION ALL SELECT 's', item, n, NULL, NULL FROM stock "
    "UNION ALL SELECT 'm', name, NULL, NULL, NULL FROM sqlite_schema "
    "UNION ALL SELECT 'c', key, value, NULL, NULL FROM _mule_config "
    "UNION ALL SELECT 'k', name, hex(sign_pk), hex(site), NULL FROM _mule_peers "
    "ORDER BY 1, 2";

static void
fenced(sqlite3 *db, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	size_t used = 0;
	int i, n;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, fenced_sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "fuzz_fence: %s\n", sqlite3_errmsg(db));
		abort();
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < 5; i++) {
			n = snprintf(out + used, len - used, "%s|",
			    (const char *)sqlite3_column_text(st, i) ?
			    (const char *)sqlite3_column_text(st, i) : "");
			if (n < 0 || (size_t)n >= len - used)
				abort();
			used += (size_t)n;
		}
	}
	sqlite3_finalize(st);
}

static void
setup(void)
{
	char dir[] = "/tmp/mule-fuzz-fence.XXXXXX", path[128], err[MULE_ERRLEN];
	const char *cols[] = { "phone" };
	struct ident_secret *hq = NULL, *north = NULL;
	struct replica_schema_sync ss;
	struct replica_scan_stats st;
	uint8_t id[SITE_ID_LEN];
	sqlite3 *db;
	int intkey, already;

	if (ident_lib_init() != 0 || mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/hq.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, setup_sql, NULL, NULL, NULL) != SQLITE_OK)
		abort();
	sqlite3_close(db);
	randombytes_buf(id, sizeof(id));
	if (ident_generate(id, &hq, err) != 0 ||
	    replica_init(path, "hq", id, &hq->pub, err) != 0 ||
	    replica_open(path, 0, &rp, err) != 0)
		abort();
	randombytes_buf(id, sizeof(id));
	memset(&ss, 0, sizeof(ss));
	memset(&st, 0, sizeof(st));
	if (ident_generate(id, &north, err) != 0 ||
	    replica_peer_add(rp, "north", &north->pub, err) != 0 ||
	    replica_begin(rp, err) != 0 ||
	    replica_track(rp, "visits", &intkey, &already, err) != 0 ||
	    replica_track(rp, "stock", &intkey, &already, err) != 0 ||
	    replica_schema_sync(rp, &ss, err) != 0 ||
	    replica_scan(rp, 0, &st, NULL, NULL, err) != 0 ||
	    replica_commit(rp, err) != 0 ||
	    replica_share(rp, "north", "visits", "district = 'north'",
	    REPLICA_COLS_EXCEPT, cols, 1, err) != 0) {
		fprintf(stderr, "fuzz_fence setup: %s\n", err);
		abort();
	}
	replica_schema_sync_release(&ss);
	replica_scan_stats_release(&st);
	ident_secret_free(hq);
	ident_secret_free(north);
	fenced(rp->db, snapshot, sizeof(snapshot));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char now[sizeof(snapshot)];
	struct replica_apply *a = NULL;
	struct segment_dec d;
	const struct rowchange *rc;
	struct vector ack;
	uint8_t bid[16] = { 1 };
	char err[MULE_ERRLEN];

	if (rp == NULL)
		setup();
	segment_dec_init(&d);
	vector_init(&ack);
	if (segment_dec_open(&d, data, size, err) != 0)
		goto out;
	if (replica_begin(rp, err) != 0)
		abort();
	if (replica_apply_new(rp, "north", bid, &ack, &a, err) != 0 ||
	    replica_apply_table(a, d.h.table, d.h.ncols,
	    (const char *const *)d.h.cols, d.h.npk, d.h.pkcols, err) != 0)
		goto done;
	while (segment_dec_next(&d, &rc, err) == 0 && rc != NULL)
		if (replica_apply_row(a, rc, err) != 0)
			break;
done:
	fenced(rp->db, now, sizeof(now));
	if (strcmp(now, snapshot) != 0) {
		fprintf(stderr, "fuzz_fence: north changed what hq does not "
		    "share with it:\nbefore: %s\nafter:  %s\n", snapshot, now);
		abort();
	}
	replica_apply_free(a);
	replica_rollback(rp);
out:
	segment_dec_release(&d);
	vector_release(&ack);
	return 0;
}
