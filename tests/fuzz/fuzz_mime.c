/*
 * tests/fuzz/fuzz_mime.c — libFuzzer target for the parser of fetched
 * mail messages (xport_mail_parse).
 *
 * Every input either fails cleanly (a negative code and a message) or
 * parses into a bundle id and an attachment no larger than the limit
 * given; and a parsed message is a mule message for its own recipients.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "transports/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ATTACH 65536

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xport_mail_in in;
	char err[MULE_ERRLEN];
	int r;

	err[0] = '\0';
	xport_mail_in_init(&in);
	(void)xport_mail_is_mule(data, size);
	r = xport_mail_parse(data, size, FUZZ_MAX_ATTACH, &in, err);
	if (r != 0) {
		if (err[0] == '\0' || r > 0 || in.data != NULL)
			abort();
		return 0;
	}
	if (strlen(in.bundle_hex) != 32 || in.len > FUZZ_MAX_ATTACH ||
	    (in.len > 0 && in.data == NULL) || in.part > in.nparts)
		abort();
	(void)xport_mail_in_for(&in, "0123456789abcdef");
	xport_mail_in_release(&in);
	return 0;
}
