/*
 * cli/cmd_mail.c — mail settings and the mail side of pack and unpack
 * (see cmd_mail.h).
 */
#include <dirent.h>
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
#include "cli/cmd_mail.h"
#include "transports/media.h"
#include "transports/spool.h"
#include "core/file.h"
#include "core/strb.h"

const char *const mail_config_keys[] = {
	"mail.smtp", "mail.starttls", "mail.from", "mail.user",
	"mail.password-file", "mail.inbox", "mail.max-size",
	"mail.after-fetch", "mail.ca-file", NULL,
};

const char *const mail_config_help[] = {
	"smtp://HOST[:PORT] or smtps://HOST[:PORT]: where pack --mail sends",
	"yes or no: STARTTLS on smtp:// (default no)",
	"the From address of mule's messages",
	"login for SMTP AUTH, and for the inbox when its URL has no user",
	"a file holding the password (never on the command line)",
	"imap[s]://USER@HOST[:PORT][/MAILBOX], pop3[s]://USER@HOST[:PORT], "
	    "maildir:/PATH or mbox:/PATH",
	"largest message to send or fetch (default 10M); bigger bundles go "
	    "as parts",
	"keep or delete: what unpack --mail does with applied messages "
	    "(default keep)",
	"PEM file of the certificates that sign the servers' TLS "
	    "certificates (default: the system's)",
	NULL,
};

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

int
mail_config_check(const char *key, const char *value, char **norm, char *err)
{
	struct xport_mail_url u;
	char rp[PATH_MAX];
	uint64_t size;
	const char *p;

	*norm = NULL;
	if (strcmp(key, "mail.smtp") == 0)
		return xport_mail_url_parse(value, 1, &u, err);
	if (strcmp(key, "mail.inbox") == 0)
		return xport_mail_url_parse(value, 0, &u, err);
	if (strcmp(key, "mail.starttls") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return mule_errf(err, MULE_EINVAL, "mail.starttls is "
			    "yes or no, not '%s'", value);
		return 0;
	}
	if (strcmp(key, "mail.after-fetch") == 0) {
		if (strcmp(value, "keep") != 0 && strcmp(value, "delete") != 0)
			return mule_errf(err, MULE_EINVAL, "mail.after-fetch "
			    "is keep or delete, not '%s'", value);
		return 0;
	}
	if (strcmp(key, "mail.from") == 0) {
		if (!is_addr(value))
			return mule_errf(err, MULE_EINVAL, "'%s' is not a mail "
			    "address (NAME@DOMAIN)", value);
		return 0;
	}
	if (strcmp(key, "mail.user") == 0) {
		for (p = value; *p != '\0'; p++)
			if ((unsigned char)*p < ' ' || *p == 0x7f)
				break;
		if (*value == '\0' || *p != '\0' || strlen(value) >= 256)
			return mule_errf(err, MULE_EINVAL, "mail.user must be "
			    "1 to 255 printable characters");
		return 0;
	}
	if (strcmp(key, "mail.max-size") == 0) {
		if (cli_parse_size(value, &size) != 0 ||
		    size < MAIL_MIN_MAX_SIZE ||
		    size > XPORT_MAIL_MAX_MESSAGE)
			return mule_errf(err, MULE_EINVAL, "mail.max-size: '%s' "
			    "is not a size from 64k to 1G (examples: 512k, "
			    "10M, 25M)", value);
		return 0;
	}
	if (strcmp(key, "mail.password-file") == 0 ||
	    strcmp(key, "mail.ca-file") == 0) {
		if (realpath(value, rp) == NULL)
			return mule_errf(err, MULE_EINVAL, "%s: %s: %s", key,
			    value, strerror(errno));
		if ((*norm = strdup(rp)) == NULL)
			return mule_errf(err, MULE_ENOMEM, "out of memory");
		return 0;
	}
	return mule_errf(err, MULE_ENOTFOUND, "unknown setting '%s' (known: "
	    "mail.smtp, mail.starttls, mail.from, mail.user, "
	    "mail.password-file, mail.inbox, mail.max-size, mail.after-fetch, "
	    "mail.ca-file)",
	    key);
}

/* ---- settings for sending and fetching ---- */

struct mail_settings {
	char *smtp, *starttls, *from, *user, *pwfile, *inbox, *maxsize;
	char *after, *cafile;
	char *password;
	uint64_t max_size;
};

