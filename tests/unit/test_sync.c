/*
 * tests/unit/test_sync.c — sync_pack and sync_unpack below the command
 * line: replicas made through the library in a scratch directory, rows
 * written with sqlite3, one bundle packed at one site and applied at
 * another; refusals change nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <sodium.h>
#include <unistd.h>

#include "scratch.h"
#include "sqlhelp.h"
#include "sync/reconcile.h"
#include "sync/sync.h"

/* One site: its database, key and open replica. */
struct site {
	const char *name;
	char db[600];
	struct ident_secret *sec;
	struct replica *rp;
};

static struct site alice = { .name = "alice" };
static struct site bob = { .name = "bob" };
static struct site carol = { .name = "carol" };

/* A replica with table t tracked (no rows yet). */
static void
site_make(struct site *s)
{
	char err[MULE_ERRLEN] = "";
	uint8_t id[SITE_ID_LEN];
	struct replica_schema_sync ss;
	struct replica_scan_stats st;
	int intkey, already;

	snprintf(s->db, sizeof(s->db), "%s/%s.db", tmpdir, s->name);
	sql_exec(s->db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
	randombytes_buf(id, sizeof(id));
	assert_int_equal(ident_generate(id, &s->sec, err), 0);
	if (replica_init(s->db, s->name, id, &s->sec->pub, err) != 0 ||
	    replica_open(s->db, 0, &s->rp, err) != 0)
		fail_msg("%s: %s", s->name, err);
	memset(&ss, 0, sizeof(ss));
	memset(&st, 0, sizeof(st));
	if (replica_begin(s->rp, err) != 0 ||
	    replica_track(s->rp, "t", &intkey, &already, err) != 0 ||
	    replica_schema_exclude(s->rp, "t", 0, err) != 0 ||
	    replica_schema_sync(s->rp, &ss, err) != 0 ||
	    replica_scan(s->rp, 0, &st, NULL, NULL, err) != 0 ||
	    replica_commit(s->rp, err) != 0)
		fail_msg("track t at %s: %s", s->name, err);
	replica_schema_sync_release(&ss);
	replica_scan_stats_release(&st);
}

/* `s` trusts `peer`. */
static void
site_trust(struct site *s, const struct site *peer)
{
	char err[MULE_ERRLEN] = "";

	if (replica_peer_add(s->rp, peer->name, &peer->sec->pub, err) != 0)
		fail_msg("%s trusts %s: %s", s->name, peer->name, err);
}

static void
site_free(struct site *s)
{
	replica_close(s->rp);
	ident_secret_free(s->sec);
	s->rp = NULL;
	s->sec = NULL;
}

static int
setup(void **state)
{
	(void)state;
	if (ident_lib_init() != 0 || scratch_setup("mule-sync") != 0)
		return -1;
	site_make(&alice);
	site_make(&bob);
	site_make(&carol);
	site_trust(&alice, &bob);
	site_trust(&bob, &alice);
	site_trust(&carol, &alice);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	site_free(&alice);
	site_free(&bob);
	site_free(&carol);
	scratch_teardown();
	return 0;
}

/*
 * Options of an encrypted pack by `me` for the one peer names[0], into
 * `out` (a file or a directory); *res zeroed.
 */
static void
pack_opts(struct sync_pack_opts *o, struct sync_pack_result *res,
    const struct ident_secret *me, const char *const *names, const char *out)
{
	memset(o, 0, sizeof(*o));
	memset(res, 0, sizeof(*res));
	o->peers = names;
	o->npeers = 1;
	o->me = me;
	o->out = out;
	o->encrypt = 1;
}

/* Packs a bundle from `s` to `peer` into tmpdir/FILE. */
static void
pack(struct site *s, const char *peer, const char *file,
    struct sync_pack_result *res)
{
	char err[MULE_ERRLEN] = "";
	const char *names[1] = { peer };
	struct sync_pack_opts o;

	pack_opts(&o, res, s->sec, names, join_path(tmpdir, file));
	if (sync_pack(s->rp, &o, res, err) != 0)
		fail_msg("pack at %s: %s", s->name, err);
}

/* Applies tmpdir/FILE at `s`: the code sync_unpack returns. */
static int
unpack(struct site *s, const char *file, int dry,
    struct sync_unpack_result *res)
{
	char err[MULE_ERRLEN] = "";
	struct sync_unpack_opts o;

	memset(&o, 0, sizeof(o));
	memset(res, 0, sizeof(*res));
	o.me = s->sec;
	o.path = join_path(tmpdir, file);
	o.dry = dry;
	return sync_unpack(s->rp, &o, res, err);
}

/* Three rows at alice reach bob; applying the bundle again changes
 * nothing. */
static void
test_exchange(void **state)
{
	struct sync_pack_result pr;
	struct sync_unpack_result ur;

	(void)state;
	sql_exec(alice.db, "INSERT INTO t VALUES (1, 'one'), (2, 'two'), "
	    "(3, 'three')");
	pack(&alice, "bob", "a1.mule", &pr);
	assert_int_equal(pr.rows, 3);
	assert_int_equal(pr.tables, 1);
	assert_int_equal(pr.left, 0);
	assert_int_equal(pr.npeers, 1);
	assert_string_equal(pr.to, "bob");
	/* Bob is not known to have schema version 1 yet: it goes along. */
	assert_int_equal(pr.nsteps, 1);
	assert_string_equal(pr.summary, "3 changes in 1 table, 1 migration");
	assert_true(file_exists(pr.path));
	sync_pack_result_release(&pr);

	/* --dry-run reports what would change and changes nothing. */
	assert_int_equal(unpack(&bob, "a1.mule", 1, &ur), 0);
	assert_int_equal(ur.st.inserted, 3);
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"), 0);

	assert_int_equal(unpack(&bob, "a1.mule", 0, &ur), 0);
	assert_string_equal(ur.peer.name, "alice");
	assert_int_equal(ur.st.inserted, 3);
	assert_int_equal(ur.st.updated, 0);
	assert_int_equal(ur.st.deleted, 0);
	assert_int_equal(ur.st.conflicts, 0);
	assert_int_equal(ur.st.gap, 0);
	assert_int_equal(ur.steps_run, 0);	/* bob has version 1 */
	assert_int_equal(ur.lost, 0);
	assert_string_equal(ur.summary,
	    "3 inserted, 0 updated, 0 deleted, 0 conflicts");
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"), 3);
	assert_int_equal(sql_int(bob.db,
	    "SELECT count(*) FROM t WHERE id = 2 AND v = 'two'"), 1);

	assert_int_equal(unpack(&bob, "a1.mule", 0, &ur), MULE_EAPPLIED);
	sync_unpack_result_release(&ur);

	/* An edit travels back: bob's bundle updates one row at alice. */
	sql_exec(bob.db, "UPDATE t SET v = 'TWO' WHERE id = 2");
	pack(&bob, "alice", "b1.mule", &pr);
	assert_int_equal(pr.rows, 1);
	sync_pack_result_release(&pr);
	assert_int_equal(unpack(&alice, "b1.mule", 0, &ur), 0);
	assert_int_equal(ur.st.updated, 1);
	assert_int_equal(ur.st.inserted, 0);
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(alice.db,
	    "SELECT count(*) FROM t WHERE id = 2 AND v = 'TWO'"), 1);
}

