/*
 * Unit tests of the spec loader (spec/): a table of bad specs, each with
 * the exact diagnostics it must produce (FILE:LINE:COL: message, every
 * problem of the file), good specs with their defaults, durations and
 * sizes, the two hashes, and secrets resolved at the moment of use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "spec/spec.h"

/*
 * The pieces of a valid spec, one line each, so that a case reads as the
 * few lines it changes and its expected locations are easy to count:
 * lines 1-2 TOP, 3-4 META, 5 SRC, 6 DST, 7 TYPES, 8 OBJ; a line a case
 * appends under spec: is line 9.
 */
#define TOP "apiVersion: godwit/v1\nkind: Migration\n"
#define META "metadata: {name: t}\nspec:\n"
#define SRC "  source: {host: h, user: u, password: {fromEnv: P}}\n"
#define DST "  destination: {host: h, user: u}\n"
#define TYPES "  migrationTypes: [schema, full, incremental]\n"
#define OBJ "  objects: [{database: a}]\n"
#define BASE TOP META SRC DST TYPES OBJ
/* Without objects: a case's objects: block starts at line 8. */
#define BASE_NO_OBJ TOP META SRC DST TYPES

/* 600 characters, and the 460 of them a 512-byte message keeps after
 * "state must be one of running, paused, stopped (got '". */
#define X50 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define HUGE X50 X50 X50 X50 X50 X50 X50 X50 X50 X50 X50 X50
#define HUGE_CUT X50 X50 X50 X50 X50 X50 X50 X50 X50 "xxxxxxxxxx"

/* A scratch directory of the test run (setup_tmp). */
static char tmpdir[64];

struct bad_case {
	const char *name;
	const char *yaml;
	const char *want; /* diag_list_format() output, file "t.yaml" */
};