static void
settings_release(struct mail_settings *ms)
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
	if (ms->password != NULL) {
		explicit_bzero(ms->password, strlen(ms->password));
		free(ms->password);
	}
	memset(ms, 0, sizeof(*ms));
}

static int
settings_load(struct replica *rp, struct mail_settings *ms, char *err)
{
	uint8_t *pw = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	memset(ms, 0, sizeof(*ms));
	if ((r = replica_config_get(rp, "mail.smtp", &ms->smtp, err)) != 0 ||
	    (r = replica_config_get(rp, "mail.starttls", &ms->starttls,
	    err)) != 0 ||
	    (r = replica_config_get(rp, "mail.from", &ms->from, err)) != 0 ||
	    (r = replica_config_get(rp, "mail.user", &ms->user, err)) != 0 ||
	    (r = replica_config_get(rp, "mail.password-file", &ms->pwfile,
	    err)) != 0 ||
	    (r = replica_config_get(rp, "mail.inbox", &ms->inbox, err)) != 0 ||
	    (r = replica_config_get(rp, "mail.max-size", &ms->maxsize,
	    err)) != 0 ||
	    (r = replica_config_get(rp, "mail.after-fetch", &ms->after,
	    err)) != 0 ||
	    (r = replica_config_get(rp, "mail.ca-file", &ms->cafile,
	    err)) != 0)
		return r;
	ms->max_size = MAIL_DEFAULT_MAX_SIZE;
	if (ms->maxsize != NULL && cli_parse_size(ms->maxsize,
	    &ms->max_size) != 0)
		return mule_errf(err, MULE_EINVAL, "mail.max-size '%s' is not "
		    "a size", ms->maxsize);
	if (ms->pwfile != NULL) {
		if (stat(ms->pwfile, &st) == 0 && (st.st_mode & 077) != 0)
			return mule_errf(err, MULE_EKEYPERM, "mail.password-file "
			    "%s can be read or written by others: run 'chmod "
			    "600 %s'", ms->pwfile, ms->pwfile);
		if ((r = file_read_all(ms->pwfile, MAIL_MAX_PASSWORD, &pw, &n,
		    err)) != 0)
			return mule_errprefix(err, r, "mail.password-file");
		while (n > 0 && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
			n--;
		pw[n] = '\0';
		ms->password = (char *)pw;
	}
	return 0;
}

/* ---- pack ---- */

/* The files media_pack wrote into dir, sorted by name (heap). */
static int
list_files(const char *dir, char ***v, size_t *n, char *err)
{
	struct dirent *de;
	struct strb sb;
	char **nv;
	DIR *d;
	size_t i, j;
	int r = 0;

	*v = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return mule_errf(err, MULE_EIO, "cannot read %s: %s", dir,
		    strerror(errno));
	while ((de = readdir(d)) != NULL && r == 0) {
		if (de->d_name[0] == '.')
			continue;
		strb_init(&sb);
		strb_addf(&sb, "%s/%s", dir, de->d_name);
		if ((nv = realloc(*v, (*n + 1) * sizeof(char *))) == NULL ||
		    strb_error(&sb)) {
			strb_release(&sb);
			if (nv != NULL)
				*v = nv;
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			break;
		}
		*v = nv;
		nv[(*n)++] = strb_detach(&sb);
	}
	closedir(d);
	for (i = 1; i < *n; i++)
		for (j = i; j > 0 && strcmp((*v)[j - 1], (*v)[j]) > 0; j--) {
			char *t = (*v)[j];
			(*v)[j] = (*v)[j - 1];
			(*v)[j - 1] = t;
		}
	return r;
}

static void
remove_dir(const char *dir)
{
	char **v = NULL;
	size_t i, n = 0;

	if (list_files(dir, &v, &n, NULL) == 0)
		for (i = 0; i < n; i++)
			unlink(v[i]);
	strv_free(v, n);
	rmdir(dir);
}

static const char *
base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s != NULL ? s + 1 : p;
}

