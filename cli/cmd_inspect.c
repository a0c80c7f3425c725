/* cli/cmd_inspect.c — mule inspect PATH [--raw] [--json] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "sync/sync.h"
#include "core/strb.h"

struct itable {
	char *name;
	uint64_t rows, deletes, cells;
};

struct inspector {
	struct manifest m;
	struct itable *t;
	size_t nt;
	uint64_t values, value_bytes, schema;
	const struct bundle_info *info;	/* the verified outer header */
	char err[MULE_ERRLEN];		/* the manifest check's message */
};

static int
ins_manifest(void *arg, const struct manifest *m)
{
	struct inspector *in = arg;
	int r;

	if ((r = sync_manifest_check(in->info, m, in->err)) != 0)
		return r;
	memcpy(in->m.bundle_id, m->bundle_id, BUNDLE_ID_LEN);
	memcpy(in->m.from, m->from, SITE_ID_LEN);
	in->m.seq = m->seq;
	in->m.full = m->full;
	in->m.schema_from = m->schema_from;
	in->m.schema_to = m->schema_to;
	if ((in->m.from_name = strdup(m->from_name ? m->from_name : "")) ==
	    NULL || vector_copy(&in->m.base, &m->base) != 0 ||
	    vector_copy(&in->m.top, &m->top) != 0 ||
	    vector_copy(&in->m.ack, &m->ack) != 0)
		return MULE_ENOMEM;
	return 0;
}

static int
ins_schema(void *arg, const struct bundle_schema *s)
{
	((struct inspector *)arg)->schema++;
	return 0;
}

static int
ins_value(void *arg, const uint8_t hash[VALUE_REF_LEN], int type,
    const uint8_t *p, size_t n)
{
	struct inspector *in = arg;

	in->values++;
	in->value_bytes += n;
	return 0;
}

static int
ins_table(void *arg, const char *table, uint32_t ncols,
    const char *const *cols, uint32_t npk, const uint32_t *pkcols)
{
	struct inspector *in = arg;
	void *p;

	if (in->nt > 0 && strcmp(in->t[in->nt - 1].name, table) == 0)
		return 0;	/* the same table continued in a new segment */
	if ((p = realloc(in->t, (in->nt + 1) * sizeof(*in->t))) == NULL)
		return MULE_ENOMEM;
	in->t = p;
	memset(&in->t[in->nt], 0, sizeof(*in->t));
	if ((in->t[in->nt].name = strdup(table)) == NULL)
		return MULE_ENOMEM;
	in->nt++;
	return 0;
}

static int
ins_row(void *arg, const struct rowchange *rc)
{
	struct inspector *in = arg;
	struct itable *t = &in->t[in->nt - 1];

	t->rows++;
	if (rc->cl % 2 == 0)
		t->deletes++;
	t->cells += rc->ncells;
	return 0;
}

static void
print_vector(const char *name, const struct vector *v, int json)
{
	size_t i;

	if (json) {
		printf(",\"%s\":{", name);
		for (i = 0; i < v->n; i++) {
			printf("%s\"", i ? "," : "");
			print_hex(stdout, v->e[i].origin, SITE_ID_LEN);
			printf("\":%llu", (unsigned long long)v->e[i].counter);
		}
		printf("}");
		return;
	}
	printf("%-10s", name);
	if (v->n == 0)
		printf(" (empty)");
	for (i = 0; i < v->n; i++) {
		printf(" ");
		print_hex(stdout, v->e[i].origin, 4);
		printf("…:%llu", (unsigned long long)v->e[i].counter);
	}
	printf("\n");
}

