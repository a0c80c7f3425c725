/*
 * core/error.h — mule's error codes.
 *
 * Every library function returns 0 on success or one negative MULE_E* code.
 * The enum is append-only: codes never change meaning once released.
 * Functions that can say more also take `char *err` — a caller-supplied
 * buffer of MULE_ERRLEN bytes (or NULL) that receives a specific message
 * ("open /tmp/x.db: No such file or directory").  Messages never end with a
 * newline and never start with "mule:"; only cli/ adds that.
 */
#ifndef MULE_CORE_ERROR_H
#define MULE_CORE_ERROR_H

#define MULE_ERRLEN 512

enum mule_err {
	MULE_OK = 0,
	MULE_EINTERNAL = -1,	/* a bug: an invariant did not hold */
	MULE_ENOMEM = -2,	/* out of memory */
	MULE_EIO = -3,		/* read/write/open failed (see errno text) */
	MULE_EINVAL = -4,	/* bad argument from the caller or the user */
	MULE_EINCOMPLETE = -5,	/* input ended before a complete item */
	MULE_ETOOLARGE = -6,	/* a length or count exceeds its named limit */
	MULE_EFORMAT = -7,	/* malformed input: bad magic, version, tag */
	MULE_EVERIFY = -8,	/* signature or authentication failed */
	MULE_ENOTRECIPIENT = -9,/* bundle not addressed to this site */
	MULE_EUNKNOWNSENDER = -10, /* signer is not a trusted peer */
	MULE_EKEYPERM = -11,	/* key file readable by group or others */
	MULE_EEXIST = -12,	/* already exists (replica, peer, file) */
	MULE_ENOTFOUND = -13,	/* no such peer, table, file, version */
	MULE_ENOTREPLICA = -14,	/* database has no mule state (run init) */
	MULE_ENOTDB = -15,	/* file is not a SQLite database */
	MULE_EBUSY = -16,	/* database locked by another writer */
	MULE_EDB = -17,		/* other SQLite error */
	MULE_EKEYSTRING = -18,	/* malformed or mistyped public key string */
	MULE_ENOSPACE = -19,	/* not enough free space on the medium */
	MULE_ESCHEMA = -20,	/* schema drift or incompatible schema */
	MULE_ENOPK = -21,	/* table has no primary key */
	MULE_EREADONLY = -22,	/* database or medium cannot be written */
	MULE_ESYMLINK = -23,	/* refused to follow a symlink */
	MULE_ECRYPTO = -24,	/* libsodium failure (not a verification) */
	MULE_EARCHIVE = -25,	/* libarchive/zstd failure */
	MULE_EAPPLIED = -26,	/* bundle was applied before (not an error for cli) */
	MULE_ECONFLICT = -27,	/* key collision or unresolvable conflict */
	MULE_ENET = -28,	/* mail server unreachable or connection lost */
	MULE_EAUTH = -29,	/* mail server refused the login */
	MULE_EMIGRATION = -30,	/* a schema migration failed to run */
	MULE_EREFUSED = -31,	/* a peer's bundle writes what this site does not accept from it */
	MULE_EPASSPHRASE = -32,	/* key file passphrase missing or wrong */
};

/* Returns a static, generic description of `code` ("truncated input"). */
const char *mule_strerror(int code);

/*
 * Formats a message into `err` (MULE_ERRLEN bytes; may be NULL) and returns
 * `code`, so callers can write `r = mule_errf(err, MULE_EIO, "...", ...)`.
 */
int mule_errf(char *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Prefixes an existing message in `err` with "what: " (e.g. a file name)
 * and returns `code`.  Does nothing to a NULL `err`.
 */
int mule_errprefix(char *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