int
mail_pack(struct replica *rp, const char *db, const char *tmp,
    const char *base, const char *idhex, const char *site,
    const struct replica_peer *peers, size_t npeers, const char *emldir,
    size_t *nmsgs, char **where, char *err)
{
	struct mail_settings ms;
	struct xport_mail_smtp smtp;
	struct xport_mail_out o;
	struct stat st;
	struct strb sb, keys, w;
	char **files = NULL, **msgs = NULL, **addrs = NULL, *dir = NULL;
	size_t *lens = NULL, nfiles = 0, i, k, nparts = 0;
	uint8_t *data = NULL;
	size_t dlen = 0;
	uint64_t volume;
	int r;

	/* A server closing the connection must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	memset(&smtp, 0, sizeof(smtp));
	strb_init(&sb);
	strb_init(&keys);
	strb_init(&w);
	if ((r = settings_load(rp, &ms, err)) != 0)
		goto out;
	if (ms.from == NULL) {
		r = mule_errf(err, MULE_EINVAL, "no sender address: set one "
		    "with 'mule config mail.from ADDRESS'");
		goto out;
	}
	if (emldir == NULL) {
		if (ms.smtp == NULL) {
			r = mule_errf(err, MULE_EINVAL, "no mail server: set "
			    "one with 'mule config mail.smtp smtp://HOST:PORT'"
			    " (or write .eml files with --eml DIR)");
			goto out;
		}
		if ((r = xport_mail_url_parse(ms.smtp, 1, &smtp.url, err)) != 0)
			goto out;
		smtp.starttls = ms.starttls != NULL &&
		    strcmp(ms.starttls, "yes") == 0;
		smtp.user = ms.user;
		smtp.password = ms.password;
		smtp.from = ms.from;
		smtp.cafile = ms.cafile;
	}
	if ((addrs = calloc(npeers, sizeof(char *))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < npeers; i++) {
		if ((r = replica_peer_prop(rp, peers[i].name, "email",
		    &addrs[i], err)) != 0)
			goto out;
		if (addrs[i] == NULL) {
			r = mule_errf(err, MULE_EINVAL, "peer '%s' has no mail "
			    "address: set one with 'mule peer set %s email "
			    "ADDRESS'", peers[i].name, peers[i].name);
			goto out;
		}
		strb_add(&keys, i ? ", " : "");
		strb_add_hex(&keys, peers[i].pub.key_id, IDENT_KEYID_LEN);
	}
	/* A scratch directory beside the database for the parts. */
	strb_addf(&sb, "%s.mule-mail-%ld", db, (long)getpid());
	if ((dir = strb_detach(&sb)) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0700) != 0) {
		r = mule_errf(err, file_errno_code(errno), "cannot make %s: %s",
		    dir, strerror(errno));
		free(dir);
		dir = NULL;
		goto out;
	}
	if (stat(tmp, &st) != 0) {
		r = mule_errf(err, MULE_EIO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (XPORT_MAIL_B64_SIZE(st.st_size) + XPORT_MAIL_OVERHEAD <=
	    ms.max_size) {
		strb_init(&sb);
		strb_addf(&sb, "%s/%s.mule", dir, base);
		if ((files = calloc(1, sizeof(char *))) == NULL ||
		    (files[0] = strb_detach(&sb)) == NULL) {
			r = mule_errf(err, MULE_ENOMEM, "out of memory");
			goto out;
		}
		nfiles = 1;
		if (rename(tmp, files[0]) != 0) {
			r = mule_errf(err, MULE_EIO, "cannot move %s: %s", tmp,
			    strerror(errno));
			goto out;
		}
	} else {
		/* Parts whose base64 fits in a message of max-size. */
		volume = (ms.max_size - XPORT_MAIL_OVERHEAD - 80) / 78 * 76 /
		    4 * 3;
		if ((r = xport_media_pack(tmp, dir, base, volume, 0, NULL, &nparts,
		    err)) != 0 ||
		    (r = list_files(dir, &files, &nfiles, err)) != 0)
			goto out;
	}
	if ((msgs = calloc(nfiles, sizeof(char *))) == NULL ||
	    (lens = calloc(nfiles, sizeof(size_t))) == NULL) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < npeers; k++) {
		for (i = 0; i < nfiles; i++) {
			if ((r = file_read_all(files[i], (size_t)ms.max_size,
			    &data, &dlen, err)) != 0)
				goto out;
			memset(&o, 0, sizeof(o));
			o.from = ms.from;
			o.to = addrs[k];
			o.site = site;
			o.bundle_hex = idhex;
			o.part = (unsigned)i + 1;
			o.nparts = (unsigned)nfiles;
			o.to_keys = strb_str(&keys);
			o.filename = base_name(files[i]);
			o.is_part = nfiles > 1;
			o.data = data;
			o.len = dlen;
			free(msgs[i]);
			msgs[i] = NULL;
			r = xport_mail_build(&o, &msgs[i], &lens[i], err);
			free(data);
			data = NULL;
			if (r != 0)
				goto out;
		}
		if (emldir == NULL) {
			if ((r = xport_mail_send(&smtp, addrs[k], msgs, lens,
			    nfiles, err)) != 0)
				goto out;
			strb_addf(&w, "%s%s <%s>", k ? ", " : "",
			    peers[k].name, addrs[k]);
			continue;
		}
		for (i = 0; i < nfiles; i++) {
			strb_init(&sb);
			strb_addf(&sb, "%s%s%s", emldir,
			    emldir[strlen(emldir) - 1] == '/' ? "" : "/",
			    base_name(files[i]));
			if (npeers > 1)
				strb_addf(&sb, ".%s", peers[k].name);
			strb_add(&sb, ".eml");
			r = strb_error(&sb) ? MULE_ENOMEM :
			    file_write_atomic(strb_str(&sb), msgs[i], lens[i],
			    0644, 0, err);
			strb_release(&sb);
			if (r != 0)
				goto out;
		}
	}
	if (emldir != NULL)
		strb_add(&w, emldir);
	if (strb_error(&w)) {
		r = mule_errf(err, MULE_ENOMEM, "out of memory");
		goto out;
	}
	*nmsgs = nfiles;
	*where = strb_detach(&w);
	r = 0;
out:
	unlink(tmp);
	if (dir != NULL) {
		remove_dir(dir);
		free(dir);
	}
	if (msgs != NULL)
		for (i = 0; i < nfiles; i++)
			free(msgs[i]);
	free(msgs);
	free(lens);
	free(data);
	strv_free(files, nfiles);
	if (addrs != NULL)
		strv_free(addrs, npeers);
	strb_release(&sb);
	strb_release(&keys);
	strb_release(&w);
	settings_release(&ms);
	return r;
}

