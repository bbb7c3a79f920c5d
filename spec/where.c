/*
 * The check of a row filter (spec/where.h): a walk over the filter's
 * tokens that keeps, for each open parenthesis, the function it belongs to
 * (some words are keywords only inside a function: FROM in EXTRACT, AS in
 * CAST) and whether a type is being named (CAST(x AS DECIMAL(10, 2))).
 * Whatever it does not know is refused, except names, which are columns.
 */
#include "lib/common.h"
#include "spec/where.h"
#include "lib/buf.h"
#include "lib/sqllex.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/banned.h"

#define WHERE_DEPTH 64
#define NAME_MAX_LEN 256

/* Keywords of an expression, anywhere. */
static const char *const operators[] = {"AND",
					"OR",
					"NOT",
					"XOR",
					"IS",
					"NULL",
					"TRUE",
					"FALSE",
					"UNKNOWN",
					"IN",
					"LIKE",
					"ESCAPE",
					"REGEXP",
					"RLIKE",
					"BETWEEN",
					"DIV",
					"MOD",
					"CASE",
					"WHEN",
					"THEN",
					"ELSE",
					"END",
					"INTERVAL",
					"BINARY",
					"COLLATE",
					"SOUNDS",
					"MEMBER",
					"OF",
					"CURRENT_DATE",
					"CURRENT_TIME",
					"CURRENT_TIMESTAMP",
					"LOCALTIME",
					"LOCALTIMESTAMP",
					"UTC_DATE",
					"UTC_TIME",
					"UTC_TIMESTAMP"};

/* Words that make a statement or a subquery: never in a filter. */
static const char *const statements[] = {
    "SELECT",	"WITH",	     "VALUES",	  "TABLE",    "UNION",	    "EXCEPT",	 "INTERSECT",
    "INTO",	"FROM",	     "WHERE",	  "GROUP",    "HAVING",	    "ORDER",	 "LIMIT",
    "OFFSET",	"FETCH",     "JOIN",	  "WINDOW",   "OVER",	    "PROCEDURE", "FOR",
    "LOCK",	"SHARE",     "OUTFILE",	  "DUMPFILE", "RETURNING",  "EXISTS",	 "ANY",
    "ALL",	"SOME",	     "DISTINCT",  "INSERT",   "UPDATE",	    "DELETE",	 "REPLACE",
    "CALL",	"DO",	     "HANDLER",	  "LOAD",     "SET",	    "CREATE",	 "DROP",
    "ALTER",	"RENAME",    "TRUNCATE",  "GRANT",    "REVOKE",	    "SHOW",	 "EXPLAIN",
    "DESCRIBE", "USE",	     "PREPARE",	  "EXECUTE",  "DEALLOCATE", "BEGIN",	 "COMMIT",
    "ROLLBACK", "SAVEPOINT", "RELEASE",	  "START",    "STOP",	    "KILL",	 "SHUTDOWN",
    "FLUSH",	"RESET",     "PURGE",	  "CHANGE",   "XA",	    "SIGNAL",	 "RESIGNAL",
    "DECLARE",	"INSTALL",   "UNINSTALL", "ANALYZE",  "OPTIMIZE",   "REPAIR",	 "CHECKSUM",
    "BACKUP",	"BINLOG",    "CACHE",	  "HELP",     "UNLOCK",	    "GET",	 "AS",
    "USING",	"LEADING",   "TRAILING",  "BOTH"};

