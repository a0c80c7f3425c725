/*
 * sync/check.c — opening a bundle and checking who signed it and for
 * whom, before anything in it is decrypted or parsed; the manifest
 * against the signed header; our key against the site (see sync.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "sync/sync.h"

/* The reader's message for a file that is not a bundle, as a refusal. */
static int
check_open(const char *path, struct bundle_reader **br, char *err)
{
	char e2[MULE_ERRLEN] = "";
	int r;

	if ((r = bundle_open(path, br, e2)) == 0)
		return 0;
	if (r == MULE_EFORMAT || r == MULE_EINCOMPLETE || r == MULE_ETOOLARGE)
		return mule_errf(err, MULE_EVERIFY, "%s: not a mule bundle, "
		    "or truncated (%s)", path, e2);
	return mule_errf(err, r, "%s", e2);
}

/* The signer among our peers, by the key id the header names. */
static int
check_signer(struct replica *rp, const char *path,
    const struct bundle_info *info, struct replica_peer *peer, char *err)
{
	char e2[MULE_ERRLEN] = "", kid[2 * IDENT_KEYID_LEN + 1];
	struct replica_site me;
	int r;

	if ((r = replica_peer_by_keyid(rp, info->sender_key, peer, e2)) == 0)
		return 0;
	if (r != MULE_ENOTFOUND)
		return mule_errf(err, r, "%s", e2);
	if (replica_site(rp, &me, e2) == 0 && memcmp(me.pub.key_id,
	    info->sender_key, IDENT_KEYID_LEN) == 0)
		return mule_errf(err, MULE_EUNKNOWNSENDER, "%s: this is your "
		    "own bundle (signed by this site, '%s'); it is verified "
		    "and applied at the sites it is addressed to", path,
		    me.name);
	hex_encode(kid, info->sender_key, IDENT_KEYID_LEN);
	return mule_errf(err, MULE_EUNKNOWNSENDER, "%s: signed by an unknown "
	    "key (key id %s); if you trust the sender, add it with 'mule "
	    "peer add NAME KEY'", path, kid);
}

int
sync_bundle_check(struct replica *rp, const struct ident_pub *me,
    const char *path, struct bundle_reader **out, struct replica_peer *peer,
    char *err)
{
	struct bundle_reader *br = NULL;
	char e2[MULE_ERRLEN] = "";
	int r;

	if ((r = check_open(path, &br, err)) != 0)
		goto out;
	if (me != NULL && !bundle_is_recipient(br, me)) {
		r = mule_errf(err, MULE_ENOTRECIPIENT, "%s: not addressed to "
		    "this site", path);
		goto out;
	}
	if ((r = check_signer(rp, path, bundle_get_info(br), peer, err)) != 0)
		goto out;
	if ((r = bundle_verify(br, &peer->pub, e2)) != 0) {
		if (r == MULE_EVERIFY || r == MULE_EINCOMPLETE ||
		    r == MULE_EFORMAT)
			r = mule_errf(err, MULE_EVERIFY, "%s: the signature of "
			    "'%s' does not match: the file was changed or "
			    "truncated", path, peer->name);
		else
			r = mule_errf(err, r, "%s: %s", path, e2);
		goto out;
	}
	*out = br;
	br = NULL;
	r = 0;
out:
	bundle_close(br);
	return r;
}

int
sync_manifest_check(const struct bundle_info *info, const struct manifest *m,
    char *err)
{
	if (memcmp(info->bundle_id, m->bundle_id, BUNDLE_ID_LEN) != 0)
		return mule_errf(err, MULE_EFORMAT, "MANIFEST names another "
		    "bundle id than the outer header");
	if (memcmp(info->sender_site, m->from, SITE_ID_LEN) != 0)
		return mule_errf(err, MULE_EFORMAT, "MANIFEST names another "
		    "sender than the outer header");
	return 0;
}

int
sync_schema_authority_parse(const char *v)
{
	if (v == NULL || strcmp(v, "review") == 0)
		return SYNC_SCHEMA_REVIEW;
	if (strcmp(v, "accept") == 0 || strcmp(v, "shared") == 0)
		return SYNC_SCHEMA_ACCEPT;
	if (strcmp(v, "refuse") == 0)
		return SYNC_SCHEMA_REFUSE;
	if (strcmp(v, "separate") == 0)
		return SYNC_SCHEMA_SEPARATE;
	return -1;
}

int
sync_peer_schema(struct replica *rp, const char *peer)
{
	char *v = NULL;
	int a;

	if (replica_peer_prop(rp, peer, "schema", &v, NULL) != 0)
		return SYNC_SCHEMA_REVIEW;
	a = sync_schema_authority_parse(v);
	free(v);
	return a < 0 ? SYNC_SCHEMA_REVIEW : a;
}

int
sync_peer_separate(struct replica *rp, const char *peer)
{
	return sync_peer_schema(rp, peer) == SYNC_SCHEMA_SEPARATE;
}

int
sync_key_check(struct replica *rp, const struct ident_secret *me,
    struct replica_site *site, char *err)
{
	int r;

	if ((r = replica_site(rp, site, err)) != 0)
		return r;
	if (memcmp(&me->pub, &site->pub, sizeof(site->pub)) != 0)
		return mule_errf(err, MULE_EINVAL, "the key file does not "
		    "belong to this database");
	return 0;
}
