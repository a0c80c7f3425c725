/*
 * transports/mail.c — mule messages: URLs, building (libetpan) and the
 * bounded parser for fetched messages (see mail.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/strb.h"
#include "transports/mail.h"

/* ---- URLs ---- */

static const struct {
	const char *prefix;
	int kind, smtp;
	uint16_t port;
} schemes[] = {
	{ "smtp://", XPORT_MAIL_SMTP, 1, 25 },
	{ "smtps://", XPORT_MAIL_SMTPS, 1, 465 },
	{ "imap://", XPORT_MAIL_IMAP, 0, 143 },
	{ "imaps://", XPORT_MAIL_IMAPS, 0, 993 },
	{ "pop3://", XPORT_MAIL_POP3, 0, 110 },
	{ "pop3s://", XPORT_MAIL_POP3S, 0, 995 },
	{ "maildir:", XPORT_MAIL_MAILDIR, 0, 0 },
	{ "mbox:", XPORT_MAIL_MBOX, 0, 0 },
};

static int
url_bad(const char *s, int want_smtp, char *err)
{
	return mule_errf(err, MULE_EINVAL, "'%s' is not a %s", s, want_smtp ?
	    "mail server URL (smtp://HOST[:PORT] or smtps://HOST[:PORT])" :
	    "mailbox (imap[s]://USER@HOST[:PORT][/MAILBOX], "
	    "pop3[s]://USER@HOST[:PORT], maildir:/PATH or mbox:/PATH)");
}

int
xport_mail_url_parse(const char *s, int want_smtp, struct xport_mail_url *u,
    char *err)
{
	struct xport_mail_url v;
	const char *p, *at, *slash, *colon, *hend;
	unsigned long port;
	char *end;
	size_t i, n;

	memset(&v, 0, sizeof(v));
	if (strlen(s) >= XPORT_MAIL_MAX_URL)
		return mule_errf(err, MULE_ETOOLARGE, "the URL is longer than "
		    "%d bytes", XPORT_MAIL_MAX_URL - 1);
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return url_bad(s, want_smtp, err);
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(s, schemes[i].prefix,
		    strlen(schemes[i].prefix)) == 0)
			break;
	if (i == sizeof(schemes) / sizeof(schemes[0]) ||
	    schemes[i].smtp != want_smtp)
		return url_bad(s, want_smtp, err);
	v.kind = schemes[i].kind;
	v.port = schemes[i].port;
	p = s + strlen(schemes[i].prefix);
	if (v.kind == XPORT_MAIL_MAILDIR || v.kind == XPORT_MAIL_MBOX) {
		if (*p == '\0')
			return url_bad(s, want_smtp, err);
		memcpy(v.path, p, strlen(p) + 1);
		*u = v;
		return 0;
	}
	slash = strchr(p, '/');
	hend = slash != NULL ? slash : p + strlen(p);
	at = memrchr(p, '@', (size_t)(hend - p));
	if (at != NULL) {
		if (v.kind == XPORT_MAIL_SMTP || v.kind == XPORT_MAIL_SMTPS ||
		    at == p || (size_t)(at - p) >= sizeof(v.user))
			return url_bad(s, want_smtp, err);
		memcpy(v.user, p, (size_t)(at - p));
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(hend - p));
	n = (size_t)((colon != NULL ? colon : hend) - p);
	if (n == 0 || n >= sizeof(v.host))
		return url_bad(s, want_smtp, err);
	memcpy(v.host, p, n);
	if (colon != NULL) {
		port = strtoul(colon + 1, &end, 10);
		if (end != hend || colon + 1 == hend || port == 0 ||
		    port > 65535)
			return url_bad(s, want_smtp, err);
		v.port = (uint16_t)port;
	}
	if (slash != NULL && slash[1] != '\0') {
		if (v.kind != XPORT_MAIL_IMAP && v.kind != XPORT_MAIL_IMAPS)
			return url_bad(s, want_smtp, err);
		memcpy(v.path, slash + 1, strlen(slash + 1) + 1);
	} else if (slash != NULL && v.kind != XPORT_MAIL_IMAP &&
	    v.kind != XPORT_MAIL_IMAPS) {
		return url_bad(s, want_smtp, err);
	}
	if (v.path[0] == '\0' && (v.kind == XPORT_MAIL_IMAP ||
	    v.kind == XPORT_MAIL_IMAPS))
		memcpy(v.path, "INBOX", 6);
	*u = v;
	return 0;
}

