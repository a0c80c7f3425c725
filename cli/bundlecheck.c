/* cli/bundlecheck.c — opening a bundle and checking who signed it and
 * for whom, before anything in it is decrypted or parsed. */
#include <stdio.h>
#include <string.h>

#include "cli/bundlecheck.h"
#include "core/hex.h"

int
cli_bundle_check(struct replica *rp, const struct ident_pub *me,
    const char *path, struct bundle_reader **out, struct replica_peer *peer,
    char *err)
{
	struct bundle_reader *br = NULL;
	const struct bundle_info *info;
	char e2[MULE_ERRLEN] = "";
	int r;

	if ((r = bundle_open(path, &br, e2)) != 0) {
		if (r == MULE_EFORMAT || r == MULE_EINCOMPLETE ||
		    r == MULE_ETOOLARGE)
			r = mule_errf(err, MULE_EVERIFY, "%s: not a mule bundle, "
			    "or truncated (%s)", path, e2);
		else
			r = mule_errf(err, r, "%s", e2);
		goto out;
	}
	info = bundle_get_info(br);
	if (me != NULL && !bundle_is_recipient(br, me)) {
		r = mule_errf(err, MULE_ENOTRECIPIENT, "%s: not addressed to "
		    "this site", path);
		goto out;
	}
	if ((r = replica_peer_by_keyid(rp, info->sender_key, peer, e2)) != 0) {
		if (r == MULE_ENOTFOUND) {
			char kid[2 * IDENT_KEYID_LEN + 1];
			hex_encode(kid, info->sender_key, IDENT_KEYID_LEN);
			r = mule_errf(err, MULE_EUNKNOWNSENDER, "%s: signed by "
			    "an unknown key (key id %s); if you trust the "
			    "sender, add it with 'mule peer add NAME KEY'",
			    path, kid);
		} else {
			r = mule_errf(err, r, "%s", e2);
		}
		goto out;
	}
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