/* After the exchange: what each side knows of the other. */
static void
test_status(void **state)
{
	struct sync_status st;
	char err[MULE_ERRLEN] = "";

	(void)state;
	memset(&st, 0, sizeof(st));
	sql_exec(alice.db, "INSERT INTO t VALUES (4, 'four')");
	if (sync_status(alice.rp, &st, NULL, NULL, err) != 0)
		fail_msg("status: %s", err);
	assert_string_equal(st.site.name, "alice");
	assert_int_equal(st.scan.ntables, 1);
	assert_int_equal(st.scan.tables[0].inserted, 1);	/* row 4 */
	assert_int_equal(st.schema.version, 1);
	assert_int_equal(st.conflicts, 0);
	assert_int_equal(st.npeers, 1);
	assert_string_equal(st.peers[0].peer.name, "bob");
	assert_int_equal(st.peers[0].last_sent, 1);
	assert_int_equal(st.peers[0].last_recv, 1);
	/* Bob's bundle acknowledged alice's first one. */
	assert_int_equal(st.peers[0].applied, 1);
	assert_int_equal(st.peers[0].lost, 0);
	sync_status_release(&st);
}

/* A bundle for bob is refused at carol, who trusts its sender. */
static void
test_not_addressed(void **state)
{
	struct sync_pack_result pr;
	struct sync_unpack_result ur;

	(void)state;
	sql_exec(alice.db, "INSERT INTO t VALUES (10, 'ten')");
	pack(&alice, "bob", "a2.mule", &pr);
	sync_pack_result_release(&pr);
	assert_int_equal(unpack(&carol, "a2.mule", 0, &ur),
	    MULE_ENOTRECIPIENT);
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(carol.db, "SELECT count(*) FROM t"), 0);
	assert_int_equal(sql_int(carol.db,
	    "SELECT count(*) FROM _mule_bundles"), 0);
}

/* A bundle signed by a key bob does not trust is refused. */
static void
test_unknown_sender(void **state)
{
	struct sync_pack_result pr;
	struct sync_unpack_result ur;
	char err[MULE_ERRLEN] = "";
	long long before = sql_int(bob.db, "SELECT count(*) FROM t");

	(void)state;
	if (replica_peer_add(carol.rp, "bob", &bob.sec->pub, err) != 0)
		fail_msg("carol trusts bob: %s", err);
	sql_exec(carol.db, "INSERT INTO t VALUES (20, 'twenty')");
	pack(&carol, "bob", "c1.mule", &pr);
	sync_pack_result_release(&pr);
	assert_int_equal(unpack(&bob, "c1.mule", 0, &ur),
	    MULE_EUNKNOWNSENDER);
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"), before);
	assert_int_equal(sql_int(bob.db,
	    "SELECT count(*) FROM t WHERE id = 20"), 0);
}

/* A key that is not the site's packs nothing. */
static void
test_wrong_key(void **state)
{
	struct sync_pack_result res;
	struct sync_pack_opts o;
	const char *names[1] = { "bob" };
	char err[MULE_ERRLEN] = "";

	(void)state;
	pack_opts(&o, &res, carol.sec, names, join_path(tmpdir, "wrong.mule"));
	assert_int_equal(sync_pack(alice.rp, &o, &res, err), MULE_EINVAL);
	assert_non_null(strstr(err, "does not belong"));
	sync_pack_result_release(&res);
	assert_false(file_exists(join_path(tmpdir, "wrong.mule")));
}

/* Every manifest field the signed header also names must agree. */
static void
test_manifest_check(void **state)
{
	struct bundle_info info;
	struct manifest m;
	char err[MULE_ERRLEN] = "";

	(void)state;
	memset(&info, 0, sizeof(info));
	manifest_init(&m);
	randombytes_buf(info.bundle_id, sizeof(info.bundle_id));
	randombytes_buf(info.sender_site, sizeof(info.sender_site));
	memcpy(m.bundle_id, info.bundle_id, BUNDLE_ID_LEN);
	memcpy(m.from, info.sender_site, SITE_ID_LEN);
	assert_int_equal(sync_manifest_check(&info, &m, err), 0);
	m.from[0] ^= 1;
	assert_int_equal(sync_manifest_check(&info, &m, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "sender"));
	m.from[0] ^= 1;
	m.bundle_id[BUNDLE_ID_LEN - 1] ^= 1;
	assert_int_equal(sync_manifest_check(&info, &m, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "bundle id"));
	manifest_release(&m);
}

static int
deliver_fails(void *arg, const char *tmp, const struct sync_pack_result *res,
    char *err)
{
	int *called = arg;

	(void)res;
	*called = file_exists(tmp);
	unlink(tmp);
	return mule_errf(err, MULE_EIO, "the medium is full");
}

/* When delivery fails, nothing counts as sent: the next bundle carries
 * the same changes. */
