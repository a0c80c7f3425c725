/* cli/print_inspect.c — what 'mule inspect' shows of a bundle, as text
 * or JSON. */
#include <stdio.h>

#include "cli/cli.h"
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
		printf("%s:%llu", cli_sym("\xe2\x80\xa6", "..."),
		    (unsigned long long)v->e[i].counter);
	}
	printf("\n");
}

void
inspect_print(const struct sync_inspection *in, const char *file, int json)
{
	const struct bundle_info *info = &in->info;
	const char *sender = in->peer.name;
	size_t i;

	if (json) {
		printf("{\"file\":");
		json_str(stdout, file);
		printf(",\"bundle\":\"");
		print_hex(stdout, info->bundle_id, BUNDLE_ID_LEN);
		printf("\",\"from\":");
		json_str(stdout, sender);
		printf(",\"from_site\":\"");
		print_hex(stdout, in->m.from, SITE_ID_LEN);
		printf("\",\"seq\":%llu,\"encrypted\":%s,\"size\":%llu,"
		    "\"full\":%s,\"recipients\":%zu,\"schema_steps\":%llu,"
		    "\"values\":%llu,\"digests\":%llu,\"summaries\":%llu",
		    (unsigned long long)in->m.seq,
		    info->encrypted ? "true" : "false",
		    (unsigned long long)info->file_size,
		    in->m.full ? "true" : "false", info->nrecipients,
		    (unsigned long long)in->schema,
		    (unsigned long long)in->values,
		    (unsigned long long)in->digests,
		    (unsigned long long)in->summaries);
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
	printf("file      %s\n", file);
	printf("bundle    ");
	print_hex(stdout, info->bundle_id, BUNDLE_ID_LEN);
	printf("\nfrom      %s (bundle %llu%s)\n", sender,
	    (unsigned long long)in->m.seq, in->m.full ? ", full" : "");
	printf("size      %llu bytes, %s, %zu recipient%s\n",
	    (unsigned long long)info->file_size,
	    info->encrypted ? "encrypted" : "not encrypted",
	    info->nrecipients, info->nrecipients == 1 ? "" : "s");
	if (in->m.coded)
		printf("vectors   coded against bundle %llu of the recipient, "
		    "which this site does not hold\n",
		    (unsigned long long)in->m.ref);
	else {
		print_vector("base", &in->m.base, 0);
		print_vector("top", &in->m.top, 0);
		print_vector("ack", &in->m.ack, 0);
	}
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
	if (in->digests > 0 || in->summaries > 0)
		printf("digests   %llu table%s; %llu key-range summar%s "
		    "(reconciliation)\n", (unsigned long long)in->digests,
		    in->digests == 1 ? "" : "s",
		    (unsigned long long)in->summaries,
		    in->summaries == 1 ? "y" : "ies");
}
