/* cli/commands.c — the command table: names, usage lines and --help. */
#include <stddef.h>

#include "cli/cli.h"
#include "cli/commands.h"

const struct cli_cmd cli_commands[] = {
	{ "init", cmd_init, "init DB [--name NAME] [--passphrase[=FILE]]",
	  "Makes DB a replica: creates mule's _mule_* tables inside it, a new\n"
	  "site id and a key pair.  The secret key goes to DB.mule-key (or\n"
	  "--key FILE before the command), mode 0600.  Existing data is the\n"
	  "baseline.  NAME defaults to the file name without extension.\n\n"
	  "  --name NAME   site name: letters, digits, '.', '_', '-' (max 64)\n"
	  "  --passphrase[=FILE]  protect the key file with a passphrase: the\n"
	  "                first line of FILE (or of $MULE_PASSPHRASE_FILE),\n"
	  "                else asked twice on the terminal\n" },
	{ "clone", cmd_clone, "clone SRC DST --name NAME [--key FILE]",
	  "Makes a new site from the replica SRC: DST, a consistent copy made\n"
	  "with SQLite's online backup (SRC may be in use meanwhile), with a\n"
	  "new site id and key pair (the secret key in DST.mule-key, or --key\n"
	  "FILE, mode 0600).  SRC's bundle log, conflicts, peers and mail.*\n"
	  "settings stay with SRC.  The two sites trust each other (DST names\n"
	  "SRC by SRC's site name, SRC names DST NAME) and each knows the\n"
	  "other holds everything SRC held at the copy, so the first bundle\n"
	  "either way carries only what changed since.  The way to set up a\n"
	  "second site with the same data: a copied file with its key would\n"
	  "be one site twice, which peers refuse.\n\n"
	  "  --name NAME   the new site's name (not SRC's, nor one of SRC's\n"
	  "                peers'): letters, digits, '.', '_', '-' (max 64)\n"
	  "  --key FILE    where DST's secret key goes (default DST.mule-key)\n" },
	{ "id", cmd_id,
	  "id [--json | --qr[=FILE.png] | --export FILE |\n"
	  "            --passphrase[=FILE] | --no-passphrase]",
	  "Prints this site's name, id, public key string and fingerprint.\n"
	  "Give the key string to your peers ('mule peer add' there); read\n"
	  "the fingerprint aloud to check it arrived unchanged.\n\n"
	  "  --json        one JSON object\n"
	  "  --qr          draw the key string as a QR code (UTF-8 half blocks,\n"
	  "                or ASCII under LC_ALL=C), to scan at the peer\n"
	  "  --qr=FILE.png write the QR code as a PNG image (not overwriting)\n"
	  "  --export FILE back up the secret key file to FILE (mode 0600, as\n"
	  "                it is: protected if it is; not overwriting)\n"
	  "  --passphrase[=FILE]  protect the key file with a new passphrase\n"
	  "                (FILE's first line, else asked twice)\n"
	  "  --no-passphrase  remove the key file's passphrase\n"
	  "A protected key file's passphrase is read from the file\n"
	  "$MULE_PASSPHRASE_FILE names, else asked on the terminal.\n" },
	{ "peer", cmd_peer,
	  "peer add NAME KEY|FILE|- [--yes] | list [--json] | remove NAME |\n"
	  "            set NAME email ADDR | set NAME schema MODE",
	  "Manages the peers this site trusts; nothing is trusted implicitly.\n\n"
	  "  add NAME KEY        trust KEY (a 'mule1...' string from 'mule id'),\n"
	  "                      or the one in FILE or on stdin (-): a 'mule id'\n"
	  "                      printout, a scanned QR code.  On a terminal it\n"
	  "                      shows the fingerprint and asks first (--yes:\n"
	  "                      not); elsewhere it adds without asking\n"
	  "  list [--json]       list peers with their fingerprints\n"
	  "  remove NAME         stop trusting NAME\n"
	  "  set NAME email ADDR set (or, without ADDR, clear) a peer's address\n"
	  "  set NAME schema MODE what NAME's schema changes do here: accept\n"
	  "                      (run them), review (the default: they wait for\n"
	  "                      'mule schema accept'), refuse, or separate\n"
	  "                      (NAME keeps a schema of its own)\n" },
	{ "track", cmd_track,
	  "track [--triggers | --no-triggers] TABLE... | --all",
	  "Starts tracking tables: their changes are recorded and packed.\n"
	  "A table needs a primary key.  Existing rows become the baseline.\n"
	  "Warns about integer keys assigned locally, which collide when two\n"
	  "sites insert independently.\n\n"
	  "  --all         every table of the database (those without a key\n"
	  "                are skipped and named)\n"
	  "  --triggers    also capture changes with triggers: a scan then\n"
	  "                reads only the rows written since the last one (a\n"
	  "                full scan still runs every scan.full-every scans,\n"
	  "                and whenever the triggers were bypassed or dropped)\n"
	  "  --no-triggers drop those triggers: full scans again\n" },
	{ "untrack", cmd_untrack, "untrack TABLE",
	  "Stops tracking TABLE.  Its rows stay; mule forgets their history.\n" },
	{ "pack", cmd_pack,
	  "pack --to PEER[,PEER] [-o FILE|DIR] [--force] [--full | --resend]\n"
	  "            [--no-encrypt] [--volume-size SIZE [--parity N]]\n"
	  "            [--iso FILE] [--mail | --eml DIR]",
	  "Records local edits, then writes one signed, encrypted bundle of\n"
	  "every change the peers are not known to have: FILE, or\n"
	  "DIR/SITE-PEER-NNNN.mule (default: the current directory).  The\n"
	  "file appears complete or not at all; only then is it counted as\n"
	  "sent.\n\n"
	  "  --to PEER[,PEER]  recipients (each can open it, nobody else)\n"
	  "  -o, --output PATH file or directory to write; a directory must\n"
	  "                    exist (end it with / to say it is one), and an\n"
	  "                    existing file is not overwritten\n"
	  "  --force           overwrite an existing -o FILE or --iso FILE\n"
	  "  --full            send everything, not only what is new to them\n"
	  "  --resend          send again everything the peers have not\n"
	  "                    acknowledged (after a bundle was lost)\n"
	  "  --no-encrypt      sign only (anyone can read it; still verified)\n"
	  "  --volume-size SIZE  split into parts of at most SIZE (1440k,\n"
	  "                    1.44M, 650M, 4G; k = 1024, M = 1000k, G = 1000M)\n"
	  "                    named SITE-PEER-NNNN.dNNN-of-MMM.mule-part\n"
	  "  --parity N        add N Reed-Solomon parity parts: any MMM of the\n"
	  "                    parts rebuild the bundle\n"
	  "  --iso FILE        write an ISO 9660 image holding the bundle or\n"
	  "                    its parts, ready to burn\n"
	  "  --mail            send it by SMTP to each peer's address ('mule\n"
	  "                    peer set PEER email ADDR'; see 'mule config'):\n"
	  "                    one message, or one per part when it is bigger\n"
	  "                    than mail.max-size\n"
	  "  --eml DIR         write those messages as DIR/NAME.eml files, to\n"
	  "                    send from any mail program\n" },
	{ "unpack", cmd_unpack, "unpack [--dry-run] PATH... | unpack --mail [PATH...]",
	  "Verifies and applies bundles: files, or directories whose *.mule\n"
	  "files addressed to this site are applied in name order (others are\n"
	  "skipped and counted).  Each bundle is applied in one transaction,\n"
	  "after recording local edits; applying one twice changes nothing.\n"
	  "Parts (*.mule-part) wait in DB.mule-spool until enough of them\n"
	  "are here, from any number of directories and runs (within\n"
	  "spool.max-size; bundles for other sites or from strangers are\n"
	  "refused by their first part; incomplete ones go after\n"
	  "spool.expire-days).  ISO images are read directly, and so are\n"
	  ".eml files holding a mule message.  Exit status 3 when a bundle\n"
	  "fails verification.\n\n"
	  "  -n, --dry-run     say what would change; change nothing\n"
	  "  --mail            also fetch the mule messages for this site from\n"
	  "                    mail.inbox (see 'mule config'); other mail is\n"
	  "                    left alone; with mail.after-fetch delete, the\n"
	  "                    messages applied (or spooled) are deleted;\n"
	  "                    those the spool refused stay\n" },
	{ "status", cmd_status, "status [--json]",
	  "Shows unrecorded changes per tracked table, and per peer the last\n"
	  "bundle sent and received and whether it has acknowledged\n"
	  "everything this site knows; the number of conflicts; and the\n"
	  "incomplete bundles in the spool, with the age of each.\n\n"
	  "  --json        one JSON object\n" },
	{ "verify", cmd_verify, "verify [--json] PATH...",
	  "Checks each bundle's signature against the sender's trusted key\n"
	  "and its integrity; applies and changes nothing.  A PATH may be a\n"
	  "bundle, a directory (every bundle and part in it), an ISO image or\n"
	  "parts (a complete set is rebuilt in a scratch file; for an\n"
	  "incomplete one it says what is missing).  Exit status 3 when a\n"
	  "bundle fails or is not addressed to this site, else 1 when one\n"
	  "could not be checked.\n\n"
	  "  --json        one JSON object per bundle, one per line\n" },
	{ "inspect", cmd_inspect, "inspect [--raw] [--json] PATH...",
	  "Verifies each bundle, then says what it holds: sender, vectors,\n"
	  "migrations, and per table the rows and cells.  PATHs as for\n"
	  "verify.  Encrypted bundles can be inspected only by their\n"
	  "recipients.\n\n"
	  "  --raw         write the decrypted inner archive (zstd-compressed\n"
	  "                pax tar) to stdout: mule inspect --raw B | tar -t --zstd\n"
	  "  --json        one JSON object per bundle, one per line\n" },
	{ "check", cmd_check, "check PEER",
	  "Asks PEER for a full comparison of every tracked table.  Every\n"
	  "bundle already carries a digest of each table, compared whenever\n"
	  "the receiver knows exactly what the sender knew; this asks even\n"
	  "when that never happens.  The next bundle to PEER carries the\n"
	  "comparison; ranges of rows that differ are narrowed down over the\n"
	  "following exchanges and the rows that differ travel whole, merged\n"
	  "by the usual rule (conflicts logged as usual).  Only for a peer\n"
	  "without sync sets or maps.\n" },
	{ "log", cmd_log, "log [-n N] [--peer NAME] [--reverse] [--json]",
	  "Lists bundles sent and received, newest first: when, sent or\n"
	  "received, the peer, the bundle's number, what it carried and where\n"
	  "it went or came from (the file, the ISO image, the parts, the mail).\n\n"
	  "  -n N          only the newest N\n"
	  "  --peer NAME   only bundles to or from NAME\n"
	  "  --reverse     oldest first\n"
	  "  --json        a JSON array, oldest first (the order the log grew)\n" },
	{ "conflicts", cmd_conflicts,
	  "conflicts [--all] [--json] | conflicts resolve ID\n"
	  "       (--keep local|remote | --value SQL-LITERAL)",
	  "Lists values that lost a conflict here: a local value overwritten\n"
	  "by one whose writer had not seen it.  Both values, both stamps\n"
	  "(counter@site) and the winner.\n\n"
	  "  --all         resolved conflicts too, with how they were resolved\n"
	  "  --json        a JSON array\n"
	  "  resolve ID --keep local|remote\n"
	  "                write that side's value back into the row (column\n"
	  "                \"*\", a deleted row: --keep local re-creates it)\n"
	  "  resolve ID --value SQL-LITERAL\n"
	  "                write a value of your own: 'text', 42, 4.5, NULL or\n"
	  "                x'00ff' (quote it for the shell: --value \"'text'\")\n"
	  "                Either way the value before and after is shown, the\n"
	  "                write is a new local change the next pack sends to\n"
	  "                peers, and the conflict is marked resolved.\n" },
	{ "share", cmd_share,
	  "share PEER TABLE [--where EXPR] [--columns A,B | --exclude C,D]\n"
	  "            | share PEER --list [--json] | share PEER --reset",
	  "Chooses what PEER receives (its sync set).  Without any 'share'\n"
	  "a peer gets every tracked table in full; once it has one, it gets\n"
	  "only the tables shared with it.  Rows outside the filter and\n"
	  "left-out columns never enter its bundles; rows that leave its set\n"
	  "are removed there at the next exchange (unless edited there since).\n"
	  "Takes effect at the next pack.\n\n"
	  "  --where EXPR      only rows where the SQL expression EXPR over\n"
	  "                    the row's own columns is true\n"
	  "  --columns A,B     only these columns (and the primary key)\n"
	  "  --exclude C,D     every column but these (never a key column)\n"
	  "  --list [--json]   show PEER's sync set\n"
	  "  --reset           forget it: PEER gets every table in full again\n" },
	{ "unshare", cmd_unshare, "unshare PEER TABLE",
	  "Stops sending TABLE to PEER (whose sync set stays); the rows it\n"
	  "has of TABLE from us are removed there at the next exchange.\n" },
	{ "map", cmd_map,
	  "map PEER REMOTE_TABLE LOCAL_TABLE [REMOTE_COL=LOCAL_COL ...]\n"
	  "            | map PEER --list [--json] | map PEER REMOTE_TABLE --remove",
	  "Rows of PEER's REMOTE_TABLE land in LOCAL_TABLE, each REMOTE_COL in\n"
	  "LOCAL_COL (other columns keep their names).  Cells merge per\n"
	  "column, so a local table can take some columns from one peer and\n"
	  "others from another for the same key.\n\n"
	  "  --list [--json]   show PEER's maps\n"
	  "  --remove          forget the map of REMOTE_TABLE\n" },
	{ "config", cmd_config, "config [--json] [KEY [VALUE]] | config --unset KEY",
	  "Shows or changes this replica's settings, kept inside the database.\n"
	  "Alone, lists them; with KEY, prints its value; with KEY VALUE, sets\n"
	  "it (the value is checked first).  Passwords never go on the command\n"
	  "line: mail.password-file names a file holding one.\n\n"
	  "  mail.smtp          smtp://HOST[:PORT] or smtps://HOST[:PORT]\n"
	  "  mail.starttls      yes or no: STARTTLS on smtp://, imap://, pop3://\n"
	  "                     before logging in, required (default no)\n"
	  "  mail.from          From address of mule's messages\n"
	  "  mail.user          login for SMTP AUTH and for the inbox when its\n"
	  "                     URL names no user\n"
	  "  mail.password-file file holding the password (stored absolute)\n"
	  "  mail.inbox         imap[s]://USER@HOST[:PORT][/MAILBOX],\n"
	  "                     pop3[s]://USER@HOST[:PORT], maildir:/PATH or\n"
	  "                     mbox:/PATH: where unpack --mail fetches\n"
	  "  mail.max-size      largest message (default 10M; 64k to 1G);\n"
	  "                     bigger bundles are sent as parts\n"
	  "  mail.after-fetch   keep or delete applied messages (default keep)\n"
	  "  mail.ca-file       PEM file of the certificates trusted to sign\n"
	  "                     the servers' TLS certificates (default: the\n"
	  "                     system's); stored absolute\n"
	  "  mail.allow-cleartext-password\n"
	  "                     yes or no: send the password without TLS\n"
	  "                     (default no: refused; for a trusted network)\n\n"
	  "  --unset KEY        remove a setting\n"
	  "  --json             JSON output\n" },
	{ "schema", cmd_schema,
	  "schema status | diff | log | record FILE.sql | install V |\n"
	  "            upgrade I J | identify DBFILE | forget V |\n"
	  "            review | accept V | reject V  [--json]",
	  "The catalogue of schema versions: fingerprints of the tracked\n"
	  "tables' schema (with their indexes, triggers and all views) and\n"
	  "the migration from each version to the next.  'pack' records\n"
	  "changes made by any program as a new version and sends the\n"
	  "migrations the peers lack; 'unpack' runs them before the data.\n\n"
	  "  status          current version and fingerprint; whether the\n"
	  "                  live schema has unrecorded changes (--json)\n"
	  "  diff            the migration the next pack would record\n"
	  "  log             every version: fingerprint, date, generated or\n"
	  "                  hand-written, checksum (--json adds the SQL)\n"
	  "  record FILE.sql run a hand-written migration here in one\n"
	  "                  transaction and record it verbatim as the next\n"
	  "                  version; peers run it verbatim too\n"
	  "  install V       a script creating version V in an empty database\n"
	  "  upgrade I J     a script from version I to J, from the two\n"
	  "                  schemas (objects made and dropped in between do\n"
	  "                  not appear; hand-written steps run verbatim)\n"
	  "  identify DBFILE which version any database is at, by\n"
	  "                  fingerprint; else 'unknown' and the closest\n"
	  "                  version (--json)\n"
	  "  forget V        drop the versions above V, after undoing them,\n"
	  "                  when another site changed the schema too\n"
	  "  review          schema steps from peers that wait for a person\n"
	  "                  (peer setting schema review): their SQL (--json)\n"
	  "  accept V        let the waiting step V run: unpack its bundle again\n"
	  "  reject V        refuse the waiting step V (and its bundles)\n" },
	{ NULL, NULL, NULL, NULL },
};