static const struct bad_case bad_cases[] = {
    /* --- unknown keys --- */
    {"misspelt key", BASE "  paralelism: 4\n",
     "t.yaml:9:3: unknown key 'paralelism' (did you mean 'parallelism'?)\n"},
    {"misspelt key, case", BASE "  RetryWindow: 1h\n",
     "t.yaml:9:3: unknown key 'RetryWindow' (did you mean 'retryWindow'?)\n"},
    {"unknown key, nothing close", BASE "  colour: red\n", "t.yaml:9:3: unknown key 'colour'\n"},
    {"misspelt nested key", TOP META "  source: {host: h, usr: u}\n" DST TYPES OBJ,
     "t.yaml:5:11: missing required key 'user'\n"
     "t.yaml:5:21: unknown key 'usr' (did you mean 'user'?)\n"},
    {"misspelt root key", "apiVersion: godwit/v1\nkinds: Migration\n" META SRC DST TYPES OBJ,
     "t.yaml:1:1: missing required key 'kind'\n"
     "t.yaml:2:1: unknown key 'kinds' (did you mean 'kind'?)\n"},
    {"misspelt secret key",
     TOP META "  source: {host: h, user: u, password: {fromEnvv: P}}\n" DST TYPES OBJ,
     "t.yaml:5:41: unknown key 'fromEnvv' (did you mean 'fromEnv'?)\n"},
    {"misspelt table key",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, colums: [id]}\n",
     "t.yaml:11:21: unknown key 'colums' (did you mean 'columns'?)\n"},

    /* --- wrong types --- */
    {"string for int", BASE "  parallelism: four\n",
     "t.yaml:9:16: parallelism must be an integer (got 'four')\n"},
    {"quoted int", BASE "  parallelism: \"4\"\n",
     "t.yaml:9:16: parallelism must be an integer (got the quoted string '4')\n"},
    {"float for int", BASE "  parallelism: 1.5\n",
     "t.yaml:9:16: parallelism must be an integer (got '1.5')\n"},
    {"list for int", BASE "  parallelism: [4]\n", "t.yaml:9:16: parallelism must be an integer\n"},
    {"map for list", BASE_NO_OBJ "  objects: {database: a}\n",
     "t.yaml:8:12: objects must be a list\n"},
    {"string for list", BASE_NO_OBJ "  objects: [{database: a, excludeTables: tmp}]\n",
     "t.yaml:8:42: excludeTables must be a list\n"},
    {"list for map", TOP META "  source: [h]\n" DST TYPES OBJ,
     "t.yaml:5:11: source must be a mapping\n"},
    {"map for string", TOP "metadata: {name: {a: b}}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name must be a string\n"},
    {"bool", BASE "  verify: yes\n", "t.yaml:9:11: verify must be true or false (got 'yes')\n"},
    {"quoted bool", BASE "  stop: {force: \"true\"}\n",
     "t.yaml:9:17: force must be true or false (got the quoted string 'true')\n"},
    {"list of maps for list of strings",
     BASE_NO_OBJ "  objects: [{database: a, excludeTables: [{a: b}]}]\n",
     "t.yaml:8:43: items of excludeTables must be strings\n"},
    {"list item not a mapping", BASE_NO_OBJ "  objects: [a]\n",
     "t.yaml:8:13: items of objects must be mappings\n"},
    {"label value not a string",
     TOP "metadata: {name: t, labels: {team: [a]}}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:36: values of labels must be non-empty strings\n"},
    {"negative parallelism", BASE "  parallelism: -1\n",
     "t.yaml:9:16: parallelism must be between 1 and 256 (got -1)\n"},
    {"zero parallelism", BASE "  parallelism: 0\n",
     "t.yaml:9:16: parallelism must be between 1 and 256 (got 0)\n"},
    {"port out of range", TOP META "  source: {host: h, port: 70000, user: u}\n" DST TYPES OBJ,
     "t.yaml:5:27: port must be between 1 and 65535 (got 70000)\n"},
    {"negative rows per second", BASE "  throttle: {rowsPerSecond: -5}\n",
     "t.yaml:9:29: rowsPerSecond must be between 0 and 9223372036854775807 (got -5)\n"},

    /* --- durations --- */
    {"duration without unit", BASE "  retryWindow: 12\n",
     "t.yaml:9:16: retryWindow must be a duration like 500ms, 30s, 5m, 12h or 1d (got '12')\n"},
    {"duration in weeks", BASE "  retryWindow: 2w\n",
     "t.yaml:9:16: retryWindow must be a duration like 500ms, 30s, 5m, 12h or 1d (got '2w')\n"},
    {"fractional duration", BASE "  retryWindow: 1.5h\n",
     "t.yaml:9:16: retryWindow must be a duration like 500ms, 30s, 5m, 12h or 1d (got "
     "'1.5h')\n"},
    {"negative duration", BASE "  stop: {maxDelay: -5s}\n",
     "t.yaml:9:20: maxDelay must be a duration like 500ms, 30s, 5m, 12h or 1d (got '-5s')\n"},
    {"duration with a space", BASE "  stop: {maxDelay: 5 m}\n",
     "t.yaml:9:20: maxDelay must be a duration like 500ms, 30s, 5m, 12h or 1d (got '5 m')\n"},
    {"duration overflow", BASE "  retryWindow: 9999999999999999d\n",
     "t.yaml:9:16: retryWindow must be a duration like 500ms, 30s, 5m, 12h or 1d (got "
     "'9999999999999999d')\n"},

    /* --- sizes --- */
    {"unknown size unit", BASE "  throttle: {bytesPerSecond: 50XB}\n",
     "t.yaml:9:30: bytesPerSecond must be a size like 1048576, 50MiB or 1GiB (got '50XB')\n"},
    {"fractional size", BASE "  throttle: {bytesPerSecond: 1.5GiB}\n",
     "t.yaml:9:30: bytesPerSecond must be a size like 1048576, 50MiB or 1GiB (got '1.5GiB')\n"},
    {"negative size", BASE "  throttle: {bytesPerSecond: -1}\n",
     "t.yaml:9:30: bytesPerSecond must be a size like 1048576, 50MiB or 1GiB (got '-1')\n"},
    {"size overflow", BASE "  throttle: {bytesPerSecond: 99999999999TiB}\n",
     "t.yaml:9:30: bytesPerSecond must be a size like 1048576, 50MiB or 1GiB (got "
     "'99999999999TiB')\n"},

    /* --- enums --- */
    {"bad state", BASE "  state: running2\n",
     "t.yaml:9:10: state must be one of running, paused, stopped (got 'running2')\n"},
    {"state as a list", BASE "  state: [running]\n",
     "t.yaml:9:10: state must be one of running, paused, stopped\n"},
    {"bad tls mode",
     TOP META SRC "  destination: {host: h, user: u, tls: {mode: strict}}\n" TYPES OBJ,
     "t.yaml:6:47: mode must be one of disabled, preferred, required, verify-ca, "
     "verify-identity (got 'strict')\n"},
    {"misspelt migration type", TOP META SRC DST "  migrationTypes: [schema, ful]\n" OBJ,
     "t.yaml:7:28: unknown migration type 'ful' (did you mean 'full'?)\n"},
    {"unknown migration type", TOP META SRC DST "  migrationTypes: [copy]\n" OBJ,
     "t.yaml:7:20: unknown migration type 'copy' (one of schema, full, incremental)\n"},
    {"migration type twice", TOP META SRC DST "  migrationTypes: [full, full]\n" OBJ,
     "t.yaml:7:26: migration type 'full' is listed twice\n"},
    {"empty migration types", TOP META SRC DST "  migrationTypes: []\n" OBJ,
     "t.yaml:7:19: migrationTypes must not be empty\n"},
    {"migration types as a string", TOP META SRC DST "  migrationTypes: full\n" OBJ,
     "t.yaml:7:19: migrationTypes must be a list, e.g. [schema, full, incremental]\n"},

    /* --- metadata.name --- */
    {"uppercase name", TOP "metadata: {name: Shop}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name 'Shop' must be lowercase letters, digits and '-', starting and ending "
     "with a letter or digit\n"},
    {"trailing dash", TOP "metadata: {name: shop-}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name 'shop-' must be lowercase letters, digits and '-', starting and ending "
     "with a letter or digit\n"},
    {"leading dash", TOP "metadata: {name: -shop}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name '-shop' must be lowercase letters, digits and '-', starting and ending "
     "with a letter or digit\n"},
    {"underscore in name", TOP "metadata: {name: shop_b}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name 'shop_b' must be lowercase letters, digits and '-', starting and "
     "ending with a letter or digit\n"},
    {"name of 64",
     TOP
     "metadata: {name: "
     "a234567890123456789012345678901234567890123456789012345678901234}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name must be at most 63 characters (got 64)\n"},
    {"empty name", TOP "metadata: {name: \"\"}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name must not be empty\n"},
    {"null name", TOP "metadata: {name: ~}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name must have a value\n"},

    /* --- missing and empty --- */
    {"no kind", "apiVersion: godwit/v1\n" META SRC DST TYPES OBJ,
     "t.yaml:1:1: missing required key 'kind'\n"},
    {"wrong apiVersion and kind", "apiVersion: godwit/v2\nkind: Migrate\n" META SRC DST TYPES OBJ,
     "t.yaml:1:13: apiVersion must be 'godwit/v1' (got 'godwit/v2')\n"
     "t.yaml:2:7: kind must be 'Migration' (got 'Migrate')\n"},
    {"empty spec", TOP META, "t.yaml:4:6: spec must have a value\n"},
    {"spec with no keys", TOP "metadata: {name: t}\nspec: {}\n",
     "t.yaml:4:7: missing required key 'source'\n"
     "t.yaml:4:7: missing required key 'destination'\n"
     "t.yaml:4:7: missing required key 'migrationTypes'\n"
     "t.yaml:4:7: missing required key 'objects'\n"},
    {"empty metadata", TOP "metadata: {}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:11: missing required key 'name'\n"},
    {"empty source", TOP META "  source: {}\n" DST TYPES OBJ,
     "t.yaml:5:11: missing required key 'user'\n"
     "t.yaml:5:11: source needs host (and port) or rds\n"},
    {"no destination", TOP META SRC TYPES OBJ, "t.yaml:5:3: missing required key 'destination'\n"},
    {"no objects", BASE_NO_OBJ, "t.yaml:5:3: missing required key 'objects'\n"},
    {"empty objects", BASE_NO_OBJ "  objects: []\n", "t.yaml:8:12: objects must not be empty\n"},
    {"null objects", BASE_NO_OBJ "  objects:\n", "t.yaml:8:11: objects must have a value\n"},
    {"object without database", BASE_NO_OBJ "  objects: [{renameTo: b}]\n",
     "t.yaml:8:13: missing required key 'database'\n"},
    {"empty tables", BASE_NO_OBJ "  objects: [{database: a, tables: []}]\n",
     "t.yaml:8:35: tables must not be empty (leave it out to migrate the whole database)\n"},
    {"table without name", BASE_NO_OBJ "  objects: [{database: a, tables: [{renameTo: b}]}]\n",
     "t.yaml:8:36: missing required key 'name'\n"},
    {"empty columns", BASE_NO_OBJ "  objects: [{database: a, tables: [{name: t, columns: []}]}]\n",
     "t.yaml:8:55: columns must not be empty (leave it out to copy every column)\n"},
    {"empty password", TOP META "  source: {host: h, user: u, password: {}}\n" DST TYPES OBJ,
     "t.yaml:5:40: password needs fromEnv or fromFile\n"},

    /* --- endpoints --- */
    {"host and rds",
     TOP META SRC "  destination: {host: h, user: u, rds: {region: r, instanceId: i}}\n" TYPES OBJ,
     "t.yaml:6:35: destination has both host and rds: give one of them\n"},
    {"neither host nor rds", TOP META SRC "  destination: {user: u}\n" TYPES OBJ,
     "t.yaml:6:16: destination needs host (and port) or rds\n"},
    {"port with rds",
     TOP META SRC
     "  destination: {port: 3306, user: u, rds: {region: r, instanceId: i}}\n" TYPES OBJ,
     "t.yaml:6:17: port applies to host, not rds (the instance's port is looked up)\n"},
    {"rds without instanceId",
     TOP META SRC "  destination: {user: u, rds: {region: r}}\n" TYPES OBJ,
     "t.yaml:6:31: missing required key 'instanceId'\n"},
    {"accountId without roleName",
     TOP META SRC
     "  destination: {user: u, rds: {region: r, instanceId: i, accountId: \"1\"}}\n" TYPES OBJ,
     "t.yaml:6:58: accountId needs roleName: the RAM role to assume in that account\n"},
    {"bad whitelist cidr", BASE "  whitelist: {cidrs: [10.0.0.0/33, 203.0.113.0/28, x]}\n",
     "t.yaml:9:23: '10.0.0.0/33' is not an IP address or CIDR block like 203.0.113.0/28\n"
     "t.yaml:9:52: 'x' is not an IP address or CIDR block like 203.0.113.0/28\n"},

    /* --- passwords --- */
    {"inline password", TOP META "  source: {host: h, user: u, password: \"x\"}\n" DST TYPES OBJ,
     "t.yaml:5:40: password must not be inline: use fromEnv or fromFile\n"},
    {"inline password, plain",
     TOP META "  source: {host: h, user: u, password: hunter2}\n" DST TYPES OBJ,
     "t.yaml:5:40: password must not be inline: use fromEnv or fromFile\n"},
    {"fromEnv and fromFile",
     TOP META "  source: {host: h, user: u, password: {fromEnv: P, fromFile: /p}}\n" DST TYPES OBJ,
     "t.yaml:5:40: password takes fromEnv or fromFile, not both\n"},
    {"password as a list", TOP META "  source: {host: h, user: u, password: [P]}\n" DST TYPES OBJ,
     "t.yaml:5:40: password must be a mapping with fromEnv or fromFile\n"},
    /* Someone who wrote the password itself into fromEnv must not see it. */
    {"fromEnv not a variable name",
     TOP META "  source: {host: h, user: u, password: {fromEnv: \"s3cret!pw\"}}\n" DST TYPES OBJ,
     "t.yaml:5:50: fromEnv must be an environment variable name (letters, digits and '_', "
     "not starting with a digit)\n"},

    /* --- names that collide after mapping --- */
    {"two databases renamed alike",
     BASE_NO_OBJ "  objects:\n    - {database: a, renameTo: c}\n    - {database: b, renameTo: c}\n",
     "t.yaml:10:31: databases 'a' and 'b' both map to destination database 'c'\n"},
    {"a database renamed onto another",
     BASE_NO_OBJ "  objects:\n    - {database: c}\n    - {database: b, renameTo: c}\n",
     "t.yaml:10:31: databases 'c' and 'b' both map to destination database 'c'\n"},
    {"database listed twice", BASE_NO_OBJ "  objects:\n    - {database: a}\n    - {database: a}\n",
     "t.yaml:10:18: database 'a' is listed twice\n"},
    {"database onto the meta database",
     BASE_NO_OBJ "  objects: [{database: a, renameTo: godwit_meta}]\n",
     "t.yaml:8:37: destination database 'godwit_meta' is godwit's meta database "
     "(destination.metaDatabase)\n"},
    {"system database", BASE_NO_OBJ "  objects: [{database: mysql}]\n",
     "t.yaml:8:24: database 'mysql' is a system database and cannot be migrated\n"},
    {"two tables renamed alike",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t1, renameTo: x}\n        - {name: t2, renameTo: x}\n",
     "t.yaml:12:32: tables 't1' and 't2' both map to destination table 'x'\n"},
    {"a table renamed onto another",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: x}\n        - {name: t2, renameTo: x}\n",
     "t.yaml:12:32: tables 'x' and 't2' both map to destination table 'x'\n"},
    {"table listed twice",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t1}\n        - {name: t1}\n",
     "t.yaml:12:18: table 't1' is listed twice\n"},
    {"table excluded",
     BASE_NO_OBJ "  objects:\n    - database: a\n      excludeTables: [\"tmp_*\"]\n"
		 "      tables: [{name: tmp_x}]\n",
     "t.yaml:11:23: table 'tmp_x' is listed in tables but excluded by excludeTables 'tmp_*'\n"},
    {"two columns renamed alike",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, columns: [id, a, b], renameColumns: {a: c, b: c}}\n",
     "t.yaml:11:67: columns 'a' and 'b' both map to destination column 'c'\n"},
    {"a column renamed onto another",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, columns: [id, a, c], renameColumns: {a: c}}\n",
     "t.yaml:11:38: columns 'a' and 'c' both map to destination column 'c'\n"},
    {"two columns renamed alike, no column list",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, renameColumns: {a: c, b: C}}\n",
     "t.yaml:11:46: columns 'a' and 'b' both map to destination column 'C'\n"},
    {"column listed twice",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, columns: [id, a, A]}\n",
     "t.yaml:11:38: column 'A' is listed twice\n"},
    {"column renamed twice",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, renameColumns: {a: x, A: y}}\n",
     "t.yaml:11:43: column 'A' is renamed twice (column names have no case)\n"},
    /* A column list without the primary key is refused by precheck: the
     * key is known only to the server (engine/precheck.c, primary-keys;
     * tests/integration/precheck_items.sh). */
    {"renamed column not selected",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, columns: [id, a], renameColumns: {b: c}}\n",
     "t.yaml:11:55: renameColumns names column 'b', which is not in columns\n"},

    /* --- row filters --- */
    {"where column not selected, incremental",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, columns: [id, a], where: \"b > 1 AND a < 2\"}\n",
     "t.yaml:11:47: where uses column 'b', which is not in columns (with incremental, every "
     "filter column must be selected)\n"},
    {"where column renamed away, incremental",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, columns: [id, a], renameColumns: {a: b}, where: \"b > 1\"}\n",
     "t.yaml:11:70: where uses column 'b', which is not in columns (with incremental, every "
     "filter column must be selected)\n"},
    {"where unterminated, incremental",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, columns: [id, a], where: \"a = 'x\"}\n",
     "t.yaml:11:51: where has an unterminated string, quoted name or comment\n"},
    /* one expression over the table's columns (spec/where.h), located
     * where the problem is inside the value */
    {"where with a subquery",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, where: \"1=1 AND EXTRACTVALUE(1, CONCAT(0x7e,(SELECT "
		 "authentication_string FROM mysql.user LIMIT 1)))\"}\n",
     "t.yaml:11:66: where has SELECT: a filter is one expression (no subquery, no "
     "statement)\n"},
    {"where with a variable, single-quoted",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, where: 'a = ''x'' AND @v = 1'}\n",
     "t.yaml:11:43: where uses variable @v (a filter reads the row's columns only)\n"},
    {"where with a comment, escaped quotes",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, where: \"a = \\\"x\\\" -- c\"}\n",
     "t.yaml:11:39: where has a comment (not allowed in a filter)\n"},
    {"where with a statement, block scalar",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - name: t\n          where: |\n            a = 1; DROP TABLE t\n",
     "t.yaml:12:18: where has a ';' (one expression, not statements) (at byte 6 of the "
     "value)\n"},
    {"where calling a stored function",
     BASE_NO_OBJ "  objects:\n    - database: a\n      tables:\n"
		 "        - {name: t, where: \"LOAD_FILE('/etc/passwd') IS NULL\"}\n",
     "t.yaml:11:29: where calls LOAD_FILE(), which is not a built-in function a filter "
     "may use\n"},

    /* --- duplicate keys --- */
    {"duplicate top-level key", BASE "  objects: [{database: b}]\n",
     "t.yaml:9:3: duplicate key 'objects' (first at line 8)\n"},
    {"duplicate nested key", TOP META "  source: {host: h, host: i, user: u}\n" DST TYPES OBJ,
     "t.yaml:5:21: duplicate key 'host' (first at line 5)\n"},
    {"duplicate label", TOP "metadata: {name: t, labels: {a: x, a: y}}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:36: duplicate key 'a' (first at line 3)\n"},

    /* --- all errors of a file, in order --- */
    {"three errors",
     TOP "metadata: {name: T}\nspec:\n" SRC DST TYPES OBJ "  retryWindow: 5x\n  parallelizm: 2\n",
     "t.yaml:3:18: name 'T' must be lowercase letters, digits and '-', starting and ending with "
     "a letter or digit\n"
     "t.yaml:9:16: retryWindow must be a duration like 500ms, 30s, 5m, 12h or 1d (got '5x')\n"
     "t.yaml:10:3: unknown key 'parallelizm' (did you mean 'parallelism'?)\n"},

    /* --- one line each, whatever the file holds --- */
    {"newline in a value", TOP "metadata: {name: \"a\\nb\\e[31m\"}\nspec:\n" SRC DST TYPES OBJ,
     "t.yaml:3:18: name 'a\\nb\\x1b[31m' must be lowercase letters, digits and '-', starting "
     "and ending with a letter or digit\n"},
    /* Only what looks like a key name is echoed: not a file's content. */
    {"tab in a key", BASE "  \"par\\tallelism\": 4\n",
     "t.yaml:9:3: unknown key '(not shown: not a key name)' (did you mean 'parallelism'?)\n"},
    {"a line of /etc/shadow as a key", BASE "  \"root:*:19000:0:99999:7:::\": x\n",
     "t.yaml:9:3: unknown key '(not shown: not a key name)'\n"},
    {"nested too deep",
     BASE "  parallelism: "
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
     "t.yaml:9:78: nested deeper than 64 levels (a spec needs a few)\n"},
    {"huge value", TOP "metadata: {name: t}\nspec:\n" SRC DST TYPES OBJ "  state: " HUGE "\n",
     "t.yaml:9:10: state must be one of running, paused, stopped (got '" HUGE_CUT "...\n"},

    /* --- documents --- */
    {"empty file", "", "t.yaml:1:1: empty spec: expected apiVersion, kind, metadata and spec\n"},
    {"only a comment", "# nothing\n\n",
     "t.yaml:1:1: empty spec: expected apiVersion, kind, metadata and spec\n"},
    {"a list", "- apiVersion: godwit/v1\n",
     "t.yaml:1:1: a spec must be a mapping with apiVersion, kind, metadata and spec\n"},
    {"a scalar", "hello\n",
     "t.yaml:1:1: a spec must be a mapping with apiVersion, kind, metadata and spec\n"},
    {"two documents", BASE "---\n" BASE,
     "t.yaml:9:1: one spec per file: a second YAML document starts here\n"},
    {"not YAML", "a: [b\n",
     "t.yaml:2:1: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence "
     "at line 1\n"},
    {"undefined alias", TOP "metadata: {name: *n}\nspec:\n",
     "t.yaml:3:18: invalid YAML: found undefined alias\n"},
};

