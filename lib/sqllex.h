/*
 * The one SQL lexer: MySQL and MariaDB text into tokens, each a kind and a
 * byte range of the input. Everything in godwit that reads or rewrites SQL
 * (schema rewriting, the applier's DDL parser, the check of a `where`)
 * builds on it. A rewriter copies the tokens it keeps byte for byte and
 * splices its own text in by offsets, so nothing inside a string, a
 * comment or a quoted name is ever taken for code, and nothing is lost.
 *
 * The contract, for any input (tests/fuzz/fuzz_sqllex.c checks it):
 * - tokens cover the input in order, without gap or overlap: joining the
 *   texts of the tokens before SQLT_END gives the input back, byte for
 *   byte (NUL bytes included); every token but SQLT_END has a byte or more;
 * - linear in the input's length; no allocation, no failure: what a server
 *   would refuse (an unterminated string, quoted name or comment) is one
 *   SQLT_ERROR token up to the end of the input;
 * - a versioned comment (MySQL's / *!50001 ... * /, MariaDB's
 *   / *M!100100 ... * /) holds code: its opening and its closing are tokens
 *   of their own (SQLT_VOPEN, SQLT_VCLOSE) and what is between them is
 *   lexed as SQL. Other comments, optimizer hints (/ *+ ... * /) included,
 *   are one SQLT_COMMENT each.
 * Bytes >= 0x80 are parts of names, as in utf8mb4 (the character set
 * godwit reads definitions in) and binary (the one it sends queries in).
 */
#ifndef GODWIT_SQLLEX_H
#define GODWIT_SQLLEX_H

#include "lib/common.h"
#include "lib/buf.h"

enum sqllex_flags {
	SQLLEX_DEFAULT = 0,
	SQLLEX_ANSI_QUOTES = 1,		 /* "x" is a quoted name (sql_mode ANSI_QUOTES) */
	SQLLEX_NO_BACKSLASH_ESCAPES = 2, /* \ is an ordinary character in strings */
};

enum sqltok_kind {
	SQLT_END,	 /* the end of the input: len 0 */
	SQLT_SPACE,	 /* blanks, tabs, line breaks */
	SQLT_COMMENT,	 /* # ..., -- ..., / * ... * / (not versioned) */
	SQLT_VOPEN,	 /* / *!, / *!50001, / *M!100100: code follows */
	SQLT_VCLOSE,	 /* the * / closing a versioned comment */
	SQLT_WORD,	 /* an unquoted name or keyword: users, SELECT, 1e, t1 */
	SQLT_QIDENT,	 /* `a``b`, or "a""b" with SQLLEX_ANSI_QUOTES */
	SQLT_STRING,	 /* 'it''s', "a\"b", N'x' (the N included) */
	SQLT_INTRODUCER, /* _utf8mb4, _binary ...: a character set name before a literal */
	SQLT_HEX,	 /* X'0A', 0x0a */
	SQLT_BIT,	 /* B'01', 0b01 */
	SQLT_NUMBER,	 /* 12, 1.5, .5, 1e-3 */
	SQLT_VARIABLE,	 /* @x, @'x', @`x`, @@x, @@global.x */
	SQLT_OPERATOR,	 /* = <=> <> != < <= > >= << >> && || ! ~ ^ & | + - * / % := -> ->> : */
	SQLT_PUNCT,	 /* ( ) , ; . @ ? { } and any other single byte */
	SQLT_ERROR	 /* an unterminated string, quoted name or comment: to the end */
};

struct sqltok {
	enum sqltok_kind kind;
	const char *p; /* the token's first byte in the input */
	size_t off;    /* its offset in the input */
	size_t len;    /* its length in bytes */
};

struct sqllex {
	const char *s;
	size_t len;
	size_t pos;
	unsigned flags;
	unsigned vdepth;       /* inside how many versioned comments */
	enum sqltok_kind last; /* the kind of the token before */
	size_t last_end;       /* and where it ended */
	bool name_dot;	       /* the token before is a '.' right after a name */
};

/* Starts lexing s[0, len) (not necessarily NUL-terminated) with flags
 * (enum sqllex_flags). The lexer borrows s. */
void sqllex_init(struct sqllex *lx, const char *s, size_t len, unsigned flags);
/* The next token into *out, and its kind; SQLT_END (again and again) at
 * the end of the input. */
enum sqltok_kind sqllex_next(struct sqllex *lx, struct sqltok *out);
/* The next token that is code: SQLT_SPACE, SQLT_COMMENT, SQLT_VOPEN and
 * SQLT_VCLOSE are skipped. */
enum sqltok_kind sqllex_code(struct sqllex *lx, struct sqltok *out);

/* Whether t is the unquoted word w (ASCII letters in any case). */
bool sqltok_is(const struct sqltok *t, const char *w);
/* Whether t is the operator or punctuation sym ("(", ",", "=", ":="). */
bool sqltok_sym(const struct sqltok *t, const char *sym);
/* Whether t names something: an unquoted word or a quoted name. */
bool sqltok_is_name(const struct sqltok *t);
/* Appends the name t stands for (SQLT_WORD as it is, SQLT_QIDENT without
 * its quotes and with doubled quotes made single). GW_EFATAL for a token of
 * another kind, GW_ENOMEM. */
int sqltok_name(struct buf *out, const struct sqltok *t) WARN_UNUSED;
/* Whether t (SQLT_WORD or SQLT_QIDENT) names name: exactly, or ignoring
 * ASCII case when nocase is set (column names; database and table names
 * compare exactly, as on Linux). */
bool sqltok_name_eq(const struct sqltok *t, const char *name, bool nocase);
/* Appends the value of the string literal t (SQLT_STRING) lexed with flags:
 * quotes removed, doubled quotes and backslash escapes undone as the server
 * does (\n, \t, \0, \Z ...; \% and \_ keep their backslash). GW_EFATAL for
 * a token of another kind, GW_ENOMEM. */
int sqltok_string(struct buf *out, const struct sqltok *t, unsigned flags) WARN_UNUSED;
/* Appends name quoted with backticks (backticks in it doubled). */
int sqllex_quote_ident(struct buf *out, const char *name) WARN_UNUSED;

#endif
