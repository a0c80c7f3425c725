/*
 * core/file.h — safe file writes and bounded file reads.
 *
 * A safefile writes to a temporary name in the destination's directory
 * (".NAME.PID.XXXXXX", PID the writer's process id), and on commit fsyncs
 * it, renames it over the destination and fsyncs the directory, so a crash
 * leaves either the old file or the complete new one (and a temporary
 * that file_sweep_temps recognizes as stale).  A destination that is a
 * symlink is refused (MULE_ESYMLINK); a full medium is MULE_ENOSPACE; a
 * read-only one MULE_EREADONLY.  On any failure the temporary file is
 * removed.
 */
#ifndef MULE_CORE_FILE_H
#define MULE_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct safefile {
	int fd;			/* -1 when not open */
	char *path;		/* destination */
	char *tmp;		/* temporary name */
	uint64_t written;	/* bytes written so far */
	int exclusive;		/* commit never replaces a file */
};

/*
 * Opens a temporary file for `path` with permission bits `mode` less the
 * process's umask (applied with fchmod: the umask can narrow them, never
 * widen them; a private file stays 0600 whatever the umask).  With
 * `exclusive`, an existing destination is MULE_EEXIST.
 */
int safefile_open(struct safefile *sf, const char *path, mode_t mode,
    int exclusive, char *err);
/* Writes all n bytes (retrying short writes). */
int safefile_write(struct safefile *sf, const void *p, size_t n, char *err);
/* fsync, rename into place, fsync the directory; releases the safefile. */
int safefile_commit(struct safefile *sf, char *err);
/* Closes and removes the temporary file; fine on a released safefile. */
void safefile_abort(struct safefile *sf);

/* Writes a whole file through a safefile. */
int file_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
    int exclusive, char *err);

/*
 * Reads a whole regular file of at most `max` bytes into a new heap
 * buffer (*out, caller frees; one spare NUL byte is appended but not
 * counted in *len).  A larger file is MULE_ETOOLARGE.
 */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len,
    char *err);

/*
 * Opens path for reading (without blocking on a FIFO) into *fdp, which
 * the caller closes, and fills *st; anything but a regular file is
 * MULE_EINVAL, a failed open file_errno_code's mapping (MULE_ENOTFOUND
 * for a missing file).
 */
int file_open_regular(const char *path, int *fdp, struct stat *st,
    char *err);

/*
 * Reading and writing whole ranges of an open descriptor.  Each call
 * retries after EINTR and after short transfers; `path` names the file in
 * error messages only.  All return 0 or a MULE_E* code with `err` filled.
 *
 * file_read_at reads up to n bytes at offset off (pread) and file_read_full
 * up to n bytes from the current position (read, so pipes work too); both
 * stop early only at end of file and set *got to the bytes read, which is
 * less than n only then.  A read error is MULE_EIO.
 */
int file_read_at(int fd, void *p, size_t n, uint64_t off, size_t *got,
    const char *path, char *err);
int file_read_full(int fd, void *p, size_t n, size_t *got, const char *path,
    char *err);
/*
 * Exactly n bytes at offset off; a file that ends first is
 * MULE_EINCOMPLETE ("PATH ended early (truncated, or changed while read)").
 */
int file_read_exact_at(int fd, void *p, size_t n, uint64_t off,
    const char *path, char *err);
/*
 * Writes all n bytes at the current position (file_write_full) or at
 * offset off (file_write_at).  Errors are mapped with file_errno_code
 * (a full medium is MULE_ENOSPACE).
 */
int file_write_full(int fd, const void *p, size_t n, const char *path,
    char *err);
int file_write_at(int fd, const void *p, size_t n, uint64_t off,
    const char *path, char *err);

/* Free bytes available to us on the filesystem holding `path`. */
int file_free_space(const char *path, uint64_t *bytes, char *err);

/* Maps an errno value to a MULE_E* code (ENOSPC → MULE_ENOSPACE, ...). */
int file_errno_code(int e);

/* 1 if path exists (lstat), 0 if not. */
int file_exists(const char *path);

/*
 * Makes `path` a private directory (mode 0700), or checks that it is one
 * already: a real directory, not a symbolic link, owned by this user and
 * writable by nobody else.  0, or a MULE_E* code with a message saying
 * what is wrong and what to do.
 */
int file_private_dir(const char *path, char *err);

/*
 * 1 when no process `pid` runs on this machine (kill(pid, 0) says ESRCH);
 * 0 for a live one, our own, or a value that is no process id.
 */
int file_pid_gone(long pid);

/*
 * Removes from `dir` what a crash left of safefiles: the temporary files
 * ".NAME.PID.XXXXXX" whose NAME starts with `prefix` and ends with
 * `suffix` (either may be ""), whose PID no longer runs (file_pid_gone),
 * and that are regular files owned by this user.  Finished files are never
 * touched.  *removed counts the files removed.  0 (also for a missing
 * directory), or MULE_E* when the directory cannot be read.
 */
int file_sweep_temps(const char *dir, const char *prefix, const char *suffix,
    size_t *removed, char *err);

#endif
