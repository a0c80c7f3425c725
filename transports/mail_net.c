/*
 * transports/mail_net.c — sending by SMTP and fetching from IMAP, POP3,
 * maildir and mbox with libetpan (see mail.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "core/error.h"
#include "core/file.h"
#include "core/text.h"
#include "transports/mail.h"
#include "transports/mail_internal.h"

static const char *
scheme_name(int kind)
{
	static const char *const names[] = { "smtp", "smtps", "imap", "imaps",
	    "pop3", "pop3s", "maildir", "mbox" };

	return kind >= 0 && kind <= XPORT_MAIL_MBOX ? names[kind] : "?";
}

/*
 * 0 when a password may go to the server of u: on a TLS connection (`tls`:
 * smtps, imaps, pop3s, or one STARTTLS upgrades) or when the settings
 * allow it in clear (`allow`).  Else MULE_EAUTH naming the server and the
 * ways out; the caller has sent nothing.
 */
static int
password_check(const struct xport_mail_url *u, int tls, int allow, char *err)
{
	int r = 0;

	if (!tls && !allow)
		r = mule_errf(err, MULE_EAUTH, "not sending the mail password "
		    "to %s://%s:%u unencrypted: use %ss://%s (TLS), or "
		    "'mule config mail.starttls yes' if the server offers "
		    "STARTTLS; on a network you trust, 'mule config "
		    "mail.allow-cleartext-password yes' sends it in clear",
		    scheme_name(u->kind), u->host, u->port,
		    scheme_name(u->kind), u->host);
	return r;
}

/* ---- SMTP ---- */

/* The server's last reply made safe to quote, in q (TEXT_QUOTE_MAX). */
static const char *
smtp_reply(mailsmtp *s, char *q)
{
	return text_sanitize(q, TEXT_QUOTE_MAX, s->response);
}

static int
smtp_err(mailsmtp *s, const struct xport_mail_smtp *c, int rc,
    const char *what, char *err)
{
	char q[TEXT_QUOTE_MAX];
	int code = MULE_EIO;

	smtp_reply(s, q);
	switch (rc) {
	case MAILSMTP_ERROR_STREAM:
	case MAILSMTP_ERROR_CONNECTION_REFUSED:
	case MAILSMTP_ERROR_SERVICE_NOT_AVAILABLE:
	case MAILSMTP_ERROR_SSL:
		code = MULE_ENET;
		break;
	case MAILSMTP_ERROR_EXCEED_STORAGE_ALLOCATION:
		return mule_errf(err, MULE_ETOOLARGE, "the mail server %s:%u "
		    "refused the message as too large (%s): lower "
		    "mail.max-size below its limit ('mule config mail.max-size "
		    "SIZE') so bundles go as smaller parts", c->url.host,
		    c->url.port, q);
	case MAILSMTP_ERROR_AUTH_LOGIN:
	case MAILSMTP_ERROR_AUTH_AUTHENTICATION_FAILED:
	case MAILSMTP_ERROR_AUTH_REQUIRED:
	case MAILSMTP_ERROR_AUTH_TOO_WEAK:
	case MAILSMTP_ERROR_AUTH_ENCRYPTION_REQUIRED:
	case MAILSMTP_ERROR_AUTH_NOT_SUPPORTED:
		code = MULE_EAUTH;
		break;
	}
	return mule_errf(err, code, "mail server %s://%s:%u: %s: %s%s%s",
	    scheme_name(c->url.kind), c->url.host, c->url.port, what,
	    mailsmtp_strerror(rc), q[0] ? ": " : "", q);
}

/* 1 when c logs in (AUTH): a user and a password are set. */
static int
smtp_wants_login(const struct xport_mail_smtp *c)
{
	return c->user != NULL && c->user[0] != '\0' && c->password != NULL;
}