/* Built-in scalar functions a filter may call. */
static const char *const functions[] = {
    /* control, comparison */
    "IF", "IFNULL", "NULLIF", "NVL", "NVL2", "COALESCE", "GREATEST", "LEAST", "ISNULL", "INTERVAL",
    "STRCMP", "ROW",
    /* strings */
    "ASCII", "BIN", "BIT_LENGTH", "CHAR", "CHAR_LENGTH", "CHARACTER_LENGTH", "CHR", "CONCAT",
    "CONCAT_WS", "ELT", "EXPORT_SET", "FIELD", "FIND_IN_SET", "FORMAT", "FROM_BASE64", "HEX",
    "INSERT", "INSTR", "LCASE", "LEFT", "LENGTH", "LENGTHB", "LOCATE", "LOWER", "LPAD", "LTRIM",
    "MAKE_SET", "MID", "OCT", "OCTET_LENGTH", "ORD", "POSITION", "QUOTE", "REGEXP_INSTR",
    "REGEXP_LIKE", "REGEXP_REPLACE", "REGEXP_SUBSTR", "REPEAT", "REPLACE", "REVERSE", "RIGHT",
    "RPAD", "RTRIM", "SOUNDEX", "SPACE", "SUBSTR", "SUBSTRING", "SUBSTRING_INDEX", "TO_BASE64",
    "TRIM", "UCASE", "UNHEX", "UPPER", "WEIGHT_STRING", "NATURAL_SORT_KEY", "TO_CHAR", "CONVERT",
    "CAST", "COLLATION", "CHARSET", "COERCIBILITY", "MATCH", "AGAINST",
    /* numbers */
    "ABS", "ACOS", "ASIN", "ATAN", "ATAN2", "CEIL", "CEILING", "CONV", "COS", "COT", "CRC32",
    "CRC32C", "DEGREES", "EXP", "FLOOR", "LN", "LOG", "LOG10", "LOG2", "MOD", "PI", "POW", "POWER",
    "RADIANS", "ROUND", "SIGN", "SIN", "SQRT", "TAN", "TRUNCATE", "BIT_COUNT",
    /* dates and times */
    "ADDDATE", "ADDTIME", "ADD_MONTHS", "CONVERT_TZ", "CURDATE", "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURTIME", "DATE", "DATE_ADD", "DATE_FORMAT", "DATE_SUB", "DATEDIFF",
    "DAY", "DAYNAME", "DAYOFMONTH", "DAYOFWEEK", "DAYOFYEAR", "EXTRACT", "FROM_DAYS",
    "FROM_UNIXTIME", "GET_FORMAT", "HOUR", "LAST_DAY", "LOCALTIME", "LOCALTIMESTAMP", "MAKEDATE",
    "MAKETIME", "MICROSECOND", "MINUTE", "MONTH", "MONTHNAME", "NOW", "PERIOD_ADD", "PERIOD_DIFF",
    "QUARTER", "SEC_TO_TIME", "SECOND", "STR_TO_DATE", "SUBDATE", "SUBTIME", "SYSDATE", "TIME",
    "TIME_FORMAT", "TIME_TO_SEC", "TIMEDIFF", "TIMESTAMP", "TIMESTAMPADD", "TIMESTAMPDIFF",
    "TO_DAYS", "TO_SECONDS", "UNIX_TIMESTAMP", "UTC_DATE", "UTC_TIME", "UTC_TIMESTAMP", "WEEK",
    "WEEKDAY", "WEEKOFYEAR", "YEAR", "YEARWEEK",
    /* hashes */
    "MD5", "SHA", "SHA1", "SHA2",
    /* JSON */
    "JSON_ARRAY", "JSON_CONTAINS", "JSON_CONTAINS_PATH", "JSON_DEPTH", "JSON_EQUALS", "JSON_EXISTS",
    "JSON_EXTRACT", "JSON_KEYS", "JSON_LENGTH", "JSON_NORMALIZE", "JSON_OBJECT", "JSON_OVERLAPS",
    "JSON_QUERY", "JSON_QUOTE", "JSON_SEARCH", "JSON_TYPE", "JSON_UNQUOTE", "JSON_VALID",
    "JSON_VALUE",
    /* addresses, UUIDs, dynamic columns, XML */
    "INET_ATON", "INET_NTOA", "INET6_ATON", "INET6_NTOA", "IS_IPV4", "IS_IPV4_COMPAT",
    "IS_IPV4_MAPPED", "IS_IPV6", "IS_UUID", "UUID_TO_BIN", "BIN_TO_UUID", "COLUMN_EXISTS",
    "COLUMN_GET", "EXTRACTVALUE", "UPDATEXML",
    /* geometry */
    "POINT", "ST_ASTEXT", "ST_CONTAINS", "ST_DISTANCE", "ST_DISTANCE_SPHERE", "ST_GEOMFROMTEXT",
    "ST_INTERSECTS", "ST_POINTFROMTEXT", "ST_WITHIN", "ST_X", "ST_Y", "MBRCONTAINS",
    "MBRINTERSECTS", "MBRWITHIN"};

