/* cli/cmd_inspect.c — mule inspect PATH [--raw] [--json]: options,
 * sync_inspect, output. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "sync/inspect.h"

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
print_report(const struct sync_inspection *in, int json)
{
	const struct bundle_info *info = &in->info;
	const char *sender = in->peer.name;
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
	struct ident_secret *sec = NULL;
	struct replica *rp = NULL;
	struct sync_inspection x;
	int r, rc, raw = 0;

	memset(&x, 0, sizeof(x));
	if ((rc = inspect_options(c, argc, argv, &raw)) >= 0)
		return rc;
	if ((rc = cli_open(c, 1, &rp)) != 0)
		return rc;
	if ((rc = cli_load_secret(c, &sec)) != 0)
		goto out;
	if ((r = sync_inspect(rp, sec, argv[optind], raw ? STDOUT_FILENO : -1,
	    &x, err)) != 0) {
		rc = cli_fail(r, err);
		goto out;
	}
	if (!raw)
		print_report(&x, c->json);
	rc = EXIT_OK;
out:
	sync_inspection_release(&x);
	ident_secret_free(sec);
	replica_close(rp);
	return rc;
}