static void
print_report(struct inspector *in, const struct bundle_info *info,
    const char *sender, int json)
{
	size_t i;

	if (json) {
		printf("{\"bundle\":\"");
		print_hex(stdout, info->bundle_id, BUNDLE_ID_LEN);
		printf("\",\"from\":");
		json_str(stdout, sender);
		printf(",\"from_site\":\"");
		print_hex(stdout, in->m.from, SITE_ID_LEN);
		printf("\",\"seq\":%llu,\"encrypted\":%s,\"size\":%llu,"
		    "\"full\":%s,\"recipients\":%zu,\"schema_steps\":%llu,"
		    "\"values\":%llu", (unsigned long long)in->m.seq,
		    info->encrypted ? "true" : "false",
		    (unsigned long long)info->file_size,
		    in->m.full ? "true" : "false", info->nrecipients,
		    (unsigned long long)in->schema,
		    (unsigned long long)in->values);
		print_vector("base", &in->m.base, 1);
		print_vector("top", &in->m.top, 1);
		print_vector("ack", &in->m.ack, 1);
		printf(",\"tables\":[");
		for (i = 0; i < in->nt; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, in->t[i].name);
			printf(",\"rows\":%llu,\"deleted\":%llu,\"cells\":%llu}",
			    (unsigned long long)in->t[i].rows,
			    (unsigned long long)in->t[i].deletes,
			    (unsigned long long)in->t[i].cells);
		}
		printf("]}\n");
		return;
	}
	printf("bundle    ");
	print_hex(stdout, info->bundle_id, BUNDLE_ID_LEN);
	printf("\nfrom      %s (bundle %llu%s)\n", sender,
	    (unsigned long long)in->m.seq, in->m.full ? ", full" : "");
	printf("size      %llu bytes, %s, %zu recipient%s\n",
	    (unsigned long long)info->file_size,
	    info->encrypted ? "encrypted" : "not encrypted",
	    info->nrecipients, info->nrecipients == 1 ? "" : "s");
	print_vector("base", &in->m.base, 0);
	print_vector("top", &in->m.top, 0);
	print_vector("ack", &in->m.ack, 0);
	printf("schema    %llu migration%s\n", (unsigned long long)in->schema,
	    in->schema == 1 ? "" : "s");
	if (in->values > 0)
		printf("values    %llu large value%s, %llu bytes\n",
		    (unsigned long long)in->values, in->values == 1 ? "" : "s",
		    (unsigned long long)in->value_bytes);
	for (i = 0; i < in->nt; i++)
		printf("table     %s: %llu row%s (%llu deleted), %llu cells\n",
		    in->t[i].name, (unsigned long long)in->t[i].rows,
		    in->t[i].rows == 1 ? "" : "s",
		    (unsigned long long)in->t[i].deletes,
		    (unsigned long long)in->t[i].cells);
	if (in->nt == 0)
		printf("tables    no row changes\n");
}

/* Reads the bundle into the inspector (or its inner archive to stdout
 * with raw); the message of a failure in err. */
static int
inspect_read(struct bundle_reader *br, const struct ident_secret *sec,
    int raw, struct inspector *in, char *err)
{
	struct bundle_sink sink;
	int r;

	if (raw)
		return bundle_write_raw(br, sec, STDOUT_FILENO, err);
	in->info = bundle_get_info(br);
	sink.arg = in;
	sink.manifest = ins_manifest;
	sink.schema = ins_schema;
	sink.value = ins_value;
	sink.table = ins_table;
	sink.row = ins_row;
	r = bundle_read(br, sec, &sink, err);
	if (r != 0 && in->err[0] != '\0')
		memcpy(err, in->err, MULE_ERRLEN);
	return r;
}

/* Options and operand.  -1 to go on, or the exit status. */
static int
inspect_options(struct cli *c, int argc, char **argv, int *raw)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cli_cmd *cmd = cli_find("inspect");
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'r')
			*raw = 1;
		else if (ch == 'j')
			c->json = 1;
		else
			return ch == 'h' ? cli_help(cmd) : cli_usage(cmd);
	}
	if (optind + 1 != argc)
		return cli_usage(cmd);
	if (*raw && isatty(STDOUT_FILENO)) {
		cli_error("--raw writes a compressed archive; redirect it: "
		    "mule inspect --raw FILE > inner.tar.zst");
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_inspect(struct cli *c, int argc, char **argv)
{
	char err[MULE_ERRLEN] = "";
	struct bundle_reader *br = NULL;
	struct ident_secret *sec = NULL;
	struct replica_peer peer;
	struct replica *rp = NULL;
	struct inspector in;
	size_t i;
	int r, rc, raw = 0;

	memset(&in, 0, sizeof(in));
	manifest_init(&in.m);
	if ((rc = inspect_options(c, argc, argv, &raw)) >= 0)
		return rc;
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((rc = cli_load_secret(c, &sec)) != 0)
		goto out;
	if ((r = sync_bundle_check(rp, NULL, argv[optind], &br, &peer,
	    err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (bundle_get_info(br)->encrypted && !bundle_is_recipient(br,
	    &sec->pub)) {
		rc = cli_fail(MULE_ENOTRECIPIENT, "the bundle is encrypted for "
		    "other sites; only its recipients can look inside");
		goto out;
	}
	if ((r = inspect_read(br, sec, raw, &in, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (!raw)
		print_report(&in, bundle_get_info(br), peer.name, c->json);
	rc = EXIT_OK;
out:
	for (i = 0; i < in.nt; i++)
		free(in.t[i].name);
	free(in.t);
	manifest_release(&in.m);
	bundle_close(br);
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
