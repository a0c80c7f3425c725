/* replica/store/config.c — settings kept in the replica (see replica.h). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strb.h"
#include "replica/internal.h"

int
replica_config_get(struct replica *rp, const char *key, char **value,
    char *err)
{
	return rp_text(rp, "SELECT value FROM _mule_config WHERE key = ?", key,
	    NULL, value, "read setting", err);
}

uint64_t
replica_config_num(struct replica *rp, const char *key, uint64_t dflt,
    uint64_t max)
{
	char *v = NULL, *end;
	unsigned long long n;
	uint64_t out = dflt;

	if (replica_config_get(rp, key, &v, NULL) == 0 && v != NULL &&
	    *v >= '0' && *v <= '9') {
		n = strtoull(v, &end, 10);
		if (*end == '\0' && n <= max)
			out = n;
	}
	free(v);
	return out;
}

int
replica_config_is(struct replica *rp, const char *key, const char *value)
{
	char *v = NULL;
	int yes = replica_config_get(rp, key, &v, NULL) == 0 && v != NULL &&
	    strcmp(v, value) == 0;

	free(v);
	return yes;
}

int
replica_config_set(struct replica *rp, const char *key, const char *value,
    char *err)
{
	return rp_exec_text(rp, value != NULL ?
	    "INSERT OR REPLACE INTO _mule_config(key, value) VALUES (?, ?)" :
	    "DELETE FROM _mule_config WHERE key = ?", key, value, NULL,
	    "store setting", err);
}

int
replica_config_list(struct replica *rp, char ***keys, char ***values,
    size_t *n, char *err)
{
	sqlite3_stmt *st = NULL;
	char **k = NULL, **v = NULL;
	size_t cnt = 0;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, "SELECT key, value FROM _mule_config "
	    "ORDER BY key", &st, err)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rp_column_push(&k, cnt, st, 0) != 0) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		if (rp_column_push(&v, cnt, st, 1) != 0) {
			free(k[cnt]);
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		r = rp_dberr(rp, rc, err, "list settings");
		goto out;
	}
	*keys = k;
	*values = v;
	*n = cnt;
	k = v = NULL;
	cnt = 0;
	r = 0;
out:
	strv_free(k, cnt);
	strv_free(v, cnt);
	sqlite3_finalize(st);
	return r;
}
