/* core/error.c — error strings and message formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

const char *
mule_strerror(int code)
{
	switch (code) {
	case MULE_OK: return "success";
	case MULE_EINTERNAL: return "internal error";
	case MULE_ENOMEM: return "out of memory";
	case MULE_EIO: return "input/output error";
	case MULE_EINVAL: return "invalid argument";
	case MULE_EINCOMPLETE: return "input is truncated";
	case MULE_ETOOLARGE: return "a length or count exceeds its limit";
	case MULE_EFORMAT: return "malformed input";
	case MULE_EVERIFY: return "verification failed";
	case MULE_ENOTRECIPIENT: return "not addressed to this site";
	case MULE_EUNKNOWNSENDER: return "sender is not a trusted peer";
	case MULE_EKEYPERM: return "key file is readable by others";
	case MULE_EEXIST: return "already exists";
	case MULE_ENOTFOUND: return "not found";
	case MULE_ENOTREPLICA: return "database is not a mule replica";
	case MULE_ENOTDB: return "file is not a SQLite database";
	case MULE_EBUSY: return "database is locked";
	case MULE_EDB: return "database error";
	case MULE_EKEYSTRING: return "malformed key string";
	case MULE_ENOSPACE: return "not enough free space";
	case MULE_ESCHEMA: return "schema mismatch";
	case MULE_ENOPK: return "table has no primary key";
	case MULE_EREADONLY: return "read-only";
	case MULE_ESYMLINK: return "refusing to follow a symlink";
	case MULE_ECRYPTO: return "cryptographic library failure";
	case MULE_EARCHIVE: return "archive error";
	case MULE_EAPPLIED: return "already applied";
	case MULE_ECONFLICT: return "conflict";
	case MULE_ENET: return "mail server unreachable";
	case MULE_EAUTH: return "mail server refused the login";
	case MULE_EMIGRATION: return "schema migration failed";
	case MULE_EREFUSED: return "refused: not accepted from that peer";
	case MULE_EPASSPHRASE: return "the key file's passphrase is missing or wrong";
	}
	return "unknown error";
}

int
mule_errf(char *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err, MULE_ERRLEN, fmt, ap);
		va_end(ap);
	}
	return code;
}

int
mule_errprefix(char *err, int code, const char *fmt, ...)
{
	char pre[MULE_ERRLEN], old[MULE_ERRLEN], both[2 * MULE_ERRLEN + 2];
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err, MULE_ERRLEN);
	old[MULE_ERRLEN - 1] = '\0';
	if (old[0] == '\0')
		snprintf(old, sizeof(old), "%s", mule_strerror(code));
	snprintf(both, sizeof(both), "%s: %s", pre, old);
	memcpy(err, both, MULE_ERRLEN - 1);
	err[MULE_ERRLEN - 1] = '\0';
	return code;
}
