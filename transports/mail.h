/*
 * transports/mail.h — bundles and parts by email (libetpan).
 *
 * A mule message is a multipart/mixed MIME message: a short text/plain
 * part saying what it is, from which site and how to apply it, and the
 * bundle or part as a base64 attachment (application/vnd.mule.bundle or
 * application/vnd.mule.part) with a file name.  Its header carries
 *
 *   X-Mule-Bundle: the bundle id (32 hex digits)
 *   X-Mule-Part:   i/n (1/1 for a whole bundle)
 *   X-Mule-To:     the recipients' key ids (16 hex digits each, ", "
 *                  between them)
 *   X-Mule-From:   the sending site's name
 *
 * so that fetching selects mule messages (IMAP searches for the header)
 * and those for this site, leaving all other mail alone.
 *
 * Messages are built and sent (SMTP with EHLO, STARTTLS, AUTH), and
 * fetched (IMAP, POP3, maildir, mbox) with libetpan.  A password goes only
 * over TLS (smtps, imaps, pop3s, or after STARTTLS) unless the caller
 * allows it in clear; a server's reply is quoted in messages only through
 * text_sanitize (core/text.h).  Parsing a fetched
 * message is done here with a bounded parser, not by libetpan: the
 * message is untrusted, and every limit below is checked before memory
 * is allocated.  This module knows nothing about replicas: sync/ reads the
 * settings (transports/mailbox.c the password file) and passes plain
 * values.
 */
#ifndef MULE_TRANSPORTS_MAIL_H
#define MULE_TRANSPORTS_MAIL_H

#include <stddef.h>
#include <stdint.h>

/* Named limits on fetched messages (checked before use). */
#define XPORT_MAIL_MAX_MESSAGE ((uint64_t)1 << 30) /* bytes, whatever the setting */
#define XPORT_MAIL_MAX_HEADER 65536	/* bytes of one header block */
#define XPORT_MAIL_MAX_FIELDS 256	/* fields in one header block */
#define XPORT_MAIL_MAX_DEPTH 8		/* nesting of multiparts */
#define XPORT_MAIL_MAX_PARTS 64		/* MIME parts in one message */
#define XPORT_MAIL_MAX_BOUNDARY 70	/* RFC 2046 */
#define XPORT_MAIL_MAX_NAME 255		/* bytes of an attachment name */
#define XPORT_MAIL_MAX_TO 64		/* key ids in X-Mule-To */
#define XPORT_MAIL_MAX_MESSAGES 100000	/* messages looked at per fetch */
#define XPORT_MAIL_MAX_URL 1024		/* bytes of a server or inbox URL */
#define XPORT_MAIL_TIMEOUT 60		/* seconds per server reply */

#define XPORT_MAIL_TYPE_BUNDLE "application/vnd.mule.bundle"
#define XPORT_MAIL_TYPE_PART "application/vnd.mule.part"

/* base64 with 76-character lines and CRLF: 4/3 * 78/76 of the bytes. */
#define XPORT_MAIL_B64_SIZE(n) ((((uint64_t)(n) + 2) / 3 * 4) / 76 * 78 + 80)
/* Room for the header and the text part in a message. */
#define XPORT_MAIL_OVERHEAD 8192

enum xport_mail_kind {
	XPORT_MAIL_SMTP, XPORT_MAIL_SMTPS, XPORT_MAIL_IMAP, XPORT_MAIL_IMAPS,
	XPORT_MAIL_POP3, XPORT_MAIL_POP3S, XPORT_MAIL_MAILDIR, XPORT_MAIL_MBOX,
};

/*
 * A parsed server or inbox URL: smtp[s]://host[:port],
 * imap[s]://[user@]host[:port][/MAILBOX] (default INBOX),
 * pop3[s]://[user@]host[:port], maildir:/path, mbox:/path.
 */
struct xport_mail_url {
	int kind;			/* enum xport_mail_kind */
	char host[256];
	uint16_t port;			/* the scheme's default when absent */
	char user[256];			/* "" when absent */
	char path[XPORT_MAIL_MAX_URL];	/* mailbox name, or file path */
};

/*
 * Parses `s`.  With `want_smtp`, only smtp/smtps; otherwise only the
 * inbox kinds.  MULE_EINVAL with a message naming the accepted forms.
 */
int xport_mail_url_parse(const char *s, int want_smtp,
    struct xport_mail_url *u, char *err);

/* ---- building ---- */

/* What goes into one outgoing message. */
struct xport_mail_out {
	const char *from;		/* From: address */
	const char *to;			/* To: address */
	const char *site;		/* sending site's name */
	const char *bundle_hex;		/* 32 hex digits */
	unsigned part, nparts;		/* 1-based; 1/1 for a whole bundle */
	const char *to_keys;		/* X-Mule-To value */
	const char *filename;		/* attachment name (plain base name) */
	int is_part;			/* a part, not a whole bundle */
	const uint8_t *data;		/* the attachment's bytes */
	size_t len;
};

/*
 * Builds the message (CRLF line ends).  *msg is a heap buffer of *len
 * bytes the caller frees with free().  MULE_EINVAL for an address or
 * name with a line break in it; MULE_ENOMEM.
 */
int xport_mail_build(const struct xport_mail_out *o, char **msg, size_t *len,
    char *err);

/* ---- parsing (untrusted input) ---- */

/* What a fetched mule message carries. */
struct xport_mail_in {
	char bundle_hex[33];		/* X-Mule-Bundle, lower case */
	unsigned part, nparts;		/* X-Mule-Part (0/0 when absent) */
	char *to_keys;			/* X-Mule-To as sent, or NULL */
	char *subject;			/* Subject (raw), or NULL */
	char *filename;			/* attachment name, or NULL */
	int is_part;			/* XPORT_MAIL_TYPE_PART */
	uint8_t *data;			/* decoded attachment */
	size_t len;
};

