/* core/file.c — safe writes and bounded reads (see file.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "error.h"
#include "file.h"
#include "strb.h"

int
file_errno_code(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return MULE_ENOSPACE;
	case EROFS:
	case EACCES:
	case EPERM:
		return MULE_EREADONLY;
	case ENOENT:
	case ENOTDIR:
		return MULE_ENOTFOUND;
	case ENOMEM:
		return MULE_ENOMEM;
	case EEXIST:
		return MULE_EEXIST;
	case ELOOP:
		return MULE_ESYMLINK;
	}
	return MULE_EIO;
}

int
file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/*
 * The one read loop: up to n bytes, at `off` when `at`, else from the
 * current position; retries after EINTR and short reads, stops at EOF.
 */
static int
read_loop(int fd, void *p, size_t n, int at, uint64_t off, size_t *got,
    const char *path, char *err)
{
	uint8_t *c = p;
	size_t done = 0;
	ssize_t k;

	while (done < n) {
		if (at)
			k = pread(fd, c + done, n - done, (off_t)(off + done));
		else
			k = read(fd, c + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return mule_errf(err, MULE_EIO, "read %s: %s", path,
			    strerror(errno));
		if (k == 0)
			break;
		done += (size_t)k;
	}
	*got = done;
	return 0;
}

int
file_read_at(int fd, void *p, size_t n, uint64_t off, size_t *got,
    const char *path, char *err)
{
	return read_loop(fd, p, n, 1, off, got, path, err);
}

int
file_read_full(int fd, void *p, size_t n, size_t *got, const char *path,
    char *err)
{
	return read_loop(fd, p, n, 0, 0, got, path, err);
}

int
file_read_exact_at(int fd, void *p, size_t n, uint64_t off,
    const char *path, char *err)
{
	size_t got = 0;
	int r;

	if ((r = read_loop(fd, p, n, 1, off, &got, path, err)) != 0)
		return r;
	if (got < n)
		return mule_errf(err, MULE_EINCOMPLETE,
		    "%s ended early (truncated, or changed while read)", path);
	return 0;
}

/* The one write loop, like read_loop. */
static int
write_loop(int fd, const void *p, size_t n, int at, uint64_t off,
    const char *path, char *err)
{
	const uint8_t *c = p;
	size_t done = 0;
	ssize_t k;

	while (done < n) {
		if (at)
			k = pwrite(fd, c + done, n - done, (off_t)(off + done));
		else
			k = write(fd, c + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return mule_errf(err, file_errno_code(errno),
			    "write %s: %s", path, strerror(errno));
		done += (size_t)k;
	}
	return 0;
}

int
file_write_full(int fd, const void *p, size_t n, const char *path,
    char *err)
{
	return write_loop(fd, p, n, 0, 0, path, err);
}

int
file_write_at(int fd, const void *p, size_t n, uint64_t off,
    const char *path, char *err)
{
	return write_loop(fd, p, n, 1, off, path, err);
}

static char *
dir_of(const char *path)
{
	char *copy = strdup(path), *d, *out;

	if (copy == NULL)
		return NULL;
	d = dirname(copy);
	out = strdup(d);
	free(copy);
	return out;
}

static int
check_dest(const char *path, int exclusive, char *err)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISLNK(st.st_mode))
		return mule_errf(err, MULE_ESYMLINK,
		    "%s is a symbolic link; refusing to write through it", path);
	if (exclusive)
		return mule_errf(err, MULE_EEXIST, "%s already exists", path);
	if (!S_ISREG(st.st_mode))
		return mule_errf(err, MULE_EINVAL, "%s is not a regular file",
		    path);
	return 0;
}

/* The process's umask (reading it means setting it; set it back). */
static mode_t
file_umask(void)
{
	mode_t u = umask(077);

	umask(u);
	return u;
}

