/*
 * transports/mailbox.c — mail settings, and the mail side of pack and
 * unpack (see mailbox.h).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/parts.h"
#include "core/error.h"
#include "core/file.h"
#include "core/strb.h"
#include "transports/dir.h"
#include "transports/mailbox.h"
#include "transports/media.h"

#define KEYID_LEN 8	/* bytes of a key id (IDENT_KEYID_LEN) */

static int
is_addr(const char *s)
{
	const char *at = strchr(s, '@');
	const char *p;

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' ||
		    *p == '>' || *p == ',' || *p == '"')
			return 0;
	return 1;
}

/* 1 when a yes-or-no setting is set to yes. */
static int
is_yes(const char *value)
{
	return value != NULL && strcmp(value, "yes") == 0;
}

/* A value that is one of two words. */
static int
check_choice(const char *key, const char *value, const char *a,
    const char *b, char *err)
{
	if (strcmp(value, a) != 0 && strcmp(value, b) != 0)
		return mule_errf(err, MULE_EINVAL, "%s is %s or %s, not '%s'",
		    key, a, b, value);
	return 0;
}

static int
check_user(const char *value, char *err)
{
	const char *p;

	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			break;
	if (*value == '\0' || *p != '\0' || strlen(value) >= 256)
		return mule_errf(err, MULE_EINVAL, "mail.user must be 1 to "
		    "255 printable characters");
	return 0;
}

static int
check_max_size(const char *value, char *err)
{
	uint64_t size;

	if (xport_size_parse(value, &size) != 0 ||
	    size < XPORT_MAIL_MIN_MAX_SIZE || size > XPORT_MAIL_MAX_MESSAGE)
		return mule_errf(err, MULE_EINVAL, "mail.max-size: '%s' is not "
		    "a size from 64k to 1G (examples: 512k, 10M, 25M)", value);
	return 0;
}