void xport_mail_in_init(struct xport_mail_in *in);
void xport_mail_in_release(struct xport_mail_in *in);

/*
 * Parses the message msg[0..len).  MULE_ENOTFOUND (no message written)
 * when it is not a mule message (no X-Mule-Bundle field): the caller
 * leaves it alone.  Otherwise exactly one attachment of a mule media type
 * encoded in base64 must be found, at most XPORT_MAIL_MAX_DEPTH multipart
 * levels and XPORT_MAIL_MAX_PARTS parts deep, decoding to at most
 * `max_attach` bytes; anything else is MULE_EFORMAT or MULE_ETOOLARGE
 * with a message.  `in` is filled only on success (release it).
 */
int xport_mail_parse(const uint8_t *msg, size_t len, size_t max_attach,
    struct xport_mail_in *in, char *err);

/*
 * 1 if the header block at the start of p[0..n) (which may hold only
 * part of a message) has an X-Mule-Bundle field; 0 otherwise.
 */
int xport_mail_is_mule(const uint8_t *p, size_t n);

/*
 * 1 if the X-Mule-To list of `in` names `keyhex` (16 hex digits), or
 * when the message has no such list; 0 otherwise.
 */
int xport_mail_in_for(const struct xport_mail_in *in, const char *keyhex);

/* ---- sending ---- */

struct xport_mail_smtp {
	struct xport_mail_url url;	/* smtp:// or smtps:// */
	int starttls;			/* STARTTLS after EHLO: required */
	const char *user;		/* AUTH when user and password */
	const char *password;
	int allow_cleartext;		/* AUTH may go without TLS */
	const char *from;		/* envelope sender */
	const char *cafile;		/* trusted certificates; NULL: system */
	unsigned timeout;		/* seconds; 0: XPORT_MAIL_TIMEOUT */
};

/*
 * Sends n messages to the one address `to` over one SMTP session (n 0:
 * a check before anything is made: connects, logs in, offers the sender
 * with MAIL FROM and takes it back with RSET; nothing is sent).  Over
 * TLS (smtps, STARTTLS) the server's certificate must be trusted and name
 * the host, else MULE_EVERIFY (see cafile).  With starttls, a server that
 * does not offer STARTTLS, or whose handshake fails, is MULE_EAUTH or
 * MULE_ENET: never a session in clear.  When AUTH would go without TLS and
 * allow_cleartext is 0: MULE_EAUTH before connecting, naming the server
 * and the settings that help.
 * MULE_ENET when the server cannot be reached or the connection breaks,
 * MULE_EAUTH when it refuses the login, MULE_ETOOLARGE when it refuses a
 * message as too large (552, or its SIZE limit), MULE_EIO for other
 * refusals; the message names the server and its reply.
 */
int xport_mail_send(const struct xport_mail_smtp *s, const char *to,
    char *const *msgs, const size_t *lens, size_t n, char *err);

/* ---- fetching ---- */

struct xport_mail_inbox {
	struct xport_mail_url url;	/* an inbox kind */
	const char *user;		/* when the URL has none */
	const char *password;		/* IMAP and POP3 */
	int starttls;			/* STARTTLS (STLS): required */
	int allow_cleartext;		/* the password may go without TLS */
	uint64_t max_size;		/* larger messages are not downloaded */
	int readonly;			/* nothing will be deleted */
	const char *cafile;		/* trusted certificates; NULL: system */
	unsigned timeout;		/* seconds; 0: XPORT_MAIL_TIMEOUT */
};

struct xport_mailbox;

/*
 * Connects, logs in and lists the candidate messages (IMAP: those with
 * an X-Mule-Bundle field; the other kinds: all).  imaps and pop3s (and
 * imap and pop3 with starttls) check the certificate as xport_mail_send
 * does.  A non-empty password on imap:// or pop3:// without starttls or
 * allow_cleartext is MULE_EAUTH before connecting; with starttls, a
 * server that does not start TLS (or IMAP PREAUTH in clear) is refused.
 * MULE_ENET, MULE_EAUTH,
 * MULE_EVERIFY,
 * MULE_ENOTFOUND (no such maildir, mbox or IMAP mailbox), MULE_EIO.
 * *mb is freed by xport_mailbox_close or xport_mailbox_free.
 */
int xport_mailbox_open(const struct xport_mail_inbox *in,
    struct xport_mailbox **mb, char *err);
/* Number of candidate messages. */
size_t xport_mailbox_count(const struct xport_mailbox *mb);
/*
 * Message i (0-based) as a heap buffer (free()).  MULE_ENOTFOUND when
 * its header shows it is not a mule message (the rest is not read);
 * MULE_ETOOLARGE when it is a mule message larger than max_size (not
 * downloaded); MULE_ENET, MULE_EIO.
 */
int xport_mailbox_get(struct xport_mailbox *mb, size_t i, uint8_t **msg,
    size_t *len, char *err);
/* Marks message i for deletion (done by xport_mailbox_close). */
int xport_mailbox_mark(struct xport_mailbox *mb, size_t i, char *err);
/*
 * Deletes the marked messages (IMAP: \Deleted and EXPUNGE; POP3: DELE
 * and QUIT; maildir: the files; mbox: rewritten without them), logs out
 * and frees mb (always, even on error).  *ndeleted counts them.
 */
int xport_mailbox_close(struct xport_mailbox *mb, size_t *ndeleted,
    char *err);
/* Logs out without deleting anything and frees mb; fine on NULL. */
void xport_mailbox_free(struct xport_mailbox *mb);

#endif