static const char *const units[] = {"MICROSECOND",
				    "SECOND",
				    "MINUTE",
				    "HOUR",
				    "DAY",
				    "WEEK",
				    "MONTH",
				    "QUARTER",
				    "YEAR",
				    "SECOND_MICROSECOND",
				    "MINUTE_MICROSECOND",
				    "MINUTE_SECOND",
				    "HOUR_MICROSECOND",
				    "HOUR_SECOND",
				    "HOUR_MINUTE",
				    "DAY_MICROSECOND",
				    "DAY_SECOND",
				    "DAY_MINUTE",
				    "DAY_HOUR",
				    "YEAR_MONTH"};

/* Words a function takes inside its parentheses. */
static const struct {
	const char *function;
	const char *words; /* space-separated */
} inner[] = {
    {"EXTRACT", "FROM"},
    {"TRIM", "LEADING TRAILING BOTH FROM"},
    {"SUBSTRING", "FROM FOR"},
    {"SUBSTR", "FROM FOR"},
    {"MID", "FROM FOR"},
    {"CAST", "AS"},
    {"WEIGHT_STRING", "AS"},
    {"CONVERT", "USING"},
    {"CHAR", "USING"},
    {"AGAINST", "IN BOOLEAN MODE NATURAL LANGUAGE QUERY WITH EXPANSION"},
    {"GET_FORMAT", "DATE TIME DATETIME TIMESTAMP"},
};

struct frame {
	char function[32]; /* "" for a parenthesis of its own */
	bool type;	   /* naming a type: CAST(x AS ...), CONVERT(x, ...) */
};

struct walk {
	const struct where_check *cb;
	struct frame frames[WHERE_DEPTH + 1];
	int depth;
	size_t problems;
	struct buf reported; /* column names reported, NUL-separated */
};

static bool in_list(const struct sqltok *t, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sqltok_is(t, list[i]))
			return true;
	return false;
}

/* Whether word t is one of the space-separated words. */
static bool in_words(const struct sqltok *t, const char *words)
{
	const char *p = words;

	while (*p) {
		size_t n = strcspn(p, " ");
		if (t->kind == SQLT_WORD && t->len == n && !strncasecmp(t->p, p, n))
			return true;
		p += n;
		while (*p == ' ')
			p++;
	}
	return false;
}

static const char *inner_words(const struct frame *f)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(inner); i++)
		if (!strcasecmp(inner[i].function, f->function))
			return inner[i].words;
	return "";
}

