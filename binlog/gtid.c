/*
 * MySQL GTID sets and MariaDB GTID positions (gtid.h). Sets keep their sids
 * sorted and each sid's ranges merged, so formatting is canonical and
 * membership is a binary search; adding the next transaction of the last
 * range, what the applier does once per source transaction, is O(1) but
 * for finding the sid.
 */
#include "lib/common.h"
#include "binlog/gtid.h"
#include "binlog/binlog_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define GNO_MAX ((uint64_t)INT64_MAX) /* MySQL's GNO_END: gnos are below it */

/* --- uuids ----------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gtid_uuid_parse(uint8_t out[16], const char *s, size_t len)
{
	size_t i, k = 0;
	bool dashes = len == 36;

	if (len != 36 && len != 32)
		return -1;
	for (i = 0; i < len;) {
		int hi, lo;
		if (dashes && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		if ((hi = hexval(s[i])) < 0 || (lo = hexval(s[i + 1])) < 0)
			return -1;
		out[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return k == 16 ? 0 : -1;
}

void gtid_uuid_format(char out[GTID_UUID_TEXT], const uint8_t u[16])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[u[i] >> 4];
		out[k++] = hex[u[i] & 15];
	}
	out[k] = 0;
}

/* --- sets ------------------------------------------------------------ */

void gtid_set_clear(struct gtid_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->s[i].r);
	s->n = 0;
}

void gtid_set_release(struct gtid_set *s)
{
	gtid_set_clear(s);
	free(s->s);
	s->s = NULL;
	s->cap = 0;
}

bool gtid_set_is_empty(const struct gtid_set *s)
{
	return s->n == 0;
}

static int sid_cmp(const uint8_t *ua, const char *ta, const uint8_t *ub, const char *tb)
{
	int c = memcmp(ua, ub, 16);

	return c ? c : strcmp(ta, tb);
}

/* Index of (uuid, tag) in s, or -1 with *at the insertion point. */
static long sid_find(const struct gtid_set *s, const uint8_t uuid[16], const char *tag, size_t *at)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = sid_cmp(s->s[mid].uuid, s->s[mid].tag, uuid, tag);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return -1;
}

static struct gtid_sid *sid_get(struct gtid_set *s, const uint8_t uuid[16], const char *tag)
{
	size_t at = 0;
	long i = sid_find(s, uuid, tag, &at);
	struct gtid_sid *n;

	if (i >= 0)
		return &s->s[i];
	if (s->n == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 4;
		if (!(n = realloc(s->s, ncap * sizeof(*n))))
			return NULL;
		s->s = n;
		s->cap = ncap;
	}
	memmove(&s->s[at + 1], &s->s[at], (s->n - at) * sizeof(*s->s));
	n = &s->s[at];
	memset(n, 0, sizeof(*n));
	memcpy(n->uuid, uuid, 16);
	memcpy(n->tag, tag, strlen(tag) + 1);
	s->n++;
	return n;
}

static void sid_drop_if_empty(struct gtid_set *s, struct gtid_sid *sid)
{
	size_t i = (size_t)(sid - s->s);

	if (sid->n)
		return;
	free(sid->r);
	memmove(&s->s[i], &s->s[i + 1], (s->n - i - 1) * sizeof(*s->s));
	s->n--;
}

static int ranges_reserve(struct gtid_sid *sid, size_t extra)
{
	struct gtid_range *n;
	size_t ncap;

	if (sid->n + extra <= sid->cap)
		return 0;
	ncap = sid->cap ? 2 * sid->cap : 4;
	while (ncap < sid->n + extra)
		ncap *= 2;
	if (!(n = realloc(sid->r, ncap * sizeof(*n))))
		return GW_ENOMEM;
	sid->r = n;
	sid->cap = ncap;
	return 0;
}