static int load(struct spec **out, const char *yaml, struct buf *diags_out)
{
	struct diag_list diags = DIAG_LIST_INIT;
	int r = spec_load_buffer(out, "t.yaml", yaml, strlen(yaml), &diags);

	assert_int_equal(diag_list_format(diags_out, &diags), 0);
	diag_list_release(&diags);
	return r;
}

static void test_bad_specs(void **state)
{
	size_t i, failures = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct buf got = BUF_INIT;
		struct spec *s = NULL;
		int r = load(&s, c->yaml, &got);

		if (r == 0 || s || strcmp(buf_cstr(&got), c->want)) {
			print_error("case '%s':\n  want: %s  got:  %s%s\n", c->name, c->want,
				    buf_cstr(&got), s ? "  (and a spec was returned)" : "");
			failures++;
		}
		spec_free(s);
		buf_release(&got);
	}
	assert_int_equal(failures, 0);
}

/* The variants of a good spec each bad case above starts from. */
static void test_base_is_valid(void **state)
{
	static const char *const good[] = {BASE, BASE_NO_OBJ "  objects: [{database: a}]\n"};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct buf got = BUF_INIT;
		struct spec *s = NULL;

		assert_int_equal(load(&s, good[i], &got), 0);
		assert_string_equal(buf_cstr(&got), "");
		spec_free(s);
		buf_release(&got);
	}
}

