/* replica/store/peer.c — trusted peers (see replica.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hex.h"
#include "replica/internal.h"

static int
row_to_peer(sqlite3_stmt *st, struct replica_peer *p)
{
	memset(p, 0, sizeof(*p));
	if (sqlite3_column_bytes(st, 1) != IDENT_KEYID_LEN ||
	    sqlite3_column_bytes(st, 2) != IDENT_PK_LEN ||
	    sqlite3_column_bytes(st, 3) != IDENT_PK_LEN)
		return MULE_EDB;
	snprintf(p->name, sizeof(p->name), "%s",
	    (const char *)sqlite3_column_text(st, 0));
	memcpy(p->pub.key_id, sqlite3_column_blob(st, 1), IDENT_KEYID_LEN);
	memcpy(p->pub.sign_pk, sqlite3_column_blob(st, 2), IDENT_PK_LEN);
	memcpy(p->pub.box_pk, sqlite3_column_blob(st, 3), IDENT_PK_LEN);
	if (sqlite3_column_bytes(st, 4) == SITE_ID_LEN) {
		p->has_site = 1;
		memcpy(p->site_id, sqlite3_column_blob(st, 4), SITE_ID_LEN);
	}
	return 0;
}

#define PEER_COLS "SELECT name, key_id, sign_pk, box_pk, site FROM _mule_peers"

/* Runs a one-row peer query whose ?1 is already bound. */
static int
peer_fetch(struct replica *rp, sqlite3_stmt *st, const char *what,
    struct replica_peer *out, char *err)
{
	struct replica_peer p;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return mule_errf(err, MULE_ENOTFOUND,
		    "no peer %s; see: mule peer list", what);
	if (rc != SQLITE_ROW)
		return rp_dberr(rp, rc, err, "read peers");
	if (row_to_peer(st, &p) != 0)
		return mule_errf(err, MULE_EDB, "peer %s: damaged record",
		    what);
	*out = p;
	return 0;
}

/*
 * A peer name not found: when one differs from it only in letter case
 * ("--to HQ" for hq), err says "did you mean" instead.
 */
static void
peer_suggest(struct replica *rp, const char *name, char *err)
{
	char *match = NULL;

	if (rp_text(rp, "SELECT name FROM _mule_peers WHERE name = ?1 COLLATE "
	    "NOCASE LIMIT 1", name, NULL, &match, "read peers", NULL) == 0 &&
	    match != NULL)
		mule_errf(err, MULE_ENOTFOUND, "no peer '%s'; did you mean "
		    "'%s'? (peer names tell letter case apart; see: mule peer "
		    "list)", name, match);
	free(match);
}

int
replica_peer_get(struct replica *rp, const char *name,
    struct replica_peer *out, char *err)
{
	sqlite3_stmt *st = NULL;
	char what[REPLICA_NAME_MAX + 8];
	int r;

