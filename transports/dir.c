/* transports/dir.c — bundles in a directory (see dir.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/strb.h"
#include "transports/dir.h"

int
xport_dir_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	const char *bx = strrchr(x, '/'), *by = strrchr(y, '/');

	return strverscmp(bx ? bx + 1 : x, by ? by + 1 : y);
}

int
xport_dir_list(const char *dir, int (*want)(const char *name), char ***v,
    size_t *n, char *err)
{
	struct dirent *de;
	struct strb sb;
	size_t first = *n;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : mule_errf(err, MULE_EIO, "cannot "
		    "read directory %s: %s", dir, strerror(errno));
	strb_init(&sb);
	while ((de = readdir(d)) != NULL && r == 0) {
		if (de->d_name[0] == '.' || (want != NULL &&
		    !want(de->d_name)))
			continue;
		strb_reset(&sb);
		strb_add(&sb, dir);
		if (sb.len > 0 && sb.s[sb.len - 1] != '/')
			strb_addc(&sb, '/');
		strb_add(&sb, de->d_name);
		if (strb_error(&sb) || strv_push(v, *n, sb.s) != 0)
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
		else
			(*n)++;
	}
	closedir(d);
	strb_release(&sb);
	if (r == 0 && *n > first)
		qsort(*v + first, *n - first, sizeof(char *), xport_dir_cmp);
	return r;
}

char *
xport_scratch_name(const char *db, const char *what)
{
	struct strb sb;

	strb_init(&sb);
	strb_addf(&sb, "%s.mule-%s-%ld", db, what, (long)getpid());
	return strb_detach(&sb);
}

void
xport_dir_remove(const char *dir)
{
	char **v = NULL;
	size_t i, n = 0;

	if (xport_dir_list(dir, NULL, &v, &n, NULL) == 0)
		for (i = 0; i < n; i++)
			unlink(v[i]);
	strv_free(v, n);
	rmdir(dir);
}