/* STARTTLS (required: never a silent downgrade), its check, EHLO again. */
static int
smtp_starttls(mailsmtp *s, const struct xport_mail_smtp *c, char *err)
{
	int rc, r = MULE_EINTERNAL;

	if ((rc = mailsmtp_socket_starttls_with_callback(s,
	    xport_mail_tls_sni, (void *)c->url.host)) != MAILSMTP_NO_ERROR) {
		r = mule_errf(err, rc == MAILSMTP_ERROR_STARTTLS_NOT_SUPPORTED ?
		    MULE_EAUTH : MULE_ENET, "mail server %s:%u: %s: check "
		    "mail.starttls and the server's TLS set-up (or use "
		    "smtps://)", c->url.host, c->url.port, rc ==
		    MAILSMTP_ERROR_STARTTLS_NOT_SUPPORTED ?
		    "it does not offer STARTTLS" : "the TLS handshake "
		    "after STARTTLS failed");
		goto out;
	}
	if ((r = xport_mail_tls_check(s->stream, c->url.host, c->cafile,
	    err)) != 0)
		goto out;
	if ((rc = mailesmtp_ehlo(s)) != MAILSMTP_NO_ERROR) {
		r = smtp_err(s, c, rc, "EHLO after STARTTLS", err);
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * Connects to c's SMTP server and greets it: TLS (smtps or STARTTLS),
 * certificate check, EHLO (HELO when ESMTP is not offered; *esmtp says
 * which).  *tls: the session is encrypted.  s is the caller's session.
 */
static int
smtp_open(mailsmtp *s, const struct xport_mail_smtp *c, int *esmtp,
    int *tls, char *err)
{
	char q[TEXT_QUOTE_MAX];
	int rc, r = MULE_EINTERNAL, enc = 0;

	*esmtp = 1;
	mailsmtp_set_timeout(s, c->timeout ? c->timeout : XPORT_MAIL_TIMEOUT);
	rc = c->url.kind == XPORT_MAIL_SMTPS ?
	    mailsmtp_ssl_connect_with_callback(s, c->url.host, c->url.port,
	    xport_mail_tls_sni, (void *)c->url.host) :
	    mailsmtp_socket_connect(s, c->url.host, c->url.port);
	if (rc != MAILSMTP_NO_ERROR) {
		smtp_reply(s, q);
		r = mule_errf(err, MULE_ENET, "cannot reach the mail server "
		    "%s://%s:%u (%s%s%s): check mail.smtp and the network",
		    scheme_name(c->url.kind), c->url.host, c->url.port,
		    mailsmtp_strerror(rc), q[0] ? ": " : "", q);
		goto out;
	}
	if (c->url.kind == XPORT_MAIL_SMTPS) {
		if ((r = xport_mail_tls_check(s->stream, c->url.host,
		    c->cafile, err)) != 0)
			goto out;
		enc = 1;
	}
	if ((rc = mailesmtp_ehlo(s)) == MAILSMTP_ERROR_NOT_IMPLEMENTED) {
		*esmtp = 0;
		rc = mailsmtp_helo(s);
	}
	if (rc != MAILSMTP_NO_ERROR) {
		r = smtp_err(s, c, rc, "EHLO", err);
		goto out;
	}
	if (c->starttls && c->url.kind == XPORT_MAIL_SMTP) {
		if ((r = smtp_starttls(s, c, err)) != 0)
			goto out;
		enc = 1;
	}
	*tls = enc;
	r = 0;
out:
	return r;
}

/* Logs in when c names a user and a password (AUTH); `tls` as smtp_open. */
static int
smtp_login(mailsmtp *s, const struct xport_mail_smtp *c, int esmtp, int tls,
    char *err)
{
	char q[TEXT_QUOTE_MAX];
	int rc, r = MULE_EINTERNAL;

	if (!smtp_wants_login(c)) {
		r = 0;
		goto out;
	}
	if ((r = password_check(&c->url, tls, c->allow_cleartext, err)) != 0)
		goto out;
	if (esmtp == 0 || (s->auth & ~MAILSMTP_AUTH_CHECKED) == 0) {
		r = mule_errf(err, MULE_EAUTH, "mail server %s:%u offers "
		    "no login (AUTH)%s", c->url.host, c->url.port,
		    c->url.kind == XPORT_MAIL_SMTP && !c->starttls ?
		    "; many servers offer it only over TLS: try "
		    "'mule config mail.starttls yes'" : "");
		goto out;
	}
	if ((rc = mailsmtp_auth(s, c->user, c->password)) !=
	    MAILSMTP_NO_ERROR) {
		smtp_reply(s, q);
		r = mule_errf(err, MULE_EAUTH, "mail server %s:%u "
		    "refused the login of '%s' (%s): check mail.user "
		    "and the password in mail.password-file",
		    c->url.host, c->url.port, c->user,
		    q[0] ? q : mailsmtp_strerror(rc));
		goto out;
	}
	r = 0;
out:
	return r;
}

/*
 * Before a bundle is made: the server takes our sender (MAIL FROM, then
 * RSET).  Whether it takes a message this large is known only once the
 * message is made.
 */
static int
smtp_check(mailsmtp *s, const struct xport_mail_smtp *c, char *err)
{
	int rc;

	if ((rc = mailsmtp_mail(s, c->from)) != MAILSMTP_NO_ERROR)
		return smtp_err(s, c, rc, "MAIL FROM", err);
	if ((rc = mailsmtp_reset(s)) != MAILSMTP_NO_ERROR)
		return smtp_err(s, c, rc, "RSET", err);
	return 0;
}

/* Sends one message of len bytes to `to` (MAIL FROM, RCPT TO, DATA). */
static int
smtp_send_one(mailsmtp *s, const struct xport_mail_smtp *c, int esmtp,
    const char *to, const char *msg, size_t len, char *err)
{
	int rc, r = MULE_EINTERNAL;

	if (esmtp && (s->esmtp & MAILSMTP_ESMTP_SIZE) &&
	    s->smtp_max_msg_size > 0 && len > s->smtp_max_msg_size) {
		r = mule_errf(err, MULE_ETOOLARGE, "the mail server "
		    "%s:%u takes messages of at most %zu bytes and this "
		    "one has %zu: lower mail.max-size below its limit "
		    "('mule config mail.max-size SIZE') so bundles go "
		    "as smaller parts", c->url.host, c->url.port,
		    s->smtp_max_msg_size, len);
		goto out;
	}
	rc = esmtp ? mailesmtp_mail_size(s, c->from, 0, NULL, len) :
	    mailsmtp_mail(s, c->from);
	if (rc != MAILSMTP_NO_ERROR) {
		r = smtp_err(s, c, rc, "MAIL FROM", err);
		goto out;
	}
	rc = esmtp ? mailesmtp_rcpt(s, to, 0, NULL) : mailsmtp_rcpt(s, to);
	if (rc != MAILSMTP_NO_ERROR) {
		r = smtp_err(s, c, rc, "RCPT TO", err);
		goto out;
	}
	if ((rc = mailsmtp_data(s)) != MAILSMTP_NO_ERROR ||
	    (rc = mailsmtp_data_message(s, msg, len)) != MAILSMTP_NO_ERROR) {
		r = smtp_err(s, c, rc, "DATA", err);
		goto out;
	}
	r = 0;
out:
	return r;
}

int
xport_mail_send(const struct xport_mail_smtp *c, const char *to,
    char *const *msgs, const size_t *lens, size_t n, char *err)
{
	mailsmtp *s = NULL;
	size_t i;
	int r = MULE_EINTERNAL, esmtp = 1, tls = 0;

	/* Before connecting: the password would not be encrypted. */
	if (smtp_wants_login(c) && (r = password_check(&c->url,
	    c->url.kind == XPORT_MAIL_SMTPS || c->starttls,
	    c->allow_cleartext, err)) != 0)
		goto out;
	if ((s = mailsmtp_new(0, NULL)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = smtp_open(s, c, &esmtp, &tls, err)) != 0 ||
	    (r = smtp_login(s, c, esmtp, tls, err)) != 0 ||
	    (n == 0 && (r = smtp_check(s, c, err)) != 0))
		goto out;
	for (i = 0; i < n; i++)
		if ((r = smtp_send_one(s, c, esmtp, to, msgs[i], lens[i],
		    err)) != 0)
			goto out;
	mailsmtp_quit(s);
	r = 0;
out:
	if (s != NULL)
		mailsmtp_free(s);
	return r;
}

/* ---- fetching ---- */

struct xport_mailbox {
	int kind;
	uint64_t max_size;
	int readonly;
	char where[XPORT_MAIL_MAX_URL + 300];
	size_t n;
	uint8_t *marked;
	mailimap *imap;
	int imap_up;			/* connected: LOGOUT on free */
	uint32_t *uids;			/* IMAP uids; mbox uids */
	mailpop3 *pop;
	unsigned *idx;			/* POP3 indexes */
	uint64_t *sizes;		/* POP3 and mbox sizes */
	struct maildir *md;
	char **mdids;			/* maildir uids */
	struct mailmbox_folder *mbox;
};

size_t
xport_mailbox_count(const struct xport_mailbox *mb)
{
	return mb->n;
}

static int
mb_alloc(struct xport_mailbox *mb, size_t n, char *err)
{
	if (n > XPORT_MAIL_MAX_MESSAGES)
		n = XPORT_MAIL_MAX_MESSAGES;
	mb->n = n;
	if ((mb->marked = calloc(n + 1, 1)) == NULL ||
	    (mb->uids = calloc(n + 1, sizeof(*mb->uids))) == NULL ||
	    (mb->idx = calloc(n + 1, sizeof(*mb->idx))) == NULL ||
	    (mb->sizes = calloc(n + 1, sizeof(*mb->sizes))) == NULL ||
	    (mb->mdids = calloc(n + 1, sizeof(*mb->mdids))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

/* Room for " (the server said: REPLY)". */
#define SAID_MAX (TEXT_QUOTE_MAX + 24)

/* The quoted reply of an IMAP or POP3 server, or "" (q: SAID_MAX bytes). */
static const char *
server_said(const char *reply, char *q)
{
	char t[TEXT_QUOTE_MAX];

	q[0] = '\0';
	if (reply != NULL && text_sanitize(t, sizeof(t), reply)[0] != '\0')
		snprintf(q, SAID_MAX, " (the server said: %s)", t);
	return q;
}

/* The refusal when a server does not start the TLS that STARTTLS asks. */
static int
starttls_refused(const struct xport_mailbox *mb, const char *why, char *err)
{
	return mule_errf(err, MULE_EAUTH, "the mail server %s %s: nothing was "
	    "sent in clear; check mail.starttls and the server's TLS set-up "
	    "(or use %ss://)", mb->where, why, scheme_name(mb->kind));
}

/*
 * Connects to the IMAP server with TLS (imaps, or STARTTLS when asked);
 * *preauth: the server logged us in already (PREAUTH).  *tls: encrypted.
 */
static int
imap_connect(struct xport_mailbox *mb, const struct xport_mail_inbox *in,
    int *preauth, int *tls, char *err)
{
	char q[SAID_MAX];
	int rc, r = MULE_EINTERNAL, pre, enc = in->url.kind == XPORT_MAIL_IMAPS;

	if ((mb->imap = mailimap_new(0, NULL)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	mailimap_set_timeout(mb->imap, in->timeout ? in->timeout :
	    XPORT_MAIL_TIMEOUT);
	rc = enc ? mailimap_ssl_connect_with_callback(mb->imap, in->url.host,
	    in->url.port, xport_mail_tls_sni, (void *)in->url.host) :
	    mailimap_socket_connect(mb->imap, in->url.host, in->url.port);
	if (rc != MAILIMAP_NO_ERROR_AUTHENTICATED &&
	    rc != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		r = mule_errf(err, MULE_ENET, "cannot reach the mail server "
		    "%s%s: check mail.inbox and the network", mb->where,
		    server_said(mb->imap->imap_response, q));
		goto out;
	}
	mb->imap_up = 1;
	pre = rc == MAILIMAP_NO_ERROR_AUTHENTICATED;
	if (!enc && in->starttls) {
		/* STARTTLS is possible only before the login. */
		if (pre) {
			r = starttls_refused(mb, "logged in without TLS "
			    "(PREAUTH) where STARTTLS was required", err);
			goto out;
		}
		if (mailimap_socket_starttls_with_callback(mb->imap,
		    xport_mail_tls_sni, (void *)in->url.host) !=
		    MAILIMAP_NO_ERROR) {
			r = starttls_refused(mb, "did not start TLS "
			    "(STARTTLS)", err);
			goto out;
		}
		enc = 1;
	}
	if (enc && (r = xport_mail_tls_check(mb->imap->imap_stream,
	    in->url.host, in->cafile, err)) != 0)
		goto out;
	*preauth = pre;
	*tls = enc;
	r = 0;
out:
	return r;
}

/* Logs in unless PREAUTH, selects the mailbox, lists the mule messages. */
static int
imap_open(struct xport_mailbox *mb, const struct xport_mail_inbox *in,
    const char *user, char *err)
{
	struct mailimap_search_key *key = NULL;
	clist *res = NULL;
	clistiter *it;
	char q[SAID_MAX];
	size_t n = 0;
	int r = MULE_EINTERNAL, preauth = 0, tls = 0;

	if ((r = imap_connect(mb, in, &preauth, &tls, err)) != 0)
		goto out;
	if (!preauth && in->password != NULL && in->password[0] != '\0' &&
	    (r = password_check(&in->url, tls, in->allow_cleartext, err)) != 0)
		goto out;
	if (!preauth && mailimap_login(mb->imap, user, in->password != NULL ?
	    in->password : "") != MAILIMAP_NO_ERROR) {
		r = mule_errf(err, MULE_EAUTH, "the mail server %s refused "
		    "the login of '%s'%s: check the user in mail.inbox (or "
		    "mail.user) and the password in mail.password-file",
		    mb->where, user, server_said(mb->imap->imap_response, q));
		goto out;
	}
	if (mailimap_select(mb->imap, in->url.path) != MAILIMAP_NO_ERROR) {
		r = mule_errf(err, MULE_ENOTFOUND, "%s: no mailbox '%s' "
		    "there%s", mb->where, in->url.path,
		    server_said(mb->imap->imap_response, q));
		goto out;
	}
	/* Only mule messages: those with an X-Mule-Bundle field. */
	if ((key = mailimap_search_key_new_header(strdup("X-Mule-Bundle"),
	    strdup(""))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (mailimap_uid_search(mb->imap, NULL, key, &res) !=
	    MAILIMAP_NO_ERROR) {
		r = mule_errf(err, MULE_EIO, "%s: the search for mule messages "
		    "failed%s", mb->where,
		    server_said(mb->imap->imap_response, q));
		goto out;
	}
	for (it = clist_begin(res); it != NULL; it = clist_next(it))
		n++;
	if ((r = mb_alloc(mb, n, err)) != 0)
		goto out;
	n = 0;
	for (it = clist_begin(res); it != NULL && n < mb->n;
	    it = clist_next(it))
		mb->uids[n++] = *(uint32_t *)clist_content(it);
	r = 0;
out:
	if (key != NULL)
		mailimap_search_key_free(key);
	if (res != NULL)
		mailimap_search_result_free(res);
	return r;
}

/* UID FETCH of one attribute: the size, or the whole message. */
static int
imap_fetch(struct xport_mailbox *mb, uint32_t uid, int body, uint64_t *size,
    uint8_t **msg, size_t *len, char *err)
{
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_fetch_att *fa = NULL;
	struct mailimap_set *set = NULL;
	clist *res = NULL;
	clistiter *it, *ai;
	int r = MULE_EINTERNAL, got = 0;

	if ((set = mailimap_set_new_single(uid)) == NULL ||
	    (ft = mailimap_fetch_type_new_fetch_att_list_empty()) == NULL ||
	    (fa = body ? mailimap_fetch_att_new_body_peek_section(
	    mailimap_section_new(NULL)) :
	    mailimap_fetch_att_new_rfc822_size()) == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, fa) !=
	    MAILIMAP_NO_ERROR) {
		if (fa != NULL)
			mailimap_fetch_att_free(fa);
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (mailimap_uid_fetch(mb->imap, set, ft, &res) != MAILIMAP_NO_ERROR) {
		r = mule_errf(err, MULE_ENET, "%s: fetching message %u failed",
		    mb->where, uid);
		goto out;
	}
	for (it = clist_begin(res); it != NULL && !got; it = clist_next(it)) {
		struct mailimap_msg_att *ma = clist_content(it);
		for (ai = clist_begin(ma->att_list); ai != NULL;
		    ai = clist_next(ai)) {
			struct mailimap_msg_att_item *item = clist_content(ai);
			struct mailimap_msg_att_static *st;
			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = item->att_data.att_static;
			if (!body && st->att_type ==
			    MAILIMAP_MSG_ATT_RFC822_SIZE) {
				*size = st->att_data.att_rfc822_size;
				got = 1;
			} else if (body && st->att_type ==
			    MAILIMAP_MSG_ATT_BODY_SECTION &&
			    st->att_data.att_body_section->sec_body_part !=
			    NULL) {
				struct mailimap_msg_att_body_section *bs =
				    st->att_data.att_body_section;
				if ((uint64_t)bs->sec_length > mb->max_size) {
					r = mule_errf(err, MULE_ETOOLARGE,
					    "message larger than %llu bytes",
					    (unsigned long long)mb->max_size);
					goto out;
				}
				if ((*msg = malloc(bs->sec_length + 1)) ==
				    NULL) {
					r = mule_errf(err, MULE_ENOMEM,
					    "out of memory");
					goto out;
				}
				memcpy(*msg, bs->sec_body_part,
				    bs->sec_length);
				(*msg)[bs->sec_length] = '\0';
				*len = bs->sec_length;
				got = 1;
			}
			if (got)
				break;
		}
	}
	if (!got) {
		r = mule_errf(err, MULE_EIO, "%s: the server sent no message "
		    "for uid %u", mb->where, uid);
		goto out;
	}
	r = 0;
out:
	if (res != NULL)
		mailimap_fetch_list_free(res);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	if (set != NULL)
		mailimap_set_free(set);
	return r;
}

/* Connects to the POP3 server with TLS (pop3s, or STLS when asked). */
static int
pop_connect(struct xport_mailbox *mb, const struct xport_mail_inbox *in,
    int *tls, char *err)
{
	char q[SAID_MAX];
	int rc, r = MULE_EINTERNAL, enc = in->url.kind == XPORT_MAIL_POP3S;

	if ((mb->pop = mailpop3_new(0, NULL)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	mailpop3_set_timeout(mb->pop, in->timeout ? in->timeout :
	    XPORT_MAIL_TIMEOUT);
	rc = enc ? mailpop3_ssl_connect_with_callback(mb->pop, in->url.host,
	    in->url.port, xport_mail_tls_sni, (void *)in->url.host) :
	    mailpop3_socket_connect(mb->pop, in->url.host, in->url.port);
	if (rc != MAILPOP3_NO_ERROR) {
		r = mule_errf(err, MULE_ENET, "cannot reach the mail server "
		    "%s%s: check mail.inbox and the network", mb->where,
		    server_said(mb->pop->pop3_response, q));
		goto out;
	}
	if (!enc && in->starttls) {
		if (mailpop3_socket_starttls_with_callback(mb->pop,
		    xport_mail_tls_sni, (void *)in->url.host) !=
		    MAILPOP3_NO_ERROR) {
			r = starttls_refused(mb, "did not start TLS (STLS)",
			    err);
			goto out;
		}
		enc = 1;
	}
	if (enc && (r = xport_mail_tls_check(mb->pop->pop3_stream,
	    in->url.host, in->cafile, err)) != 0)
		goto out;
	*tls = enc;
	r = 0;
out:
	return r;
}

static int
pop_open(struct xport_mailbox *mb, const struct xport_mail_inbox *in,
    const char *user, char *err)
{
	carray *list = NULL;
	char q[SAID_MAX];
	size_t i, n = 0;
	int rc, tls = 0;

	if ((rc = pop_connect(mb, in, &tls, err)) != 0)
		return rc;
	if (in->password != NULL && in->password[0] != '\0' &&
	    (rc = password_check(&in->url, tls, in->allow_cleartext, err)) != 0)
		return rc;
	if (mailpop3_user(mb->pop, user) != MAILPOP3_NO_ERROR ||
	    mailpop3_pass(mb->pop, in->password != NULL ? in->password :
	    "") != MAILPOP3_NO_ERROR)
		return mule_errf(err, MULE_EAUTH, "the mail server %s refused "
		    "the login of '%s'%s: check the user in mail.inbox (or "
		    "mail.user) and the password in mail.password-file",
		    mb->where, user, server_said(mb->pop->pop3_response, q));
	if (mailpop3_list(mb->pop, &list) != MAILPOP3_NO_ERROR)
		return mule_errf(err, MULE_ENET, "%s: listing the messages "
		    "failed%s", mb->where,
		    server_said(mb->pop->pop3_response, q));
	for (i = 0; i < carray_count(list); i++)
		if (carray_get(list, (unsigned)i) != NULL)
			n++;
	if ((rc = mb_alloc(mb, n, err)) != 0)
		return rc;
	n = 0;
	for (i = 0; i < carray_count(list) && n < mb->n; i++) {
		struct mailpop3_msg_info *mi = carray_get(list, (unsigned)i);
		if (mi == NULL)
			continue;
		mb->idx[n] = mi->msg_index;
		mb->sizes[n] = mi->msg_size;
		n++;
	}
	return 0;
}

static int
maildir_open(struct xport_mailbox *mb, const struct xport_mail_inbox *in,
    char *err)
{
	struct stat st;
	size_t i, n;
	int r;

	if (stat(in->url.path, &st) != 0 || !S_ISDIR(st.st_mode))
		return mule_errf(err, MULE_ENOTFOUND, "%s: no such maildir",
		    in->url.path);
	if ((mb->md = maildir_new(in->url.path)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	if (maildir_update(mb->md) != MAILDIR_NO_ERROR)
		return mule_errf(err, MULE_EIO, "%s: cannot read the maildir "
		    "(it needs cur/, new/ and tmp/)", in->url.path);
	n = carray_count(mb->md->mdir_msg_list);
	if ((r = mb_alloc(mb, n, err)) != 0)
		return r;
	for (i = 0; i < mb->n; i++) {
		struct maildir_msg *m = carray_get(mb->md->mdir_msg_list,
		    (unsigned)i);
		if ((mb->mdids[i] = strdup(m->msg_uid)) == NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
	}
	return 0;
}

static int
mbox_open(struct xport_mailbox *mb, const struct xport_mail_inbox *in,
    char *err)
{
	size_t i, n = 0;
	int r;

	if (!file_exists(in->url.path))
		return mule_errf(err, MULE_ENOTFOUND, "%s: no such mbox file",
		    in->url.path);
	if (mailmbox_init(in->url.path, in->readonly, 1, 0, &mb->mbox) !=
	    MAILMBOX_NO_ERROR) {
		mb->mbox = NULL;
		return mule_errf(err, MULE_EIO, "%s: cannot read the mbox "
		    "file", in->url.path);
	}
	for (i = 0; i < carray_count(mb->mbox->mb_tab); i++)
		if (carray_get(mb->mbox->mb_tab, (unsigned)i) != NULL)
			n++;
	if ((r = mb_alloc(mb, n, err)) != 0)
		return r;
	n = 0;
	for (i = 0; i < carray_count(mb->mbox->mb_tab) && n < mb->n; i++) {
		struct mailmbox_msg_info *mi = carray_get(mb->mbox->mb_tab,
		    (unsigned)i);
		if (mi == NULL)
			continue;
		mb->uids[n] = mi->msg_uid;
		mb->sizes[n] = mi->msg_size;
		n++;
	}
	return 0;
}

int
xport_mailbox_open(const struct xport_mail_inbox *in,
    struct xport_mailbox **out, char *err)
{
	struct xport_mailbox *mb;
	const char *user = in->url.user[0] ? in->url.user :
	    in->user != NULL ? in->user : "";
	int r;

	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	mb->kind = in->url.kind;
	mb->readonly = in->readonly;
	mb->max_size = in->max_size > 0 && in->max_size <
	    XPORT_MAIL_MAX_MESSAGE ? in->max_size : XPORT_MAIL_MAX_MESSAGE;
	if (mb->kind == XPORT_MAIL_MAILDIR || mb->kind == XPORT_MAIL_MBOX)
		snprintf(mb->where, sizeof(mb->where), "%s:%s",
		    scheme_name(mb->kind), in->url.path);
	else
		snprintf(mb->where, sizeof(mb->where), "%s://%s@%s:%u",
		    scheme_name(mb->kind), user, in->url.host, in->url.port);
	/* Before connecting: the password would not be encrypted. */
	r = (mb->kind == XPORT_MAIL_IMAP || mb->kind == XPORT_MAIL_POP3) &&
	    in->password != NULL && in->password[0] != '\0' ?
	    password_check(&in->url, in->starttls, in->allow_cleartext, err) :
	    0;
	if (r != 0) {
		xport_mailbox_free(mb);
		return r;
	}
	switch (mb->kind) {
	case XPORT_MAIL_IMAP:
	case XPORT_MAIL_IMAPS:
		r = imap_open(mb, in, user, err);
		break;
	case XPORT_MAIL_POP3:
	case XPORT_MAIL_POP3S:
		r = pop_open(mb, in, user, err);
		break;
	case XPORT_MAIL_MAILDIR:
		r = maildir_open(mb, in, err);
		break;
	case XPORT_MAIL_MBOX:
		r = mbox_open(mb, in, err);
		break;
	default:
		r = mule_errf(err, MULE_EINVAL, "not a mailbox URL");
		break;
	}
	if (r != 0) {
		xport_mailbox_free(mb);
		return r;
	}
	*out = mb;
	return 0;
}

/* Copies n bytes into a new heap buffer (NUL-terminated). */
static int
dup_bytes(const char *p, size_t n, uint8_t **msg, size_t *len, char *err)
{
	uint8_t *d;

	if ((d = malloc(n + 1)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	memcpy(d, p, n);
	d[n] = '\0';
	*msg = d;
	*len = n;
	return 0;
}

static int
too_large(struct xport_mailbox *mb, uint64_t size, char *err)
{
	return mule_errf(err, MULE_ETOOLARGE, "the message has %llu bytes, "
	    "more than mail.max-size (%llu): not downloaded",
	    (unsigned long long)size, (unsigned long long)mb->max_size);
}

/*
 * A maildir message: its header first (other mail is not read further),
 * then the whole file up to max_size.
 */
static int
maildir_read(struct xport_mailbox *mb, const char *path, uint8_t **msg,
    size_t *len, char *err)
{
	uint8_t head[XPORT_MAIL_MAX_HEADER];
	struct stat st;
	ssize_t got;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return mule_errf(err, MULE_EIO, "%s: %s", path,
		    strerror(errno));
	got = read(fd, head, sizeof(head));
	if (got < 0 || fstat(fd, &st) != 0) {
		close(fd);
		return mule_errf(err, MULE_EIO, "%s: %s", path,
		    strerror(errno));
	}
	close(fd);
	if (!xport_mail_is_mule(head, (size_t)got))
		return mule_errf(err, MULE_ENOTFOUND, "not a mule message");
	if ((uint64_t)st.st_size > mb->max_size)
		return too_large(mb, (uint64_t)st.st_size, err);
	return file_read_all(path, (size_t)mb->max_size, msg, len, err);
}

/* Message i of an IMAP mailbox: its size first, then the message. */
static int
get_imap(struct xport_mailbox *mb, size_t i, uint8_t **msg, size_t *len,
    char *err)
{
	uint64_t size = 0;
	int r = MULE_EINTERNAL;

	if ((r = imap_fetch(mb, mb->uids[i], 0, &size, NULL, NULL, err)) != 0)
		goto out;
	if (size > mb->max_size) {
		r = too_large(mb, size, err);
		goto out;
	}
	r = imap_fetch(mb, mb->uids[i], 1, NULL, msg, len, err);
out:
	return r;
}

/* Message i of a POP3 mailbox: the header first, so other mail stays. */
static int
get_pop3(struct xport_mailbox *mb, size_t i, uint8_t **msg, size_t *len,
    char *err)
{
	char *res = NULL;
	size_t n = 0;
	int r = MULE_EINTERNAL;

	if (mailpop3_header(mb->pop, mb->idx[i], &res, &n) !=
	    MAILPOP3_NO_ERROR) {
		r = mule_errf(err, MULE_ENET, "%s: reading message %u "
		    "failed", mb->where, mb->idx[i]);
		goto out;
	}
	if (!xport_mail_is_mule((const uint8_t *)res, n)) {
		mailpop3_header_free(res);
		r = mule_errf(err, MULE_ENOTFOUND, "not a mule message");
		goto out;
	}
	mailpop3_header_free(res);
	res = NULL;
	if (mb->sizes[i] > mb->max_size) {
		r = too_large(mb, mb->sizes[i], err);
		goto out;
	}
	if (mailpop3_retr(mb->pop, mb->idx[i], &res, &n) !=
	    MAILPOP3_NO_ERROR) {
		r = mule_errf(err, MULE_ENET, "%s: reading message %u "
		    "failed", mb->where, mb->idx[i]);
		goto out;
	}
	r = (uint64_t)n > mb->max_size ? too_large(mb, n, err) :
	    dup_bytes(res, n, msg, len, err);
	mailpop3_retr_free(res);
out:
	return r;
}

/* Message i of a maildir. */
static int
get_maildir(struct xport_mailbox *mb, size_t i, uint8_t **msg, size_t *len,
    char *err)
{
	char *path = NULL;
	int r = MULE_EINTERNAL;

	if ((path = maildir_message_get(mb->md, mb->mdids[i])) == NULL) {
		r = mule_errf(err, MULE_ENOTFOUND, "%s: message %s is "
		    "gone", mb->where, mb->mdids[i]);
		goto out;
	}
	r = maildir_read(mb, path, msg, len, err);
	free(path);
out:
	return r;
}

/* Message i of an mbox file: its headers first, like POP3. */
static int
get_mbox(struct xport_mailbox *mb, size_t i, uint8_t **msg, size_t *len,
    char *err)
{
	char *res = NULL;
	size_t n = 0;
	int r = MULE_EINTERNAL;

	if (mailmbox_fetch_msg_headers(mb->mbox, mb->uids[i], &res,
	    &n) != MAILMBOX_NO_ERROR) {
		r = mule_errf(err, MULE_EIO, "%s: reading message %zu "
		    "failed", mb->where, i + 1);
		goto out;
	}
	if (!xport_mail_is_mule((const uint8_t *)res, n)) {
		mailmbox_fetch_result_free(res);
		r = mule_errf(err, MULE_ENOTFOUND, "not a mule message");
		goto out;
	}
	mailmbox_fetch_result_free(res);
	res = NULL;
	if (mb->sizes[i] > mb->max_size) {
		r = too_large(mb, mb->sizes[i], err);
		goto out;
	}
	if (mailmbox_fetch_msg(mb->mbox, mb->uids[i], &res, &n) !=
	    MAILMBOX_NO_ERROR) {
		r = mule_errf(err, MULE_EIO, "%s: reading message %zu "
		    "failed", mb->where, i + 1);
		goto out;
	}
	r = dup_bytes(res, n, msg, len, err);
	mailmbox_fetch_result_free(res);
out:
	return r;
}

int
xport_mailbox_get(struct xport_mailbox *mb, size_t i, uint8_t **msg,
    size_t *len, char *err)
{
	int r = MULE_EINTERNAL;

	if (i >= mb->n)
		return mule_errf(err, MULE_EINVAL, "no message %zu", i);
	switch (mb->kind) {
	case XPORT_MAIL_IMAP:
	case XPORT_MAIL_IMAPS:
		r = get_imap(mb, i, msg, len, err);
		break;
	case XPORT_MAIL_POP3:
	case XPORT_MAIL_POP3S:
		r = get_pop3(mb, i, msg, len, err);
		break;
	case XPORT_MAIL_MAILDIR:
		r = get_maildir(mb, i, msg, len, err);
		break;
	case XPORT_MAIL_MBOX:
		r = get_mbox(mb, i, msg, len, err);
		break;
	default:
		r = mule_errf(err, MULE_EINVAL, "not a mailbox");
		break;
	}
	return r;
}

int
xport_mailbox_mark(struct xport_mailbox *mb, size_t i, char *err)
{
	if (i >= mb->n)
		return mule_errf(err, MULE_EINVAL, "no message %zu", i);
	if (mb->readonly)
		return mule_errf(err, MULE_EREADONLY, "the mailbox was opened "
		    "read-only");
	mb->marked[i] = 1;
	return 0;
}

/* Sets the IMAP \Deleted flag of message `uid`. */
static int
imap_flag_deleted(struct xport_mailbox *mb, uint32_t uid, char *err)
{
	struct mailimap_flag_list *fl = NULL;
	struct mailimap_store_att_flags *sf = NULL;
	struct mailimap_set *set = NULL;
	int r = MULE_EINTERNAL;

	if ((set = mailimap_set_new_single(uid)) == NULL ||
	    (fl = mailimap_flag_list_new_empty()) == NULL ||
	    mailimap_flag_list_add(fl, mailimap_flag_new_deleted()) !=
	    MAILIMAP_NO_ERROR ||
	    (sf = mailimap_store_att_flags_new_add_flags_silent(fl)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	fl = NULL;			/* sf owns it */
	if (mailimap_uid_store(mb->imap, set, sf) != MAILIMAP_NO_ERROR) {
		r = mule_errf(err, MULE_ENET, "%s: marking message %u deleted "
		    "failed", mb->where, uid);
		goto out;
	}
	r = 0;
out:
	if (sf != NULL)
		mailimap_store_att_flags_free(sf);
	if (fl != NULL)
		mailimap_flag_list_free(fl);
	if (set != NULL)
		mailimap_set_free(set);
	return r;
}

/* Deletes (IMAP: flags) message i of the mailbox. */
static int
delete_one(struct xport_mailbox *mb, size_t i, char *err)
{
	int r = 0;

	switch (mb->kind) {
	case XPORT_MAIL_IMAP:
	case XPORT_MAIL_IMAPS:
		r = imap_flag_deleted(mb, mb->uids[i], err);
		break;
	case XPORT_MAIL_POP3:
	case XPORT_MAIL_POP3S:
		if (mailpop3_dele(mb->pop, mb->idx[i]) != MAILPOP3_NO_ERROR)
			r = mule_errf(err, MULE_ENET, "%s: deleting message %u "
			    "failed", mb->where, mb->idx[i]);
		break;
	case XPORT_MAIL_MAILDIR:
		if (maildir_message_remove(mb->md, mb->mdids[i]) !=
		    MAILDIR_NO_ERROR)
			r = mule_errf(err, MULE_EIO, "%s: deleting message %s "
			    "failed", mb->where, mb->mdids[i]);
		break;
	case XPORT_MAIL_MBOX:
		if (mailmbox_delete_msg(mb->mbox, mb->uids[i]) !=
		    MAILMBOX_NO_ERROR)
			r = mule_errf(err, MULE_EIO, "%s: deleting message %zu "
			    "failed", mb->where, i + 1);
		break;
	}
	return r;
}

int
xport_mailbox_close(struct xport_mailbox *mb, size_t *ndeleted, char *err)
{
	size_t i, del = 0;
	int r = 0;

	for (i = 0; i < mb->n && r == 0; i++) {
		if (!mb->marked[i])
			continue;
		r = delete_one(mb, i, err);
		if (r == 0)
			del++;
	}
	if (r == 0 && del > 0) {
		if ((mb->kind == XPORT_MAIL_IMAP || mb->kind ==
		    XPORT_MAIL_IMAPS) && mailimap_expunge(mb->imap) !=
		    MAILIMAP_NO_ERROR)
			r = mule_errf(err, MULE_ENET, "%s: EXPUNGE failed",
			    mb->where);
		else if (mb->kind == XPORT_MAIL_MBOX &&
		    mailmbox_expunge(mb->mbox) != MAILMBOX_NO_ERROR)
			r = mule_errf(err, MULE_EIO, "%s: rewriting the mbox "
			    "file failed", mb->where);
	}
	/* POP3 deletes at QUIT; a failed run ends with RSET. */
	if (mb->pop != NULL) {
		if (r != 0)
			mailpop3_rset(mb->pop);
		if (mailpop3_quit(mb->pop) != MAILPOP3_NO_ERROR && r == 0 &&
		    del > 0)
			r = mule_errf(err, MULE_ENET, "%s: QUIT failed; the "
			    "messages may not be deleted", mb->where);
		mailpop3_free(mb->pop);
		mb->pop = NULL;
	}
	if (r == 0 && ndeleted != NULL)
		*ndeleted = del;
	xport_mailbox_free(mb);
	return r;
}

void
xport_mailbox_free(struct xport_mailbox *mb)
{
	size_t i;

	if (mb == NULL)
		return;
	if (mb->imap != NULL) {
		if (mb->imap_up)
			mailimap_logout(mb->imap);
		mailimap_free(mb->imap);
	}
	if (mb->pop != NULL) {
		/* Without QUIT the server deletes nothing. */
		mailpop3_free(mb->pop);
	}
	if (mb->md != NULL)
		maildir_free(mb->md);
	if (mb->mbox != NULL)
		mailmbox_done(mb->mbox);
	if (mb->mdids != NULL)
		for (i = 0; i < mb->n; i++)
			free(mb->mdids[i]);
	free(mb->mdids);
	free(mb->marked);
	free(mb->uids);
	free(mb->idx);
	free(mb->sizes);
	free(mb);
}