static void
test_deliver_fails(void **state)
{
	struct sync_pack_result res;
	struct sync_pack_opts o;
	const char *names[1] = { "bob" };
	char err[MULE_ERRLEN] = "";
	int called = 0;

	(void)state;
	sql_exec(alice.db, "INSERT INTO t VALUES (30, 'thirty')");
	pack_opts(&o, &res, alice.sec, names, tmpdir);
	o.tmp = join_path(tmpdir, "whole.tmp");
	o.deliver = deliver_fails;
	o.darg = &called;
	assert_int_equal(sync_pack(alice.rp, &o, &res, err), MULE_EIO);
	assert_int_equal(called, 1);
	assert_string_equal(err, "the medium is full");
	sync_pack_result_release(&res);
	pack(&alice, "bob", "a3.mule", &res);
	assert_int_equal(res.rows, 1);	/* row 30, not sent before */
	sync_pack_result_release(&res);
	assert_int_equal(sql_int(alice.db,
	    "SELECT count(*) FROM _mule_bundles WHERE dir = 'sent' AND "
	    "file LIKE '%a3.mule'"), 1);
}

/* A lost bundle: the next one applies with a gap at the receiver, and
 * the receiver's answer tells the sender what was lost. */
static void
test_lost_bundle(void **state)
{
	struct sync_pack_result pr;
	struct sync_unpack_result ur;

	(void)state;
	sql_exec(alice.db, "INSERT INTO t VALUES (40, 'lost')");
	pack(&alice, "bob", "lost.mule", &pr);	/* never reaches bob */
	sync_pack_result_release(&pr);
	sql_exec(alice.db, "INSERT INTO t VALUES (41, 'arrives')");
	pack(&alice, "bob", "a4.mule", &pr);
	assert_int_equal(pr.rows, 1);		/* only what is new */
	sync_pack_result_release(&pr);
	assert_int_equal(unpack(&bob, "a3.mule", 0, &ur), 0);
	sync_unpack_result_release(&ur);
	assert_int_equal(unpack(&bob, "a4.mule", 0, &ur), 0);
	assert_int_equal(ur.st.gap, 1);
	assert_int_equal(ur.st.inserted, 1);
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(bob.db,
	    "SELECT count(*) FROM t WHERE id = 40"), 0);

	pack(&bob, "alice", "b2.mule", &pr);
	sync_pack_result_release(&pr);
	assert_int_equal(unpack(&alice, "b2.mule", 0, &ur), 0);
	assert_int_equal(ur.lost, 1);
	sync_unpack_result_release(&ur);
	/* The next bundle carries the lost row again. */
	pack(&alice, "bob", "a5.mule", &pr);
	sync_pack_result_release(&pr);
	assert_int_equal(unpack(&bob, "a5.mule", 0, &ur), 0);
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(bob.db,
	    "SELECT count(*) FROM t WHERE id = 40 AND v = 'lost'"), 1);
}

/* Puts the whole bundle at its final name, then dies as a crash would. */
static int
deliver_then_crash(void *arg, const char *tmp,
    const struct sync_pack_result *res, char *err)
{
	(void)arg;
	(void)err;
	if (rename(tmp, res->path) != 0)
		_exit(3);
	raise(SIGKILL);
	_exit(4);
}

/*
 * Issue 13, item 10: a pack killed after its bundle file is in place but
 * before its transaction commits.  The next pack must not carry the same
 * bundle number (the receiver would see two different bundles #N): it
 * takes the next one, leaves the crashed pack's file alone, and the log
 * keeps the spent number.  Both bundles apply at bob.
 */
static void
test_crash_spends_number(void **state)
{
	const char *names[1] = { "bob" };
	struct sync_pack_result res;
	struct sync_unpack_result ur;
	struct sync_pack_opts o;
	struct replica *rp = NULL;
	char err[MULE_ERRLEN] = "", crashed[600];
	uint8_t *before, *after;
	size_t nb, na;
	long long n;
	pid_t pid;
	int st;

	(void)state;
	sql_exec(alice.db, "INSERT INTO t VALUES (50, 'crash')");
	n = sql_int(alice.db, "SELECT max(seq) + 1 FROM _mule_bundles WHERE "
	    "dir = 'sent'");
	if ((pid = fork()) == 0) {
		/* a pack of its own, in a process that then dies */
		if (replica_open(alice.db, 0, &rp, err) != 0)
			_exit(2);
		pack_opts(&o, &res, alice.sec, names, tmpdir);
		o.tmp = join_path(tmpdir, "crash.tmp");
		o.deliver = deliver_then_crash;
		(void)sync_pack(rp, &o, &res, err);
		_exit(5);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	snprintf(crashed, sizeof(crashed), "%s/alice-bob-%04lld.mule", tmpdir,
	    n);
	before = slurp(crashed, &nb);
	/* nothing was recorded as sent; the number is spent */
	assert_int_equal(sql_int(alice.db, "SELECT count(*) FROM _mule_bundles "
	    "WHERE dir = 'sent' AND seq >= (SELECT max(seq) FROM _mule_bundles "
	    "WHERE dir = 'spent')"), 0);
	assert_int_equal(sql_int(alice.db, "SELECT max(seq) FROM _mule_bundles "
	    "WHERE dir = 'spent'"), n);
	pack_opts(&o, &res, alice.sec, names, tmpdir);
	if (sync_pack(alice.rp, &o, &res, err) != 0)
		fail_msg("the pack after the crash: %s", err);
	assert_int_equal(res.seq, n + 1);
	assert_int_equal(res.rows, 1);	/* row 50 was never sent */
	sync_pack_result_release(&res);
	after = slurp(crashed, &na);
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, nb);
	/* bob gets two bundles with two numbers; both apply */
	assert_int_equal(unpack(&bob, strrchr(crashed, '/') + 1, 0, &ur), 0);
	sync_unpack_result_release(&ur);
	snprintf(crashed, sizeof(crashed), "alice-bob-%04lld.mule", n + 1);
	assert_int_equal(unpack(&bob, crashed, 0, &ur), 0);
	sync_unpack_result_release(&ur);
	assert_int_equal(sql_int(bob.db,
	    "SELECT count(*) FROM t WHERE id = 50 AND v = 'crash'"), 1);
	free(before);
	free(after);
}

