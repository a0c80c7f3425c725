/* sync/mail.c — the replica's mail settings and recipients, handed to
 * transports/mailbox.c as plain values (see sync.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/strb.h"
#include "sync/sync.h"

int
sync_mail_settings(struct replica *rp, struct xport_mail_settings *ms,
    char *err)
{
	static const char *const keys[] = {
		"mail.smtp", "mail.starttls", "mail.from", "mail.user",
		"mail.password-file", "mail.inbox", "mail.max-size",
		"mail.after-fetch", "mail.ca-file",
		"mail.allow-cleartext-password",
	};
	char **vals[] = {
		&ms->smtp, &ms->starttls, &ms->from, &ms->user, &ms->pwfile,
		&ms->inbox, &ms->maxsize, &ms->after, &ms->cafile,
		&ms->cleartext,
	};
	size_t i;
	int r;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((r = replica_config_get(rp, keys[i], vals[i], err)) != 0)
			return r;
	return xport_mail_settings_finish(ms, err);
}

int
sync_mail_pack(struct replica *rp, const struct sync_pack_result *res,
    const char *tmp, const char *scratch, const char *base,
    const char *emldir, size_t *nmsgs, char **where, char *err)
{
	struct xport_mail_settings ms;
	struct xport_mail_rcpt *to = NULL;
	char **addrs = NULL, idhex[2 * BUNDLE_ID_LEN + 1];
	size_t i;
	int r;

	memset(&ms, 0, sizeof(ms));
	if ((r = sync_mail_settings(rp, &ms, err)) != 0)
		goto out;
	if ((to = calloc(res->npeers, sizeof(*to))) == NULL ||
	    (addrs = calloc(res->npeers, sizeof(*addrs))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < res->npeers; i++) {
		if ((r = replica_peer_prop(rp, res->peers[i].name, "email",
		    &addrs[i], err)) != 0)
			goto out;
		to[i].name = res->peers[i].name;
		to[i].addr = addrs[i];
		to[i].key_id = res->peers[i].pub.key_id;
	}
	hex_encode(idhex, res->bundle_id, BUNDLE_ID_LEN);
	r = xport_mail_pack(&ms, tmp, scratch, base, idhex, res->site.name, to,
	    res->npeers, emldir, nmsgs, where, err);
out:
	if (r != 0)
		unlink(tmp);
	strv_free(addrs, addrs != NULL ? res->npeers : 0);
	free(to);
	xport_mail_settings_release(&ms);
	return r;
}
