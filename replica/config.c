/* replica/config.c — settings kept in the replica (see replica.h). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "replica/internal.h"

int
replica_config_get(struct replica *rp, const char *key, char **value,
    char *err)
{
	return rp_text(rp, "SELECT value FROM _mule_config WHERE key = ?", key,
	    NULL, value, "read setting", err);
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
	char **k = NULL, **v = NULL, **nk, **nv;
	size_t cnt = 0, i;
	int rc, r = MULE_EINTERNAL;

	if ((r = rp_prepare(rp, "SELECT key, value FROM _mule_config "
	    "ORDER BY key", &st, err)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nk = realloc(k, (cnt + 1) * sizeof(*k))) == NULL ||
		    (k = nk, (nv = realloc(v, (cnt + 1) * sizeof(*v))) ==
		    NULL)) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		v = nv;
		k[cnt] = strdup((const char *)sqlite3_column_text(st, 0));
		v[cnt] = strdup((const char *)sqlite3_column_text(st, 1));
		cnt++;
		if (k[cnt - 1] == NULL || v[cnt - 1] == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
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
	for (i = 0; i < cnt; i++) {
		free(k[i]);
		free(v[i]);
	}
	free(k);
	free(v);
	sqlite3_finalize(st);
	return r;
}