/* A pack that fails before its file is written gives its number back. */
static void
test_failed_pack_keeps_numbers(void **state)
{
	const char *names[1] = { "bob" };
	struct sync_pack_result res;
	struct sync_pack_opts o;
	char err[MULE_ERRLEN] = "";
	long long n, spent;

	(void)state;
	n = sql_int(alice.db, "SELECT max(seq) + 1 FROM _mule_bundles WHERE "
	    "dir IN ('sent', 'spent')");
	spent = sql_int(alice.db, "SELECT count(*) FROM _mule_bundles WHERE "
	    "dir = 'spent'");
	pack_opts(&o, &res, alice.sec, names, join_path(tmpdir, "link.mule"));
	/* the writer refuses to write through a symbolic link */
	assert_int_equal(symlink("elsewhere", o.out), 0);
	assert_int_equal(sync_pack(alice.rp, &o, &res, err), MULE_ESYMLINK);
	sync_pack_result_release(&res);
	assert_int_equal(sql_int(alice.db, "SELECT count(*) FROM _mule_bundles "
	    "WHERE dir = 'spent'"), spent);
	pack(&alice, "bob", "after-failure.mule", &res);
	assert_int_equal(res.seq, n);
	sync_pack_result_release(&res);
}

/* One row for a table laid out like _mule_peers: key "mallory", 3 blobs. */
static void
peers_row(struct bundle_writer *w, const void *arg)
{
	static const char *const cols[] = { "name", "key_id", "sign_pk",
	    "box_pk" };
	const uint32_t pkcol = 0;
	char err[MULE_ERRLEN] = "";
	uint8_t key[32];
	struct rowchange rc;
	struct cell cells[3];
	struct mval pk;
	size_t i;

	randombytes_buf(key, sizeof(key));
	assert_int_equal(bundle_writer_begin_table(w, arg, 4, cols, 1, &pkcol,
	    err), 0);
	memset(&rc, 0, sizeof(rc));
	memset(cells, 0, sizeof(cells));
	memset(&pk, 0, sizeof(pk));
	pk.type = MVAL_TEXT;
	pk.p = (const uint8_t *)"mallory";
	pk.n = 7;
	for (i = 0; i < 3; i++) {
		cells[i].col = (uint32_t)i + 1;
		cells[i].v.type = MVAL_BLOB;
		cells[i].v.p = key;
		cells[i].v.n = i == 0 ? 8 : 32;
		cells[i].st.lamport = 1000;
		memcpy(cells[i].st.origin, alice.sec->site_id, SITE_ID_LEN);
	}
	rc.npk = 1;
	rc.pk = &pk;
	rc.cl = 1;
	rc.cl_stamp = cells[0].st;
	rc.ncells = 3;
	rc.cells = cells;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), 0);
}

/*
 * What a thief holding alice's key file writes through the project's own
 * bundle writer, addressed to bob: bundle number `seq`, claiming site id
 * `claim` (the site id sits in the key file, outside what the key proves;
 * NULL: alice's own), with the rows `rows` writes (NULL: none), and
 * alice's own vector as its top (as her pack would: a bundle whose
 * counters run behind her earlier ones is refused as a copied site,
 * replica_recv_check).  Returns the file's path.
 */
/* When set, changes the crafted manifest before it is written. */
static void (*craft_hook)(struct manifest *m);

static char *
craft_with(const uint8_t *claim, uint64_t seq,
    void (*rows)(struct bundle_writer *, const void *), const void *arg)
{
	char err[MULE_ERRLEN] = "", *path = join_path(tmpdir, "evil.mule");
	uint8_t own[SITE_ID_LEN];
	struct replica_site to;
	struct bundle_writer *w;
	struct manifest m;
	uint64_t size;
	int r;

	unlink(path);
	assert_int_equal(replica_site(bob.rp, &to, err), 0);
	assert_int_equal(bundle_writer_new(path, NULL, alice.sec,
	    &bob.sec->pub, 1, 1, &w, err), 0);
	if (rows != NULL)
		rows(w, arg);
	manifest_init(&m);
	randombytes_buf(m.bundle_id, sizeof(m.bundle_id));
	m.nto = 1;
	assert_non_null(m.to = calloc(1, SITE_ID_LEN));
	memcpy(m.to[0], to.id, SITE_ID_LEN);
	m.seq = seq;
	assert_int_equal(replica_known(alice.rp, &m.top, err), 0);
	memcpy(own, alice.sec->site_id, SITE_ID_LEN);
	if (claim != NULL)
		memcpy(alice.sec->site_id, claim, SITE_ID_LEN);
	if (craft_hook != NULL)
		craft_hook(&m);
	r = bundle_writer_finish(w, &m, &size, err);
	memcpy(alice.sec->site_id, own, SITE_ID_LEN);
	assert_int_equal(r, 0);
	bundle_writer_free(w);
	manifest_release(&m);
	return path;
}

/* craft_with one peers_row for `table` (NULL: no rows). */
static char *
craft(const uint8_t *claim, const char *table, uint64_t seq)
{
	return craft_with(claim, seq, table != NULL ? peers_row : NULL, table);
}

/* Applies `path` at bob: the code, with the message in err. */
static int
unpack_at_bob(const char *path, char *err)
{
	struct sync_unpack_opts o;
	struct sync_unpack_result res;
	int r;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	o.me = bob.sec;
	o.path = path;
	r = sync_unpack(bob.rp, &o, &res, err);
	sync_unpack_result_release(&res);
	return r;
}

/* The digest kept with the state equals the one computed from it. */
static void
digest_kept(struct site *s, struct replica_digest *d)
{
	char err[MULE_ERRLEN] = "";
	struct replica_digest kept, fresh;

	if (replica_digest_get(s->rp, 1, &kept, err) != 0 ||
	    replica_digest_range(s->rp, 1, NULL, NULL, &fresh, err) != 0)
		fail_msg("%s: %s", s->name, err);
	assert_int_equal(kept.n, fresh.n);
	assert_memory_equal(kept.sum, fresh.sum, REPLICA_DIGEST_LEN);
	*d = kept;
}

