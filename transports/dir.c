/* transports/dir.c — bundles in a directory (see dir.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
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

/*
 * The PID of a scratch name REST = "WHAT-PID" or "WHAT-PID.d" (WHAT one
 * of tmp, mail, iso); 0 when REST is not one.
 */
static long
scratch_pid(const char *rest)
{
	static const char *const what[] = { "tmp-", "mail-", "iso-" };
	const char *p = NULL;
	long pid = 0;
	size_t i, n;

	for (i = 0; i < sizeof(what) / sizeof(what[0]) && p == NULL; i++)
		if (strncmp(rest, what[i], strlen(what[i])) == 0)
			p = rest + strlen(what[i]);
	if (p == NULL)
		return 0;
	for (n = 0; p[n] >= '0' && p[n] <= '9' && n < 10; n++)
		pid = pid * 10 + (p[n] - '0');
	if (n == 0 || !(p[n] == '\0' || strcmp(p + n, ".d") == 0))
		return 0;
	return pid;
}

/* Removes the regular files in `dir` (dot files too), then `dir`. */
static void
scratch_dir_remove(const char *dir)
{
	struct dirent *de;
	struct strb sb;
	struct stat st;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	strb_init(&sb);
	while ((de = readdir(d)) != NULL) {
		strb_reset(&sb);
		strb_addf(&sb, "%s/%s", dir, de->d_name);
		if (!strb_error(&sb) && lstat(sb.s, &st) == 0 &&
		    S_ISREG(st.st_mode))
			unlink(sb.s);
	}
	closedir(d);
	strb_release(&sb);
	rmdir(dir);
}

void
xport_scratch_sweep(const char *scratch)
{
	const char *slash = strrchr(scratch, '/'), *base, *m, *p;
	struct dirent *de;
	struct strb dir, sb;
	struct stat st;
	size_t np, nt;
	long pid;
	DIR *d = NULL;

	base = slash != NULL ? slash + 1 : scratch;
	/* the last ".mule-": the database's own name may hold one too */
	for (m = NULL, p = base; (p = strstr(p, ".mule-")) != NULL; p++)
		m = p;
	if (m == NULL)
		return;
	np = (size_t)(m - base) + strlen(".mule-");
	strb_init(&dir);
	strb_init(&sb);
	if (slash == NULL)
		strb_add(&dir, ".");
	else if (slash == scratch)
		strb_add(&dir, "/");
	else
		strb_addf(&dir, "%.*s", (int)(slash - scratch), scratch);
	if (strb_error(&dir) || (d = opendir(dir.s)) == NULL)
		goto out;
	/* temporaries of scratch files (".DB.mule-tmp-N.PID.XXXXXX") */
	strb_addf(&sb, "%.*s", (int)np, base);
	if (!strb_error(&sb))
		(void)file_sweep_temps(dir.s, sb.s, "", &nt, NULL);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, np) != 0 ||
		    (pid = scratch_pid(de->d_name + np)) == 0 ||
		    !file_pid_gone(pid))
			continue;
		strb_reset(&sb);
		strb_addf(&sb, "%s/%s", dir.s, de->d_name);
		if (strb_error(&sb) || lstat(sb.s, &st) != 0 ||
		    st.st_uid != geteuid())
			continue;
		if (S_ISREG(st.st_mode))
			unlink(sb.s);
		else if (S_ISDIR(st.st_mode))
			scratch_dir_remove(sb.s);
	}
out:
	if (d != NULL)
		closedir(d);
	strb_release(&dir);
	strb_release(&sb);
}
