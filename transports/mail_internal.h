/*
 * transports/mail_internal.h — private to transports/mail*.c: checking a
 * mail server's TLS certificate.  Not part of the public API.
 */
#ifndef MULE_TRANSPORTS_MAIL_INTERNAL_H
#define MULE_TRANSPORTS_MAIL_INTERNAL_H

#include <libetpan/libetpan.h>

/* Longest certificate chain looked at. */
#define XPORT_MAIL_MAX_CHAIN 16

/*
 * For the *_with_callback connect functions: asks for `data` (the host
 * name, a const char *) by SNI.
 */
void xport_mail_tls_sni(struct mailstream_ssl_context *ctx, void *data);

/*
 * Checks the certificate chain the server sent on the TLS stream `s`:
 * it must lead to a trusted certificate (those of `cafile`, a PEM file,
 * when it is not NULL; else the system's) and name `host`.  0, or
 * MULE_EVERIFY with a message saying why and what to do.
 */
int xport_mail_tls_check(mailstream *s, const char *host, const char *cafile,
    char *err);

#endif
