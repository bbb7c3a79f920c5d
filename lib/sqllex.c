/*
 * The SQL lexer (lib/sqllex.h). It follows the servers' own lexers
 * (MySQL sql/sql_lex.cc, MariaDB sql/sql_lex.cc) where they decide what is
 * code: "--" starts a comment only before a blank or control byte or at
 * the end; a name may start with digits (123abc) but not be digits only;
 * 0x and 0b literals end where a name would go on (0xg is a name);
 * _latin1 is an introducer only when latin1 is a character set; after a
 * name and a '.', digits start a name (t.1col).
 */
#include "lib/common.h"
#include "lib/sqllex.h"
#include "lib/err.h"

#include <string.h>
#include <strings.h>

#include "lib/banned.h"

/* Every character set of MySQL 8 and MariaDB 11: _name before a literal. */
static const char *const charsets[] = {
    "armscii8", "ascii",   "big5",   "binary",	 "cp1250",  "cp1251", "cp1256",	 "cp1257", "cp850",
    "cp852",	"cp866",   "cp932",  "dec8",	 "eucjpms", "euckr",  "gb18030", "gb2312", "gbk",
    "geostd8",	"greek",   "hebrew", "hp8",	 "keybcs2", "koi8r",  "koi8u",	 "latin1", "latin2",
    "latin5",	"latin7",  "macce",  "macroman", "sjis",    "swe7",   "tis620",	 "ucs2",   "ujis",
    "utf16",	"utf16le", "utf32",  "utf8",	 "utf8mb3", "utf8mb4"};

/* Longest first: the lexer takes the first that matches. */
static const char *const operators[] = {"<=>", "->>", "<>", "!=", "<=", ">=", "<<", ">>", "&&",
					"||",  ":=",  "->", "=",  "<",	">",  "!",  "~",  "^",
					"&",   "|",   "+",  "-",  "*",	"/",  "%",  ":"};

static bool name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

static bool digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool hex_digit(unsigned char c)
{
	return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool space_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void sqllex_init(struct sqllex *lx, const char *s, size_t len, unsigned flags)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = s;
	lx->len = len;
	lx->flags = flags;
	lx->last = SQLT_END;
}

/* The end of a quoted run opened at i (s[i] is the quote): doubled quotes
 * stay inside, and with esc a backslash takes the next byte. 0 when the
 * quote is never closed. */
static size_t quoted_end(const struct sqllex *lx, size_t i, bool esc)
{
	const char *s = lx->s;
	char q = s[i];
	size_t j;

	for (j = i + 1; j < lx->len; j++) {
		if (esc && s[j] == '\\') {
			j++;
			continue;
		}
		if (s[j] == q) {
			if (j + 1 < lx->len && s[j + 1] == q) {
				j++;
				continue;
			}
			return j + 1;
		}
	}
	return 0;
}

static size_t name_end(const struct sqllex *lx, size_t i)
{
	while (i < lx->len && name_byte((unsigned char)lx->s[i]))
		i++;
	return i;
}

static bool is_charset(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(charsets); i++)
		if (strlen(charsets[i]) == n && !strncasecmp(charsets[i], p, n))
			return true;
	return false;
}

/* A literal that starts with a digit (or '.' and a digit) at i: its kind
 * and end. 0x1f, 0b01, 12, 1.5, 1., .5, 1e3, 1.5e-3; digits followed by
 * name bytes are a name (123abc, 0xg, 1e). */
static enum sqltok_kind number(const struct sqllex *lx, size_t i, size_t *end)
{
	const char *s = lx->s;
	size_t n = lx->len, j = i, k;
	bool decimal = false;

	if (s[i] == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'b')) {
		bool hex = s[i + 1] == 'x';
		for (k = i + 2;
		     k < n && (hex ? hex_digit((unsigned char)s[k]) : (s[k] == '0' || s[k] == '1'));
		     k++)
			;
		if (k > i + 2 && (k == n || !name_byte((unsigned char)s[k]))) {
			*end = k;
			return hex ? SQLT_HEX : SQLT_BIT;
		}
	}
	while (j < n && digit((unsigned char)s[j]))
		j++;
	if (j < n && s[j] == '.') {
		decimal = true;
		for (j++; j < n && digit((unsigned char)s[j]); j++)
			;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		k = j + 1;
		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		if (k < n && digit((unsigned char)s[k])) {
			while (k < n && digit((unsigned char)s[k]))
				k++;
			*end = k;
			return SQLT_NUMBER;
		}
	}
	if (!decimal && j < n && name_byte((unsigned char)s[j])) {
		*end = name_end(lx, j);
		return SQLT_WORD;
	}
	*end = j;
	return SQLT_NUMBER;
}

/* @x, @'x', @`x`, @@x, @@global.x at i; *end 0 when a quoted part is not
 * closed. */
