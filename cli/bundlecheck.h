/* cli/bundlecheck.h — verification shared by unpack, verify, inspect. */
#ifndef MULE_CLI_BUNDLECHECK_H
#define MULE_CLI_BUNDLECHECK_H

#include "bundle/bundle.h"
#include "cli/cli.h"

/*
 * Opens `path`, checks it is addressed to `me` (skipped when NULL), that
 * its signer is a trusted peer (*peer), and that the signature matches.
 * Returns 0 with a verified reader in *out (bundle_close it), or
 * MULE_EVERIFY / MULE_ENOTRECIPIENT / MULE_EUNKNOWNSENDER / other codes
 * with a message naming the problem.
 */
int cli_bundle_check(struct replica *rp, const struct ident_pub *me,
    const char *path, struct bundle_reader **out, struct replica_peer *peer,
    char *err);

#endif
