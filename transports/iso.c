/*
 * transports/iso.c — ISO 9660 images with libarchive (see iso.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strb.h"
#include "transports/iso.h"

#define ISO_BLOCK 65536			/* file read/write size */
#define ISO_SECTOR 2048
/* System area, descriptors, path tables, directories, 300 KiB pad. */
#define ISO_OVERHEAD ((uint64_t)512 << 10)
#define ISO_PER_FILE ((uint64_t)3 * ISO_SECTOR)	/* records + names */

int
xport_iso_name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return 0;
	n = strlen(name);
	if (n > XPORT_ISO_MAX_NAME)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

void
xport_iso_paths_free(char **paths, size_t n)
{
	strv_free(paths, n);
}

static const char *
base_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static char *
dir_of(const char *path)
{
	char *copy = strdup(path), *out = NULL;

	if (copy != NULL)
		out = strdup(dirname(copy));
	free(copy);
	return out;
}

/* The volume id: A-Z 0-9 _ only, at most XPORT_ISO_LABEL_MAX. */
static void
iso_label(const char *in, char out[XPORT_ISO_LABEL_MAX + 1])
{
	size_t i;

	if (in == NULL || in[0] == '\0')
		in = "MULE";
	for (i = 0; i < XPORT_ISO_LABEL_MAX && in[i] != '\0'; i++) {
		char c = in[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		out[i] = c;
	}
	out[i] = '\0';
}

/* ------------------------------------------------------------------ */
/* writing                                                             */
/* ------------------------------------------------------------------ */

/*
 * The code for a libarchive write failure: MULE_ENOSPACE when its spool
 * file in $TMPDIR ran out of room, else MULE_EARCHIVE.
 */
static int
iso_archive_code(struct archive *a)
{
	int e = archive_errno(a);

	if (e > 0 && file_errno_code(e) == MULE_ENOSPACE)
		return MULE_ENOSPACE;
	return MULE_EARCHIVE;
}

/* libarchive's output goes to a safefile; errors are kept here. */
struct iso_out {
	struct safefile sf;
	int r;				/* first MULE_E* from a write */
	int dead;			/* failed: refuse every write */
	char err[MULE_ERRLEN];
};

static la_ssize_t
iso_out_write(struct archive *a, void *arg, const void *p, size_t n)
{
	struct iso_out *o = arg;
	int r;

	if (o->dead) {
		archive_set_error(a, ECANCELED, "image abandoned");
		return -1;
	}
	if ((r = safefile_write(&o->sf, p, n, o->err)) != 0) {
		if (o->r == 0)
			o->r = r;
		archive_set_error(a, EIO, "%s", o->err);
		return -1;
	}
	return (la_ssize_t)n;
}

/* Opens files[] and checks names; sizes[] gets each file's size. */
static int
iso_open_inputs(const char *const *files, size_t n, int *fds,
    struct stat *sts, char *err)
{
	size_t i, j;
	int r = MULE_EINTERNAL;

	for (i = 0; i < n; i++) {
		const char *b = base_of(files[i]);

		if (!xport_iso_name_ok(b)) {
			r = mule_errf(err, MULE_EINVAL,
			    "%s: unsuitable name for an image member",
			    files[i]);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(b, base_of(files[j])) == 0) {
				r = mule_errf(err, MULE_EINVAL,
				    "%s and %s have the same name", files[j],
				    files[i]);
				goto out;
			}
		if ((r = file_open_regular(files[i], &fds[i], &sts[i],
		    err)) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

static int
iso_check_space(const char *iso_path, const struct stat *sts, size_t n,
    char *err)
{
	struct strb need_s, avail_s;
	uint64_t need = ISO_OVERHEAD, avail;
	char *dir = NULL;
	size_t i;
	int r = MULE_EINTERNAL;

	strb_init(&need_s);
	strb_init(&avail_s);
	if ((dir = dir_of(iso_path)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		need += ((uint64_t)sts[i].st_size + ISO_SECTOR - 1) /
		    ISO_SECTOR * ISO_SECTOR + ISO_PER_FILE;
	if ((r = file_free_space(dir, &avail, err)) != 0)
		goto out;
	if (need > avail) {
		strb_add_size(&need_s, need);
		strb_add_size(&avail_s, avail);
		r = mule_errf(err, MULE_ENOSPACE,
		    "%s has too little free space: the image needs about %s, "
		    "only %s is free", dir, strb_str(&need_s),
		    strb_str(&avail_s));
		goto out;
	}
	r = 0;
out:
	free(dir);
	strb_release(&need_s);
	strb_release(&avail_s);
	return r;
}

/* Adds one open file as a root member. */
static int
iso_add(struct archive *a, struct iso_out *o, const char *path, int fd,
    const struct stat *st, uint8_t *buf, char *err)
{
	struct archive_entry *e = NULL;
	uint64_t done = 0;
	size_t got;
	int r = MULE_EINTERNAL;

	if ((e = archive_entry_new()) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	archive_entry_set_pathname(e, base_of(path));
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, st->st_size);
	archive_entry_set_mtime(e, st->st_mtime, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		goto archive_failed;
	for (;;) {
		if ((r = file_read_full(fd, buf, ISO_BLOCK, &got, path,
		    err)) != 0)
			goto out;
		if (got == 0)
			break;
		if ((uint64_t)got > (uint64_t)st->st_size - done) {
			r = mule_errf(err, MULE_EIO,
			    "%s grew while it was written", path);
			goto out;
		}
		if (archive_write_data(a, buf, got) != (la_ssize_t)got)
			goto archive_failed;
		done += (uint64_t)got;
	}
	if (done != (uint64_t)st->st_size) {
		r = mule_errf(err, MULE_EIO, "%s shrank while it was written",
		    path);
		goto out;
	}
	r = 0;
	goto out;
archive_failed:
	if (o->r != 0)
		r = mule_errf(err, o->r, "%s", o->err);
	else
		r = mule_errf(err, iso_archive_code(a),
		    "adding %s to the image: %s",
		    path, archive_error_string(a) != NULL ?
		    archive_error_string(a) : "unknown error");
out:
	archive_entry_free(e);
	return r;
}

/*
 * A new libarchive writer (*ap; archive_write_free) for an ISO 9660 image
 * with Rock Ridge and Joliet names and the volume label made from `volume`.
 */
static int
iso_writer_new(const char *volume, struct archive **ap, char *err)
{
	struct archive *a = NULL;
	struct strb opts;
	char label[XPORT_ISO_LABEL_MAX + 1];
	int r = MULE_EINTERNAL;

	strb_init(&opts);
	iso_label(volume, label);
	strb_addf(&opts, "iso9660:rockridge,iso9660:joliet=long,"
	    "iso9660:iso-level=3,iso9660:volume-id=%s", label);
	if (strb_error(&opts) || (a = archive_write_new()) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (archive_write_set_format_iso9660(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, strb_str(&opts)) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK) {
		r = mule_errf(err, MULE_EARCHIVE, "libarchive: %s",
		    archive_error_string(a) != NULL ?
		    archive_error_string(a) : "cannot write ISO 9660");
		goto out;
	}
	*ap = a;
	a = NULL;
	r = 0;
out:
	if (a != NULL)
		archive_write_free(a);
	strb_release(&opts);
	return r;
}

int
xport_iso_write(const char *iso_path, const char *const *files, size_t n,
    const char *volume_label, char *err)
{
	struct archive *a = NULL;
	struct iso_out *o = NULL;
	struct stat *sts = NULL;
	uint8_t *buf = NULL;
	int *fds = NULL, r = MULE_EINTERNAL;
	size_t i;

	if (n == 0) {
		r = mule_errf(err, MULE_EINVAL, "no files for the image");
		goto out;
	}
	o = calloc(1, sizeof(*o));
	fds = calloc(n, sizeof(*fds));
	sts = calloc(n, sizeof(*sts));
	buf = malloc(ISO_BLOCK);
	if (o == NULL || fds == NULL || sts == NULL || buf == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	o->sf.fd = -1;
	for (i = 0; i < n; i++)
		fds[i] = -1;
	if ((r = iso_open_inputs(files, n, fds, sts, err)) != 0 ||
	    (r = iso_check_space(iso_path, sts, n, err)) != 0)
		goto out;

	if ((r = iso_writer_new(volume_label, &a, err)) != 0)
		goto out;
	if ((r = safefile_open(&o->sf, iso_path, 0644, 0, err)) != 0)
		goto out;
	if (archive_write_open2(a, o, NULL, iso_out_write, NULL, NULL) !=
	    ARCHIVE_OK) {
		r = mule_errf(err, MULE_EARCHIVE, "libarchive: %s",
		    archive_error_string(a) != NULL ?
		    archive_error_string(a) : "cannot open the image");
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((r = iso_add(a, o, files[i], fds[i], &sts[i], buf,
		    err)) != 0)
			goto out;
	/* The iso9660 writer lays the image out and writes it on close. */
	if (archive_write_close(a) != ARCHIVE_OK) {
		if (o->r != 0)
			r = mule_errf(err, o->r, "%s", o->err);
		else
			r = mule_errf(err, iso_archive_code(a),
			    "writing %s: %s", iso_path,
			    archive_error_string(a) != NULL ?
			    archive_error_string(a) : "unknown error");
		goto out;
	}
	if ((r = safefile_commit(&o->sf, err)) != 0)
		goto out;
	r = 0;
out:
	if (a != NULL) {
		/*
		 * On failure archive_write_free still closes the archive (which
		 * lays out the image): refuse its writes, so that it stops at
		 * once.  archive_write_fail would skip the close but leak
		 * libarchive's output buffer.
		 */
		if (r != 0)
			o->dead = 1;
		archive_write_free(a);
	}
	if (o != NULL)
		safefile_abort(&o->sf);
	for (i = 0; fds != NULL && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(o);
	free(fds);
	free(sts);
	free(buf);
	return r;
}

/* ------------------------------------------------------------------ */
/* reading                                                             */
/* ------------------------------------------------------------------ */

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n, s;

	if (suffix == NULL || suffix[0] == '\0')
		return 0;
	n = strlen(name);
	s = strlen(suffix);
	return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Copies the current member's data to dir/name. */
static int
iso_extract_one(struct archive *a, struct archive_entry *e,
    const char *path, const char *dir, uint8_t *buf, char *err)
{
	struct safefile sf;
	uint64_t done = 0, avail;
	la_ssize_t got;
	int r = MULE_EINTERNAL;

	memset(&sf, 0, sizeof(sf));
	sf.fd = -1;
	if (archive_entry_size_is_set(e)) {
		if (archive_entry_size(e) < 0 ||
		    (uint64_t)archive_entry_size(e) > XPORT_ISO_MAX_MEMBER) {
			r = mule_errf(err, MULE_ETOOLARGE,
			    "image member %s is larger than %" PRIu64 " bytes",
			    archive_entry_pathname(e), XPORT_ISO_MAX_MEMBER);
			goto out;
		}
		if ((r = file_free_space(dir, &avail, err)) != 0)
			goto out;
		if ((uint64_t)archive_entry_size(e) > avail) {
			r = mule_errf(err, MULE_ENOSPACE,
			    "%s has too little free space for %s (%" PRIu64
			    " bytes, %" PRIu64 " free)", dir, path,
			    (uint64_t)archive_entry_size(e), avail);
			goto out;
		}
	}
	if ((r = safefile_open(&sf, path, 0600, 1, err)) != 0)
		goto out;
	for (;;) {
		got = archive_read_data(a, buf, ISO_BLOCK);
		if (got < 0) {
			r = mule_errf(err, MULE_EARCHIVE, "reading %s: %s",
			    archive_entry_pathname(e),
			    archive_error_string(a) != NULL ?
			    archive_error_string(a) : "unknown error");
			goto out;
		}
		if (got == 0)
			break;
		if ((uint64_t)got > XPORT_ISO_MAX_MEMBER - done) {
			r = mule_errf(err, MULE_ETOOLARGE,
			    "image member %s is larger than %" PRIu64 " bytes",
			    archive_entry_pathname(e), XPORT_ISO_MAX_MEMBER);
			goto out;
		}
		if ((r = safefile_write(&sf, buf, (size_t)got, err)) != 0)
			goto out;
		done += (uint64_t)got;
	}
	r = safefile_commit(&sf, err);
out:
	safefile_abort(&sf);
	return r;
}

/*
 * Makes (*out)[n] the path DIR/NAME for the image member `name`, growing
 * *out (capacity *cap) as needed: a name met before is MULE_EFORMAT, more
 * than XPORT_ISO_MAX_MEMBERS MULE_ETOOLARGE.
 */
static int
member_path_add(char ***out, size_t *cap, size_t n, const char *dir,
    const char *name, const char *iso_path, char *err)
{
	struct strb sb;
	char **grown;
	size_t i;
	int r = MULE_EINTERNAL;

	strb_init(&sb);
	for (i = 0; i < n; i++)
		if (strcmp(base_of((*out)[i]), name) == 0) {
			r = mule_errf(err, MULE_EFORMAT, "%s holds %s twice",
			    iso_path, name);
			goto out;
		}
	if (n == XPORT_ISO_MAX_MEMBERS) {
		r = mule_errf(err, MULE_ETOOLARGE,
		    "%s holds more than %d files to extract", iso_path,
		    XPORT_ISO_MAX_MEMBERS);
		goto out;
	}
	if (n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		if ((grown = realloc(*out, *cap * sizeof(*grown))) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		*out = grown;
	}
	strb_addf(&sb, "%s/%s", dir, name);
	if (strb_error(&sb) || ((*out)[n] = strdup(strb_str(&sb))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	r = 0;
out:
	strb_release(&sb);
	return r;
}

int
xport_iso_extract(const char *iso_path, const char *dir,
    const char *suffix1, const char *suffix2, char ***paths, size_t *n,
    char *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	struct stat st;
	char **out = NULL;
	const char *name;
	uint8_t *buf = NULL;
	size_t nout = 0, cap = 0, i;
	int fd = -1, r = MULE_EINTERNAL, ar;

	if ((r = file_open_regular(iso_path, &fd, &st, err)) != 0)
		goto out;
	if ((buf = malloc(ISO_BLOCK)) == NULL ||
	    (a = archive_read_new()) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (archive_read_support_format_iso9660(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, fd, ISO_BLOCK) != ARCHIVE_OK) {
		r = mule_errf(err, MULE_EARCHIVE, "%s: %s", iso_path,
		    archive_error_string(a) != NULL ?
		    archive_error_string(a) : "not an ISO 9660 image");
		goto out;
	}
	for (;;) {
		ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			r = mule_errf(err, MULE_EARCHIVE, "%s: %s", iso_path,
			    archive_error_string(a) != NULL ?
			    archive_error_string(a) : "unreadable image");
			goto out;
		}
		name = archive_entry_pathname(e);
		if (name == NULL || archive_entry_filetype(e) != AE_IFREG ||
		    archive_entry_hardlink(e) != NULL ||
		    !xport_iso_name_ok(name) ||
		    !(has_suffix(name, suffix1) || has_suffix(name, suffix2)))
			continue;
		if ((r = member_path_add(&out, &cap, nout, dir, name,
		    iso_path, err)) != 0)
			goto out;
		if ((r = iso_extract_one(a, e, out[nout], dir, buf,
		    err)) != 0) {
			free(out[nout]);
			goto out;
		}
		nout++;
	}
	*paths = out;
	*n = nout;
	out = NULL;
	r = 0;
out:
	if (out != NULL) {
		for (i = 0; i < nout; i++)
			unlink(out[i]);
		xport_iso_paths_free(out, nout);
	}
	if (a != NULL)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	free(buf);
	return r;
}