static void test_too_many_errors(void **state)
{
	struct buf yaml = BUF_INIT, got = BUF_INIT;
	struct spec *s = NULL;
	const char *last;
	size_t i, lines = 0;

	(void)state;
	assert_int_equal(buf_puts(&yaml, BASE), 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(buf_printf(&yaml, "  unknown%zu: x\n", i), 0);
	assert_int_not_equal(load(&s, buf_cstr(&yaml), &got), 0);
	for (i = 0; i < got.len; i++)
		lines += got.ptr[i] == '\n';
	assert_int_equal(lines, 200);
	/* The cut is said last, after the errors it follows. */
	got.ptr[got.len - 1] = '\0';
	last = strrchr(got.ptr, '\n') + 1;
	assert_string_equal(last, "t.yaml:208:3: too many errors; giving up");
	assert_true(!strncmp(got.ptr, "t.yaml:9:3: unknown key 'unknown0'\n", 35));
	buf_release(&yaml);
	buf_release(&got);
}

static void test_unreadable_file(void **state)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct buf got = BUF_INIT;
	struct spec *s = NULL;

	(void)state;
	assert_int_not_equal(spec_load_file(&s, "/nonexistent/x.yaml", &diags), 0);
	assert_null(s);
	assert_int_equal(diag_list_format(&got, &diags), 0);
	assert_string_equal(buf_cstr(&got),
			    "/nonexistent/x.yaml:1:1: cannot read: No such file or directory\n");
	diag_list_release(&diags);
	buf_reset(&got);
	{
		char path[128];
		static char chunk[1 << 20];
		int fd, i;

		(void)snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
		assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
		memset(chunk, '#', sizeof(chunk));
		for (i = 0; i < 5; i++)
			assert_int_equal(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
		close(fd);
		assert_int_not_equal(spec_load_file(&s, path, &diags), 0);
		assert_null(s);
		assert_int_equal(diag_list_format(&got, &diags), 0);
		assert_non_null(
		    strstr(buf_cstr(&got), "big.yaml:1:1: file is larger than 4 MiB\n"));
		diag_list_release(&diags);
		buf_reset(&got);
		unlink(path);
	}
	assert_int_not_equal(spec_load_file(&s, "/", &diags), 0);
	assert_int_equal(diag_list_format(&got, &diags), 0);
	assert_string_equal(buf_cstr(&got), "/:1:1: cannot read: Is a directory\n");
	diag_list_release(&diags);
	buf_release(&got);
}

/* --- good specs --- */

static struct spec *load_ok(const char *yaml)
{
	struct buf got = BUF_INIT;
	struct spec *s = NULL;
	int r = load(&s, yaml, &got);

	if (r != 0)
		print_error("unexpected diagnostics:\n%s", buf_cstr(&got));
	assert_int_equal(r, 0);
	assert_non_null(s);
	buf_release(&got);
	return s;
}

static void test_defaults(void **state)
{
	struct spec *s = load_ok(BASE);

	(void)state;
	assert_string_equal(s->file, "t.yaml");
	assert_string_equal(s->name, "t");
	assert_int_equal(s->nlabels, 0);
	assert_false(s->source.is_rds);
	assert_string_equal(s->source.host, "h");
	assert_int_equal(s->source.port, 3306);
	assert_int_equal(s->destination.port, 3306);
	assert_string_equal(s->source.user, "u");
	assert_int_equal(s->source.password.kind, SECRET_ENV);
	assert_string_equal(s->source.password.name, "P");
	assert_int_equal(s->destination.password.kind, SECRET_NONE);
	assert_null(s->destination.password.name);
	assert_int_equal(s->source.tls_mode, TLS_PREFERRED);
	assert_int_equal(s->destination.tls_mode, TLS_PREFERRED);
	assert_null(s->source.tls_ca);
	assert_string_equal(s->destination.meta_database, "godwit_meta");
	assert_int_equal(s->migration_types, MT_SCHEMA | MT_FULL | MT_INCREMENTAL);
	assert_int_equal(s->nobjects, 1);
	assert_string_equal(s->objects[0].database, "a");
	assert_null(s->objects[0].rename_to);
	assert_null(s->objects[0].tables);
	assert_true(spec_whole_database(&s->objects[0]));
	assert_int_equal(s->parallelism, 4);
	assert_false(s->verify);
	assert_true(s->throttle_rows == 0);
	assert_true(s->throttle_bytes == 0);
	assert_true(s->retry_window_ms == 12LL * 3600 * 1000);
	assert_int_equal(s->state, STATE_RUNNING);
	assert_true(s->stop_max_delay_ms == 0);
	assert_false(s->stop_freeze_source);
	assert_false(s->stop_force);
	assert_int_equal(s->nwhitelist, 0);
	spec_free(s);
}

static void test_every_key(void **state)
{
	static const char yaml[] = TOP
	    "metadata:\n  name: shop-to-b\n  labels: {team: payments, tier: \"1\"}\n"
	    "spec:\n"
	    "  source:\n    host: 10.0.0.1\n    port: 3307\n    user: migrator\n"
	    "    password: {fromFile: /run/secrets/src}\n"
	    "    tls: {mode: verify-identity, ca: /etc/ca.pem, serverPublicKey: /etc/src.pem,\n"
	    "          getServerPublicKey: true}\n"
	    "  destination:\n    user: m\n    password: {fromEnv: DST_PW}\n"
	    "    rds: {region: cn-hangzhou, instanceId: rm-1, accountId: \"123\", roleName: r}\n"
	    "    metaDatabase: gw_meta\n"
	    "  migrationTypes: [full, schema]\n"
	    "  objects:\n"
	    "    - database: shop\n      renameTo: shop_b\n      excludeTables: [\"tmp_*\"]\n"
	    "      tables:\n"
	    "        - name: orders\n          renameTo: orders_2024\n"
	    "          columns: [id, total, created_at]\n"
	    "          renameColumns: {total: amount}\n"
	    "          where: \"created_at >= '2024-01-01'\"\n"
	    "  parallelism: 16\n  verify: true\n"
	    "  throttle: {rowsPerSecond: 20000, bytesPerSecond: 50MiB}\n"
	    "  retryWindow: 1d\n  state: stopped\n"
	    "  stop: {maxDelay: 30s, freezeSource: true, force: true}\n"
	    "  whitelist: {cidrs: [\"203.0.113.0/28\", \"2001:db8::/32\", 198.51.100.7]}\n";
	struct spec *s = load_ok(yaml);
	const struct table_sel *t = NULL;

	(void)state;
	assert_string_equal(s->name, "shop-to-b");
	assert_int_equal(s->nlabels, 2);
	assert_string_equal(s->labels[1].key, "tier");
	assert_string_equal(s->labels[1].value, "1");
	assert_int_equal(s->source.port, 3307);
	assert_int_equal(s->source.password.kind, SECRET_FILE);
	assert_string_equal(s->source.password.name, "/run/secrets/src");
	assert_int_equal(s->source.tls_mode, TLS_VERIFY_IDENTITY);
	assert_string_equal(s->source.tls_ca, "/etc/ca.pem");
	assert_string_equal(s->source.tls_server_key, "/etc/src.pem");
	assert_true(s->source.tls_get_server_key);
	assert_null(s->destination.tls_server_key);
	assert_false(s->destination.tls_get_server_key);
	assert_true(s->destination.is_rds);
	assert_null(s->destination.host);
	assert_string_equal(s->destination.rds.region, "cn-hangzhou");
	assert_string_equal(s->destination.rds.instance_id, "rm-1");
	assert_string_equal(s->destination.rds.account_id, "123");
	assert_string_equal(s->destination.rds.role_name, "r");
	assert_string_equal(s->destination.meta_database, "gw_meta");
	assert_int_equal(s->migration_types, MT_SCHEMA | MT_FULL);
	assert_true(spec_table_selected(s, "shop", "orders", &t));
	assert_non_null(t);
	assert_false(spec_table_selected(s, "shop", "tmp_1", NULL));
	assert_false(spec_table_selected(s, "shop", "customers", NULL));
	assert_false(spec_table_selected(s, "other", "orders", NULL));
	assert_string_equal(spec_dest_database(&s->objects[0]), "shop_b");
	assert_string_equal(spec_dest_table(t, "orders"), "orders_2024");
	assert_string_equal(spec_dest_column(t, "TOTAL"), "amount");
	assert_string_equal(spec_dest_column(t, "id"), "id");
	assert_true(spec_column_selected(t, "created_at"));
	assert_false(spec_column_selected(t, "customer_id"));
	assert_string_equal(t->where, "created_at >= '2024-01-01'");
	assert_int_equal(s->parallelism, 16);
	assert_true(s->verify);
	assert_true(s->throttle_rows == 20000);
	assert_true(s->throttle_bytes == 50ULL * 1024 * 1024);
	assert_true(s->retry_window_ms == 86400000);
	assert_int_equal(s->state, STATE_STOPPED);
	assert_true(s->stop_max_delay_ms == 30000);
	assert_true(s->stop_freeze_source);
	assert_true(s->stop_force);
	assert_int_equal(s->nwhitelist, 3);
	assert_string_equal(s->whitelist_cidrs[1], "2001:db8::/32");
	spec_free(s);
}

static void test_durations_and_sizes(void **state)
{
	static const struct {
		const char *text;
		int64_t ms;
	} durations[] = {{"500ms", 500},     {"30s", 30000},	   {"5m", 300000},
			 {"12h", 43200000},  {"1d", 86400000},	   {"0", 0},
			 {"1h30m", 5400000}, {"2d12h", 216000000}, {"0s", 0},
			 {"90m", 5400000}};
	static const struct {
		const char *text;
		uint64_t bytes;
	} sizes[] = {
	    {"0", 0},	      {"1048576", 1048576}, {"50MiB", 50ULL << 20}, {"1GiB", 1ULL << 30},
	    {"10KiB", 10240}, {"10KB", 10000},	    {"2GB", 2000000000ULL}, {"1TiB", 1ULL << 40}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		struct buf y = BUF_INIT;
		struct spec *s;

		assert_int_equal(buf_printf(&y, BASE "  retryWindow: %s\n  stop: {maxDelay: %s}\n",
					    durations[i].text, durations[i].text),
				 0);
		s = load_ok(buf_cstr(&y));
		assert_true(s->retry_window_ms == durations[i].ms);
		assert_true(s->stop_max_delay_ms == durations[i].ms);
		spec_free(s);
		buf_release(&y);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct buf y = BUF_INIT;
		struct spec *s;

		assert_int_equal(
		    buf_printf(&y, BASE "  throttle: {bytesPerSecond: %s}\n", sizes[i].text), 0);
		s = load_ok(buf_cstr(&y));
		assert_true(s->throttle_bytes == sizes[i].bytes);
		spec_free(s);
		buf_release(&y);
	}
}

/* Filters that only read selected columns pass; so does any filter
 * without incremental (nothing is evaluated on binlog images then). */
static void test_good_filters(void **state)
{
	static const char *const wheres[] = {
	    "created_at >= '2024-01-01' AND id % 2 = 0",
	    "`a` IS NOT NULL OR id IN (1, 2, 3)",
	    "created_at > NOW() - INTERVAL 30 DAY",
	    "YEAR(created_at) = 2024 AND a LIKE 'x%'",
	    "a = \"it's\" AND id BETWEEN 1 AND 9",
	    "EXTRACT(YEAR FROM created_at) > 2000",
	    "created_at > DATE '2024-01-01'",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(wheres) / sizeof(wheres[0]); i++) {
		struct buf y = BUF_INIT;
		struct spec *s;
		const char *p;

		assert_int_equal(buf_puts(&y, BASE_NO_OBJ "  objects:\n    - database: a\n"
							  "      tables:\n        - name: t\n"
							  "          columns: [id, a, created_at]\n"
							  "          where: '"),
				 0);
		for (p = wheres[i]; *p; p++) /* a single-quoted YAML scalar */
			assert_int_equal(*p == '\'' ? buf_puts(&y, "''") : buf_putc(&y, *p), 0);
		assert_int_equal(buf_puts(&y, "'\n"), 0);
		s = load_ok(buf_cstr(&y));
		spec_free(s);
		buf_release(&y);
	}
	{
		struct spec *s =
		    load_ok(TOP META SRC DST "  migrationTypes: [schema, full]\n"
					     "  objects: [{database: a, tables: [{name: t, "
					     "columns: [id], where: \"b > 1\"}]}]\n");
		assert_int_equal(s->migration_types, MT_SCHEMA | MT_FULL);
		spec_free(s);
	}
}

/* --- hashes --- */

static void hashes_of(const char *yaml, char hash[65], char imm[65])
{
	struct spec *s = load_ok(yaml);

	memcpy(hash, s->hash, 65);
	memcpy(imm, s->immutable_hash, 65);
	assert_int_equal(strlen(hash), 64);
	assert_int_equal(strlen(imm), 64);
	spec_free(s);
}

static void test_hashes(void **state)
{
	/* Changes the immutable part ignores: not where data goes. */
	static const char *const mutable_changes[] = {
	    BASE "  parallelism: 8\n",
	    BASE "  state: paused\n",
	    BASE "  throttle: {rowsPerSecond: 10}\n",
	    BASE "  retryWindow: 1h\n",
	    BASE "  stop: {force: true}\n",
	    BASE "  verify: true\n",
	    BASE "# a comment\n",
	    TOP "metadata: {name: t, labels: {a: b}}\nspec:\n" SRC DST TYPES OBJ,
	    /* credentials rotate; the endpoint stays the same */
	    TOP META "  source: {host: h, user: u2, password: {fromFile: /p}}\n" DST TYPES OBJ,
	    TOP META SRC "  destination: {host: h, user: u, tls: {mode: required}}\n" TYPES OBJ,
	};
	/* Changes to source, destination, objects and migrationTypes. */
	static const char *const immutable_changes[] = {
	    TOP META "  source: {host: h2, user: u, password: {fromEnv: P}}\n" DST TYPES OBJ,
	    TOP META
	    "  source: {host: h, port: 3307, user: u, password: {fromEnv: P}}\n" DST TYPES OBJ,
	    TOP META SRC "  destination: {host: h2, user: u}\n" TYPES OBJ,
	    TOP META SRC "  destination: {host: h, user: u, metaDatabase: m}\n" TYPES OBJ,
	    TOP META SRC "  destination: {user: u, rds: {region: r, instanceId: i}}\n" TYPES OBJ,
	    TOP META SRC DST "  migrationTypes: [schema, full]\n" OBJ,
	    BASE_NO_OBJ "  objects: [{database: b}]\n",
	    BASE_NO_OBJ "  objects: [{database: a, renameTo: b}]\n",
	    BASE_NO_OBJ "  objects: [{database: a}, {database: b}]\n",
	    BASE_NO_OBJ "  objects: [{database: a, excludeTables: [x]}]\n",
	    BASE_NO_OBJ "  objects: [{database: a, tables: [{name: t}]}]\n",
	    BASE_NO_OBJ "  objects: [{database: a, tables: [{name: t, renameTo: u}]}]\n",
	    BASE_NO_OBJ "  objects: [{database: a, tables: [{name: t, columns: [id]}]}]\n",
	    BASE_NO_OBJ "  objects: [{database: a, tables: [{name: t, renameColumns: {a: b}}]}]\n",
	    BASE_NO_OBJ "  objects: [{database: a, tables: [{name: t, where: \"id > 1\"}]}]\n",
	};
	char h0[65], i0[65], h[65], im[65], seen[32][65];
	size_t i, j, nseen = 0;

	(void)state;
	hashes_of(BASE, h0, i0);
	/* Stable: the same bytes give the same hashes, and the file hash is
	 * the sha256 of the bytes. */
	hashes_of(BASE, h, im);
	assert_string_equal(h, h0);
	assert_string_equal(im, i0);
	util_sha256_hex(h, BASE, strlen(BASE));
	assert_string_equal(h, h0);
	/* The same spec written another way: same immutable part. */
	hashes_of(TOP META "  source:\n    host: h\n    user: u\n    password:\n"
			   "      fromEnv: P\n" DST TYPES "  objects:\n    - database: a\n",
		  h, im);
	assert_string_not_equal(h, h0);
	assert_string_equal(im, i0);
	for (i = 0; i < sizeof(mutable_changes) / sizeof(mutable_changes[0]); i++) {
		hashes_of(mutable_changes[i], h, im);
		if (!strcmp(h, h0) || strcmp(im, i0))
			fail_msg("mutable change %zu: hash must change, immutable_hash must not",
				 i);
	}
	memcpy(seen[nseen++], i0, 65);
	for (i = 0; i < sizeof(immutable_changes) / sizeof(immutable_changes[0]); i++) {
		hashes_of(immutable_changes[i], h, im);
		if (!strcmp(h, h0))
			fail_msg("immutable change %zu: hash must change", i);
		for (j = 0; j < nseen; j++)
			if (!strcmp(seen[j], im))
				fail_msg("immutable change %zu: immutable_hash equals that of %zu",
					 i, j);
		memcpy(seen[nseen++], im, 65);
	}
}

/* --- secrets --- */

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void test_secret_env(void **state)
{
	struct secret_ref ref = {SECRET_ENV, (char *)"GW_UNIT_TEST_PW"};
	struct gw_err err = GW_ERR_INIT;
	char *v = NULL;

	(void)state;
	unsetenv("GW_UNIT_TEST_PW");
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), GW_EFATAL);
	assert_null(v);
	assert_string_equal(err.msg, "password: environment variable GW_UNIT_TEST_PW is not set");
	/* Read at the moment of use: a value set later is seen. */
	setenv("GW_UNIT_TEST_PW", "pw one", 1);
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, "pw one");
	spec_secret_free(v);
	setenv("GW_UNIT_TEST_PW", "pw two", 1);
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, "pw two");
	spec_secret_free(v);
	/* An empty variable is an empty password, not an absent one. */
	setenv("GW_UNIT_TEST_PW", "", 1);
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, "");
	spec_secret_free(v);
	unsetenv("GW_UNIT_TEST_PW");
}

