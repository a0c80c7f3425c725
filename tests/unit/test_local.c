/*
 * tests/unit/test_local.c — the calls each command makes, below the
 * command line: sync_init, sync_track and sync_schema_record
 * (sync/local.h), sync_pack_deliver (sync/deliver.h) and the unpack run
 * over many inputs, sync_unpack_inputs (sync/inbound.h): which events it
 * reports in which order, what it counts, and that a refusal changes
 * nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <unistd.h>

#include "scratch.h"
#include "sqlhelp.h"
#include "sync/deliver.h"
#include "sync/inbound.h"
#include "sync/local.h"

/* One site: its database, key file, key and open replica. */
struct site {
	const char *name;
	char db[600], keyfile[700];
	struct ident_secret *sec;
	struct replica *rp;
};

static struct site alice = { .name = "alice" };
static struct site bob = { .name = "bob" };

/* What sync_track reported, in order: "+t" new, "=t" already, "-t" no
 * key. */
static char tracked[256];

static void
on_track(void *arg, const char *name, enum sync_tracked what, int intkey)
{
	size_t n = strlen(tracked);

	(void)arg;
	(void)intkey;
	snprintf(tracked + n, sizeof(tracked) - n, "%s%c%s", n ? " " : "",
	    what == SYNC_TRACKED_NEW ? '+' : what == SYNC_TRACKED_ALREADY ?
	    '=' : '-', name);
}

