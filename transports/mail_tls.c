/*
 * transports/mail_tls.c — the server certificate check libetpan leaves to
 * its callers (see mail_internal.h), with GnuTLS, which libetpan uses.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "core/error.h"
#include "transports/mail_internal.h"

/* Drops trailing blanks (GnuTLS's texts end with one). */
static const char *
trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

void
xport_mail_tls_sni(struct mailstream_ssl_context *ctx, void *data)
{
	(void)mailstream_ssl_set_server_name(ctx, (char *)data);
}

int
xport_mail_tls_check(mailstream *s, const char *host, const char *cafile,
    char *err)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t *crts = NULL;
	gnutls_typed_vdata_st vd;
	gnutls_datum_t why = { NULL, 0 };
	carray *chain = NULL;
	unsigned int i, n = 0, count, status = 0;
	int rc, r = MULE_EINTERNAL;

	if ((chain = mailstream_get_certificate_chain(s)) == NULL ||
	    (count = carray_count(chain)) == 0) {
		r = mule_errf(err, MULE_EVERIFY, "%s sent no TLS certificate",
		    host);
		goto out;
	}
	if (count > XPORT_MAIL_MAX_CHAIN)
		count = XPORT_MAIL_MAX_CHAIN;
	if ((crts = calloc(count, sizeof(*crts))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < count; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d;
		if (der == NULL || gnutls_x509_crt_init(&crts[n]) < 0) {
			r = mule_errf(err, MULE_EVERIFY, "%s: unreadable TLS "
			    "certificate", host);
			goto out;
		}
		n++;
		d.data = (unsigned char *)der->str;
		d.size = (unsigned int)der->len;
		if (gnutls_x509_crt_import(crts[i], &d, GNUTLS_X509_FMT_DER) <
		    0) {
			r = mule_errf(err, MULE_EVERIFY, "%s: unreadable TLS "
			    "certificate", host);
			goto out;
		}
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		tl = NULL;
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (cafile != NULL) {
		rc = gnutls_x509_trust_list_add_trust_file(tl, cafile, NULL,
		    GNUTLS_X509_FMT_PEM, 0, 0);
		if (rc <= 0) {
			r = mule_errf(err, MULE_EVERIFY, "mail.ca-file: no "
			    "certificate could be read from %s", cafile);
			goto out;
		}
	} else if (gnutls_x509_trust_list_add_system_trust(tl, 0, 0) < 0) {
		r = mule_errf(err, MULE_EVERIFY, "cannot load the system's "
		    "trusted certificates: set mail.ca-file");
		goto out;
	}
	memset(&vd, 0, sizeof(vd));
	vd.type = GNUTLS_DT_DNS_HOSTNAME;
	vd.data = (unsigned char *)host;
	vd.size = 0;
	if ((rc = gnutls_x509_trust_list_verify_crt2(tl, crts, n, &vd, 1, 0,
	    &status, NULL)) < 0) {
		r = mule_errf(err, MULE_EVERIFY, "%s: checking its TLS "
		    "certificate failed: %s", host, gnutls_strerror(rc));
		goto out;
	}
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		r = mule_errf(err, MULE_EVERIFY, "the TLS certificate of %s is "
		    "not accepted: it is made out to another host name (use "
		    "the name it gives in the URL)", host);
		goto out;
	}
	if (status != 0) {
		if (gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &why, 0) < 0)
			why.data = NULL;
		r = mule_errf(err, MULE_EVERIFY, "the TLS certificate of %s is "
		    "not accepted (%s): if the server is the right one, put "
		    "the certificate that signs it in a file and set "
		    "mail.ca-file to it", host, why.data != NULL ?
		    trim((char *)why.data) : "not trusted");
		goto out;
	}
	r = 0;
out:
	if (why.data != NULL)
		gnutls_free(why.data);
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	free(crts);
	if (chain != NULL)
		mailstream_certificate_chain_free(chain);
	return r;
}
