/* cli/print_conflicts.c — one conflict as 'mule conflicts' shows it, in
 * text or JSON (see commands.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

/* A JSON string, or null. */
static void
json_opt(const char *s)
{
	if (s != NULL)
		json_str(stdout, s);
	else
		printf("null");
}

/* One conflict as a JSON object (ln, rn: the sites' names). */
void
conflict_json(const struct replica_conflict *k, int first, const char *ln,
    const char *rn, const char *now)
{
	printf("%s{\"id\":%lld,\"table\":", first ? "" : ",",
	    (long long)k->id);
	json_str(stdout, k->table);
	printf(",\"key\":");
	json_str(stdout, k->pk);
	printf(",\"column\":");
	json_str(stdout, k->col);
	printf(",\"local\":");
	json_str(stdout, k->local);
	printf(",\"local_stamp\":[%llu,",
	    (unsigned long long)k->local_st.lamport);
	json_str(stdout, ln);
	printf("],\"remote\":");
	json_str(stdout, k->remote);
	printf(",\"remote_stamp\":[%llu,",
	    (unsigned long long)k->remote_st.lamport);
	json_str(stdout, rn);
	printf("],\"winner\":\"%s\",\"kind\":\"%s\",\"resolved\":%s",
	    k->winner, replica_conflict_kind_name(k->kind),
	    k->resolved ? "true" : "false");
	printf(",\"resolution\":");
	json_opt(k->resolution);
	printf(",\"resolved_value\":");
	json_opt(k->resolved_value);
	printf(",\"resolved_at\":");
	json_opt(k->resolved_at[0] != '\0' ? k->resolved_at : NULL);
	printf(",\"current\":");
	json_opt(now);
	printf("}");
}

/* One conflict for people: what was kept, what was lost. */
void
conflict_text(const struct replica_conflict *k, const char *ln,
    const char *rn, const char *now)
{
	int rw = strcmp(k->winner, "remote") == 0;

	printf("#%lld %s (%s) column %s: %s%s\n", (long long)k->id, k->table,
	    k->pk, k->col, replica_conflict_kind_name(k->kind),
	    k->resolved ? " (resolved)" : "");
	printf("    kept  %s  (%s edit, stamp %llu@%s)\n",
	    rw ? k->remote : k->local, rw ? "remote" : "local",
	    (unsigned long long)(rw ? k->remote_st.lamport :
	    k->local_st.lamport), rw ? rn : ln);
	printf("    lost  %s  (%s edit, stamp %llu@%s)\n",
	    rw ? k->local : k->remote, rw ? "local" : "remote",
	    (unsigned long long)(rw ? k->local_st.lamport :
	    k->remote_st.lamport), rw ? ln : rn);
	if (!k->resolved && now != NULL)
		printf("    now   %s\n", now);
	if (!k->resolved)
		return;
	if (k->resolution == NULL)
		printf("    resolved (how was not recorded)\n");
	else if (strcmp(k->resolution, "value") == 0)
		printf("    resolved %s: set to %s\n", k->resolved_at,
		    k->resolved_value != NULL ? k->resolved_value : "?");
	else
		printf("    resolved %s: kept %s, now %s\n", k->resolved_at,
		    k->resolution, k->resolved_value != NULL ?
		    k->resolved_value : "?");
}

/* The options: -1, or an exit status. */