/* A file setting: made absolute. */
static int
check_file(const char *key, const char *value, char **norm, char *err)
{
	char rp[PATH_MAX];

	if (realpath(value, rp) == NULL)
		return mule_errf(err, MULE_EINVAL, "%s: %s: %s", key, value,
		    strerror(errno));
	if ((*norm = strdup(rp)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

int
xport_mail_config_check(const char *key, const char *value, char **norm,
    char *err)
{
	struct xport_mail_url u;

	*norm = NULL;
	if (strcmp(key, "mail.smtp") == 0)
		return xport_mail_url_parse(value, 1, &u, err);
	if (strcmp(key, "mail.inbox") == 0)
		return xport_mail_url_parse(value, 0, &u, err);
	if (strcmp(key, "mail.starttls") == 0 ||
	    strcmp(key, "mail.allow-cleartext-password") == 0)
		return check_choice(key, value, "yes", "no", err);
	if (strcmp(key, "mail.after-fetch") == 0)
		return check_choice(key, value, "keep", "delete", err);
	if (strcmp(key, "mail.from") == 0)
		return is_addr(value) ? 0 : mule_errf(err, MULE_EINVAL, "'%s' "
		    "is not a mail address (NAME@DOMAIN)", value);
	if (strcmp(key, "mail.user") == 0)
		return check_user(value, err);
	if (strcmp(key, "mail.max-size") == 0)
		return check_max_size(value, err);
	if (strcmp(key, "mail.password-file") == 0 ||
	    strcmp(key, "mail.ca-file") == 0)
		return check_file(key, value, norm, err);
	return mule_errf(err, MULE_ENOTFOUND, "unknown setting '%s' (known: "
	    "mail.smtp, mail.starttls, mail.from, mail.user, "
	    "mail.password-file, mail.inbox, mail.max-size, mail.after-fetch, "
	    "mail.ca-file, mail.allow-cleartext-password)", key);
}

int
xport_mail_settings_finish(struct xport_mail_settings *ms, char *err)
{
	uint8_t *pw = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	ms->max_size = XPORT_MAIL_DEFAULT_MAX_SIZE;
	if (ms->maxsize != NULL && xport_size_parse(ms->maxsize,
	    &ms->max_size) != 0)
		return mule_errf(err, MULE_EINVAL, "mail.max-size '%s' is not "
		    "a size", ms->maxsize);
	if (ms->pwfile == NULL)
		return 0;
	if (stat(ms->pwfile, &st) == 0 && (st.st_mode & 077) != 0)
		return mule_errf(err, MULE_EKEYPERM, "mail.password-file %s "
		    "can be read or written by others: run 'chmod 600 %s'",
		    ms->pwfile, ms->pwfile);
	if ((r = file_read_all(ms->pwfile, XPORT_MAIL_MAX_PASSWORD, &pw, &n,
	    err)) != 0)
		return mule_errprefix(err, r, "mail.password-file");
	while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		n--;
	pw[n] = '\0';
	ms->password = (char *)pw;
	return 0;
}

void
xport_mail_settings_release(struct xport_mail_settings *ms)
{
	free(ms->smtp);
	free(ms->starttls);
	free(ms->from);
	free(ms->user);
	free(ms->pwfile);
	free(ms->inbox);
	free(ms->maxsize);
	free(ms->after);
	free(ms->cafile);
	free(ms->cleartext);
	if (ms->password != NULL) {
		explicit_bzero(ms->password, strlen(ms->password));
		free(ms->password);
	}
	memset(ms, 0, sizeof(*ms));
}

/* ---- pack ---- */

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

/* What sending needs, in the order the problems are reported. */
static int
pack_check(const struct xport_mail_settings *ms, const char *emldir,
    const struct xport_mail_rcpt *to, size_t nto,
    struct xport_mail_smtp *smtp, char *err)
{
	size_t i;
	int r;

	if (ms->from == NULL)
		return mule_errf(err, MULE_EINVAL, "no sender address: set one "
		    "with 'mule config mail.from ADDRESS'");
	if (emldir == NULL) {
		if (ms->smtp == NULL)
			return mule_errf(err, MULE_EINVAL, "no mail server: "
			    "set one with 'mule config mail.smtp "
			    "smtp://HOST:PORT' (or write .eml files with "
			    "--eml DIR)");
		if ((r = xport_mail_url_parse(ms->smtp, 1, &smtp->url,
		    err)) != 0)
			return r;
		smtp->starttls = is_yes(ms->starttls);
		smtp->allow_cleartext = is_yes(ms->cleartext);
		smtp->user = ms->user;
		smtp->password = ms->password;
		smtp->from = ms->from;
		smtp->cafile = ms->cafile;
	}
	for (i = 0; i < nto; i++)
		if (to[i].addr == NULL)
			return mule_errf(err, MULE_EINVAL, "peer '%s' has no "
			    "mail address: set one with 'mule peer set %s "
			    "email ADDRESS'", to[i].name, to[i].name);
	return 0;
}

int
xport_mail_pack_check(const struct xport_mail_settings *ms,
    const struct xport_mail_rcpt *to, size_t nto, const char *emldir,
    char *err)
{
	struct xport_mail_smtp smtp;
	int r;

	signal(SIGPIPE, SIG_IGN);
	memset(&smtp, 0, sizeof(smtp));
	if ((r = pack_check(ms, emldir, to, nto, &smtp, err)) != 0 ||
	    emldir != NULL)
		return r;
	return xport_mail_send(&smtp, NULL, NULL, NULL, 0, err);
}

/*
 * The files to attach, in `dir`: the whole bundle when its base64 fits
 * in a message of max-size, else parts that do.  Consumes tmp.
 */
static int
pack_files(const struct xport_mail_settings *ms, const char *tmp,
    const char *dir, const char *base, char ***files, size_t *nfiles,
    char *err)
{
	struct stat st;
	struct strb sb;
	uint64_t volume;
	size_t nparts = 0;
	int r;

	if (stat(tmp, &st) != 0)
		return mule_errf(err, MULE_EIO, "%s: %s", tmp, strerror(errno));
	if (XPORT_MAIL_B64_SIZE(st.st_size) + XPORT_MAIL_OVERHEAD <=
	    ms->max_size) {
		strb_init(&sb);
		strb_addf(&sb, "%s/%s.mule", dir, base);
		if (strb_error(&sb) || strv_push(files, 0, sb.s) != 0) {
			strb_release(&sb);
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		}
		strb_release(&sb);
		*nfiles = 1;
		if (rename(tmp, (*files)[0]) != 0)
			return mule_errf(err, MULE_EIO, "cannot move %s: %s",
			    tmp, strerror(errno));
		return 0;
	}
	/* Parts whose base64 fits in a message of max-size. */
	volume = (ms->max_size - XPORT_MAIL_OVERHEAD - 80) / 78 * 76 / 4 * 3;
	if ((r = xport_media_pack(tmp, dir, base, volume, 0, NULL, &nparts,
	    NULL, NULL, NULL, err)) != 0)
		return r;
	return xport_dir_list(dir, NULL, files, nfiles, err);
}

/* The messages of one recipient: one per file. */
static int
pack_build(const struct xport_mail_settings *ms, struct xport_mail_out *o,
    char *const *files, size_t nfiles, char **msgs, size_t *lens, char *err)
{
	uint8_t *data = NULL;
	size_t i, dlen = 0;
	int r = 0;

	for (i = 0; i < nfiles && r == 0; i++) {
		if ((r = file_read_all(files[i], (size_t)ms->max_size, &data,
		    &dlen, err)) != 0)
			break;
		o->part = (unsigned)i + 1;
		o->nparts = (unsigned)nfiles;
		o->filename = base_name(files[i]);
		o->is_part = nfiles > 1;
		o->data = data;
		o->len = dlen;
		free(msgs[i]);
		msgs[i] = NULL;
		r = xport_mail_build(o, &msgs[i], &lens[i], err);
		free(data);
		data = NULL;
	}
	return r;
}

/* EMLDIR/FILE[.PEER].eml for each message of one recipient. */
static int
pack_write_eml(const char *emldir, const char *peer, int named,
    char *const *files, char *const *msgs, const size_t *lens, size_t n,
    char *err)
{
	struct strb sb;
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		strb_init(&sb);
		strb_addf(&sb, "%s%s%s", emldir,
		    emldir[strlen(emldir) - 1] == '/' ? "" : "/",
		    base_name(files[i]));
		if (named)
			strb_addf(&sb, ".%s", peer);
		strb_add(&sb, ".eml");
		r = strb_error(&sb) ? MULE_ENOMEM : file_write_atomic(
		    strb_str(&sb), msgs[i], lens[i], 0644, 0, err);
		strb_release(&sb);
	}
	return r;
}

/* Builds and sends (or writes) the messages for every recipient. */
static int
pack_send(const struct xport_mail_settings *ms,
    const struct xport_mail_smtp *smtp, struct xport_mail_out *o,
    const struct xport_mail_rcpt *to, size_t nto, const char *emldir,
    char *const *files, size_t nfiles, struct strb *where, char *err)
{
	char **msgs = NULL;
	size_t *lens = NULL, i, k;
	int r = 0;

	if ((msgs = calloc(nfiles, sizeof(char *))) == NULL ||
	    (lens = calloc(nfiles, sizeof(size_t))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < nto && r == 0; k++) {
		o->to = to[k].addr;
		if ((r = pack_build(ms, o, files, nfiles, msgs, lens,
		    err)) != 0)
			break;
		if (emldir != NULL) {
			r = pack_write_eml(emldir, to[k].name, nto > 1, files,
			    msgs, lens, nfiles, err);
			continue;
		}
		if ((r = xport_mail_send(smtp, to[k].addr, msgs, lens, nfiles,
		    err)) == 0)
			strb_addf(where, "%s%s <%s>", k ? ", " : "",
			    to[k].name, to[k].addr);
	}
out:
	for (i = 0; msgs != NULL && i < nfiles; i++)
		free(msgs[i]);
	free(msgs);
	free(lens);
	return r;
}

int
xport_mail_pack(const struct xport_mail_settings *ms, const char *tmp,
    const char *scratch, const char *base, const char *idhex,
    const char *site, const struct xport_mail_rcpt *to, size_t nto,
    const char *emldir, size_t *nmsgs, char **where, char *err)
{
	struct xport_mail_smtp smtp;
	struct xport_mail_out o;
	struct strb keys, w;
	char **files = NULL;
	size_t nfiles = 0, i;
	int r, made = 0;

	/* A server closing the connection must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	memset(&smtp, 0, sizeof(smtp));
	memset(&o, 0, sizeof(o));
	strb_init(&keys);
	strb_init(&w);
	if ((r = pack_check(ms, emldir, to, nto, &smtp, err)) != 0)
		goto out;
	for (i = 0; i < nto; i++) {
		strb_add(&keys, i ? ", " : "");
		strb_add_hex(&keys, to[i].key_id, KEYID_LEN);
	}
	if (mkdir(scratch, 0700) != 0) {
		r = mule_errf(err, file_errno_code(errno), "cannot make %s: %s",
		    scratch, strerror(errno));
		goto out;
	}
	made = 1;
	if ((r = pack_files(ms, tmp, scratch, base, &files, &nfiles,
	    err)) != 0)
		goto out;
	o.from = ms->from;
	o.site = site;
	o.bundle_hex = idhex;
	o.to_keys = strb_str(&keys);
	if ((r = pack_send(ms, &smtp, &o, to, nto, emldir, files, nfiles, &w,
	    err)) != 0)
		goto out;
	if (emldir != NULL)
		strb_add(&w, emldir);
	if (strb_error(&w) || strb_error(&keys)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	*nmsgs = nfiles;
	*where = strb_detach(&w);
	r = 0;
out:
	unlink(tmp);
	if (made)
		xport_dir_remove(scratch);
	strv_free(files, nfiles);
	strb_release(&keys);
	strb_release(&w);
	return r;
}

/* ---- unpack --mail, and .eml files ---- */

struct mail_msg {
	size_t idx;		/* in the mailbox */
	int inbox;		/* from the mailbox (else an .eml file) */
	char *path;		/* attachment file */
	char *label;		/* for messages: "NAME (mail message N)" */
	int ok;			/* applied or already applied or spooled */
	int bad;		/* its attachment failed */
};

struct xport_mail_fetch {
	struct xport_mailbox *mb;
	char *scratch;		/* where attachments go */
	int made;		/* scratch was made */
	struct mail_msg *v;
	size_t n;
	struct xport_mail_fetch_summary sum;
};

int
xport_mail_is_eml(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && strcasecmp(path + n - 4, ".eml") == 0;
}

int
xport_mail_fetch_new(const char *scratch, struct xport_mail_fetch **out,
    char *err)
{
	struct xport_mail_fetch *mf;

	if ((mf = calloc(1, sizeof(*mf))) == NULL ||
	    (mf->scratch = strdup(scratch)) == NULL) {
		free(mf);
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	}
	*out = mf;
	return 0;
}

void
xport_mail_fetch_free(struct xport_mail_fetch *mf)
{
	char *slash;
	size_t i;

	if (mf == NULL)
		return;
	xport_mailbox_free(mf->mb);
	for (i = 0; mf->made && i < mf->n; i++) {
		unlink(mf->v[i].path);
		if ((slash = strrchr(mf->v[i].path, '/')) != NULL) {
			*slash = '\0';
			rmdir(mf->v[i].path);
		}
	}
	if (mf->made)
		rmdir(mf->scratch);
	for (i = 0; i < mf->n; i++) {
		free(mf->v[i].path);
		free(mf->v[i].label);
	}
	free(mf->v);
	free(mf->scratch);
	free(mf);
}

/* The scratch directory, made on first use. */
static int
fetch_dir(struct xport_mail_fetch *mf, char *err)
{
	if (mf->made)
		return 0;
	if (mkdir(mf->scratch, 0700) != 0)
		return mule_errf(err, MULE_EIO, "cannot make a scratch "
		    "directory %s: %s", mf->scratch, strerror(errno));
	mf->made = 1;
	return 0;
}

/* SCRATCH/mNNNNN/NAME (from the mailbox) or SCRATCH/eNNNNN/NAME: the
 * directory is made, *path is a heap string. */
static int
fetch_path(struct xport_mail_fetch *mf, int inbox, size_t idx,
    const struct xport_mail_in *in, char **path, char *err)
{
	struct strb sb;
	int r;

	strb_init(&sb);
	strb_addf(&sb, "%s/%c%05zu", mf->scratch, inbox ? 'm' : 'e', idx + 1);
	if (strb_error(&sb) || mkdir(strb_str(&sb), 0700) != 0) {
		r = mule_errf(err, MULE_EIO, "cannot make %s: %s",
		    strb_str(&sb), strerror(errno));
		strb_release(&sb);
		return r;
	}
	if (in->filename != NULL)
		strb_addf(&sb, "/%s", in->filename);
	else
		strb_addf(&sb, "/%s%s", in->bundle_hex, in->is_part ?
		    PARTS_SUFFIX : ".mule");
	if ((*path = strb_detach(&sb)) == NULL)
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	return 0;
}

/* Saves one attachment and adds it to mf. */
static int
fetch_save(struct xport_mail_fetch *mf, int inbox, size_t idx,
    const struct xport_mail_in *in, const char *from, char *err)
{
	struct mail_msg *nv;
	struct strb lb;
	char *path = NULL;
	int r;

	if ((r = fetch_path(mf, inbox, idx, in, &path, err)) != 0)
		return r;
	strb_init(&lb);
	strb_add(&lb, base_name(path));
	if (inbox)
		strb_addf(&lb, " (mail message %zu)", idx + 1);
	else
		strb_addf(&lb, " (in %s)", from);
	if (strb_error(&lb) ||
	    (nv = realloc(mf->v, (mf->n + 1) * sizeof(*nv))) == NULL) {
		free(path);
		strb_release(&lb);
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	}
	mf->v = nv;
	memset(&nv[mf->n], 0, sizeof(nv[0]));
	nv[mf->n].idx = idx;
	nv[mf->n].inbox = inbox;
	nv[mf->n].path = path;
	nv[mf->n].label = strb_detach(&lb);
	mf->n++;
	return file_write_atomic(path, in->data, in->len, 0600, 1, err);
}

/* Opens the inbox the settings name. */
static int
fetch_open(struct xport_mail_fetch *mf, const struct xport_mail_settings *ms,
    int dry, char *err)
{
	struct xport_mail_inbox in;
	int r;

	memset(&in, 0, sizeof(in));
	if (ms->inbox == NULL)
		return mule_errf(err, MULE_EINVAL, "no mailbox to fetch from: "
		    "set one with 'mule config mail.inbox URL' "
		    "(imap://USER@HOST:PORT, pop3://..., maildir:/PATH or "
		    "mbox:/PATH)");
	if ((r = xport_mail_url_parse(ms->inbox, 0, &in.url, err)) != 0)
		return r;
	in.user = ms->user;
	in.password = ms->password;
	in.starttls = is_yes(ms->starttls);
	in.allow_cleartext = is_yes(ms->cleartext);
	in.max_size = ms->max_size;
	in.cafile = ms->cafile;
	in.readonly = dry || ms->after == NULL ||
	    strcmp(ms->after, "delete") != 0;
	mf->sum.del = !in.readonly;
	snprintf(mf->sum.where, sizeof(mf->sum.where), "%s", ms->inbox);
	if ((r = xport_mailbox_open(&in, &mf->mb, err)) != 0)
		return r;
	mf->sum.inbox = 1;
	return fetch_dir(mf, err);
}

/*
 * Message i of the inbox: saved (1), not for us or not mule mail (0), or
 * an error.  A message that cannot be read goes to note() (0).
 */
static int
fetch_one(struct xport_mail_fetch *mf, const struct xport_mail_settings *ms,
    const char *keyhex, size_t i, xport_mail_note_fn note, void *narg,
    char *err)
{
	char e2[MULE_ERRLEN] = "", msg[MULE_ERRLEN + XPORT_MAIL_MAX_URL + 64];
	struct xport_mail_in in;
	uint8_t *raw = NULL;
	size_t len = 0;
	int r;

	xport_mail_in_init(&in);
	r = xport_mailbox_get(mf->mb, i, &raw, &len, e2);
	if (r == 0)
		r = xport_mail_parse(raw, len, (size_t)ms->max_size, &in, e2);
	if (r == MULE_ENOTFOUND) {
		r = 0;			/* other mail: left alone */
	} else if (r == MULE_ENET) {
		r = mule_errf(err, r, "%s", e2);
	} else if (r != 0) {
		snprintf(msg, sizeof(msg), "message %zu in %s: %s: left in "
		    "the mailbox", i + 1, mf->sum.where, e2);
		note(narg, r, msg);
		mf->sum.nbad++;
		r = 0;
	} else {
		mf->sum.nmule++;
		if (!xport_mail_in_for(&in, keyhex))
			mf->sum.nother++;
		else if ((r = fetch_save(mf, 1, i, &in, NULL, err)) == 0)
			r = 1;
	}
	free(raw);
	xport_mail_in_release(&in);
	return r;
}

int
xport_mail_fetch_inbox(struct xport_mail_fetch *mf,
    const struct xport_mail_settings *ms, const char *keyhex, int dry,
    char ***paths, size_t *npaths, xport_mail_note_fn note, void *narg,
    char *err)
{
	size_t i;
	int r;

	signal(SIGPIPE, SIG_IGN);
	if ((r = fetch_open(mf, ms, dry, err)) != 0)
		return r;
	for (i = 0; i < xport_mailbox_count(mf->mb); i++) {
		if ((r = fetch_one(mf, ms, keyhex, i, note, narg, err)) < 0)
			return r;
		if (r == 0)
			continue;
		if (strv_push(paths, *npaths, mf->v[mf->n - 1].path) != 0)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		(*npaths)++;
	}
	return 0;
}

/* One .eml file: its attachment saved (1), or dropped (0), or an error
 * that stops everything (< 0). */
static int
fetch_eml_one(struct xport_mail_fetch *mf,
    const struct xport_mail_settings *ms, const char *keyhex,
    const char *path, xport_mail_note_fn note, void *narg, char *err)
{
	char e2[MULE_ERRLEN] = "", msg[MULE_ERRLEN + PATH_MAX];
	struct xport_mail_in in;
	uint8_t *raw = NULL;
	size_t len = 0;
	int r;

	if ((r = fetch_dir(mf, err)) != 0)
		return r;
	xport_mail_in_init(&in);
	if ((r = file_read_all(path, (size_t)ms->max_size, &raw, &len,
	    e2)) == 0)
		r = xport_mail_parse(raw, len, (size_t)ms->max_size, &in, e2);
	if (r == 0 && !xport_mail_in_for(&in, keyhex)) {
		snprintf(msg, sizeof(msg), "%s: a mule message for other "
		    "sites; skipped", path);
		note(narg, 0, msg);
	} else {
		if (r == 0)
			r = fetch_save(mf, 0, mf->n, &in, path, e2);
		if (r != 0) {
			snprintf(msg, sizeof(msg), "%s: %s", path, e2);
			note(narg, r, msg);
		}
		r = r == 0;
	}
	free(raw);
	xport_mail_in_release(&in);
	return r;
}

int
xport_mail_fetch_eml(struct xport_mail_fetch *mf,
    const struct xport_mail_settings *ms, const char *keyhex, char **paths,
    size_t *npaths, xport_mail_note_fn note, void *narg, char *err)
{
	size_t i, k = 0;
	char *d;
	int r = 0;

	for (i = 0; i < *npaths && r == 0; i++) {
		if (!xport_mail_is_eml(paths[i])) {
			paths[k++] = paths[i];
			continue;
		}
		if ((r = fetch_eml_one(mf, ms, keyhex, paths[i], note, narg,
		    err)) < 0)
			break;
		if (r == 1 && (d = strdup(mf->v[mf->n - 1].path)) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		free(paths[i]);
		if (r == 1)
			paths[k++] = d;
		r = 0;
	}
	/* Keep the list whole: the paths not looked at follow. */
	for (; i < *npaths; i++)
		paths[k++] = paths[i];
	*npaths = k;
	return r;
}

void
xport_mail_fetch_result(struct xport_mail_fetch *mf, const char *path, int r)
{
	size_t i;

	if (mf == NULL)
		return;
	for (i = 0; i < mf->n; i++)
		if (strcmp(mf->v[i].path, path) == 0) {
			if (r == 0 || r == MULE_EAPPLIED)
				mf->v[i].ok = 1;
			else
				mf->v[i].bad = 1;
		}
}

const char *
xport_mail_fetch_label(const struct xport_mail_fetch *mf, const char *path)
{
	size_t i;

	if (mf == NULL)
		return NULL;
	for (i = 0; i < mf->n; i++)
		if (strcmp(mf->v[i].path, path) == 0)
			return mf->v[i].label;
	return NULL;
}

int
xport_mail_fetch_finish(struct xport_mail_fetch *mf,
    struct xport_mail_fetch_summary *sum, char *err)
{
	size_t i;
	int r;

	memset(sum, 0, sizeof(*sum));
	if (mf == NULL)
		return 0;
	*sum = mf->sum;
	if (mf->mb == NULL) {
		xport_mail_fetch_free(mf);
		sum->inbox = 0;
		return 0;		/* only .eml files */
	}
	for (i = 0; i < mf->n; i++) {
		if (!mf->v[i].inbox || !mf->v[i].ok || mf->v[i].bad)
			continue;
		if (sum->del && xport_mailbox_mark(mf->mb, mf->v[i].idx,
		    NULL) != 0)
			break;
	}
	r = xport_mailbox_close(mf->mb, &sum->ndeleted, err);
	mf->mb = NULL;
	xport_mail_fetch_free(mf);
	return r;
}
