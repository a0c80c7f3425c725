/* cli/passphrase.c — key file passphrases from a file or the terminal
 * (see passphrase.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/passphrase.h"
#include "core/error.h"
#include "core/file.h"
#include "crypto/ident.h"

/* Cuts s at its first line end ("\n" or "\r\n"). */
static void
first_line(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/* The first line of the private file `file` (what names it: `what`). */
static int
pass_from_file(const char *file, const char *what, char *buf, size_t size,
    char *err)
{
	struct stat st;
	size_t got = 0;
	int fd = -1, r = MULE_EINTERNAL;

	if ((r = file_open_regular(file, &fd, &st, err)) != 0) {
		r = mule_errf(err, r == MULE_ENOTFOUND ? MULE_EPASSPHRASE : r,
		    "cannot read the passphrase file %s (%s): %s", file, what,
		    r == MULE_ENOTFOUND ? "it does not exist" :
		    "not a readable regular file");
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		r = mule_errf(err, MULE_EKEYPERM, "passphrase file %s can be "
		    "read by others (mode %04o); run: chmod 600 %s", file,
		    (unsigned)(st.st_mode & 07777), file);
		goto out;
	}
	if ((r = file_read_full(fd, buf, size - 1, &got, file, err)) != 0)
		goto out;
	buf[got] = '\0';
	first_line(buf);
	/* A first line that fills the buffer may go on. */
	if (got == size - 1 && strlen(buf) == got) {
		r = mule_errf(err, MULE_ETOOLARGE, "passphrase file %s: the "
		    "passphrase is longer than %d bytes", file, IDENT_PASS_MAX);
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Asks `prompt` on the terminal with echo off; the answer into buf. */
static int
pass_ask(const char *prompt, char *buf, size_t size, char *err)
{
	struct termios old, quiet;
	size_t n = 0;
	ssize_t k;
	char ch;
	int fd, own = 1, echo_off = 0, r = MULE_EINTERNAL;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		fd = STDIN_FILENO;
		own = 0;
	}
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		echo_off = tcsetattr(fd, TCSANOW, &quiet) == 0;
	}
	if (write(own ? fd : STDERR_FILENO, prompt, strlen(prompt)) < 0) {
		r = mule_errf(err, MULE_EIO, "cannot ask for the passphrase");
		goto out;
	}
	while ((k = read(fd, &ch, 1)) == 1 && ch != '\n')
		if (n + 1 < size)
			buf[n++] = ch;
	buf[n] = '\0';
	if (k < 0) {
		r = mule_errf(err, MULE_EIO, "reading the passphrase: %s",
		    strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (echo_off)
		tcsetattr(fd, TCSANOW, &old);
	if (write(own ? fd : STDERR_FILENO, "\n", 1) < 0)
		r = r != 0 ? r : MULE_EIO;
	if (own)
		close(fd);
	first_line(buf);
	return r;
}

int
cli_pass_get(void *arg, const char *path, char *buf, size_t size, char *err)
{
	const char *file = getenv("MULE_PASSPHRASE_FILE");
	char prompt[600];

	if (file != NULL && file[0] != '\0')
		return pass_from_file(file, "MULE_PASSPHRASE_FILE", buf, size,
		    err);
	if (!isatty(STDIN_FILENO))
		return mule_errf(err, MULE_EPASSPHRASE, "key file %s is "
		    "protected by a passphrase: set MULE_PASSPHRASE_FILE to a "
		    "file (mode 0600) holding it, or run mule on a terminal",
		    path);
	snprintf(prompt, sizeof(prompt), "passphrase for %s: ", path);
	return pass_ask(prompt, buf, size, err);
}

int
cli_pass_new(const char *file, const char *path, char *buf, size_t size,
    char *err)
{
	char *again = NULL, prompt[600];
	int r = MULE_EINTERNAL;

	if (file == NULL && getenv("MULE_PASSPHRASE_FILE") != NULL &&
	    getenv("MULE_PASSPHRASE_FILE")[0] != '\0')
		file = getenv("MULE_PASSPHRASE_FILE");
	if (file != NULL) {
		if ((r = pass_from_file(file, "the new passphrase", buf, size,
		    err)) == 0 && buf[0] == '\0')
			r = mule_errf(err, MULE_EINVAL, "passphrase file %s "
			    "is empty", file);
		goto out;
	}
	if (!isatty(STDIN_FILENO)) {
		r = mule_errf(err, MULE_EINVAL, "not a terminal: give the new "
		    "passphrase in a file, --passphrase=FILE (mode 0600)");
		goto out;
	}
	if ((again = sodium_malloc(size)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(prompt, sizeof(prompt), "new passphrase for %s: ", path);
	if ((r = pass_ask(prompt, buf, size, err)) != 0 ||
	    (r = pass_ask("the same again: ", again, size, err)) != 0)
		goto out;
	if (buf[0] == '\0')
		r = mule_errf(err, MULE_EINVAL, "an empty passphrase; to "
		    "remove the passphrase use --no-passphrase");
	else if (strcmp(buf, again) != 0)
		r = mule_errf(err, MULE_EINVAL, "the two passphrases differ; "
		    "nothing changed");
out:
	if (again != NULL)
		sodium_free(again);
	return r;
}