/* A replica made by sync_init, its key read back, table t tracked. */
static void
site_make(struct site *s)
{
	char err[MULE_ERRLEN] = "";
	const char *names[1] = { "t" };
	struct ident_pub pub;
	uint64_t baseline = 0;
	size_t ntables = 0;

	snprintf(s->db, sizeof(s->db), "%s/%s.db", tmpdir, s->name);
	snprintf(s->keyfile, sizeof(s->keyfile), "%s.mule-key", s->db);
	sql_exec(s->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
	if (sync_init(s->db, s->name, s->keyfile, NULL, &pub, err) != 0 ||
	    ident_read_keyfile(s->keyfile, &s->sec, err) != 0 ||
	    replica_open(s->db, 0, &s->rp, err) != 0)
		fail_msg("%s: %s", s->name, err);
	assert_memory_equal(pub.key_id, s->sec->pub.key_id, IDENT_KEYID_LEN);
	if (sync_track(s->rp, names, 1, on_track, NULL, NULL, NULL, &ntables,
	    &baseline, err) != 0)
		fail_msg("track t at %s: %s", s->name, err);
	assert_int_equal(ntables, 1);
}

static int
setup(void **state)
{
	char err[MULE_ERRLEN] = "";

	(void)state;
	if (ident_lib_init() != 0 || scratch_setup("mule-local") != 0)
		return -1;
	site_make(&alice);
	site_make(&bob);
	if (replica_peer_add(alice.rp, "bob", &bob.sec->pub, err) != 0 ||
	    replica_peer_add(bob.rp, "alice", &alice.sec->pub, err) != 0)
		fail_msg("trust: %s", err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	replica_close(alice.rp);
	replica_close(bob.rp);
	ident_secret_free(alice.sec);
	ident_secret_free(bob.sec);
	scratch_teardown();
	return 0;
}

/* sync_init refuses a replica and a key file that exist, creating
 * nothing; the first sync_track reported table t as new. */
static void
test_init_refusals(void **state)
{
	char err[MULE_ERRLEN] = "";
	const char *fresh = join_path(tmpdir, "fresh.db");
	struct ident_pub pub;

	(void)state;
	assert_string_equal(tracked, "+t +t");
	assert_int_equal(sync_init(alice.db, "again", join_path(tmpdir,
	    "again.key"), NULL, &pub, err), MULE_EEXIST);
	assert_non_null(strstr(err, "is already a mule replica"));
	assert_false(file_exists(join_path(tmpdir, "again.key")));
	assert_int_equal(sync_init(fresh, "fresh", alice.keyfile, NULL, &pub,
	    err),
	    MULE_EEXIST);
	assert_non_null(strstr(err, "exists already"));
	assert_false(file_exists(fresh));
}

/* track --all at a new site: a table without a key is skipped, a
 * tracked one said to be tracked already, existing rows become the
 * baseline. */
static void
test_track_all(void **state)
{
	struct site carol = { .name = "carol" };
	char err[MULE_ERRLEN] = "";
	uint64_t baseline = 0;
	size_t ntables = 0;

	(void)state;
	site_make(&carol);
	sql_exec(carol.db, "CREATE TABLE nokey(a, b); "
	    "CREATE TABLE u(id TEXT PRIMARY KEY, w); "
	    "INSERT INTO u VALUES ('x', 1), ('y', 2)");
	tracked[0] = '\0';
	if (sync_track(carol.rp, NULL, 0, on_track, NULL, NULL, NULL,
	    &ntables, &baseline, err) != 0)
		fail_msg("track --all: %s", err);
	assert_int_equal(ntables, 3);
	assert_string_equal(tracked, "-nokey =t +u");
	assert_int_equal(baseline, 2);
	assert_int_equal(sql_int(carol.db, "SELECT count(*) FROM "
	    "_mule_tables"), 2);
	replica_close(carol.rp);
	ident_secret_free(carol.sec);
}

/* A script with a NUL byte is refused and records nothing. */
static void
test_schema_record_nul(void **state)
{
	static const uint8_t script[] = "CREATE TABLE w(id INTEGER PRIMARY "
	    "KEY);\0DROP TABLE t;";
	char err[MULE_ERRLEN] = "", *path = join_path(tmpdir, "nul.sql");
	uint8_t fpr[SCHEMA_FPR_LEN];
	uint32_t before = 0, after = 0, v = 0;

	(void)state;
	spit(path, script, sizeof(script) - 1);
	assert_int_equal(replica_schema_latest(alice.rp, &before, fpr, err), 0);
	assert_int_equal(sync_schema_record(alice.rp, path, &v, err),
	    MULE_EINVAL);
	assert_non_null(strstr(err, "cannot hold NUL bytes"));
	assert_int_equal(replica_schema_latest(alice.rp, &after, fpr, err), 0);
	assert_int_equal(before, after);
	assert_int_equal(sql_int(alice.db, "SELECT count(*) FROM "
	    "sqlite_schema WHERE name = 'w'"), 0);
}

/* What sync_unpack_inputs reported, one letter per event (A applied,
 * L already, F failed, W waiting, R rebuilt, E expired), and the last
 * label. */
struct events {
	char seq[64];
	char label[256];
	int code;		/* the last failure's */
};

static void
on_event(void *arg, const struct sync_input_event *ev)
{
	static const char letters[] = "ALFWRE";
	struct events *e = arg;
	size_t n = strlen(e->seq);

	if (n + 1 < sizeof(e->seq)) {
		e->seq[n] = letters[ev->kind];
		e->seq[n + 1] = '\0';
	}
	if (ev->kind == SYNC_INPUT_APPLIED)
		snprintf(e->label, sizeof(e->label), "%s", ev->label);
	if (ev->kind == SYNC_INPUT_FAILED)
		e->code = ev->code;
}

/* Runs bob's unpack over `n` operands; the code it returns. */
static int
inputs(const struct ident_secret *me, char **operands, size_t n,
    struct events *e, struct sync_inputs_result *res)
{
	char err[MULE_ERRLEN] = "";
	struct sync_inputs_opts o;

	memset(&o, 0, sizeof(o));
	memset(e, 0, sizeof(*e));
	memset(res, 0, sizeof(*res));
	o.me = me;
	o.db = bob.db;
	o.operands = operands;
	o.noperands = n;
	o.event = on_event;
	o.arg = e;
	return sync_unpack_inputs(bob.rp, &o, res, err);
}

/* Packs alice's changes for `peer` into DIR (with `volume`: parts). */
static void
pack_for(const char *peer, const char *dir, uint64_t volume,
    uint32_t parity, struct sync_delivered *out)
{
	char err[MULE_ERRLEN] = "";
	const char *names[1] = { peer };
	struct sync_deliver_opts d;
	struct sync_pack_result res;
	struct sync_pack_opts o;

	memset(&o, 0, sizeof(o));
	memset(&d, 0, sizeof(d));
	memset(&res, 0, sizeof(res));
	memset(out, 0, sizeof(*out));
	o.peers = names;
	o.npeers = 1;
	o.me = alice.sec;
	o.out = dir;
	o.encrypt = 1;
	d.db = alice.db;
	d.volume = volume;
	d.parity = parity;
	if (sync_pack_deliver(alice.rp, &o, &d, &res, out, err) != 0)
		fail_msg("pack: %s", err);
	sync_pack_result_release(&res);
}

/* A directory's bundle applies once; applied before it is counted, and
 * named by hand it is said; a missing operand stops the run before
 * anything is applied; a key that is not bob's is refused. */
static void
test_inputs_dir(void **state)
{
	struct sync_inputs_result res;
	struct sync_delivered out;
	struct events e;
	char dir[300], *ops[2];
	long long rows;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", mkdir_t("in1"));
	sql_exec(alice.db, "INSERT INTO t VALUES (1, 'one'), (2, 'two')");
	pack_for("bob", dir, 0, 0, &out);
	assert_int_equal(out.nfiles, 0);
	sync_delivered_release(&out);

	ops[0] = dir;
	ops[1] = join_path(tmpdir, "nosuch");
	assert_int_equal(inputs(bob.sec, ops, 2, &e, &res), MULE_ENOTFOUND);
	assert_string_equal(e.seq, "");
	assert_int_equal(res.applied, 0);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"), 0);
	assert_int_equal(inputs(alice.sec, ops, 1, &e, &res), MULE_EINVAL);
	assert_string_equal(e.seq, "");

	assert_int_equal(inputs(bob.sec, ops, 1, &e, &res), 0);
	assert_string_equal(e.seq, "A");
	assert_int_equal(res.found, 1);
	assert_int_equal(res.applied, 1);
	assert_int_equal(res.already, 0);
	assert_int_equal(res.had_mail, 0);
	rows = sql_int(bob.db, "SELECT count(*) FROM t");
	assert_int_equal(rows, 2);

	assert_int_equal(inputs(bob.sec, ops, 1, &e, &res), 0);
	assert_string_equal(e.seq, "");
	assert_int_equal(res.already, 1);
	ops[0] = join_path(dir, "alice-bob-0001.mule");
	assert_int_equal(inputs(bob.sec, ops, 1, &e, &res), 0);
	assert_string_equal(e.seq, "L");
	assert_int_equal(res.already, 0);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"), rows);
}

/* Parts: one data part waits in the spool; with the rest, the bundle is
 * rebuilt and applied, and the spool is empty again. */
static void
test_inputs_parts(void **state)
{
	struct sync_inputs_result res;
	struct sync_delivered out;
	struct events e;
	char dir[300], one[300], spool[300], name[200], *ops[1];
	uint8_t *p;
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", mkdir_t("parts"));
	snprintf(one, sizeof(one), "%s", mkdir_t("one"));
	snprintf(spool, sizeof(spool), "%s/bob.db.mule-spool", tmpdir);
	sql_exec(alice.db, "WITH RECURSIVE k(i) AS (SELECT 100 UNION ALL "
	    "SELECT i + 1 FROM k WHERE i < 160) INSERT INTO t "
	    "SELECT i, hex(randomblob(60)) FROM k");
	pack_for("bob", dir, 1024, 1, &out);
	assert_true(out.nfiles > 3);
	snprintf(name, sizeof(name), "alice-bob-0002.d001-of-%03zu.mule-part",
	    out.nfiles - 1);
	sync_delivered_release(&out);
	p = slurp(join_path(dir, name), &n);
	spit(join_path(one, name), p, n);
	free(p);

	ops[0] = one;
	assert_int_equal(inputs(bob.sec, ops, 1, &e, &res), 0);
	assert_string_equal(e.seq, "W");
	assert_int_equal(res.found, 1);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t "
	    "WHERE id >= 100"), 0);
	assert_int_equal(count_files(spool), 1);

	ops[0] = dir;
	assert_int_equal(inputs(bob.sec, ops, 1, &e, &res), 0);
	assert_string_equal(e.seq, "RA");
	assert_non_null(strstr(e.label, "parts)"));
	assert_int_equal(res.applied, 1);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t "
	    "WHERE id >= 100"), 61);
	assert_false(file_exists(spool));
}