static void bad(struct walk *w, const struct sqltok *t, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void bad(struct walk *w, const struct sqltok *t, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->problems++;
	if (w->cb->report)
		w->cb->report(w->cb->ctx, t->off, WHERE_BAD, msg);
}

/* A column name: reported once when is_column refuses it. */
static void column(struct walk *w, const struct sqltok *t)
{
	struct buf name = BUF_INIT;
	const char *p;

	if (!w->cb->is_column)
		return;
	if (sqltok_name(&name, t) < 0 || memchr(buf_cstr(&name), '\0', name.len)) {
		bad(w, t, "where has a name that cannot be a column");
		goto out;
	}
	if (w->cb->is_column(w->cb->ctx, buf_cstr(&name)))
		goto out;
	for (p = w->reported.ptr; p && p < w->reported.ptr + w->reported.len; p += strlen(p) + 1)
		if (!strcasecmp(p, buf_cstr(&name)))
			goto out;
	if (buf_add(&w->reported, buf_cstr(&name), name.len + 1) < 0) {
		bad(w, t, "out of memory");
		goto out;
	}
	w->problems++;
	if (w->cb->report)
		w->cb->report(w->cb->ctx, t->off, WHERE_COLUMN, buf_cstr(&name));
out:
	buf_release(&name);
}

/* Whether the token before (prev) ends an operand: a unit word after it
 * is a unit (INTERVAL 1 DAY, INTERVAL n DAY). */
static bool ends_operand(const struct sqltok *prev, bool prev_column)
{
	return prev->kind == SQLT_NUMBER || prev->kind == SQLT_STRING || prev->kind == SQLT_HEX ||
	       prev->kind == SQLT_BIT || prev->kind == SQLT_QIDENT || prev_column ||
	       sqltok_sym(prev, ")");
}

/* A word: a keyword, a function, or a column. false when the filter is
 * refused (reported). */
static bool word(struct walk *w, const struct sqltok *t, const struct sqltok *prev,
		 const struct sqltok *next, bool prev_column, bool *column_out, bool *call_out)
{
	struct frame *f = &w->frames[w->depth];
	bool call = sqltok_sym(next, "(");
	int n = (int)(t->len < 64 ? t->len : 64);

	*column_out = *call_out = false;
	if (in_list(t, operators, ARRAY_SIZE(operators)))
		return true; /* (INTERVAL(n, ...), CURRENT_DATE() are calls too) */
	if (f->type) {
		/* DECIMAL(10, 2), UNSIGNED, CHARACTER SET x */
		if (in_list(t, statements, ARRAY_SIZE(statements)) && !sqltok_is(t, "SET")) {
			bad(w, t, "where has %.*s in a type", n, t->p);
			return false;
		}
		return true;
	}
	if (in_words(t, inner_words(f))) {
		if (sqltok_is(t, "AS"))
			f->type = true;
		return true;
	}
	if (call) {
		if (!in_list(t, functions, ARRAY_SIZE(functions))) {
			bad(w, t,
			    "where calls %.*s(), which is not a built-in function a filter may use",
			    n, t->p);
			return false;
		}
		*call_out = true;
		return true;
	}
	if (in_list(t, statements, ARRAY_SIZE(statements))) {
		bad(w, t, "where has %.*s: a filter is one expression (no subquery, no statement)",
		    n, t->p);
		return false;
	}
	if (in_list(t, units, ARRAY_SIZE(units)) &&
	    (ends_operand(prev, prev_column) ||
	     ((!strcasecmp(f->function, "EXTRACT") || !strcasecmp(f->function, "TIMESTAMPADD") ||
	       !strcasecmp(f->function, "TIMESTAMPDIFF")) &&
	      sqltok_sym(prev, "("))))
		return true; /* INTERVAL 1 DAY, EXTRACT(DAY FROM d) */
	if ((sqltok_is(t, "DATE") || sqltok_is(t, "TIME") || sqltok_is(t, "TIMESTAMP")) &&
	    next->kind == SQLT_STRING)
		return true; /* DATE '2024-01-01' */
	column(w, t);
	*column_out = true;
	return true;
}

size_t where_check(const char *where, const struct where_check *cb)
{
	struct walk w;
	struct sqllex lx;
	struct sqltok t, prev, next;
	bool prev_column = false, name_next = false, any = false;
	char pending[32] = ""; /* the function whose '(' comes next */

	memset(&w, 0, sizeof(w));
	w.cb = cb;
	memset(&prev, 0, sizeof(prev));
	sqllex_init(&lx, where, strlen(where), SQLLEX_DEFAULT);
	while (sqllex_next(&lx, &t) != SQLT_END) {
		struct frame *f = &w.frames[w.depth];
		struct sqllex ahead = lx;
		bool is_column = false, call = false, was_name_next = name_next;

		if (t.kind == SQLT_SPACE)
			continue;
		(void)sqllex_code(&ahead, &next);
		name_next = false;
		switch (t.kind) {
		case SQLT_COMMENT:
		case SQLT_VOPEN:
		case SQLT_VCLOSE:
			bad(&w, &t, "where has a comment (not allowed in a filter)");
			goto out;
		case SQLT_ERROR:
			bad(&w, &t, "where has an unterminated string, quoted name or comment");
			goto out;
		case SQLT_VARIABLE:
			bad(&w, &t,
			    "where uses variable %.*s (a filter reads the row's columns only)",
			    (int)(t.len < 64 ? t.len : 64), t.p);
			goto out;
		case SQLT_PUNCT:
			if (sqltok_sym(&t, "(")) {
				if (w.depth == WHERE_DEPTH) {
					bad(&w, &t, "where is nested too deeply");
					goto out;
				}
				w.depth++;
				memset(&w.frames[w.depth], 0, sizeof(w.frames[w.depth]));
				w.frames[w.depth].type = f->type;
				memcpy(w.frames[w.depth].function, pending, sizeof(pending));
			} else if (sqltok_sym(&t, ")")) {
				if (!w.depth) {
					bad(&w, &t, "where has a ')' without its '('");
					goto out;
				}
				w.depth--;
			} else if (sqltok_sym(&t, ",")) {
				if (!strcasecmp(f->function, "CONVERT"))
					f->type = true; /* CONVERT(x, type) */
			} else if (sqltok_sym(&t, ";")) {
				bad(&w, &t, "where has a ';' (one expression, not statements)");
				goto out;
			} else if (sqltok_sym(&t, ".")) {
				bad(&w, &t,
				    "where has a qualified name (name the table's own columns, "
				    "unqualified)");
				goto out;
			} else {
				bad(&w, &t, "where has an unexpected character%s%.*s%s",
				    (unsigned char)t.p[0] > ' ' ? " '" : "",
				    (unsigned char)t.p[0] > ' ' ? 1 : 0, t.p,
				    (unsigned char)t.p[0] > ' ' ? "'" : " (a control character)");
				goto out;
			}
			break;
		case SQLT_OPERATOR:
			if (sqltok_sym(&t, ":=")) {
				bad(&w, &t, "where has an assignment ':='");
				goto out;
			}
			break;
		case SQLT_QIDENT:
			if (sqltok_sym(&next, "(")) {
				bad(&w, &t,
				    "where calls %.*s(), a quoted name: a filter may use built-in "
				    "functions only",
				    (int)(t.len < 64 ? t.len : 64), t.p);
				goto out;
			}
			if (!was_name_next && !f->type) {
				column(&w, &t);
				is_column = true;
			}
			break;
		case SQLT_WORD:
			if (was_name_next)
				break; /* a character set or collation */
			if (!word(&w, &t, &prev, &next, prev_column, &is_column, &call))
				goto out;
			/* COLLATE x, CHARSET x, USING x, CHARACTER SET x: x is a name */
			name_next = !call && !is_column &&
				    (sqltok_is(&t, "COLLATE") || sqltok_is(&t, "CHARSET") ||
				     sqltok_is(&t, "USING") ||
				     (sqltok_is(&t, "SET") && sqltok_is(&prev, "CHARACTER")));
			break;
		default: break;
		}
		pending[0] = '\0';
		if (call && t.len < sizeof(pending)) {
			memcpy(pending, t.p, t.len);
			pending[t.len] = '\0';
		}
		any = true;
		prev = t;
		prev_column = is_column;
	}
	if (!any)
		bad(&w, &t, "where is empty");
	else if (w.depth)
		bad(&w, &t, "where has a '(' that is not closed");
out:
	buf_release(&w.reported);
	return w.problems;
}
