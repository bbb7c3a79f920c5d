/*
 * The check of a table's row filter (`where` in the spec). godwit pastes
 * the filter into WHERE (...) of its own queries on the source (copy,
 * verify, precheck) and on the destination (the incremental filter), so it
 * must be one boolean expression over the table's own columns and nothing
 * else. On the tokens of lib/sqllex.h, as godwit's sessions lex it
 * (backslash escapes, "x" a string):
 * - no statement and no subquery: SELECT, WITH, VALUES, TABLE, UNION, INTO,
 *   ... and no statement separator;
 * - no comment (a versioned comment is code on the server), no variable
 *   (@x, @@x), no assignment (:=), no qualified name (db.t.c);
 * - parentheses balanced, nothing unterminated;
 * - functions only built-in scalar functions of a list (date, string,
 *   number, JSON, ...): no stored function, nothing that reads files,
 *   sleeps, locks or tells about the session (LOAD_FILE, SLEEP, GET_LOCK,
 *   USER, ...);
 * - every other name is a column: is_column says whether it is one.
 */
#ifndef GODWIT_WHERE_H
#define GODWIT_WHERE_H

#include "lib/common.h"

enum where_issue {
	WHERE_BAD,   /* text: what is wrong; the check stopped there */
	WHERE_COLUMN /* text: a name that is_column refused (once per name) */
};

struct where_check {
	/* Whether name is a column of the table; NULL takes every name. */
	bool (*is_column)(void *ctx, const char *name);
	/* Called for each problem at byte off of the filter. */
	void (*report)(void *ctx, size_t off, enum where_issue issue, const char *text);
	void *ctx;
};

/* Checks filter where (NUL-terminated) and returns the number of problems
 * reported through cb. */
size_t where_check(const char *where, const struct where_check *cb);

#endif
