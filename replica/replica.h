/*
 * replica/replica.h — the database side of mule: a SQLite database plus
 * mule's bookkeeping in tables named _mule_* inside it (docs/design.md §5),
 * so that one SQLite transaction covers data and state together.
 *
 * replica/ knows nothing of files, media or email: bundles reach it as
 * struct rowchange values (core/change.h) through replica_apply_*, and
 * leave it through replica_changes_* iterators.  Its parts, bottom up
 * (each calls only those below it; replica/merge/merge.h and
 * replica/internal.h are private to replica/):
 *
 *   merge/   the merge rule: pure functions, no SQL replica/merge/merge.h
 *   store/   site, peers, settings, tracked tables, per-row state,
 *            vectors, bundle and conflict logs      replica/store/store.h
 *   sets/    sync sets and maps                     replica/sets/sets.h
 *   track/   choosing tables, the scan, the journal replica/track/track.h
 *   schema/  schema text, catalogue, layouts        replica/schema.h
 *   apply/   applying a bundle's rows by that rule  replica/apply/apply.h
 *
 * Every function returns 0 or a negative MULE_E* code and fills `err`
 * (MULE_ERRLEN bytes, may be NULL) with specifics.
 */
#ifndef MULE_REPLICA_REPLICA_H
#define MULE_REPLICA_REPLICA_H

#include "replica/store/store.h"
#include "replica/sets/sets.h"
#include "replica/track/track.h"
#include "replica/apply/apply.h"

#endif