/*
 * Every write of the state keeps the table's digest: scans (inserts,
 * updates, deletions, a key re-used after a deletion) and applied bundles,
 * in the same transaction; equal data gives equal digests at two sites,
 * and a deleted row leaves it.  Ranges cut by replica_digest_split cover
 * the rows once.
 */
static void
test_digest_follows_state(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct sync_pack_result pr;
	struct sync_unpack_result ur;
	struct replica_digest da, db, part, all;
	struct replica_range *rg = NULL;
	uint8_t sum[REPLICA_DIGEST_LEN] = { 0 };
	uint64_t n = 0;
	size_t i, nr = 0;
	int k;
	static const char *const steps[] = {
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		    "FROM s WHERE i < 300) INSERT INTO t SELECT 100 + i, "
		    "'x' || i FROM s",
		"UPDATE t SET v = v || '!' WHERE id % 7 = 0",
		"DELETE FROM t WHERE id % 5 = 0",
		"INSERT INTO t VALUES (105, 'back again')",
	};

	(void)state;
	for (k = 0; k < 4; k++) {
		char file[32];
		snprintf(file, sizeof(file), "d%d.mule", k);
		sql_exec(alice.db, steps[k]);
		pack(&alice, "bob", file, &pr);
		sync_pack_result_release(&pr);
		assert_int_equal(unpack(&bob, file, 0, &ur), 0);
		sync_unpack_result_release(&ur);
		assert_int_equal(replica_begin(alice.rp, err), 0);
		digest_kept(&alice, &da);
		replica_rollback(alice.rp);
		assert_int_equal(replica_begin(bob.rp, err), 0);
		digest_kept(&bob, &db);
		replica_rollback(bob.rp);
		assert_int_equal(da.n, (uint64_t)sql_int(alice.db,
		    "SELECT count(*) FROM t"));
		assert_int_equal(da.n, db.n);
		assert_memory_equal(da.sum, db.sum, REPLICA_DIGEST_LEN);
	}
	/* Sixteen ranges: their counts and sums add up to the table's. */
	assert_int_equal(replica_digest_range(bob.rp, 1, NULL, NULL, &all,
	    err), 0);
	assert_int_equal(replica_digest_split(bob.rp, 1, NULL, NULL, all.n, 16,
	    &rg, &nr, err), 0);
	assert_int_equal(nr, 16);
	for (i = 0; i < nr; i++) {
		assert_int_equal(replica_digest_range(bob.rp, 1, &rg[i].lo,
		    &rg[i].hi, &part, err), 0);
		assert_true(part.n > 0);
		n += part.n;
		for (k = 0; k < 2; k++) {
			uint64_t x, y, c;
			memcpy(&x, sum + 8 * k, 8);
			memcpy(&y, part.sum + 8 * k, 8);
			c = x + y;
			memcpy(sum + 8 * k, &c, 8);
			/* carry into the high half */
			if (k == 0 && c < x) {
				memcpy(&x, sum + 8, 8);
				x++;
				memcpy(sum + 8, &x, 8);
			}
		}
	}
	replica_ranges_free(rg, nr);
	assert_int_equal(n, all.n);
	assert_memory_equal(sum, all.sum, REPLICA_DIGEST_LEN);
}

/* How a crafted reconciliation segment is wrong (recon_rows). */
enum recon_damage {
	RD_COLUMNS,	/* a summary segment with other columns */
	RD_KIND,	/* kind 3 */
	RD_SUM,		/* a 15-byte sum */
	RD_COUNT,	/* a digest with a negative count */
	RD_BOUND,	/* a bound too large to be a key */
	RD_MANY,	/* one summary more than the limit */
	RD_UNTRACKED,	/* well formed, for a table bob does not track */
};

/* One summary row (i, tbl, lo, hi, n, sum, kind). */
static void
recon_summary_row(struct bundle_writer *w, int64_t i, const char *tbl,
    const struct mval *lo, size_t sumlen, int64_t kind)
{
	char err[MULE_ERRLEN] = "";
	uint8_t sum[REPLICA_DIGEST_LEN + 1] = { 0 };
	struct rowchange rc;
	struct cell cells[6];
	struct mval pk;
	uint32_t j;

	memset(&rc, 0, sizeof(rc));
	memset(cells, 0, sizeof(cells));
	memset(&pk, 0, sizeof(pk));
	pk.type = MVAL_INT;
	pk.i = i;
	for (j = 0; j < 6; j++)
		cells[j].col = j + 1;
	cells[0].v.type = MVAL_TEXT;
	cells[0].v.p = (const uint8_t *)tbl;
	cells[0].v.n = strlen(tbl);
	if (lo != NULL)
		cells[1].v = *lo;
	cells[3].v.type = MVAL_INT;
	cells[3].v.i = 5;
	cells[4].v.type = MVAL_BLOB;
	cells[4].v.p = sum;
	cells[4].v.n = sumlen;
	cells[5].v.type = MVAL_INT;
	cells[5].v.i = kind;
	rc.npk = 1;
	rc.pk = &pk;
	rc.cl = 1;
	rc.ncells = 6;
	rc.cells = cells;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), 0);
}