/* ---- unpack --mail ---- */

struct mail_msg {
	size_t idx;		/* in the mailbox */
	int inbox;		/* from the mailbox (else an .eml file) */
	char *path;		/* attachment file */
	char *label;		/* for messages: "NAME (mail message N)" */
	int ok;			/* applied or already applied or spooled */
	int bad;		/* its attachment failed */
};

struct mail_fetch {
	struct xport_mailbox *mb;
	char *dir;
	struct mail_msg *v;
	size_t n;
	int del;
	size_t nmule, nother, nbad;
	char where[XPORT_MAIL_MAX_URL];
};

static void
fetch_free(struct mail_fetch *mf)
{
	size_t i;

	if (mf == NULL)
		return;
	xport_mailbox_free(mf->mb);
	if (mf->dir != NULL) {
		for (i = 0; i < mf->n; i++) {
			char *slash;
			unlink(mf->v[i].path);
			if ((slash = strrchr(mf->v[i].path, '/')) != NULL) {
				*slash = '\0';
				rmdir(mf->v[i].path);
			}
		}
		rmdir(mf->dir);
		free(mf->dir);
	}
	for (i = 0; i < mf->n; i++) {
		free(mf->v[i].path);
		free(mf->v[i].label);
	}
	free(mf->v);
	free(mf);
}

/* The scratch directory beside the database, made on first use. */
static int
fetch_dir(struct cli *c, struct mail_fetch *mf)
{
	struct strb sb;

	if (mf->dir != NULL)
		return 0;
	strb_init(&sb);
	strb_addf(&sb, "%s.mule-mail-%ld", c->db, (long)getpid());
	if ((mf->dir = strb_detach(&sb)) == NULL ||
	    mkdir(mf->dir, 0700) != 0) {
		cli_error("cannot make a scratch directory beside %s: %s",
		    c->db, strerror(errno));
		free(mf->dir);
		mf->dir = NULL;
		return EXIT_FAIL;
	}
	return 0;
}

/*
 * Saves one attachment as DIR/mNNNNN/NAME (from the mailbox) or
 * DIR/eNNNNN/NAME (from an .eml file); adds it to mf.
 */