static void test_secret_file(void **state)
{
	struct secret_ref ref = {SECRET_FILE, NULL};
	struct gw_err err = GW_ERR_INIT;
	char path[128], *v = NULL, *big;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/pw", tmpdir);
	ref.name = path;
	write_file(path, "s3cret\n");
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, "s3cret");
	spec_secret_free(v);
	write_file(path, "s3cret\r\n");
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, "s3cret");
	spec_secret_free(v);
	/* Only the one trailing newline goes: the rest is the password. */
	write_file(path, " s3 cret \n\n");
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, " s3 cret \n");
	spec_secret_free(v);
	write_file(path, "no-newline");
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, "no-newline");
	spec_secret_free(v);
	/* Changed on disk: read again at the next use. */
	write_file(path, "rotated\n");
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), 0);
	assert_string_equal(v, "rotated");
	spec_secret_free(v);

	/* Errors name the file, never its content. */
	unlink(path);
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), GW_EFATAL);
	assert_null(v);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file or directory"));
	ref.name = tmpdir;
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, tmpdir));
	big = malloc(100001);
	assert_non_null(big);
	memset(big, 'Q', 100000);
	memcpy(big, "TOPSECRET", 9);
	big[100000] = '\0';
	ref.name = path;
	write_file(path, big);
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), GW_EFATAL);
	assert_null(v);
	assert_non_null(strstr(err.msg, path));
	assert_null(strstr(err.msg, "TOPSECRET"));
	assert_null(strstr(err.msg, "QQQ"));
	free(big);
	/* A NUL would cut the password short: refused, not truncated. */
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "pw\0more\n", 8), 8);
		close(fd);
	}
	assert_int_equal(spec_secret_resolve(&v, &ref, &err), GW_EFATAL);
	assert_null(v);
	assert_non_null(strstr(err.msg, "contains a NUL byte"));
	unlink(path);
}

