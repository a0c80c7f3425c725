/*
 * tests/unit/test_mail.c — unit tests for transports/mail: URLs, a built
 * message parsed back to the same bytes, and the parser of fetched
 * messages fed hostile input (each limit of mail.h, broken base64, two
 * attachments, missing fields).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "transports/mail.h"

#define ID "00112233445566778899aabbccddeeff"

static void
test_urls(void **state)
{
	struct xport_mail_url u;
	char err[MULE_ERRLEN];

	(void)state;
	assert_int_equal(xport_mail_url_parse("smtp://mail.example.org", 1, &u,
	    err), 0);
	assert_int_equal(u.kind, XPORT_MAIL_SMTP);
	assert_string_equal(u.host, "mail.example.org");
	assert_int_equal(u.port, 25);
	assert_int_equal(xport_mail_url_parse("smtps://h:2465", 1, &u, err),
	    0);
	assert_int_equal(u.port, 2465);
	assert_int_equal(xport_mail_url_parse("imap://bob@h:1143/Mule", 0, &u,
	    err), 0);
	assert_int_equal(u.kind, XPORT_MAIL_IMAP);
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.path, "Mule");
	assert_int_equal(xport_mail_url_parse("imaps://bob@h", 0, &u, err), 0);
	assert_string_equal(u.path, "INBOX");
	assert_int_equal(u.port, 993);
	assert_int_equal(xport_mail_url_parse("pop3://bob@h:1110", 0, &u, err),
	    0);
	assert_int_equal(u.kind, XPORT_MAIL_POP3);
	assert_int_equal(xport_mail_url_parse("maildir:/var/mail/b", 0, &u,
	    err), 0);
	assert_string_equal(u.path, "/var/mail/b");
	assert_int_equal(xport_mail_url_parse("mbox:/tmp/x", 0, &u, err), 0);
	assert_int_equal(u.kind, XPORT_MAIL_MBOX);
	/* Wrong kind, bad ports, stray parts, spaces. */
	assert_int_equal(xport_mail_url_parse("imap://h", 1, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("smtp://h", 0, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("smtp://h:0", 1, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("smtp://h:70000", 1, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("smtp://u@h", 1, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("pop3://u@h/box", 0, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("imap://u@h x", 0, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("maildir:", 0, &u, err),
	    MULE_EINVAL);
	assert_int_equal(xport_mail_url_parse("http://h", 0, &u, err),
	    MULE_EINVAL);
	assert_non_null(strstr(err, "not a mailbox"));
}

/* Builds a message around data[0..n). */
static char *
build(const uint8_t *data, size_t n, int is_part, size_t *len)
{
	struct xport_mail_out o;
	char err[MULE_ERRLEN], *msg = NULL;

	memset(&o, 0, sizeof(o));
	o.from = "a@example.org";
	o.to = "b@example.org";
	o.site = "hq";
	o.bundle_hex = ID;
	o.part = 2;
	o.nparts = 3;
	o.to_keys = "0123456789abcdef, fedcba9876543210";
	o.filename = "hq-b-0001.d002-of-003.mule-part";
	o.is_part = is_part;
	o.data = data;
	o.len = n;
	assert_int_equal(xport_mail_build(&o, &msg, len, err), 0);
	return msg;
}

static void
test_round_trip(void **state)
{
	struct xport_mail_in in;
	char err[MULE_ERRLEN], *msg;
	uint8_t data[5000];
	size_t i, n, len;

	(void)state;
	for (n = 0; n <= sizeof(data); n += n < 10 ? 1 : 997) {
		for (i = 0; i < n; i++)
			data[i] = (uint8_t)(i * 7 + n);
		msg = build(data, n, n % 2, &len);
		assert_true(xport_mail_is_mule((uint8_t *)msg, len));
		xport_mail_in_init(&in);
		assert_int_equal(xport_mail_parse((uint8_t *)msg, len, n, &in,
		    err), 0);
		assert_string_equal(in.bundle_hex, ID);
		assert_int_equal(in.part, 2);
		assert_int_equal(in.nparts, 3);
		assert_int_equal(in.is_part, (int)(n % 2));
		assert_string_equal(in.filename,
		    "hq-b-0001.d002-of-003.mule-part");
		assert_int_equal(in.len, n);
		assert_memory_equal(in.data, data, n);
		assert_true(xport_mail_in_for(&in, "fedcba9876543210"));
		assert_true(xport_mail_in_for(&in, "0123456789ABCDEF"));
		assert_false(xport_mail_in_for(&in, "0123456789abcdee"));
		xport_mail_in_release(&in);
		/* One byte less room than the attachment: refused. */
		if (n > 0)
			assert_int_equal(xport_mail_parse((uint8_t *)msg, len,
			    n - 1, &in, err), MULE_ETOOLARGE);
		free(msg);
	}
}

/* Parses text; returns the code (and releases what it got). */
static int
parse(const char *text, char *err)
{
	struct xport_mail_in in;
	int r;

	xport_mail_in_init(&in);
	err[0] = '\0';
	r = xport_mail_parse((const uint8_t *)text, strlen(text), 1 << 20,
	    &in, err);
	xport_mail_in_release(&in);
	if (r != 0)
		assert_true(err[0] != '\0');
	return r;
}

#define HDR "From: a@example.org\r\nX-Mule-Bundle: " ID "\r\n"
#define ATT "Content-Type: application/vnd.mule.bundle\r\n" \
	"Content-Transfer-Encoding: base64\r\n\r\nTVVMRQ==\r\n"

static void
test_hostile(void **state)
{
	char err[MULE_ERRLEN];
	struct strb sb;
	int i;

	(void)state;
	/* Not a mule message: left alone. */
	assert_int_equal(parse("From: x\r\nSubject: hi\r\n\r\nhello\r\n", err),
	    MULE_ENOTFOUND);
	assert_false(xport_mail_is_mule((const uint8_t *)"Subject: x\r\n\r\n"
	    "X-Mule-Bundle: 1\r\n", 30));
	/* A single-part mule message is fine. */
	assert_int_equal(parse(HDR ATT, err), 0);
	/* Bad fields. */
	assert_int_equal(parse("X-Mule-Bundle: 12\r\n" ATT, err),
	    MULE_EFORMAT);
	assert_int_equal(parse(HDR "X-Mule-Part: 3/2\r\n" ATT, err),
	    MULE_EFORMAT);
	assert_int_equal(parse(HDR "X-Mule-Part: 0/2\r\n" ATT, err),
	    MULE_EFORMAT);
	assert_int_equal(parse(HDR "no colon here\r\n" ATT, err),
	    MULE_EFORMAT);
	assert_int_equal(parse(" folded first\r\n" HDR ATT, err),
	    MULE_EFORMAT);
	/* No attachment, or not base64, or broken base64. */
	assert_int_equal(parse(HDR "\r\nbody\r\n", err), MULE_EFORMAT);
	assert_non_null(strstr(err, "no attachment"));
	assert_int_equal(parse(HDR "Content-Type: application/vnd.mule.bundle"
	    "\r\n\r\nMULE\r\n", err), MULE_EFORMAT);
	assert_int_equal(parse(HDR "Content-Type: application/vnd.mule.bundle"
	    "\r\nContent-Transfer-Encoding: base64\r\n\r\nTV!LRQ==\r\n", err),
	    MULE_EFORMAT);
	assert_int_equal(parse(HDR "Content-Type: application/vnd.mule.bundle"
	    "\r\nContent-Transfer-Encoding: base64\r\n\r\nTVVMR\r\n", err),
	    MULE_EFORMAT);
	assert_int_equal(parse(HDR "Content-Type: application/vnd.mule.bundle"
	    "\r\nContent-Transfer-Encoding: base64\r\n\r\nTQ==TQ==\r\n", err),
	    MULE_EFORMAT);
	/* Multiparts: no boundary, never closed, two attachments. */
	assert_int_equal(parse(HDR "Content-Type: multipart/mixed\r\n\r\n--x\r\n"
	    ATT "--x--\r\n", err), MULE_EFORMAT);
	assert_int_equal(parse(HDR "Content-Type: multipart/mixed; boundary=x"
	    "\r\n\r\n--x\r\n" ATT, err), MULE_EFORMAT);
	assert_non_null(strstr(err, "closing boundary"));
	assert_int_equal(parse(HDR "Content-Type: multipart/mixed; boundary=x"
	    "\r\n\r\n--x\r\n" ATT "--x\r\n" ATT "--x--\r\n", err),
	    MULE_EFORMAT);
	assert_non_null(strstr(err, "more than one"));
	assert_int_equal(parse(HDR "Content-Type: multipart/mixed; boundary=x"
	    "\r\n\r\npreamble\r\n--x\r\n" ATT "--x--\r\nepilogue", err), 0);

	/* Nesting: 8 levels are fine, 9 are not. */
	for (i = 8; i <= 9; i++) {
		int k;
		strb_init(&sb);
		strb_add(&sb, HDR);
		for (k = 0; k < i; k++)
			strb_addf(&sb, "Content-Type: multipart/mixed; "
			    "boundary=b%d\r\n\r\n--b%d\r\n", k, k);
		strb_add(&sb, ATT);
		for (k = i - 1; k >= 0; k--)
			strb_addf(&sb, "--b%d--\r\n", k);
		assert_int_equal(parse(strb_str(&sb), err), i == 8 ? 0 :
		    MULE_ETOOLARGE);
		strb_release(&sb);
	}
	/* Parts: 64 are fine, 65 are not. */
	for (i = 64; i <= 65; i++) {
		int k;
		strb_init(&sb);
		strb_add(&sb, HDR "Content-Type: multipart/mixed; boundary=p"
		    "\r\n\r\n");
		for (k = 0; k < i - 1; k++)
			strb_add(&sb, "--p\r\nContent-Type: text/plain\r\n\r\n"
			    "x\r\n");
		strb_add(&sb, "--p\r\n" ATT "--p--\r\n");
		assert_int_equal(parse(strb_str(&sb), err), i == 64 ? 0 :
		    MULE_ETOOLARGE);
		strb_release(&sb);
	}
	/* A header block beyond its limit; too many fields. */
	strb_init(&sb);
	strb_add(&sb, HDR "X-Long: ");
	for (i = 0; i < XPORT_MAIL_MAX_HEADER; i++)
		strb_addc(&sb, 'a');
	strb_add(&sb, "\r\n" ATT);
	assert_int_equal(parse(strb_str(&sb), err), MULE_ETOOLARGE);
	strb_release(&sb);
	strb_init(&sb);
	strb_add(&sb, HDR);
	for (i = 0; i < XPORT_MAIL_MAX_FIELDS; i++)
		strb_add(&sb, "X-F: 1\r\n");
	strb_add(&sb, ATT);
	assert_int_equal(parse(strb_str(&sb), err), MULE_ETOOLARGE);
	strb_release(&sb);
	/* Unsafe attachment names are dropped, not used. */
	{
		struct xport_mail_in in;
		const char *t = HDR "Content-Type: application/vnd.mule.bundle; "
		    "name=\"../../etc/x.mule\"\r\nContent-Transfer-Encoding: "
		    "base64\r\n\r\nTVVMRQ==\r\n";
		xport_mail_in_init(&in);
		assert_int_equal(xport_mail_parse((const uint8_t *)t, strlen(t),
		    100, &in, err), 0);
		assert_null(in.filename);
		assert_int_equal(in.len, 4);
		assert_memory_equal(in.data, "MULE", 4);
		xport_mail_in_release(&in);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
