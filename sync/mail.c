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

/*
 * The recipients' mail addresses (peer setting 'email'): to[i] and the
 * heap strings addrs[i] for each peer name.  Free with mail_rcpts_free.
 */
static int
mail_rcpts(struct replica *rp, const char *const *names,
    const uint8_t *const *keyids, size_t n, struct xport_mail_rcpt **to,
    char ***addrs, char *err)
{
	size_t i;
	int r = 0;

	if ((*to = calloc(n + 1, sizeof(**to))) == NULL ||
	    (*addrs = calloc(n + 1, sizeof(**addrs))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	for (i = 0; i < n && r == 0; i++) {
		r = replica_peer_prop(rp, names[i], "email", &(*addrs)[i], err);
		(*to)[i].name = names[i];
		(*to)[i].addr = (*addrs)[i];
		(*to)[i].key_id = keyids != NULL ? keyids[i] : NULL;
	}
	return r;
}

static void
mail_rcpts_free(struct xport_mail_rcpt *to, char **addrs, size_t n)
{
	strv_free(addrs, addrs != NULL ? n : 0);
	free(to);
}

int
sync_mail_check(struct replica *rp, const char *const *peers, size_t n,
    const char *emldir, char *err)
{
	struct xport_mail_settings ms;
	struct xport_mail_rcpt *to = NULL;
	char **addrs = NULL;
	int r;

	memset(&ms, 0, sizeof(ms));
	if ((r = sync_mail_settings(rp, &ms, err)) == 0 &&
	    (r = mail_rcpts(rp, peers, NULL, n, &to, &addrs, err)) == 0)
		r = xport_mail_pack_check(&ms, to, n, emldir, err);
	mail_rcpts_free(to, addrs, n);
	xport_mail_settings_release(&ms);
	return r;
}

int
sync_mail_pack(struct replica *rp, const struct sync_pack_result *res,
    const char *tmp, const char *scratch, const char *base,
    const char *emldir, size_t *nmsgs, char **where,
    sync_progress_fn progress, void *parg, char *err)
{
	const char *phase = emldir != NULL ? PROGRESS_EML : PROGRESS_MAIL;
	struct xport_mail_settings ms;
	struct xport_mail_rcpt *to = NULL;
	const char **names = NULL;
	const uint8_t **keyids = NULL;
	char **addrs = NULL, idhex[2 * BUNDLE_ID_LEN + 1];
	size_t i;
	int r;

	memset(&ms, 0, sizeof(ms));
	if ((r = sync_mail_settings(rp, &ms, err)) != 0)
		goto out;
	if ((names = calloc(res->npeers + 1, sizeof(*names))) == NULL ||
	    (keyids = calloc(res->npeers + 1, sizeof(*keyids))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < res->npeers; i++) {
		names[i] = res->peers[i].name;
		keyids[i] = res->peers[i].pub.key_id;
	}
	if ((r = mail_rcpts(rp, names, keyids, res->npeers, &to, &addrs,
	    err)) != 0)
		goto out;
	hex_encode(idhex, res->bundle_id, BUNDLE_ID_LEN);
	progress_report(progress, parg, phase, 0, res->size);
	if ((r = xport_mail_pack(&ms, tmp, scratch, base, idhex,
	    res->site.name, to, res->npeers, emldir, nmsgs, where, err)) == 0)
		progress_report(progress, parg, phase, res->size, res->size);
out:
	if (r != 0)
		unlink(tmp);
	mail_rcpts_free(to, addrs, res->npeers);
	free(names);
	free(keyids);
	xport_mail_settings_release(&ms);
	return r;
}