static void
recon_rows(struct bundle_writer *w, const void *arg)
{
	static const char *const scols[] = { "i", "tbl", "lo", "hi", "n",
	    "sum", "kind" };
	static const char *const wrong[] = { "i", "tbl", "lo", "hi", "n",
	    "sum", "kinds" };
	static const char *const dcols[] = { "tbl", "n", "sum" };
	const uint32_t pk0 = 0;
	enum recon_damage d = *(const enum recon_damage *)arg;
	char err[MULE_ERRLEN] = "";
	uint8_t sum[REPLICA_DIGEST_LEN] = { 0 }, *big;
	struct rowchange rc;
	struct cell cells[2];
	struct mval pk, lo;
	int64_t i;

	if (d == RD_COUNT) {
		assert_int_equal(bundle_writer_begin_table(w,
		    RECON_DIGEST_TABLE, 3, dcols, 1, &pk0, err), 0);
		memset(&rc, 0, sizeof(rc));
		memset(cells, 0, sizeof(cells));
		memset(&pk, 0, sizeof(pk));
		pk.type = MVAL_TEXT;
		pk.p = (const uint8_t *)"t";
		pk.n = 1;
		cells[0].col = 1;
		cells[0].v.type = MVAL_INT;
		cells[0].v.i = -1;
		cells[1].col = 2;
		cells[1].v.type = MVAL_BLOB;
		cells[1].v.p = sum;
		cells[1].v.n = sizeof(sum);
		rc.npk = 1;
		rc.pk = &pk;
		rc.cl = 1;
		rc.ncells = 2;
		rc.cells = cells;
		assert_int_equal(bundle_writer_add_row(w, &rc, err), 0);
		return;
	}
	assert_int_equal(bundle_writer_begin_table(w, RECON_SUMMARY_TABLE, 7,
	    d == RD_COLUMNS ? wrong : scols, 1, &pk0, err), 0);
	memset(&lo, 0, sizeof(lo));
	switch (d) {
	case RD_KIND:
		recon_summary_row(w, 1, "t", NULL, REPLICA_DIGEST_LEN, 3);
		break;
	case RD_SUM:
		recon_summary_row(w, 1, "t", NULL, REPLICA_DIGEST_LEN - 1, 1);
		break;
	case RD_BOUND:
		assert_non_null(big = calloc(1, RECON_MAX_BOUND + 1));
		lo.type = MVAL_BLOB;
		lo.p = big;
		lo.n = RECON_MAX_BOUND + 1;
		recon_summary_row(w, 1, "t", &lo, REPLICA_DIGEST_LEN, 1);
		free(big);
		break;
	case RD_MANY:
		for (i = 0; i <= RECON_MAX_SUMMARIES; i++)
			recon_summary_row(w, i + 1, "t", NULL,
			    REPLICA_DIGEST_LEN, 1);
		break;
	case RD_UNTRACKED:
		recon_summary_row(w, 1, "u", NULL, REPLICA_DIGEST_LEN, 1);
		break;
	default:
		recon_summary_row(w, 1, "t", NULL, REPLICA_DIGEST_LEN, 1);
		break;
	}
}

/*
 * Digests and summaries are read with named limits: a segment with other
 * columns, a bad kind, a short sum, a negative count, an oversized bound
 * or too many summaries refuse the whole bundle (nothing applied,
 * nothing queued); a summary of a table bob does not track is ignored.
 */
static void
test_recon_damage(void **state)
{
	static const struct { enum recon_damage d; int code; } cases[] = {
		{ RD_COLUMNS, MULE_EFORMAT }, { RD_KIND, MULE_EFORMAT },
		{ RD_SUM, MULE_EFORMAT }, { RD_COUNT, MULE_EFORMAT },
		{ RD_BOUND, MULE_EFORMAT }, { RD_MANY, MULE_ETOOLARGE },
		{ RD_UNTRACKED, 0 },
	};
	char err[MULE_ERRLEN] = "";
	long long logged, queued, rows;
	size_t k;

	(void)state;
	sql_exec(bob.db, "CREATE TABLE IF NOT EXISTS _mule_recon(peer TEXT "
	    "NOT NULL, tid INTEGER NOT NULL, kind INTEGER NOT NULL, lo, hi)");
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		logged = sql_int(bob.db, "SELECT count(*) FROM _mule_bundles");
		queued = sql_int(bob.db, "SELECT count(*) FROM _mule_recon");
		rows = sql_int(bob.db, "SELECT count(*) FROM t");
		err[0] = '\0';
		assert_int_equal(unpack_at_bob(craft_with(NULL, 970 + k,
		    recon_rows, &cases[k].d), err), cases[k].code);
		if (cases[k].code != 0 && strstr(err, "evil.mule") == NULL)
			fail_msg("case %zu: the refusal names no file: %s", k,
			    err);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_bundles"), logged + (cases[k].code == 0));
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_recon"), queued);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"),
		    rows);
	}
}

/*
 * Segments for "_MULE_PEERS", "_Mule_Config", "SQLITE_SEQUENCE": SQLite's
 * names ignore case, so applying the first would add a key bob trusts.
 * bob refuses each, naming the table, and its peers, config, tracked
 * tables and bundle log stay as they were.
 */
static void
test_reserved_segment(void **state)
{
	static const char *const tables[] = { "_MULE_PEERS", "_Mule_Config",
	    "SQLITE_SEQUENCE" };
	char err[MULE_ERRLEN] = "";
	long long peers, logged;
	size_t k;

	(void)state;
	peers = sql_int(bob.db, "SELECT count(*) FROM _mule_peers");
	logged = sql_int(bob.db, "SELECT count(*) FROM _mule_bundles");
	for (k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		assert_int_equal(unpack_at_bob(craft(NULL, tables[k], 900 + k),
		    err), MULE_EINVAL);
		if (strstr(err, tables[k]) == NULL ||
		    strstr(err, "internal table") == NULL)
			fail_msg("not refused for its table: %s", err);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_peers"), peers);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_peers WHERE name = 'mallory'"), 0);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_config WHERE key = 'mallory'"), 0);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_tables WHERE lower(name) LIKE '\\_mule\\_%' ESCAPE "
		    "'\\' OR lower(name) LIKE 'sqlite\\_%' ESCAPE '\\'"), 0);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_bundles"), logged);
	}
}

/*
 * A peer's bundles come from one site: a bundle signed with alice's key
 * that claims bob's own site id, or another site id than alice's, is
 * refused (before, every bundle header re-bound the peer's site id).
 */
