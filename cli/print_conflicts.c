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

/*
 * A value of the conflict log as JSON (form as replica_literals_parse
 * takes it): a form-0 value as it is, a key or a row as an array; a
 * deleted row as {"type":"deleted"}, anything else (a large value shown
 * by its hash) as {"type":"other","text":"..."}; NULL: null.
 */
static void
json_logged(const char *s, int form)
{
	struct replica_literals l;
	size_t i;

	memset(&l, 0, sizeof(l));
	if (s == NULL) {
		printf("null");
	} else if (replica_literals_parse(s, form, &l) == 0) {
		printf("%s", form != 0 ? "[" : "");
		for (i = 0; i < l.n; i++) {
			printf("%s", i ? "," : "");
			json_mval(stdout, &l.v[i]);
		}
		printf("%s", form != 0 ? "]" : "");
	} else if (strcmp(s, "(deleted)") == 0) {
		printf("{\"type\":\"deleted\"}");
	} else {
		printf("{\"type\":\"other\",\"text\":");
		json_str(stdout, s);
		printf("}");
	}
	replica_literals_release(&l);
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
	printf(",\"logged_by\":");
	json_opt(k->logged_by);
	printf(",\"logged_at\":");
	json_opt(k->logged_at[0] != '\0' ? k->logged_at : NULL);
	/* The same values as JSON values (the fields above are SQL, as
	 * 'conflicts resolve --value' takes them). */
	printf(",\"key_values\":");
	json_logged(k->pk, 1);
	printf(",\"local_value\":");
	json_logged(k->local, strcmp(k->col, "*") == 0 ? 2 : 0);
	printf(",\"remote_value\":");
	json_logged(k->remote, strcmp(k->col, "*") == 0 ? 2 : 0);
	printf(",\"current_value\":");
	json_logged(now, strcmp(k->col, "*") == 0 ? 2 : 0);
	printf(",\"resolved_to\":");
	json_logged(k->resolved_value, strcmp(k->col, "*") == 0 ? 2 : 0);
	printf("}");
}

/* One conflict for people: what was kept, what was lost. */
void
conflict_text(const struct replica_conflict *k, const char *ln,
    const char *rn, const char *now)
{
	int rw = strcmp(k->winner, "remote") == 0;

	printf("#%lld %s (%s) column %s: %s%s", (long long)k->id, k->table,
	    k->pk, k->col, replica_conflict_kind_name(k->kind),
	    k->resolved ? " (resolved)" : "");
	if (k->logged_by != NULL)
		printf(" (logged at %s, where the value from this site won)",
		    k->logged_by);
	printf("\n");
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