/* First range whose hi + 1 >= lo (the first that lo..hi may touch). */
static size_t range_first_touching(const struct gtid_sid *sid, uint64_t lo)
{
	size_t a = 0, b = sid->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (sid->r[mid].hi + 1 < lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

static int sid_add(struct gtid_sid *sid, uint64_t lo, uint64_t hi)
{
	size_t i, j;

	if (sid->n && sid->r[sid->n - 1].lo <= lo && sid->r[sid->n - 1].hi + 1 >= lo) {
		if (hi > sid->r[sid->n - 1].hi)
			sid->r[sid->n - 1].hi = hi;
		return 0;
	}
	i = range_first_touching(sid, lo);
	for (j = i; j < sid->n && sid->r[j].lo <= hi + 1; j++) {
		if (sid->r[j].lo < lo)
			lo = sid->r[j].lo;
		if (sid->r[j].hi > hi)
			hi = sid->r[j].hi;
	}
	if (j == i) { /* touches nothing: insert */
		if (ranges_reserve(sid, 1) < 0)
			return GW_ENOMEM;
		memmove(&sid->r[i + 1], &sid->r[i], (sid->n - i) * sizeof(*sid->r));
		sid->n++;
	} else if (j > i + 1) {
		memmove(&sid->r[i + 1], &sid->r[j], (sid->n - j) * sizeof(*sid->r));
		sid->n -= j - i - 1;
	}
	sid->r[i].lo = lo;
	sid->r[i].hi = hi;
	return 0;
}

int gtid_set_add(struct gtid_set *s, const uint8_t uuid[16], const char *tag, uint64_t lo,
		 uint64_t hi)
{
	struct gtid_sid *sid;
	size_t n;

	if (!tag)
		tag = "";
	if (lo < 1 || hi < lo || hi >= GNO_MAX || strlen(tag) > GTID_TAG_MAX)
		return GW_EFATAL;
	/* the applier's case: the last sid, next gno */
	if (s->n && !sid_cmp(s->s[s->n - 1].uuid, s->s[s->n - 1].tag, uuid, tag))
		sid = &s->s[s->n - 1];
	else if (!(sid = sid_get(s, uuid, tag)))
		return GW_ENOMEM;
	n = sid->n;
	if (sid_add(sid, lo, hi) < 0) {
		if (n == 0)
			sid_drop_if_empty(s, sid);
		return GW_ENOMEM;
	}
	return 0;
}

int gtid_set_union(struct gtid_set *s, const struct gtid_set *o)
{
	size_t i, j;
	int rc;

	for (i = 0; i < o->n; i++)
		for (j = 0; j < o->s[i].n; j++)
			if ((rc = gtid_set_add(s, o->s[i].uuid, o->s[i].tag, o->s[i].r[j].lo,
					       o->s[i].r[j].hi)) < 0)
				return rc;
	return 0;
}

/* Removes lo..hi from sid. */
static int sid_remove(struct gtid_sid *sid, uint64_t lo, uint64_t hi)
{
	size_t i = range_first_touching(sid, lo);

	for (; i < sid->n && sid->r[i].lo <= hi;) {
		struct gtid_range *r = &sid->r[i];
		if (r->hi < lo) {
			i++;
			continue;
		}
		if (r->lo < lo && r->hi > hi) { /* a hole in the middle: split */
			uint64_t end = r->hi;
			if (ranges_reserve(sid, 1) < 0)
				return GW_ENOMEM;
			r = &sid->r[i];
			memmove(&sid->r[i + 2], &sid->r[i + 1], (sid->n - i - 1) * sizeof(*sid->r));
			sid->n++;
			r->hi = lo - 1;
			sid->r[i + 1].lo = hi + 1;
			sid->r[i + 1].hi = end;
			return 0;
		}
		if (r->lo < lo) {
			r->hi = lo - 1;
			i++;
		} else if (r->hi > hi) {
			r->lo = hi + 1;
			i++;
		} else {
			memmove(&sid->r[i], &sid->r[i + 1], (sid->n - i - 1) * sizeof(*sid->r));
			sid->n--;
		}
	}
	return 0;
}

int gtid_set_subtract(struct gtid_set *s, const struct gtid_set *o)
{
	size_t i, j;
	int rc;

	for (i = 0; i < o->n; i++) {
		long k = sid_find(s, o->s[i].uuid, o->s[i].tag, NULL);
		if (k < 0)
			continue;
		for (j = 0; j < o->s[i].n; j++)
			if ((rc = sid_remove(&s->s[k], o->s[i].r[j].lo, o->s[i].r[j].hi)) < 0)
				return rc;
		sid_drop_if_empty(s, &s->s[k]);
	}
	return 0;
}

int gtid_set_copy(struct gtid_set *out, const struct gtid_set *s)
{
	gtid_set_clear(out);
	return gtid_set_union(out, s);
}

/* Whether lo..hi lies within one range of sid (ranges are maximal). */
static bool sid_covers(const struct gtid_sid *sid, uint64_t lo, uint64_t hi)
{
	size_t i = range_first_touching(sid, lo);

	/* range_first_touching may stop at a range ending at lo - 1 */
	if (i < sid->n && sid->r[i].hi < lo)
		i++;
	return i < sid->n && sid->r[i].lo <= lo && sid->r[i].hi >= hi;
}

bool gtid_set_contains(const struct gtid_set *s, const struct gtid_set *sub)
{
	size_t i, j;

	for (i = 0; i < sub->n; i++) {
		long k = sid_find(s, sub->s[i].uuid, sub->s[i].tag, NULL);
		if (k < 0)
			return false;
		for (j = 0; j < sub->s[i].n; j++)
			if (!sid_covers(&s->s[k], sub->s[i].r[j].lo, sub->s[i].r[j].hi))
				return false;
	}
	return true;
}

bool gtid_set_has(const struct gtid_set *s, const uint8_t uuid[16], const char *tag, uint64_t gno)
{
	long k = sid_find(s, uuid, tag ? tag : "", NULL);

	return k >= 0 && gno >= 1 && sid_covers(&s->s[k], gno, gno);
}

bool gtid_set_equal(const struct gtid_set *s, const struct gtid_set *o)
{
	size_t i;

	if (s->n != o->n)
		return false;
	for (i = 0; i < s->n; i++)
		if (sid_cmp(s->s[i].uuid, s->s[i].tag, o->s[i].uuid, o->s[i].tag) ||
		    s->s[i].n != o->s[i].n ||
		    (s->s[i].n && memcmp(s->s[i].r, o->s[i].r, s->s[i].n * sizeof(*s->s[i].r))))
			return false;
	return true;
}

int gtid_set_format(struct buf *out, const struct gtid_set *s)
{
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		const struct gtid_sid *sid = &s->s[i];
		if (i == 0 || memcmp(sid->uuid, s->s[i - 1].uuid, 16)) {
			char u[GTID_UUID_TEXT];
			gtid_uuid_format(u, sid->uuid);
			if ((i && buf_putc(out, ',') < 0) || buf_puts(out, u) < 0)
				return GW_ENOMEM;
		}
		if (sid->tag[0] && (buf_putc(out, ':') < 0 || buf_puts(out, sid->tag) < 0))
			return GW_ENOMEM;
		for (j = 0; j < sid->n; j++) {
			int rc =
			    sid->r[j].lo == sid->r[j].hi
				? buf_printf(out, ":%llu", (unsigned long long)sid->r[j].lo)
				: buf_printf(out, ":%llu-%llu", (unsigned long long)sid->r[j].lo,
					     (unsigned long long)sid->r[j].hi);
			if (rc < 0)
				return GW_ENOMEM;
		}
	}
	return 0;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static bool read_gno(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p)) {
		if (v > (GNO_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	*out = v;
	*pp = p;
	return true;
}

int gtid_set_parse(struct gtid_set *out, const char *text, struct gw_err *err)
{
	const char *p = text, *what = "a uuid";
	int rc;

	gtid_set_clear(out);
	for (;;) {
		uint8_t uuid[16];
		char tag[GTID_TAG_MAX + 1] = "";
		size_t n;

		p = skip_ws(p);
		if (!*p)
			return 0;
		for (n = 0; isxdigit((unsigned char)p[n]) || p[n] == '-'; n++)
			;
		if (gtid_uuid_parse(uuid, p, n) < 0)
			goto bad;
		p = skip_ws(p + n);
		while (*p == ':') {
			uint64_t lo, hi;
			p = skip_ws(p + 1);
			if (isalpha((unsigned char)*p) || *p == '_') {
				what = "a tag of at most 32 letters, digits and '_'";
				for (n = 0; isalnum((unsigned char)p[n]) || p[n] == '_'; n++) {
					if (n == GTID_TAG_MAX)
						goto bad;
					tag[n] = (char)tolower((unsigned char)p[n]);
				}
				tag[n] = 0;
				p = skip_ws(p + n);
				continue;
			}
			what = "a transaction number or range (1 to 2^63-2)";
			if (!read_gno(&p, &lo) || lo < 1)
				goto bad;
			hi = lo;
			p = skip_ws(p);
			if (*p == '-') {
				p = skip_ws(p + 1);
				if (!read_gno(&p, &hi) || hi < lo)
					goto bad;
				p = skip_ws(p);
			}
			if ((rc = gtid_set_add(out, uuid, tag, lo, hi)) < 0) {
				if (rc != GW_ENOMEM)
					goto bad;
				gtid_set_clear(out);
				return err_set(err, GW_ENOMEM, "out of memory");
			}
		}
		what = "',' or the end";
		if (*p && *p != ',')
			goto bad;
		if (*p)
			p++;
		what = "a uuid";
	}
bad:
	gtid_set_clear(out);
	return err_set(err, GW_EFATAL, "GTID set '%.200s': %s expected at byte %zu", text, what,
		       (size_t)(p - text));
}

static int put_le(struct buf *b, uint64_t v, size_t n)
{
	uint8_t x[8];
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	return buf_add(b, x, n);
}

int gtid_set_encode(struct buf *out, const struct gtid_set *s)
{
	bool tagged = false;
	size_t i, j;

	for (i = 0; i < s->n; i++)
		if (s->s[i].tag[0])
			tagged = true;
	if (put_le(out, tagged ? (1ULL << 56) | ((uint64_t)s->n << 8) | 1 : s->n, 8) < 0)
		return GW_ENOMEM;
	for (i = 0; i < s->n; i++) {
		const struct gtid_sid *sid = &s->s[i];
		size_t tl = strlen(sid->tag);
		if (buf_add(out, sid->uuid, 16) < 0)
			return GW_ENOMEM;
		/* the tag's length as mysql::serialization writes a number
		 * below 128: one byte, shifted left once */
		if (tagged &&
		    (buf_putc(out, (char)(tl << 1)) < 0 || buf_add(out, sid->tag, tl) < 0))
			return GW_ENOMEM;
		if (put_le(out, sid->n, 8) < 0)
			return GW_ENOMEM;
		for (j = 0; j < sid->n; j++)
			if (put_le(out, sid->r[j].lo, 8) < 0 ||
			    put_le(out, sid->r[j].hi + 1, 8) < 0)
				return GW_ENOMEM;
	}
	return 0;
}

int gtid_set_decode(struct gtid_set *out, const uint8_t *p, size_t len, size_t *used,
		    struct gw_err *err)
{
	struct bl_rd r = {p, len, 0};
	uint64_t nsids, i, j, nint, lo, end, taglen;
	bool tagged = false;

	gtid_set_clear(out);
	if (rd_uint(&r, 8, &nsids) < 0)
		goto short_;
	/* MySQL 8.3+: the format in the top and the bottom byte, the count
	 * between */
	if ((nsids >> 56) == 1) {
		tagged = true;
		nsids = (nsids >> 8) & 0xffffffffffffULL;
	}
	if (nsids > len / 24) {
		err_set(err, GW_EFATAL, "GTID set: %llu uuids in %zu bytes",
			(unsigned long long)nsids, len);
		goto bad;
	}
	for (i = 0; i < nsids; i++) {
		const uint8_t *u, *tp = NULL;
		char tag[GTID_TAG_MAX + 1] = "";
		if (rd_bytes(&r, 16, &u) < 0)
			goto short_;
		if (tagged) {
			if (bl_ser_uint(&r, &taglen) < 0 || taglen > GTID_TAG_MAX ||
			    rd_bytes(&r, (size_t)taglen, &tp) < 0)
				goto bad_tag;
			for (j = 0; j < taglen; j++) {
				if (!isalnum(tp[j]) && tp[j] != '_')
					goto bad_tag;
				tag[j] = (char)tolower(tp[j]);
			}
			tag[taglen] = 0;
		}
		if (rd_uint(&r, 8, &nint) < 0 || nint > rd_left(&r) / 16)
			goto short_;
		for (j = 0; j < nint; j++) {
			if (rd_uint(&r, 8, &lo) < 0 || rd_uint(&r, 8, &end) < 0)
				goto short_;
			if (lo < 1 || end <= lo || end > GNO_MAX) {
				err_set(err, GW_EFATAL,
					"GTID set: range %llu-%llu (end exclusive) invalid",
					(unsigned long long)lo, (unsigned long long)end);
				goto bad;
			}
			if (gtid_set_add(out, u, tag, lo, end - 1) < 0) {
				err_set(err, GW_ENOMEM, "out of memory");
				goto bad;
			}
		}
	}
	if (used)
		*used = r.off;
	return 0;
bad_tag:
	err_set(err, GW_EFATAL, "GTID set: bad tag of uuid %llu", (unsigned long long)i + 1);
	goto bad;
short_:
	err_set(err, GW_EFATAL, "GTID set truncated at byte %zu", r.off);
bad:
	gtid_set_clear(out);
	return err->code;
}

/* --- MariaDB positions ----------------------------------------------- */

void gtid_pos_release(struct gtid_pos *p)
{
	free(p->d);
	p->d = NULL;
	p->n = p->cap = 0;
}

const struct gtid_dom *gtid_pos_find(const struct gtid_pos *p, uint32_t domain)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->d[i].domain == domain)
			return &p->d[i];
	return NULL;
}

int gtid_pos_set(struct gtid_pos *p, uint32_t domain, uint32_t server, uint64_t seq)
{
	size_t i;

	for (i = 0; i < p->n && p->d[i].domain < domain; i++)
		;
	if (i == p->n || p->d[i].domain != domain) {
		if (p->n == p->cap) {
			size_t ncap = p->cap ? 2 * p->cap : 4;
			struct gtid_dom *n = realloc(p->d, ncap * sizeof(*n));
			if (!n)
				return GW_ENOMEM;
			p->d = n;
			p->cap = ncap;
		}
		memmove(&p->d[i + 1], &p->d[i], (p->n - i) * sizeof(*p->d));
		p->n++;
	}
	p->d[i].domain = domain;
	p->d[i].server = server;
	p->d[i].seq = seq;
	return 0;
}

int gtid_pos_parse(struct gtid_pos *out, const char *text, struct gw_err *err)
{
	const char *p = text;

	out->n = 0;
	for (;;) {
		uint64_t v[3];
		const struct gtid_dom *had;
		int k;

		while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\r' || *p == '\t' ||
		       *p == '[' || *p == ']')
			p++;
		if (!*p)
			return 0;
		for (k = 0; k < 3; k++) {
			if (k && *p++ != '-')
				goto bad;
			v[k] = 0;
			if (!isdigit((unsigned char)*p))
				goto bad;
			while (isdigit((unsigned char)*p)) {
				if (v[k] > (UINT64_MAX - 9) / 10)
					goto bad;
				v[k] = v[k] * 10 + (uint64_t)(*p++ - '0');
			}
		}
		if (v[0] > UINT32_MAX || v[1] > UINT32_MAX)
			goto bad;
		if (*p && *p != ',' && *p != ' ' && *p != '\n' && *p != ']')
			goto bad;
		had = gtid_pos_find(out, (uint32_t)v[0]);
		if ((!had || had->seq < v[2]) &&
		    gtid_pos_set(out, (uint32_t)v[0], (uint32_t)v[1], v[2]) < 0) {
			out->n = 0;
			return err_set(err, GW_ENOMEM, "out of memory");
		}
	}
bad:
	out->n = 0;
	return err_set(err, GW_EFATAL,
		       "GTID position '%.200s': domain-server-seq expected at byte %zu", text,
		       (size_t)(p - text));
}

int gtid_pos_format(struct buf *out, const struct gtid_pos *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (buf_printf(out, "%s%u-%u-%llu", i ? "," : "", p->d[i].domain, p->d[i].server,
			       (unsigned long long)p->d[i].seq) < 0)
			return GW_ENOMEM;
	return 0;
}

bool gtid_pos_reached(const struct gtid_pos *have, const struct gtid_pos *want)
{
	size_t i;

	for (i = 0; i < want->n; i++) {
		const struct gtid_dom *h = gtid_pos_find(have, want->d[i].domain);
		if (!h || h->seq < want->d[i].seq)
			return false;
	}
	return true;
}

int gtid_pos_copy(struct gtid_pos *out, const struct gtid_pos *p)
{
	size_t i;

	out->n = 0;
	for (i = 0; i < p->n; i++)
		if (gtid_pos_set(out, p->d[i].domain, p->d[i].server, p->d[i].seq) < 0)
			return GW_ENOMEM;
	return 0;
}

enum gtid_flavour gtid_text_flavour(const char *text)
{
	const char *p = skip_ws(text);

	if (!*p)
		return GTID_NONE;
	return strchr(p, ':') ? GTID_MYSQL : GTID_MARIADB;
}