/* ---- building ---- */

static int
has_break(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/* Adds "Name: value" to an IMF header; 0 or -1. */
static int
add_custom(struct mailimf_fields *f, const char *name, const char *value)
{
	struct mailimf_field *fld;
	char *n = strdup(name), *v = strdup(value);

	if (n == NULL || v == NULL ||
	    (fld = mailimf_field_new_custom(n, v)) == NULL) {
		free(n);
		free(v);
		return -1;
	}
	if (mailimf_fields_add(f, fld) != MAILIMF_NO_ERROR) {
		mailimf_field_free(fld);
		return -1;
	}
	return 0;
}

/*
 * Adds name=value to a content type's parameters; 0 or -1.
 * mailmime_param_new_with_data copies both strings.
 */
static int
add_param(struct mailmime_content *ct, const char *name, const char *value)
{
	struct mailmime_parameter *prm;

	if ((prm = mailmime_param_new_with_data((char *)name,
	    (char *)value)) == NULL)
		return -1;
	if (clist_append(ct->ct_parameters, prm) != 0) {
		mailmime_parameter_free(prm);
		return -1;
	}
	return 0;
}

/* The subject, the text part's body and the "N/M" part value. */
static int
build_texts(const struct xport_mail_out *o, struct strb *subj,
    struct strb *body, struct strb *part)
{
	strb_addf(part, "%u/%u", o->part, o->nparts);
	strb_addf(subj, "mule bundle from %s", o->site);
	if (o->nparts > 1)
		strb_addf(subj, " (part %u of %u)", o->part, o->nparts);
	strb_addf(body,
	    "This message carries changes to a shared database, sent by the\r\n"
	    "mule site \"%s\": the attached file %s is a signed, encrypted\r\n"
	    "mule %s",
	    o->site, o->filename, o->is_part ? "bundle part" : "bundle");
	if (o->nparts > 1)
		strb_addf(body, " (part %u of %u; apply once all parts are "
		    "there, in any order)", o->part, o->nparts);
	strb_addf(body, ".\r\n\r\n"
	    "To apply it at the receiving site, either let mule fetch it:\r\n"
	    "\r\n    mule -d DB unpack --mail\r\n\r\n"
	    "or save the attachment and run:\r\n"
	    "\r\n    mule -d DB unpack %s\r\n\r\n"
	    "Bundle id: %s\r\n", o->filename, o->bundle_hex);
	return strb_error(subj) || strb_error(body) || strb_error(part) ?
	    MULE_ENOMEM : 0;
}

/*
 * The message header: From, To, Subject and the X-Mule fields, in a new
 * *out the caller frees with mailimf_fields_free.  MULE_EINVAL for an
 * address libetpan cannot parse, MULE_ENOMEM; err is filled either way.
 */
static int
build_header(const struct xport_mail_out *o, const char *subj,
    const char *part, struct mailimf_fields **out, char *err)
{
	struct mailimf_mailbox_list *from = NULL;
	struct mailimf_address_list *to = NULL;
	struct mailimf_fields *fields = NULL;
	char *subject = NULL;
	int r = MULE_EINTERNAL;

	if ((from = mailimf_mailbox_list_new_empty()) == NULL ||
	    (to = mailimf_address_list_new_empty()) == NULL)
		goto nomem;
	if (mailimf_mailbox_list_add_parse(from, (char *)o->from) !=
	    MAILIMF_NO_ERROR) {
		r = mule_errf(err, MULE_EINVAL, "'%s' is not a mail address",
		    o->from);
		goto out;
	}
	if (mailimf_address_list_add_parse(to, (char *)o->to) !=
	    MAILIMF_NO_ERROR) {
		r = mule_errf(err, MULE_EINVAL, "'%s' is not a mail address",
		    o->to);
		goto out;
	}
	if ((subject = strdup(subj)) == NULL ||
	    (fields = mailimf_fields_new_with_data(from, NULL, NULL, to, NULL,
	    NULL, NULL, NULL, subject)) == NULL)
		goto nomem;
	from = NULL;
	to = NULL;
	subject = NULL;
	if (add_custom(fields, "X-Mule-Bundle", o->bundle_hex) != 0 ||
	    add_custom(fields, "X-Mule-Part", part) != 0 ||
	    add_custom(fields, "X-Mule-From", o->site) != 0 ||
	    (o->to_keys != NULL && o->to_keys[0] != '\0' &&
	    add_custom(fields, "X-Mule-To", o->to_keys) != 0))
		goto nomem;
	*out = fields;
	fields = NULL;
	r = 0;
	goto out;
nomem:
	r = mule_errf(err, MULE_ENOMEM, "out of memory building a message");
out:
	if (from != NULL)
		mailimf_mailbox_list_free(from);
	if (to != NULL)
		mailimf_address_list_free(to);
	if (fields != NULL)
		mailimf_fields_free(fields);
	free(subject);
	return r;
}

/*
 * Adds a part of content type ct with fields mf carrying len bytes at
 * data to the message; 0 or -1.  Takes ct and mf (either may be NULL, a
 * failure made earlier): they belong to the part, or are freed here.
 */
static int
add_part(struct mailmime *message, struct mailmime_content *ct,
    struct mailmime_fields *mf, const void *data, size_t len)
{
	struct mailmime *part = NULL;
	int r = -1;

	if (ct == NULL || mf == NULL ||
	    (part = mailmime_new_empty(ct, mf)) == NULL)
		goto out;
	ct = NULL;
	mf = NULL;
	if (mailmime_set_body_text(part, (char *)data, len) !=
	    MAILIMF_NO_ERROR ||
	    mailmime_smart_add_part(message->mm_data.mm_message.mm_msg_mime,
	    part) != MAILIMF_NO_ERROR)
		goto out;
	part = NULL;
	r = 0;
out:
	if (ct != NULL)
		mailmime_content_free(ct);
	if (mf != NULL)
		mailmime_fields_free(mf);
	if (part != NULL)
		mailmime_free(part);
	return r;
}

/* A content type with one parameter; NULL when out of memory. */
static struct mailmime_content *
content_new(const char *type, const char *param, const char *value)
{
	struct mailmime_content *ct = mailmime_content_new_with_str(type);

	if (ct != NULL && add_param(ct, param, value) != 0) {
		mailmime_content_free(ct);
		ct = NULL;
	}
	return ct;
}

/* Adds the text/plain part carrying `body` to the message; 0 or -1. */
static int
add_text_part(struct mailmime *message, const struct strb *body)
{
	return add_part(message, content_new("text/plain", "charset",
	    "us-ascii"), mailmime_fields_new_encoding(MAILMIME_MECHANISM_7BIT),
	    body->s, body->len);
}

/* Adds the base64 attachment (o->data) to the message; 0 or -1. */
static int
add_attachment(struct mailmime *message, const struct xport_mail_out *o)
{
	struct mailmime_fields *mf = NULL;
	char *fname = strdup(o->filename);

	/* The fields own fname once made. */
	if (fname != NULL && (mf = mailmime_fields_new_filename(
	    MAILMIME_DISPOSITION_TYPE_ATTACHMENT, fname,
	    MAILMIME_MECHANISM_BASE64)) == NULL)
		free(fname);
	return add_part(message, content_new(o->is_part ?
	    XPORT_MAIL_TYPE_PART : XPORT_MAIL_TYPE_BUNDLE, "name",
	    o->filename), mf, o->data, o->len);
}

/* Writes the message into a new NUL-terminated heap buffer; 0 or -1. */
static int
message_to_mem(struct mailmime *message, char **msg, size_t *len)
{
	MMAPString *out = NULL;
	char *copy = NULL;
	int col = 0, r = -1;

	if ((out = mmap_string_new("")) == NULL ||
	    mailmime_write_mem(out, &col, message) != MAILIMF_NO_ERROR ||
	    (copy = malloc(out->len + 1)) == NULL)
		goto out;
	memcpy(copy, out->str, out->len);
	copy[out->len] = '\0';
	*msg = copy;
	*len = out->len;
	r = 0;
out:
	if (out != NULL)
		mmap_string_free(out);
	return r;
}

int
xport_mail_build(const struct xport_mail_out *o, char **msg, size_t *len,
    char *err)
{
	struct mailimf_fields *fields = NULL;
	struct mailmime *message = NULL, *multi = NULL;
	struct strb subj, body, part;
	int r = MULE_EINTERNAL;

	strb_init(&subj);
	strb_init(&body);
	strb_init(&part);
	if (has_break(o->from) || has_break(o->to) || has_break(o->site) ||
	    has_break(o->filename) || has_break(o->to_keys) ||
	    has_break(o->bundle_hex)) {
		r = mule_errf(err, MULE_EINVAL, "a line break in an address "
		    "or name");
		goto out;
	}
	if (build_texts(o, &subj, &body, &part) != 0)
		goto nomem;
	if ((r = build_header(o, strb_str(&subj), strb_str(&part), &fields,
	    err)) != 0)
		goto out;
	if ((message = mailmime_new_message_data(NULL)) == NULL)
		goto nomem;
	mailmime_set_imf_fields(message, fields);
	fields = NULL;
	if ((multi = mailmime_multiple_new("multipart/mixed")) == NULL)
		goto nomem;
	if (mailmime_smart_add_part(message, multi) != MAILIMF_NO_ERROR)
		goto nomem;
	multi = NULL;
	if (add_text_part(message, &body) != 0 ||
	    add_attachment(message, o) != 0 ||
	    message_to_mem(message, msg, len) != 0)
		goto nomem;
	r = 0;
	goto out;
nomem:
	r = mule_errf(err, MULE_ENOMEM, "out of memory building a message");
out:
	if (fields != NULL)
		mailimf_fields_free(fields);
	if (multi != NULL)
		mailmime_free(multi);
	if (message != NULL)
		mailmime_free(message);
	strb_release(&subj);
	strb_release(&body);
	strb_release(&part);
	return r;
}

/* ---- parsing ---- */

/*
 * Everything below reads the untrusted message through struct buf
 * readers (core/buf.h): lines are taken with buf_get_line and parts with
 * buf_get_ptr, so no offset can pass the end, and each limit of mail.h is
 * checked before anything is allocated.
 */

/* Mail lines end in CRLF or LF; the last one may have no end. */
#define MAIL_LINE (BUF_LINE_CRLF | BUF_LINE_LAST)

struct field {
	const uint8_t *name;
	size_t nlen;
	const uint8_t *val;	/* raw, folded */
	size_t vlen;
};

struct header {
	struct field f[XPORT_MAIL_MAX_FIELDS];
	size_t n;
};

/*
 * Reads the header block at the start of b into fields, leaving b at
 * what follows the empty line (at the end when there is none).
 */
static int
header_parse(struct buf *b, struct header *h, char *err)
{
	const uint8_t *line, *colon;
	struct field *cur = NULL;
	size_t start = b->off, len;
	int r;

	h->n = 0;
	for (;;) {
		r = buf_get_line(b, XPORT_MAIL_MAX_HEADER, MAIL_LINE, &line,
		    &len);
		if (r == MULE_EINCOMPLETE)
			break;			/* no body */
		if (r != 0 || b->off - start > XPORT_MAIL_MAX_HEADER)
			return mule_errf(err, MULE_ETOOLARGE, "a header block "
			    "is longer than %d bytes", XPORT_MAIL_MAX_HEADER);
		if (len == 0)
			break;			/* the empty line */
		if (*line == ' ' || *line == '\t') {
			if (cur == NULL)
				return mule_errf(err, MULE_EFORMAT, "a header "
				    "starts with a continuation line");
			cur->vlen = (size_t)(line + len - cur->val);
			continue;
		}
		if ((colon = memchr(line, ':', len)) == NULL || colon == line)
			return mule_errf(err, MULE_EFORMAT, "a header line is "
			    "not 'Name: value'");
		if (h->n >= XPORT_MAIL_MAX_FIELDS)
			return mule_errf(err, MULE_ETOOLARGE, "more than %d "
			    "header fields", XPORT_MAIL_MAX_FIELDS);
		cur = &h->f[h->n++];
		cur->name = line;
		cur->nlen = (size_t)(colon - line);
		cur->val = colon + 1;
		cur->vlen = (size_t)(line + len - cur->val);
	}
	return 0;
}

/*
 * The unfolded, trimmed value of the first field called `name` as a heap
 * string (*out NULL when absent).  A NUL byte is MULE_EFORMAT.
 */
static int
header_get(const struct header *h, const char *name, char **out, char *err)
{
	const struct field *f = NULL;
	size_t i, k = 0;
	char *s;

	*out = NULL;
	for (i = 0; i < h->n; i++)
		if (h->f[i].nlen == strlen(name) &&
		    strncasecmp((const char *)h->f[i].name, name,
		    h->f[i].nlen) == 0) {
			f = &h->f[i];
			break;
		}
	if (f == NULL)
		return 0;
	/* vlen <= XPORT_MAIL_MAX_HEADER: checked by header_parse. */
	if ((s = malloc(f->vlen + 1)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	for (i = 0; i < f->vlen; i++) {
		if (f->val[i] == '\0') {
			free(s);
			return mule_errf(err, MULE_EFORMAT, "a NUL byte in "
			    "the %s field", name);
		}
		if (f->val[i] == '\r' || f->val[i] == '\n')
			continue;
		s[k++] = f->val[i] == '\t' ? ' ' : (char)f->val[i];
	}
	while (k > 0 && s[k - 1] == ' ')
		k--;
	s[k] = '\0';
	i = strspn(s, " ");
	memmove(s, s + i, k - i + 1);
	*out = s;
	return 0;
}

/*
 * Parses "type/subtype; a=b; c="d"" in place: *type points at the
 * lower-cased media type; `param` (lower case) at its value or NULL.
 * Up to two parameters are looked up (p2 may be NULL).
 */
static void
ctype_parse(char *s, char **type, const char *p1, char **v1, const char *p2,
    char **v2)
{
	char *p = s, *name, *val, *w;
	size_t i;

	*v1 = NULL;
	if (v2 != NULL)
		*v2 = NULL;
	*type = s;
	p = s + strcspn(s, ";");
	if (*p == ';')
		*p++ = '\0';
	for (i = strlen(s); i > 0 && (s[i - 1] == ' '); i--)
		s[i - 1] = '\0';
	for (w = s; *w != '\0'; w++)
		*w = (char)tolower((unsigned char)*w);
	while (*p != '\0') {
		p += strspn(p, " ;");
		name = p;
		p += strcspn(p, "=; ");
		if (*p != '=') {
			p += strcspn(p, ";");
			continue;
		}
		*p++ = '\0';
		for (w = name; *w != '\0'; w++)
			*w = (char)tolower((unsigned char)*w);
		val = w = p;
		if (*p == '"') {
			val = w = ++p;
			while (*p != '\0' && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				*w++ = *p++;
			}
			if (*p == '"')
				p++;
		} else {
			p += strcspn(p, "; ");
			w = p;
		}
		if (*p != '\0')
			p++;
		*w = '\0';
		if (strcmp(name, p1) == 0 && *v1 == NULL)
			*v1 = val;
		else if (p2 != NULL && strcmp(name, p2) == 0 && *v2 == NULL)
			*v2 = val;
	}
}

static int
b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes the base64 in b (white space ignored, '=' padding only at the
 * end) into a new heap buffer of at most `max` bytes, sized exactly by a
 * first pass over a copy of the reader.
 */
static int
b64_decode(const struct buf *in, size_t max, uint8_t **out, size_t *olen,
    char *err)
{
	struct buf b = *in;
	size_t cnt = 0, pad = 0, k = 0, need;
	uint32_t acc = 0;
	uint8_t c, *d;
	int v, bits = 0;

	while (buf_get_u8(&b, &c) == 0) {
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || b64_val(c) < 0)
			return mule_errf(err, MULE_EFORMAT, "the attachment "
			    "is not valid base64");
		cnt++;
	}
	if (pad > 2 || (cnt + pad) % 4 != 0 || cnt % 4 == 1)
		return mule_errf(err, MULE_EFORMAT, "the attachment's base64 "
		    "is truncated");
	need = cnt / 4 * 3 + (cnt % 4 == 0 ? 0 : cnt % 4 - 1);
	if (need > max)
		return mule_errf(err, MULE_ETOOLARGE, "the attachment is "
		    "larger than %zu bytes", max);
	if ((d = malloc(need + 1)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	b = *in;
	while (k < need && buf_get_u8(&b, &c) == 0) {
		if ((v = b64_val(c)) < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[k++] = (uint8_t)(acc >> bits);
		}
	}
	*out = d;
	*olen = k;
	return 0;
}

struct walk {
	size_t max_attach;
	size_t nparts;
	struct xport_mail_in *in;
	int found;
	char *err;
};

static int walk_entity(struct walk *w, struct buf *b, int depth);

/*
 * Moves b to the start of the next delimiter line "--boundary"; returns
 * 1 if there is one (b then points at it), 0 if not (b unchanged).
 * *skipped is the number of bytes passed.
 */
static int
find_delim(struct buf *b, const char *bnd, size_t blen, size_t *skipped)
{
	struct buf t = *b;
	const uint8_t *line;
	size_t at, len;

	for (;;) {
		at = t.off;
		if (buf_get_line(&t, BUF_LINE_ANY, MAIL_LINE, &line,
		    &len) != 0)
			return 0;
		if (len >= blen + 2 && line[0] == '-' && line[1] == '-' &&
		    memcmp(line + 2, bnd, blen) == 0) {
			*skipped = at - b->off;
			(void)buf_skip(b, *skipped);
			return 1;
		}
	}
}

/* The parts of a multipart body in b, delimited by `bnd`. */
static int
walk_multipart(struct walk *w, struct buf *b, const char *bnd, int depth)
{
	const uint8_t *line, *pp;
	struct buf part;
	size_t blen = strlen(bnd), len, n;
	int r;

	if (blen == 0 || blen > XPORT_MAIL_MAX_BOUNDARY)
		return mule_errf(w->err, MULE_EFORMAT, "a multipart without a "
		    "valid boundary");
	if (!find_delim(b, bnd, blen, &n))
		return mule_errf(w->err, MULE_EFORMAT, "a multipart without "
		    "its boundary lines");
	for (;;) {
		/* b is at a delimiter line: the close one ends the body. */
		if (buf_get_line(b, BUF_LINE_ANY, MAIL_LINE, &line, &len) != 0)
			return mule_errf(w->err, MULE_EINTERNAL, "lost a "
			    "delimiter");
		if (len >= blen + 4 && line[blen + 2] == '-' &&
		    line[blen + 3] == '-')
			return 0;
		if (!find_delim(b, bnd, blen, &n))
			return mule_errf(w->err, MULE_EFORMAT, "a multipart "
			    "ends without its closing boundary (truncated?)");
		/* The part: the bytes passed, minus the line end before. */
		pp = buf_ptr(b) - n;
		if (n > 0 && pp[n - 1] == '\n')
			n--;
		if (n > 0 && pp[n - 1] == '\r')
			n--;
		if (++w->nparts > XPORT_MAIL_MAX_PARTS)
			return mule_errf(w->err, MULE_ETOOLARGE, "more than "
			    "%d MIME parts", XPORT_MAIL_MAX_PARTS);
		buf_init_ro(&part, pp, n);
		if ((r = walk_entity(w, &part, depth + 1)) != 0)
			return r;
	}
}

/*
 * A safe attachment name: plain, printable ASCII (it is shown in
 * messages: no escape sequences, C1 controls or bidi overrides), no
 * leading dot.  Other names are replaced by the bundle id.
 */
static int
name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > XPORT_MAIL_MAX_NAME || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ||
		    s[i] == '/' || s[i] == '\\')
			return 0;
	return 1;
}

static int
walk_entity(struct walk *w, struct buf *b, int depth)
{
	struct header *h = NULL;
	char *ct = NULL, *cte = NULL, *cd = NULL, *type, *bnd, *name = NULL;
	char *fname = NULL, *dummy;
	int r;

	if (depth > XPORT_MAIL_MAX_DEPTH) {
		r = mule_errf(w->err, MULE_ETOOLARGE, "MIME parts nested more "
		    "than %d deep", XPORT_MAIL_MAX_DEPTH);
		goto out;
	}
	if ((h = malloc(sizeof(*h))) == NULL) {
		r = mule_errf(w->err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = header_parse(b, h, w->err)) != 0 ||
	    (r = header_get(h, "Content-Type", &ct, w->err)) != 0)
		goto out;
	if (ct == NULL)
		goto out;			/* text/plain: not ours */
	ctype_parse(ct, &type, "boundary", &bnd, "name", &name);
	if (strncmp(type, "multipart/", 10) == 0) {
		r = walk_multipart(w, b, bnd != NULL ? bnd : "", depth);
		goto out;
	}
	if (strcmp(type, XPORT_MAIL_TYPE_BUNDLE) != 0 &&
	    strcmp(type, XPORT_MAIL_TYPE_PART) != 0)
		goto out;
	if (w->found) {
		r = mule_errf(w->err, MULE_EFORMAT, "more than one mule "
		    "attachment in one message");
		goto out;
	}
	if ((r = header_get(h, "Content-Transfer-Encoding", &cte,
	    w->err)) != 0 ||
	    (r = header_get(h, "Content-Disposition", &cd, w->err)) != 0)
		goto out;
	if (cte == NULL || strcasecmp(cte, "base64") != 0) {
		r = mule_errf(w->err, MULE_EFORMAT, "the mule attachment is "
		    "not base64-encoded");
		goto out;
	}
	if (cd != NULL)
		ctype_parse(cd, &dummy, "filename", &fname, NULL, NULL);
	if (fname == NULL)
		fname = name;
	if ((r = b64_decode(b, w->max_attach, &w->in->data, &w->in->len,
	    w->err)) != 0)
		goto out;
	w->in->is_part = strcmp(type, XPORT_MAIL_TYPE_PART) == 0;
	if (fname != NULL && name_ok(fname) &&
	    (w->in->filename = strdup(fname)) == NULL) {
		r = mule_errf(w->err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	w->found = 1;
	r = 0;
out:
	free(ct);
	free(cte);
	free(cd);
	free(h);
	return r;
}

void
xport_mail_in_init(struct xport_mail_in *in)
{
	memset(in, 0, sizeof(*in));
}

void
xport_mail_in_release(struct xport_mail_in *in)
{
	if (in == NULL)
		return;
	free(in->to_keys);
	free(in->subject);
	free(in->filename);
	free(in->data);
	memset(in, 0, sizeof(*in));
}

/* "i/n" with 1 <= i <= n <= 65535. */
static int
part_parse(const char *s, unsigned *i, unsigned *n)
{
	unsigned long a, b;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	a = strtoul(s, &end, 10);
	if (*end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || a == 0 || a > b || b > 65535)
		return -1;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

int
xport_mail_parse(const uint8_t *msg, size_t len, size_t max_attach,
    struct xport_mail_in *in, char *err)
{
	struct xport_mail_in v;
	struct header *h = NULL;
	struct walk w;
	struct buf b;
	size_t i;
	char *id = NULL, *part = NULL;
	int r;

	xport_mail_in_init(&v);
	if ((uint64_t)len > XPORT_MAIL_MAX_MESSAGE) {
		r = mule_errf(err, MULE_ETOOLARGE, "the message is larger "
		    "than %llu bytes",
		    (unsigned long long)XPORT_MAIL_MAX_MESSAGE);
		goto out;
	}
	if ((h = malloc(sizeof(*h))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	buf_init_ro(&b, msg, len);
	if ((r = header_parse(&b, h, err)) != 0 ||
	    (r = header_get(h, "X-Mule-Bundle", &id, err)) != 0)
		goto out;
	if (id == NULL) {
		r = mule_errf(err, MULE_ENOTFOUND, "not a mule message");
		goto out;
	}
	if (strlen(id) != 32 || strspn(id, "0123456789abcdefABCDEF") != 32) {
		r = mule_errf(err, MULE_EFORMAT, "X-Mule-Bundle is not a "
		    "bundle id (32 hex digits)");
		goto out;
	}
	for (i = 0; i < 32; i++)
		v.bundle_hex[i] = (char)tolower((unsigned char)id[i]);
	if ((r = header_get(h, "X-Mule-Part", &part, err)) != 0 ||
	    (r = header_get(h, "X-Mule-To", &v.to_keys, err)) != 0 ||
	    (r = header_get(h, "Subject", &v.subject, err)) != 0)
		goto out;
	if (part != NULL && part_parse(part, &v.part, &v.nparts) != 0) {
		r = mule_errf(err, MULE_EFORMAT, "X-Mule-Part is not 'i/n'");
		goto out;
	}
	memset(&w, 0, sizeof(w));
	w.max_attach = max_attach;
	w.in = &v;
	w.err = err;
	/* The top entity: the same header block, walked as a part. */
	buf_init_ro(&b, msg, len);
	if ((r = walk_entity(&w, &b, 0)) != 0)
		goto out;
	if (!w.found) {
		r = mule_errf(err, MULE_EFORMAT, "no attachment of type %s or "
		    "%s", XPORT_MAIL_TYPE_BUNDLE, XPORT_MAIL_TYPE_PART);
		goto out;
	}
	*in = v;
	xport_mail_in_init(&v);
	r = 0;
out:
	xport_mail_in_release(&v);
	free(id);
	free(part);
	free(h);
	return r;
}

int
xport_mail_is_mule(const uint8_t *p, size_t n)
{
	static const char name[] = "X-Mule-Bundle:";
	const uint8_t *line;
	struct buf b;
	size_t len;

	buf_init_ro(&b, p, n);
	/* Header lines, up to the empty one. */
	while (buf_get_line(&b, BUF_LINE_ANY, MAIL_LINE, &line, &len) == 0 &&
	    len > 0)
		if (len >= sizeof(name) - 1 && strncasecmp((const char *)line,
		    name, sizeof(name) - 1) == 0)
			return 1;
	return 0;
}

int
xport_mail_in_for(const struct xport_mail_in *in, const char *keyhex)
{
	const char *p;
	size_t n = strlen(keyhex), k;

	if (in->to_keys == NULL)
		return 1;
	for (p = in->to_keys; *p != '\0';) {
		p += strspn(p, " ,");
		k = strcspn(p, " ,");
		if (k == n && strncasecmp(p, keyhex, n) == 0)
			return 1;
		p += k;
	}
	return 0;
}