static int
fetch_save(struct mail_fetch *mf, int inbox, size_t idx,
    const struct xport_mail_in *in, const char *from, char *err)
{
	struct mail_msg *nv;
	struct strb sb, lb;
	char *path;
	int r;

	strb_init(&sb);
	strb_init(&lb);
	strb_addf(&sb, "%s/%c%05zu", mf->dir, inbox ? 'm' : 'e', idx + 1);
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
	strb_add(&lb, base_name(strb_str(&sb)));
	if (inbox)
		strb_addf(&lb, " (mail message %zu)", idx + 1);
	else
		strb_addf(&lb, " (in %s)", from);
	if (strb_error(&lb) || (path = strb_detach(&sb)) == NULL) {
		strb_release(&sb);
		strb_release(&lb);
		return mule_errf(err, MULE_ENOMEM, "out of memory");
	}
	if ((nv = realloc(mf->v, (mf->n + 1) * sizeof(*nv))) == NULL) {
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

int
mail_fetch_run(struct cli *c, struct replica *rp, const char *keyhex,
    int dry, struct mail_fetch **out, char ***paths, size_t *npaths,
    int **fromdir, int *worst)
{
	char err[MULE_ERRLEN] = "";
	struct xport_mail_inbox in;
	struct mail_settings ms;
	struct xport_mail_in msg;
	struct mail_fetch *mf = *out;
	uint8_t *raw = NULL;
	size_t i, len = 0;
	char **nv;
	int *nf;
	int r, rc = EXIT_FAIL;

	signal(SIGPIPE, SIG_IGN);
	memset(&in, 0, sizeof(in));
	xport_mail_in_init(&msg);
	if ((r = settings_load(rp, &ms, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (ms.inbox == NULL) {
		cli_error("no mailbox to fetch from: set one with 'mule config "
		    "mail.inbox URL' (imap://USER@HOST:PORT, pop3://..., "
		    "maildir:/PATH or mbox:/PATH)");
		goto out;
	}
	if ((r = xport_mail_url_parse(ms.inbox, 0, &in.url, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	in.user = ms.user;
	in.password = ms.password;
	in.max_size = ms.max_size;
	in.cafile = ms.cafile;
	in.readonly = dry || ms.after == NULL ||
	    strcmp(ms.after, "delete") != 0;
	if (mf == NULL && (mf = calloc(1, sizeof(*mf))) == NULL) {
		rc = cli_fail(MULE_ENOMEM, NULL);
		goto out;
	}
	*out = mf;			/* the caller frees it, whatever happens */
	mf->del = !in.readonly;
	snprintf(mf->where, sizeof(mf->where), "%s", ms.inbox);
	if ((r = xport_mailbox_open(&in, &mf->mb, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (fetch_dir(c, mf) != 0)
		goto out;
	for (i = 0; i < xport_mailbox_count(mf->mb); i++) {
		err[0] = '\0';
		free(raw);
		raw = NULL;
		xport_mail_in_release(&msg);
		r = xport_mailbox_get(mf->mb, i, &raw, &len, err);
		if (r == 0)
			r = xport_mail_parse(raw, len, (size_t)ms.max_size, &msg,
			    err);
		if (r == MULE_ENOTFOUND)
			continue;		/* other mail: left alone */
		if (r == MULE_ENET) {
			rc = cli_fail(r, err);
			goto out;
		}
		if (r != 0) {
			cli_error("message %zu in %s: %s: left in the mailbox",
			    i + 1, mf->where, err);
			mf->nbad++;
			*worst = *worst > EXIT_FAIL ? *worst : EXIT_FAIL;
			continue;
		}
		mf->nmule++;
		if (!xport_mail_in_for(&msg, keyhex)) {
			mf->nother++;
			continue;
		}
		if ((r = fetch_save(mf, 1, i, &msg, NULL, err)) != 0) {
			rc = cli_fail(r, err);
			goto out;
		}
		if ((nv = realloc(*paths, (*npaths + 1) * sizeof(char *))) ==
		    NULL) {
			rc = cli_fail(MULE_ENOMEM, NULL);
			goto out;
		}
		*paths = nv;
		if ((nv[*npaths] = strdup(mf->v[mf->n - 1].path)) == NULL) {
			rc = cli_fail(MULE_ENOMEM, NULL);
			goto out;
		}
		(*npaths)++;
		if ((nf = realloc(*fromdir, (*npaths + 1) * sizeof(int))) ==
		    NULL) {
			rc = cli_fail(MULE_ENOMEM, NULL);
			goto out;
		}
		*fromdir = nf;
		nf[*npaths - 1] = 1;
	}
	rc = EXIT_OK;
out:
	free(raw);
	xport_mail_in_release(&msg);
	settings_release(&ms);
	return rc;
}

void
mail_fetch_result(struct mail_fetch *mf, const char *path, int r)
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

int
mail_fetch_finish(struct mail_fetch *mf)
{
	char err[MULE_ERRLEN] = "";
	size_t i, ndel = 0, nok = 0;
	int r, rc = EXIT_OK;

	if (mf == NULL)
		return EXIT_OK;
	if (mf->mb == NULL) {
		fetch_free(mf);
		return EXIT_OK;		/* only .eml files */
	}
	for (i = 0; i < mf->n; i++) {
		if (!mf->v[i].inbox || !mf->v[i].ok || mf->v[i].bad)
			continue;
		nok++;
		if (mf->del && xport_mailbox_mark(mf->mb, mf->v[i].idx,
		    NULL) != 0)
			break;
	}
	r = xport_mailbox_close(mf->mb, &ndel, err);
	mf->mb = NULL;
	if (r != 0)
		rc = cli_fail(r, err);
	printf("fetched %zu mule message%s from %s", mf->nmule,
	    mf->nmule == 1 ? "" : "s", mf->where);
	if (mf->nother > 0)
		printf("; %zu for other sites left alone", mf->nother);
	if (mf->nbad > 0)
		printf("; %zu unreadable", mf->nbad);
	if (mf->del)
		printf("; %zu deleted", ndel);
	printf("\n");
	fetch_free(mf);
	return rc;
}

const char *
mail_fetch_label(struct mail_fetch *mf, const char *path)
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
mail_is_eml(const char *path)
{
	size_t n = strlen(path);

	return n > 4 && strcasecmp(path + n - 4, ".eml") == 0;
}

int
mail_eml_expand(struct cli *c, struct replica *rp, const char *keyhex,
    struct mail_fetch **mfp, char **paths, size_t *npaths, int *worst)
{
	char err[MULE_ERRLEN] = "";
	struct mail_settings ms;
	struct xport_mail_in msg;
	struct mail_fetch *mf = *mfp;
	uint8_t *raw = NULL;
	size_t i = 0, k = 0, len = 0;
	char *d;
	int r, rc = EXIT_FAIL;

	xport_mail_in_init(&msg);
	memset(&ms, 0, sizeof(ms));
	for (i = 0; i < *npaths && !mail_is_eml(paths[i]); i++)
		;
	if (i == *npaths)
		return EXIT_OK;		/* no .eml file */
	if ((r = settings_load(rp, &ms, err)) != 0) {
		rc = cli_fail(r, err);
		i = 0;
		goto out;
	}
	for (i = 0; i < *npaths; i++) {
		if (!mail_is_eml(paths[i])) {
			paths[k++] = paths[i];
			continue;
		}
		if (mf == NULL && (mf = calloc(1, sizeof(*mf))) == NULL) {
			rc = cli_fail(MULE_ENOMEM, NULL);
			goto out;
		}
		*mfp = mf;
		if (fetch_dir(c, mf) != 0)
			goto out;
		err[0] = '\0';
		free(raw);
		raw = NULL;
		xport_mail_in_release(&msg);
		if ((r = file_read_all(paths[i], (size_t)ms.max_size, &raw,
		    &len, err)) == 0)
			r = xport_mail_parse(raw, len, (size_t)ms.max_size, &msg,
			    err);
		if (r == 0 && !xport_mail_in_for(&msg, keyhex)) {
			printf("%s: a mule message for other sites; skipped\n",
			    paths[i]);
			free(paths[i]);
			continue;
		}
		if (r == 0)
			r = fetch_save(mf, 0, mf->n, &msg, paths[i], err);
		if (r != 0) {
			cli_error("%s: %s", paths[i], err);
			*worst = *worst > cli_exit_code(r) ? *worst :
			    cli_exit_code(r);
			free(paths[i]);
			continue;
		}
		free(paths[i]);
		if ((d = strdup(mf->v[mf->n - 1].path)) == NULL) {
			i++;
			rc = cli_fail(MULE_ENOMEM, NULL);
			goto out;
		}
		paths[k++] = d;
	}
	*npaths = k;
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK) {
		/* Keep the list whole: the paths not looked at follow. */
		for (; i < *npaths; i++)
			paths[k++] = paths[i];
		*npaths = k;
	}
	free(raw);
	xport_mail_in_release(&msg);
	settings_release(&ms);
	return rc;
}