/* What a spec may name: never the controller's own, and as the operator
 * confines it (docs/security.md). */
static void test_secret_policy(void **state)
{
	struct secret_ref env = {SECRET_ENV, NULL}, file = {SECRET_FILE, NULL};
	struct gw_err err = GW_ERR_INIT;
	char path[256], fifo[256], sub[256], *v = NULL;
	static const char *const own[] = {"ALIBABA_CLOUD_ACCESS_KEY_SECRET", "GODWIT_GIT_TOKEN",
					  "GODWIT_FORGE_TOKEN", "https_proxy"};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(own); i++) {
		setenv(own[i], "own-VALUE", 1);
		env.name = (char *)own[i];
		assert_int_equal(spec_secret_resolve(&v, &env, &err), GW_EFATAL);
		assert_null(v);
		assert_non_null(strstr(err.msg, own[i]));
		assert_non_null(strstr(err.msg, "never handed out"));
		assert_null(strstr(err.msg, "VALUE"));
		unsetenv(own[i]);
	}
	/* The kernel's files, FIFOs and directories: refused before a read. */
	file.name = (char *)"/proc/self/environ";
	assert_int_equal(spec_secret_resolve(&v, &file, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "a file of the kernel's"));
	(void)snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	file.name = fifo;
	assert_int_equal(spec_secret_resolve(&v, &file, &err), GW_EFATAL);
	assert_string_equal(err.msg + strlen(err.msg) - strlen("not a regular file"),
			    "not a regular file");
	unlink(fifo);
	/* A protected path, also through a symlink. */
	(void)snprintf(sub, sizeof(sub), "%s/state", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	(void)snprintf(path, sizeof(path), "%s/state/f", tmpdir);
	write_file(path, "x\n");
	assert_int_equal(spec_secret_protect_path(sub, &err), 0);
	file.name = path;
	assert_int_equal(spec_secret_resolve(&v, &file, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "of the controller's own"));
	(void)snprintf(fifo, sizeof(fifo), "%s/link", tmpdir);
	assert_int_equal(symlink(path, fifo), 0);
	file.name = fifo;
	assert_int_equal(spec_secret_resolve(&v, &file, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "of the controller's own"));
	spec_secret_policy_reset();
	assert_int_equal(spec_secret_resolve(&v, &file, &err), 0);
	assert_string_equal(v, "x");
	spec_secret_free(v);
	/* Confined: a prefix, directories. */
	assert_int_equal(spec_secret_policy_set("TEAM_", sub, &err), 0);
	setenv("OTHER_PW", "o", 1);
	setenv("TEAM_PW", "t", 1);
	env.name = (char *)"OTHER_PW";
	assert_int_equal(spec_secret_resolve(&v, &env, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "only variables named TEAM_*"));
	env.name = (char *)"TEAM_PW";
	assert_int_equal(spec_secret_resolve(&v, &env, &err), 0);
	assert_string_equal(v, "t");
	spec_secret_free(v);
	file.name = path; /* inside */
	assert_int_equal(spec_secret_resolve(&v, &file, &err), 0);
	spec_secret_free(v);
	(void)snprintf(path, sizeof(path), "%s/outside", tmpdir);
	write_file(path, "y\n");
	file.name = path;
	assert_int_equal(spec_secret_resolve(&v, &file, &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "outside the secret directories"));
	spec_secret_policy_reset();
	assert_int_equal(spec_secret_policy_set(NULL, "/nonexistent-dir", &err), GW_EFATAL);
	assert_non_null(strstr(err.msg, "--secret-dir"));
	spec_secret_policy_reset();
	unsetenv("OTHER_PW");
	unsetenv("TEAM_PW");
	unlink(path);
	unlink(fifo);
	(void)snprintf(path, sizeof(path), "%s/state/f", tmpdir);
	unlink(path);
	rmdir(sub);
}