static void variable(const struct sqllex *lx, size_t i, size_t *end)
{
	const char *s = lx->s;
	size_t j = i + 1;

	if (j < lx->len && s[j] == '@')
		j++;
	if (j < lx->len && (s[j] == '\'' || s[j] == '"' || s[j] == '`')) {
		*end = quoted_end(lx, j, s[j] != '`' && !(lx->flags & SQLLEX_NO_BACKSLASH_ESCAPES));
		return;
	}
	while (j < lx->len && (name_byte((unsigned char)s[j]) || s[j] == '.'))
		j++;
	*end = j;
}

/* The end of a comment or versioned-comment opening at i ("/ *"). */
static enum sqltok_kind slash_star(const struct sqllex *lx, size_t i, size_t *end)
{
	const char *s = lx->s;
	size_t n = lx->len, j = i + 2, k;

	if (j < n && (s[j] == '!' || (s[j] == 'M' && j + 1 < n && s[j + 1] == '!'))) {
		j += s[j] == '!' ? 1 : 2;
		for (k = 0; k < 6 && j < n && digit((unsigned char)s[j]); k++)
			j++;
		*end = j;
		return SQLT_VOPEN;
	}
	for (; j + 1 < n; j++)
		if (s[j] == '*' && s[j + 1] == '/') {
			*end = j + 2;
			return SQLT_COMMENT;
		}
	*end = n;
	return SQLT_ERROR;
}

static size_t line_end(const struct sqllex *lx, size_t i)
{
	const char *nl = memchr(lx->s + i, '\n', lx->len - i);

	return nl ? (size_t)(nl - lx->s) : lx->len;
}

static enum sqltok_kind lex(struct sqllex *lx, size_t *end)
{
	const char *s = lx->s;
	size_t i = lx->pos, n = lx->len;
	unsigned char c = (unsigned char)s[i], c1 = i + 1 < n ? (unsigned char)s[i + 1] : 0;
	bool esc = !(lx->flags & SQLLEX_NO_BACKSLASH_ESCAPES);
	bool after_ident = lx->last_end == i && (lx->last == SQLT_WORD || lx->last == SQLT_QIDENT);
	bool after_name = after_ident || (lx->last_end == i && lx->last == SQLT_STRING);
	size_t k;

	if (space_byte(c)) {
		for (k = i + 1; k < n && space_byte((unsigned char)s[k]); k++)
			;
		*end = k;
		return SQLT_SPACE;
	}
	if (c == '#' ||
	    (c == '-' && c1 == '-' &&
	     (i + 2 == n || (unsigned char)s[i + 2] <= ' ' || (unsigned char)s[i + 2] == 0x7f))) {
		*end = line_end(lx, i);
		return SQLT_COMMENT;
	}
	if (c == '/' && c1 == '*')
		return slash_star(lx, i, end);
	if (c == '*' && c1 == '/' && lx->vdepth) {
		*end = i + 2;
		return SQLT_VCLOSE;
	}
	if (c == '`' || (c == '"' && (lx->flags & SQLLEX_ANSI_QUOTES))) {
		*end = quoted_end(lx, i, false);
		return *end ? SQLT_QIDENT : SQLT_ERROR;
	}
	if (c == '\'' || c == '"') {
		*end = quoted_end(lx, i, esc);
		return *end ? SQLT_STRING : SQLT_ERROR;
	}
	if (c1 == '\'' && (c == 'x' || c == 'X' || c == 'b' || c == 'B' || c == 'n' || c == 'N')) {
		bool national = c == 'n' || c == 'N';
		*end = quoted_end(lx, i + 1, national && esc);
		if (!*end)
			return SQLT_ERROR;
		return national ? SQLT_STRING : (c == 'x' || c == 'X') ? SQLT_HEX : SQLT_BIT;
	}
	if (digit(c) || (c == '.' && digit(c1) && !after_ident)) {
		if (lx->name_dot) {
			*end = name_end(lx, i);
			return SQLT_WORD;
		}
		return number(lx, i, end);
	}
	if (name_byte(c)) {
		*end = name_end(lx, i);
		if (c == '_' && is_charset(s + i + 1, *end - i - 1))
			return SQLT_INTRODUCER;
		return SQLT_WORD;
	}
	if (c == '@' && !after_name) {
		variable(lx, i, end);
		if (!*end)
			return SQLT_ERROR;
		if (*end > i + 1 && !(*end == i + 2 && s[i + 1] == '@'))
			return SQLT_VARIABLE;
	}
	for (k = 0; k < ARRAY_SIZE(operators); k++) {
		size_t ol = strlen(operators[k]);
		if (ol <= n - i && !memcmp(s + i, operators[k], ol)) {
			*end = i + ol;
			return SQLT_OPERATOR;
		}
	}
	*end = i + 1;
	return SQLT_PUNCT;
}