static void
test_site_binding(void **state)
{
	char err[MULE_ERRLEN] = "";
	struct replica_site me;
	uint8_t other[SITE_ID_LEN];
	long long logged;

	(void)state;
	assert_int_equal(replica_site(bob.rp, &me, err), 0);
	/* bob knows alice's site from the bundles it applied before. */
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM _mule_peers "
	    "WHERE name = 'alice' AND site IS NOT NULL"), 1);
	logged = sql_int(bob.db, "SELECT count(*) FROM _mule_bundles");
	assert_int_equal(unpack_at_bob(craft(me.id, NULL, 950), err),
	    MULE_EVERIFY);
	assert_non_null(strstr(err, "from this site"));
	randombytes_buf(other, sizeof(other));
	assert_int_equal(unpack_at_bob(craft(other, NULL, 951), err),
	    MULE_EVERIFY);
	assert_non_null(strstr(err, "a site id never changes"));
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM _mule_bundles"),
	    logged);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM _mule_peers "
	    "WHERE name = 'alice' AND site IS NOT NULL"), 1);
}

/*
 * Vectors coded against a reference (mule-bundle(5)) that do not fit
 * what bob holds, written by alice through the bundle writer as a
 * modified mule would: a reference bob does not hold (refused, naming
 * --resend), an index beyond the reference, a difference taking a
 * counter below 0.  Each is refused with nothing changed.
 */
static int bad_ref_kind;

static void
bad_ref(struct manifest *m)
{
	char err[MULE_ERRLEN] = "";
	struct replica_logent *e = NULL;
	uint8_t o[SITE_ID_LEN];
	size_t i, n = 0;
	int found = 0;

	assert_int_equal(replica_log_list(bob.rp, &e, &n, err), 0);
	for (i = n; i > 0 && m->ref == 0; i--)
		if (strcmp(e[i - 1].dir, "sent") == 0) {
			m->ref = (uint64_t)e[i - 1].seq;
			memcpy(m->ref_id, e[i - 1].bundle, 16);
		}
	free(e);
	assert_true(m->ref > 0);
	assert_int_equal(replica_log_sent_top(bob.rp, (int64_t)m->ref,
	    m->ref_id, &m->refvec, &found, err), 0);
	assert_int_equal(found, 1);
	assert_true(m->refvec.n > 0);
	switch (bad_ref_kind) {
	case 0:		/* a bundle bob never sent */
		m->ref_id[0] ^= 0xff;
		break;
	case 1:		/* three origins bob's reference lacks, at its end */
		for (i = 0; i < 3; i++) {
			memset(o, 0xff, sizeof(o));
			o[15] = (uint8_t)i;
			assert_int_equal(vector_set(&m->refvec, o, 1), 0);
		}
		break;
	default:	/* base = bob's reference; coded against a higher
			 * one: a line "-1000" takes bob's counter below 0 */
		assert_int_equal(vector_copy(&m->base, &m->refvec), 0);
		m->refvec.e[0].counter += 1000;
		break;
	}
}

static void
test_bad_reference(void **state)
{
	static const char *const says[] = {
		"which this site does not hold", "of a vector of",
		"to 0 or below",
	};
	char err[MULE_ERRLEN] = "";
	struct sync_pack_result pr;
	struct sync_unpack_result ur;
	long long logged, vecs, props, rows;
	int k;

	(void)state;
	/* bob has sent alice a bundle: the reference to code against. */
	pack(&bob, "alice", "ref.mule", &pr);
	sync_pack_result_release(&pr);
	assert_int_equal(unpack(&alice, "ref.mule", 0, &ur), 0);
	sync_unpack_result_release(&ur);
	logged = sql_int(bob.db, "SELECT count(*) FROM _mule_bundles");
	vecs = sql_int(bob.db, "SELECT count(*) || sum(counter) FROM "
	    "_mule_vectors");
	props = sql_int(bob.db, "SELECT count(*) FROM _mule_peer_props");
	rows = sql_int(bob.db, "SELECT count(*) FROM t");
	craft_hook = bad_ref;
	for (k = 0; k < 3; k++) {
		bad_ref_kind = k;
		err[0] = '\0';
		assert_int_equal(unpack_at_bob(craft(NULL, NULL, 990 + k), err),
		    k == 0 ? MULE_ENOTFOUND : MULE_EFORMAT);
		if (strstr(err, says[k]) == NULL)
			fail_msg("kind %d: %s", k, err);
		if (k == 0 && strstr(err, "mule pack --resend") == NULL)
			fail_msg("no way out named: %s", err);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_bundles"), logged);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) || "
		    "sum(counter) FROM _mule_vectors"), vecs);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_peer_props"), props);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"),
		    rows);
	}
	craft_hook = NULL;
}

/* A row of t whose key is 19 but whose cell for the key column says 1. */
static void
key_lie_row(struct bundle_writer *w, const void *arg)
{
	static const char *const cols[] = { "id", "v" };
	const uint32_t pkcol = 0;
	char err[MULE_ERRLEN] = "";
	struct rowchange rc;
	struct cell cells[2];
	struct mval pk;

	(void)arg;
	assert_int_equal(bundle_writer_begin_table(w, "t", 2, cols, 1, &pkcol,
	    err), 0);
	memset(&rc, 0, sizeof(rc));
	memset(cells, 0, sizeof(cells));
	memset(&pk, 0, sizeof(pk));
	pk.type = MVAL_INT;
	pk.i = 19;
	cells[0].v.type = MVAL_INT;
	cells[0].v.i = 1;
	cells[1].col = 1;
	cells[1].v.type = MVAL_TEXT;
	cells[1].v.p = (const uint8_t *)"evil";
	cells[1].v.n = 4;
	cells[0].st.lamport = cells[1].st.lamport = 2000;
	memcpy(cells[0].st.origin, alice.sec->site_id, SITE_ID_LEN);
	memcpy(cells[1].st.origin, alice.sec->site_id, SITE_ID_LEN);
	rc.npk = 1;
	rc.pk = &pk;
	rc.cl = 1;
	rc.cl_stamp = cells[0].st;
	rc.ncells = 2;
	rc.cells = cells;
	assert_int_equal(bundle_writer_add_row(w, &rc, err), 0);
}

/*
 * A row whose cell for a key column differs from its key: before, the
 * insert wrote that other key (OR REPLACE overwrote row 1).  Refused
 * whole; bob's t is unchanged.
 */
