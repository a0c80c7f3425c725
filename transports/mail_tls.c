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

/* Frees n certificates and their array. */
static void
chain_free(gnutls_x509_crt_t *crts, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	free(crts);
}

/*
 * The server's certificate chain (at most XPORT_MAIL_MAX_CHAIN), imported
 * into *crtsp (*np of them; free with chain_free).
 */
static int
chain_import(mailstream *s, const char *host, gnutls_x509_crt_t **crtsp,
    unsigned int *np, char *err)
{
	gnutls_x509_crt_t *crts = NULL;
	carray *chain = NULL;
	unsigned int i, n = 0, count;
	int r = MULE_EINTERNAL;

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
	*crtsp = crts;
	*np = n;
	crts = NULL;
	r = 0;
out:
	if (crts != NULL)
		chain_free(crts, n);
	if (chain != NULL)
		mailstream_certificate_chain_free(chain);
	return r;
}

/*
 * A new trust list (*tlp; free with gnutls_x509_trust_list_deinit(tl, 1))
 * holding the certificates of `cafile`, or the system's without one.
 */
static int
trust_load(gnutls_x509_trust_list_t *tlp, const char *cafile, char *err)
{
	gnutls_x509_trust_list_t tl = NULL;
	int rc, r = MULE_EINTERNAL;

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
	*tlp = tl;
	tl = NULL;
	r = 0;
out:
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	return r;
}

int
xport_mail_tls_check(mailstream *s, const char *host, const char *cafile,
    char *err)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t *crts = NULL;
	gnutls_typed_vdata_st vd;
	gnutls_datum_t why = { NULL, 0 };
	unsigned int n = 0, status = 0;
	int rc, r = MULE_EINTERNAL;

	if ((r = chain_import(s, host, &crts, &n, err)) != 0 ||
	    (r = trust_load(&tl, cafile, err)) != 0)
		goto out;
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
	if (crts != NULL)
		chain_free(crts, n);
	return r;
}