	if ((r = rp_prepare(rp, PEER_COLS " WHERE name = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	snprintf(what, sizeof(what), "'%.*s'", REPLICA_NAME_MAX, name);
	r = peer_fetch(rp, st, what, out, err);
	sqlite3_finalize(st);
	if (r == MULE_ENOTFOUND)
		peer_suggest(rp, name, err);
	return r;
}

int
replica_peer_by_keyid(struct replica *rp,
    const uint8_t key_id[IDENT_KEYID_LEN], struct replica_peer *out,
    char *err)
{
	sqlite3_stmt *st = NULL;
	char what[2 * IDENT_KEYID_LEN + 16];
	int r;

	if ((r = rp_prepare(rp, PEER_COLS " WHERE key_id = ?", &st, err)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, key_id, IDENT_KEYID_LEN, SQLITE_STATIC);
	strcpy(what, "with key id ");
	hex_encode(what + strlen(what), key_id, IDENT_KEYID_LEN);
	r = peer_fetch(rp, st, what, out, err);
	sqlite3_finalize(st);
	return r;
}

int
replica_peer_add(struct replica *rp, const char *name,
    const struct ident_pub *pub, char *err)
{
	struct replica_site site;
	struct replica_peer old;
	sqlite3_stmt *st = NULL;
	int rc, r = MULE_EINTERNAL;

	if ((r = replica_check_name(name, err)) != 0)
		goto out;
	if ((r = replica_site(rp, &site, err)) != 0)
		goto out;
	if (memcmp(site.pub.key_id, pub->key_id, IDENT_KEYID_LEN) == 0) {
		r = mule_errf(err, MULE_EINVAL,
		    "that is this site's own key; add the other site's key "
		    "(run 'mule id' there)");
		goto out;
	}
	if (replica_peer_get(rp, name, &old, NULL) == 0) {
		r = mule_errf(err, MULE_EEXIST,
		    "a peer named '%s' exists already; remove it first", name);
		goto out;
	}
	if (replica_peer_by_keyid(rp, pub->key_id, &old, NULL) == 0) {
		r = mule_errf(err, MULE_EEXIST,
		    "that key is already trusted as peer '%s'", old.name);
		goto out;
	}
	if ((r = rp_prepare(rp, "INSERT INTO _mule_peers(name, key_id, "
	    "sign_pk, box_pk) VALUES (?, ?, ?, ?)", &st, err)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, pub->key_id, IDENT_KEYID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, pub->sign_pk, IDENT_PK_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, pub->box_pk, IDENT_PK_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "add peer");
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int
rp_peer_delete(struct replica *rp, const char *name, char *err)
{
	static const char *const sql[] = {
		"DELETE FROM _mule_peer_props WHERE peer = ?1",
		"DELETE FROM _mule_vectors WHERE peer = ?1",
		"DELETE FROM _mule_peers WHERE name = ?1",
	};
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && r == 0; i++)
		r = rp_exec_text(rp, sql[i], name, NULL, NULL, "remove peer",
		    err);
	return r;
}

static int
peer_fill(void *arg, sqlite3_stmt *st, void *elem, char *err)
{
	if (row_to_peer(st, elem) != 0)
		return mule_errf(err, MULE_EDB, "damaged peer record");
	return 0;
}

static void
peer_release(void *v, size_t n)
{
	free(v);
}

int
replica_peer_list(struct replica *rp, struct replica_peer **out, size_t *n,
    char *err)
{
	sqlite3_stmt *st = NULL;
	void *v;
	int r;

	if ((r = rp_prepare(rp, PEER_COLS " ORDER BY name", &st, err)) != 0)
		return r;
	if ((r = rp_rows(rp, st, sizeof(**out), peer_fill, NULL,
	    peer_release, &v, n, "read peers", err)) == 0)
		*out = v;
	sqlite3_finalize(st);
	return r;
}

int
replica_peer_set(struct replica *rp, const char *name, const char *key,
    const char *value, char *err)
{
	struct replica_peer p;
	int r;

	if ((r = replica_peer_get(rp, name, &p, err)) == 0)
		r = rp_exec_text(rp, value != NULL ?
		    "INSERT OR REPLACE INTO _mule_peer_props(peer, key, value)"
		    " VALUES (?, ?, ?)" :
		    "DELETE FROM _mule_peer_props WHERE peer = ? AND key = ?",
		    name, key, value, "set peer property", err);
	return r;
}

int
replica_peer_prop(struct replica *rp, const char *name, const char *key,
    char **value, char *err)
{
	return rp_text(rp, "SELECT value FROM _mule_peer_props WHERE "
	    "peer = ? AND key = ?", name, key, value, "read peer property",
	    err);
}

int
replica_peer_check_site(struct replica *rp, const struct replica_peer *p,
    const uint8_t site[SITE_ID_LEN], char *err)
{
	char have[2 * SITE_ID_LEN + 1], says[2 * SITE_ID_LEN + 1];
	sqlite3_stmt *st = NULL;
	int r = 0;

	hex_encode(says, site, SITE_ID_LEN);
	if (memcmp(site, rp->site_id, SITE_ID_LEN) == 0)
		return mule_errf(err, MULE_EVERIFY, "the bundle signed by %s "
		    "claims to come from this site (%s); refused", p->name,
		    says);
	if (p->has_site) {
		if (memcmp(p->site_id, site, SITE_ID_LEN) == 0)
			return 0;
		hex_encode(have, p->site_id, SITE_ID_LEN);
		return mule_errf(err, MULE_EVERIFY, "the bundle signed by %s "
		    "says it comes from site %s, but %s's bundles come from "
		    "site %s; a site id never changes, so it is refused (a "
		    "copy of a site is a new site: make it with 'mule clone')",
		    p->name, says, p->name, have);
	}
	if ((r = rp_prepare(rp, "SELECT name FROM _mule_peers WHERE site = ?1 "
	    "AND name <> ?2", &st, err)) != 0)
		return r;
	sqlite3_bind_blob(st, 1, site, SITE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = mule_errf(err, MULE_EVERIFY, "the bundle signed by %s says "
		    "it comes from site %s, which is peer %s's; refused",
		    p->name, says, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r;
}