int
safefile_open(struct safefile *sf, const char *path, mode_t mode,
    int exclusive, char *err)
{
	struct strb sb;
	char *dir = NULL, *base = NULL, *copy = NULL;
	int r = MULE_EINTERNAL, fd = -1;

	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	strb_init(&sb);
	if ((r = check_dest(path, exclusive, err)) != 0)
		goto out;
	if ((dir = dir_of(path)) == NULL || (copy = strdup(path)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	base = basename(copy);
	strb_addf(&sb, "%s/.%s.%ld.XXXXXX", dir, base, (long)getpid());
	if (strb_error(&sb)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((fd = mkstemp(sb.s)) < 0) {
		r = mule_errf(err, file_errno_code(errno),
		    "cannot create a file in %s: %s", dir, strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode & ~file_umask()) != 0) {
		r = mule_errf(err, file_errno_code(errno), "chmod %s: %s",
		    sb.s, strerror(errno));
		goto out;
	}
	if ((sf->path = strdup(path)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	sf->tmp = strb_detach(&sb);
	sf->fd = fd;
	sf->exclusive = exclusive;
	fd = -1;
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(sb.s);
	}
	if (r != 0) {
		free(sf->path);
		sf->path = NULL;
	}
	strb_release(&sb);
	free(dir);
	free(copy);
	return r;
}

int
safefile_write(struct safefile *sf, const void *p, size_t n, char *err)
{
	int r;

	if ((r = file_write_full(sf->fd, p, n, sf->path, err)) != 0)
		return r;
	sf->written += (uint64_t)n;
	return 0;
}

static void
safefile_clear(struct safefile *sf)
{
	free(sf->path);
	free(sf->tmp);
	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
}

void
safefile_abort(struct safefile *sf)
{
	if (sf == NULL || sf->path == NULL)
		return;
	if (sf->fd >= 0)
		close(sf->fd);
	if (sf->tmp != NULL)
		unlink(sf->tmp);
	safefile_clear(sf);
}

static int
fsync_dir(const char *path, char *err)
{
	char *dir = dir_of(path);
	int fd, r = 0;

	if (dir == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) != 0)
		r = mule_errf(err, file_errno_code(errno), "fsync %s: %s", dir,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int
safefile_commit(struct safefile *sf, char *err)
{
	int r = MULE_EINTERNAL;

	if (fsync(sf->fd) != 0) {
		r = mule_errf(err, file_errno_code(errno), "fsync %s: %s",
		    sf->path, strerror(errno));
		goto out;
	}
	if (close(sf->fd) != 0) {
		sf->fd = -1;
		r = mule_errf(err, file_errno_code(errno), "close %s: %s",
		    sf->path, strerror(errno));
		goto out;
	}
	sf->fd = -1;
	/* Checked again: the destination may have changed meanwhile. */
	if ((r = check_dest(sf->path, sf->exclusive, err)) != 0)
		goto out;
	if (sf->exclusive) {
		/* link() fails rather than replace a file created meanwhile. */
		if (link(sf->tmp, sf->path) != 0) {
			r = mule_errf(err, file_errno_code(errno),
			    "create %s: %s", sf->path, strerror(errno));
			goto out;
		}
		unlink(sf->tmp);
	} else if (rename(sf->tmp, sf->path) != 0) {
		r = mule_errf(err, file_errno_code(errno), "rename to %s: %s",
		    sf->path, strerror(errno));
		goto out;
	}
	free(sf->tmp);
	sf->tmp = NULL;
	r = fsync_dir(sf->path, err);
out:
	if (r != 0)
		safefile_abort(sf);
	else
		safefile_clear(sf);
	return r;
}

int
file_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
    int exclusive, char *err)
{
	struct safefile sf;
	int r;

	if ((r = safefile_open(&sf, path, mode, exclusive, err)) != 0)
		return r;
	if ((r = safefile_write(&sf, p, n, err)) != 0) {
		safefile_abort(&sf);
		return r;
	}
	return safefile_commit(&sf, err);
}

int
file_open_regular(const char *path, int *fdp, struct stat *st, char *err)
{
	int fd, r = MULE_EINTERNAL;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		r = mule_errf(err, file_errno_code(errno), "open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		r = mule_errf(err, MULE_EINVAL, "%s is not a regular file",
		    path);
		goto out;
	}
	*fdp = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
file_read_all(const char *path, size_t max, uint8_t **out, size_t *len,
    char *err)
{
	struct stat st;
	uint8_t *d = NULL;
	size_t got = 0;
	int fd = -1, r = MULE_EINTERNAL;

	if ((r = file_open_regular(path, &fd, &st, err)) != 0)
		goto out;
	if ((uint64_t)st.st_size > max) {
		r = mule_errf(err, MULE_ETOOLARGE,
		    "%s is larger than %zu bytes", path, max);
		goto out;
	}
	if ((d = malloc((size_t)st.st_size + 1)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if ((r = file_read_full(fd, d, (size_t)st.st_size, &got, path,
	    err)) != 0)
		goto out;
	d[got] = '\0';
	*out = d;
	*len = got;
	d = NULL;
	r = 0;
out:
	free(d);
	if (fd >= 0)
		close(fd);
	return r;
}

int
file_free_space(const char *path, uint64_t *bytes, char *err)
{
	struct statvfs vs;

	if (statvfs(path, &vs) != 0)
		return mule_errf(err, file_errno_code(errno), "statvfs %s: %s",
		    path, strerror(errno));
	*bytes = (uint64_t)vs.f_bavail * (uint64_t)vs.f_frsize;
	return 0;
}

int
file_private_dir(const char *path, char *err)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return mule_errf(err, file_errno_code(errno), "cannot make "
		    "the directory %s: %s", path, strerror(errno));
	if (lstat(path, &st) != 0)
		return mule_errf(err, file_errno_code(errno), "%s: %s", path,
		    strerror(errno));
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
		return mule_errf(err, MULE_EINVAL, "%s is %s, not a directory "
		    "of mule's own; remove it and try again", path,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0)
		return mule_errf(err, MULE_EINVAL, "%s is not private (owned "
		    "by another user, or writable by others); remove it, or "
		    "make it yours with mode 0700", path);
	return 0;
}

int
file_pid_gone(long pid)
{
	if (pid <= 0 || pid == (long)getpid() || (long)(pid_t)pid != pid)
		return 0;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/*
 * The PID in a safefile temporary's name ".NAME.PID.XXXXXX" whose NAME
 * starts with `prefix` and ends with `suffix`; 0 when it is not one.
 */
static long
temp_pid(const char *name, const char *prefix, const char *suffix)
{
	size_t n = strlen(name), np = strlen(prefix), ns = strlen(suffix), i;
	long pid = 0;

	/* ".", NAME, ".", digits, ".", six characters */
	if (n < 1 + np + 1 + 1 + 1 + 6 || name[0] != '.' ||
	    strncmp(name + 1, prefix, np) != 0 || name[n - 7] != '.')
		return 0;
	for (i = n - 8; i > 0 && name[i] >= '0' && name[i] <= '9'; i--)
		;
	if (i == n - 8 || name[i] != '.' || n - 8 - i > 9 || i < 1 + np ||
	    i - 1 < ns || strncmp(name + i - ns, suffix, ns) != 0)
		return 0;
	for (i++; i < n - 7; i++)
		pid = pid * 10 + (name[i] - '0');
	return pid;
}

int
file_sweep_temps(const char *dir, const char *prefix, const char *suffix,
    size_t *removed, char *err)
{
	struct dirent *de;
	struct stat st;
	struct strb sb;
	DIR *d;
	long pid;
	int r = 0;

	*removed = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : mule_errf(err,
		    file_errno_code(errno), "cannot read directory %s: %s", dir,
		    strerror(errno));
	strb_init(&sb);
	while ((de = readdir(d)) != NULL) {
		if ((pid = temp_pid(de->d_name, prefix, suffix)) == 0 ||
		    !file_pid_gone(pid))
			continue;
		strb_reset(&sb);
		strb_addf(&sb, "%s/%s", dir, de->d_name);
		if (strb_error(&sb)) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		if (lstat(sb.s, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid() && unlink(sb.s) == 0)
			(*removed)++;
	}
	closedir(d);
	strb_release(&sb);
	return r;
}
