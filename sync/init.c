/* sync/init.c — making a database a replica, key first (see local.h). */
#include <unistd.h>

#include <sodium.h>

#include "sync/local.h"

/* Refuses, before creating anything, a replica or a key file that
 * exist already.  0 or a MULE_E* code. */
static int
init_refuse(const char *db, const char *keyfile, char *err)
{
	struct replica *rp = NULL;
	int r;

	r = replica_open(db, 1, &rp, err);
	replica_close(rp);
	if (r == 0)
		return mule_errf(err, MULE_EEXIST, "%s is already a mule "
		    "replica", db);
	if (r != MULE_ENOTREPLICA && r != MULE_ENOTFOUND)
		return r;
	if (access(keyfile, F_OK) == 0)
		return mule_errf(err, MULE_EEXIST, "key file %s exists "
		    "already; move it away or use --key FILE", keyfile);
	return 0;
}

int
sync_init(const char *db, const char *name, const char *keyfile,
    const char *pass, struct ident_pub *pub, char *err)
{
	struct ident_secret *sec = NULL;
	uint8_t site[SITE_ID_LEN];
	int r, wrote_key = 0;

	if ((r = init_refuse(db, keyfile, err)) != 0)
		goto out;
	randombytes_buf(site, sizeof(site));
	/* The key first: a replica must never exist without its key. */
	if ((r = ident_generate(site, &sec, err)) != 0 ||
	    (r = ident_write_keyfile_pass(sec, keyfile, pass, 0,
	    err)) != 0)
		goto out;
	wrote_key = 1;
	if ((r = replica_init(db, name, site, &sec->pub, err)) != 0)
		goto out;
	wrote_key = 0;
	*pub = sec->pub;
out:
	if (wrote_key)
		unlink(keyfile);
	ident_secret_free(sec);
	return r;
}