/* No diagnostic repeats what was written as a password. */
static void test_secret_not_in_diagnostics(void **state)
{
	static const char *const specs[] = {
	    TOP META "  source: {host: h, user: u, password: \"pw-XYZZY\"}\n" DST TYPES OBJ,
	    TOP META "  source: {host: h, user: u, password: pw-XYZZY}\n" DST TYPES OBJ,
	    TOP META "  source: {host: h, user: u, password: [pw-XYZZY]}\n" DST TYPES OBJ,
	    TOP META
	    "  source: {host: h, user: u, password: {fromEnv: \"pw-XYZZY\"}}\n" DST TYPES OBJ,
	    TOP META "  source: {host: h, user: u, password: {value: pw-XYZZY}}\n" DST TYPES OBJ,
	    TOP META
	    "  source: {host: h, user: u, password: {fromEnv: P, fromFile: pw-XYZZY}}\n" DST TYPES
		OBJ,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct buf got = BUF_INIT;
		struct spec *s = NULL;

		assert_int_not_equal(load(&s, specs[i], &got), 0);
		assert_true(got.len > 0);
		if (strstr(buf_cstr(&got), "XYZZY"))
			fail_msg("spec %zu: the password reached a diagnostic: %s", i,
				 buf_cstr(&got));
		buf_release(&got);
	}
}

static int setup_tmp(void **state)
{
	(void)state;
	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/godwit-spec.XXXXXX",
		       getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR")
									 : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_is_valid),
	    cmocka_unit_test(test_bad_specs),
	    cmocka_unit_test(test_too_many_errors),
	    cmocka_unit_test(test_unreadable_file),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_durations_and_sizes),
	    cmocka_unit_test(test_good_filters),
	    cmocka_unit_test(test_hashes),
	    cmocka_unit_test(test_secret_env),
	    cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_secret_policy),
	    cmocka_unit_test(test_secret_not_in_diagnostics),
	};
	return cmocka_run_group_tests_name("spec", tests, setup_tmp, teardown_tmp);
}
