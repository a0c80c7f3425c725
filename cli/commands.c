/* cli/commands.c — the command table: names, usage lines and --help. */
#include <stddef.h>

#include "cli/cli.h"
#include "cli/commands.h"

const struct cli_cmd cli_commands[] = {
	{ "init", cmd_init, "init DB [--name NAME]",
	  "Makes DB a replica: creates mule's _mule_* tables inside it, a new\n"
	  "site id and a key pair.  The secret key goes to DB.mule-key (or\n"
	  "--key FILE before the command), mode 0600.  Existing data is the\n"
	  "baseline.  NAME defaults to the file name without extension.\n\n"
	  "  --name NAME   site name: letters, digits, '.', '_', '-' (max 64)\n" },
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
	{ "id", cmd_id, "id [--json]",
	  "Prints this site's name, id, public key string and fingerprint.\n"
	  "Give the key string to your peers ('mule peer add' there); read\n"
	  "the fingerprint aloud to check it arrived unchanged.\n\n"
	  "  --json        one JSON object\n" },
	{ "peer", cmd_peer,
	  "peer add NAME KEY | list [--json] | remove NAME |\n"
	  "            set NAME email ADDR | set NAME schema MODE",
	  "Manages the peers this site trusts; nothing is trusted implicitly.\n\n"
	  "  add NAME KEY        trust KEY (a 'mule1...' string from 'mule id')\n"
	  "  list [--json]       list peers with their fingerprints\n"
	  "  remove NAME         stop trusting NAME\n"
	  "  set NAME email ADDR set (or, without ADDR, clear) a peer's address\n"
	  "  set NAME schema MODE what NAME's schema changes do here: accept\n"
	  "                      (run them), review (the default: they wait for\n"
	  "                      'mule schema accept'), refuse, or separate\n"
	  "                      (NAME keeps a schema of its own)\n" },
	{ "track", cmd_track, "track TABLE... | --all",
	  "Starts tracking tables: their changes are recorded and packed.\n"
	  "A table needs a primary key.  Existing rows become the baseline.\n"
	  "Warns about integer keys assigned locally, which collide when two\n"
	  "sites insert independently.\n\n"
	  "  --all         every table of the database (those without a key\n"
	  "                are skipped and named)\n" },
	{ "untrack", cmd_untrack, "untrack TABLE",
	  "Stops tracking TABLE.  Its rows stay; mule forgets their history.\n" },
	{ "pack", cmd_pack,
	  "pack --to PEER[,PEER] [-o FILE|DIR] [--force] [--full | --resend]\n"
	  "            [--no-encrypt] [--volume-size SIZE [--parity N]]\n"
	  "            [--iso FILE] [--mail | --eml DIR] [--json | -q]",
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
	  "                    send from any mail program\n"
	  "  --json            say what was written as one JSON object\n"
	  "  -q, --quiet       say nothing unless something fails\n" },
	{ "unpack", cmd_unpack, "unpack [--dry-run] [--json | -q] PATH... |\n"
	  "       unpack --mail [--json | -q] [PATH...]",
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
	  "fails verification (it changed nothing; the others were applied,\n"
	  "and the last line names the ones that failed); 0 when bundles\n"
	  "applied with conflicts (see 'mule conflicts').\n\n"
	  "  -n, --dry-run     say what would change; change nothing\n"
	  "  --mail            also fetch the mule messages for this site from\n"
	  "                    mail.inbox (see 'mule config'); other mail is\n"
	  "                    left alone; with mail.after-fetch delete, the\n"
	  "                    messages applied (or spooled) are deleted;\n"
	  "                    those the spool refused stay\n"
	  "  --json            one JSON object per line for each bundle:\n"
	  "                    file, status (applied, dry-run, already,\n"
	  "                    refused with why and exit, waiting, expired),\n"
	  "                    peer and counts, conflicts among them;\n"
	  "                    then {\"totals\":{...}}\n"
	  "  -q, --quiet       say nothing unless something fails\n" },
	{ "status", cmd_status, "status [--all] [--json]",
	  "Shows the tracked tables with unrecorded changes; per peer what to\n"
	  "do next (changes not yet packed for it, a bundle not acknowledged\n"
	  "yet, or nothing), the last bundle sent and received and whether it\n"
	  "has acknowledged everything this site knows; the number of\n"
	  "conflicts; and the incomplete bundles in the spool, with the age\n"
	  "of each.\n\n"
	  "  --all         list every tracked table, with changes or not\n"
	  "  --json        one JSON object\n" },
	{ "verify", cmd_verify, "verify PATH",
	  "Checks a bundle's signature against the sender's trusted key and\n"
	  "its integrity; applies nothing.  Exit status 3 when it fails or\n"
	  "when the bundle is not addressed to this site.\n" },
	{ "inspect", cmd_inspect, "inspect PATH [--raw] [--json]",
	  "Verifies a bundle, then says what it holds: sender, vectors,\n"
	  "migrations, and per table the rows and cells.  Encrypted bundles\n"
	  "can be inspected only by their recipients.\n\n"
	  "  --raw         write the decrypted inner archive (zstd-compressed\n"
	  "                pax tar) to stdout: mule inspect --raw B | tar -t --zstd\n"
	  "  --json        one JSON object\n" },
	{ "log", cmd_log, "log [--json]",
	  "Lists bundles sent and received, oldest first.\n\n"
	  "  --json        a JSON array\n" },
	{ "conflicts", cmd_conflicts,
	  "conflicts [--all | --peers] [--json] | conflicts resolve ID\n"
	  "       (--keep local|remote | --value SQL-LITERAL)",
	  "Lists values that lost a conflict here: a local value overwritten\n"
	  "by one whose writer had not seen it.  Both values, both stamps\n"
	  "(counter@site) and the winner.\n\n"
	  "  --all         resolved conflicts too, with how they were resolved\n"
	  "  --peers       the conflicts peers logged where a value from this\n"
	  "                site won (their bundles tell; resolved there)\n"
	  "  --json        a JSON array (values as JSON values too)\n"
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