/* Parts of a bundle for another site: left where they are when found
 * in a directory (counted), refused when named; nothing waits in the
 * spool. */
static void
test_inputs_parts_other(void **state)
{
	struct site dave = { .name = "dave" };
	struct sync_inputs_result res;
	struct sync_delivered out;
	struct events e;
	struct xport_spool_group *v = NULL;
	char dir[300], name[200], *ops[1];
	char err[MULE_ERRLEN] = "";
	size_t nparts, n = 0;

	(void)state;
	site_make(&dave);
	if (replica_peer_add(alice.rp, "dave", &dave.sec->pub, err) != 0)
		fail_msg("alice trusts dave: %s", err);
	snprintf(dir, sizeof(dir), "%s", mkdir_t("fordave"));
	sql_exec(alice.db, "WITH RECURSIVE k(i) AS (SELECT 200 UNION ALL "
	    "SELECT i + 1 FROM k WHERE i < 260) INSERT INTO t "
	    "SELECT i, hex(randomblob(60)) FROM k");
	pack_for("dave", dir, 1024, 0, &out);
	nparts = out.nfiles;
	assert_true(nparts > 1);
	sync_delivered_release(&out);

	ops[0] = dir;
	assert_int_equal(inputs(bob.sec, ops, 1, &e, &res), 0);
	assert_string_equal(e.seq, "");
	assert_int_equal(res.found, nparts);
	assert_int_equal(res.skipped_parts, nparts);
	/* Only the marker that refuses the rest is left: nothing waits. */
	assert_int_equal(xport_spool_status(bob.db, &v, &n, err), 0);
	assert_int_equal(n, 0);
	xport_spool_status_free(v, n);

	snprintf(name, sizeof(name), "alice-dave-0003.d001-of-%03zu"
	    ".mule-part", nparts);
	ops[0] = join_path(dir, name);
	assert_int_equal(inputs(bob.sec, ops, 1, &e, &res), 0);
	assert_string_equal(e.seq, "F");
	assert_int_equal(e.code, MULE_ENOTRECIPIENT);
	assert_int_equal(res.skipped_parts, 0);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t "
	    "WHERE id >= 200"), 0);
	replica_close(dave.rp);
	ident_secret_free(dave.sec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_refusals),
		cmocka_unit_test(test_track_all),
		cmocka_unit_test(test_schema_record_nul),
		cmocka_unit_test(test_inputs_dir),
		cmocka_unit_test(test_inputs_parts),
		cmocka_unit_test(test_inputs_parts_other),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