static void
test_key_cell_lie(void **state)
{
	char err[MULE_ERRLEN] = "";
	long long n;

	(void)state;
	sql_exec(bob.db, "INSERT OR IGNORE INTO t VALUES (1, 'one')");
	n = sql_int(bob.db, "SELECT count(*) FROM t");
	assert_int_equal(unpack_at_bob(craft_with(NULL, 960, key_lie_row,
	    NULL), err), MULE_EFORMAT);
	if (strstr(err, "differs from its key") == NULL)
		fail_msg("not refused for its key: %s", err);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t"), n);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM t WHERE "
	    "v = 'evil' OR id = 19"), 0);
}

/* How notes_rows writes the notes segment. */
enum { NOTE_OK, NOTE_COLS, NOTE_TYPE, NOTE_WINNER, NOTE_LONG };
struct notes_craft {
	int how;
	uint32_t n;	/* rows */
};

/* A notes segment as a peer's pack writes it (replica/store/notes.c),
 * bent as arg->how says. */
static void
notes_rows(struct bundle_writer *w, const void *arg)
{
	static const char *const cols[] = { "id", "tbl", "pk", "col", "local",
	    "remote", "winner", "kind", "local_lamport", "local_origin",
	    "remote_lamport", "remote_origin" };
	static const char *const text[] = { "t", "1", "v", "'mine'",
	    "'theirs'", "remote" };
	const struct notes_craft *c = arg;
	const uint32_t pkcol = 0;
	char err[MULE_ERRLEN] = "", *big;
	struct rowchange rc;
	struct cell cells[11];
	struct mval pk;
	uint32_t i, k, nc = c->how == NOTE_COLS ? 10 : 11;

	assert_non_null(big = malloc(REPLICA_NOTE_MAX_TEXT + 2));
	memset(big, 'x', REPLICA_NOTE_MAX_TEXT + 1);
	assert_int_equal(bundle_writer_begin_table(w, REPLICA_NOTES_TABLE,
	    nc + 1, cols, 1, &pkcol, err), 0);
	for (k = 0; k < c->n; k++) {
		memset(&rc, 0, sizeof(rc));
		memset(cells, 0, sizeof(cells));
		memset(&pk, 0, sizeof(pk));
		pk.type = MVAL_INT;
		pk.i = (int64_t)k + 1;
		for (i = 0; i < nc; i++) {
			cells[i].col = i + 1;
			cells[i].v.type = i < 6 ? MVAL_TEXT : i == 8 ||
			    i == 10 ? MVAL_NULL : MVAL_INT;
			if (i < 6) {
				cells[i].v.p = (const uint8_t *)text[i];
				cells[i].v.n = strlen(text[i]);
			} else {
				cells[i].v.i = 2;
			}
		}
		if (c->how == NOTE_TYPE)
			cells[1].v.type = MVAL_INT;	/* pk: not text */
		if (c->how == NOTE_WINNER)
			cells[5].v.n = 4;	/* "remo" */
		if (c->how == NOTE_LONG) {
			cells[3].v.p = (const uint8_t *)big;
			cells[3].v.n = REPLICA_NOTE_MAX_TEXT + 1;
		}
		rc.npk = 1;
		rc.pk = &pk;
		rc.cl = 1;
		rc.ncells = nc;
		rc.cells = cells;
		assert_int_equal(bundle_writer_add_row(w, &rc, err), 0);
	}
	free(big);
}

/*
 * Conflict notes from alice that are not notes: a segment of another
 * shape, a cell of the wrong type, a winner that is neither side, a
 * value longer than REPLICA_NOTE_MAX_TEXT, more than REPLICA_MAX_NOTES
 * rows.  Each bundle is refused whole with the reason, and bob records
 * nothing; a well-formed one is recorded, seen from bob.
 */
static void
test_bad_notes(void **state)
{
	static const struct { int how; uint32_t n; int code;
	    const char *why; } bad[] = {
		{ NOTE_COLS, 1, MULE_EFORMAT, "conflict notes have 11 columns" },
		{ NOTE_TYPE, 1, MULE_EFORMAT, "whose pk is not" },
		{ NOTE_WINNER, 1, MULE_EFORMAT, "whose winner is neither" },
		{ NOTE_LONG, 1, MULE_EFORMAT, "whose local is not" },
		{ NOTE_OK, REPLICA_MAX_NOTES + 1, MULE_ETOOLARGE,
		    "more than 10000 conflict notes" },
	};
	char err[MULE_ERRLEN] = "";
	struct notes_craft c;
	long long logged;
	size_t k;

	(void)state;
	logged = sql_int(bob.db, "SELECT count(*) FROM _mule_bundles");
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		c.how = bad[k].how;
		c.n = bad[k].n;
		assert_int_equal(unpack_at_bob(craft_with(NULL, 970 + k,
		    notes_rows, &c), err), bad[k].code);
		if (strstr(err, bad[k].why) == NULL)
			fail_msg("case %zu: not refused for its reason: %s", k,
			    err);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "_mule_bundles"), logged);
		assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
		    "sqlite_schema WHERE name = '_mule_conflict_notes'"), 0);
	}
	c.how = NOTE_OK;
	c.n = 2;
	assert_int_equal(unpack_at_bob(craft_with(NULL, 980, notes_rows, &c),
	    err), 0);
	assert_int_equal(sql_int(bob.db, "SELECT count(*) FROM "
	    "_mule_conflict_notes WHERE peer = 'alice' AND local = "
	    "'''theirs''' AND remote = '''mine''' AND winner = 'local'"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_not_addressed),
		cmocka_unit_test(test_unknown_sender),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_manifest_check),
		cmocka_unit_test(test_deliver_fails),
		cmocka_unit_test(test_lost_bundle),
		cmocka_unit_test(test_crash_spends_number),
		cmocka_unit_test(test_failed_pack_keeps_numbers),
		cmocka_unit_test(test_reserved_segment),
		cmocka_unit_test(test_digest_follows_state),
		cmocka_unit_test(test_site_binding),
		cmocka_unit_test(test_bad_reference),
		cmocka_unit_test(test_key_cell_lie),
		cmocka_unit_test(test_bad_notes),
		/* Last: its well-formed bundle is logged with a high number. */
		cmocka_unit_test(test_recon_damage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