enum sqltok_kind sqllex_next(struct sqllex *lx, struct sqltok *out)
{
	size_t end = 0;
	enum sqltok_kind k;

	if (lx->pos >= lx->len) {
		out->kind = SQLT_END;
		out->p = lx->s + lx->len;
		out->off = lx->len;
		out->len = 0;
		return SQLT_END;
	}
	k = lex(lx, &end);
	if (k == SQLT_ERROR || end <= lx->pos || end > lx->len)
		k = SQLT_ERROR, end = lx->len;
	if (k == SQLT_VOPEN)
		lx->vdepth++;
	else if (k == SQLT_VCLOSE)
		lx->vdepth--;
	lx->name_dot = k == SQLT_PUNCT && lx->s[lx->pos] == '.' && lx->last_end == lx->pos &&
		       (lx->last == SQLT_WORD || lx->last == SQLT_QIDENT);
	out->kind = k;
	out->p = lx->s + lx->pos;
	out->off = lx->pos;
	out->len = end - lx->pos;
	lx->last = k;
	lx->last_end = end;
	lx->pos = end;
	return k;
}

enum sqltok_kind sqllex_code(struct sqllex *lx, struct sqltok *out)
{
	enum sqltok_kind k;

	do
		k = sqllex_next(lx, out);
	while (k == SQLT_SPACE || k == SQLT_COMMENT || k == SQLT_VOPEN || k == SQLT_VCLOSE);
	return k;
}

bool sqltok_is(const struct sqltok *t, const char *w)
{
	size_t n = strlen(w);

	return t->kind == SQLT_WORD && t->len == n && !strncasecmp(t->p, w, n);
}

bool sqltok_sym(const struct sqltok *t, const char *sym)
{
	size_t n = strlen(sym);

	return (t->kind == SQLT_OPERATOR || t->kind == SQLT_PUNCT) && t->len == n &&
	       !memcmp(t->p, sym, n);
}

bool sqltok_is_name(const struct sqltok *t)
{
	return t->kind == SQLT_WORD || t->kind == SQLT_QIDENT;
}

int sqltok_name(struct buf *out, const struct sqltok *t)
{
	size_t i;

	if (t->kind == SQLT_WORD)
		return buf_add(out, t->p, t->len);
	if (t->kind != SQLT_QIDENT || t->len < 2)
		return GW_EFATAL;
	for (i = 1; i + 1 < t->len; i++) {
		if (t->p[i] == t->p[0])
			i++; /* the first of a doubled quote */
		if (buf_putc(out, t->p[i]) < 0)
			return GW_ENOMEM;
	}
	return 0;
}

bool sqltok_name_eq(const struct sqltok *t, const char *name, bool nocase)
{
	size_t i, j = 0;

	if (t->kind == SQLT_WORD)
		return strlen(name) == t->len &&
		       !(nocase ? strncasecmp(t->p, name, t->len) : memcmp(t->p, name, t->len));
	if (t->kind != SQLT_QIDENT || t->len < 2)
		return false;
	for (i = 1; i + 1 < t->len; i++, j++) {
		char a = t->p[i], b = name[j];
		if (a == t->p[0])
			i++;
		if (!b)
			return false;
		if (nocase && a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (nocase && b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return false;
	}
	return name[j] == '\0';
}

int sqltok_string(struct buf *out, const struct sqltok *t, unsigned flags)
{
	const char *p = t->p, *e = t->p + t->len;
	bool esc = !(flags & SQLLEX_NO_BACKSLASH_ESCAPES);
	char q;

	if (t->kind != SQLT_STRING || t->len < 2)
		return GW_EFATAL;
	if (*p == 'n' || *p == 'N')
		p++;
	q = *p++;
	e--; /* the closing quote */
	for (; p < e; p++) {
		char c = *p;
		if (c == q) {
			p++; /* doubled */
		} else if (c == '\\' && esc && p + 1 < e) {
			c = *++p;
			switch (c) {
			case '0': c = '\0'; break;
			case 'b': c = '\b'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'Z': c = '\032'; break;
			case '%':
			case '_':
				if (buf_putc(out, '\\') < 0)
					return GW_ENOMEM;
				break;
			default: break;
			}
		}
		if (buf_putc(out, c) < 0)
			return GW_ENOMEM;
	}
	return 0;
}

int sqllex_quote_ident(struct buf *out, const char *name)
{
	const char *p;

	if (buf_putc(out, '`') < 0)
		return GW_ENOMEM;
	for (p = name; *p; p++)
		if ((*p == '`' && buf_putc(out, '`') < 0) || buf_putc(out, *p) < 0)
			return GW_ENOMEM;
	return buf_putc(out, '`');
}
