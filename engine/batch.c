#include "lib/common.h"
#include "engine/batch.h"

#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

void batch_shape_release(struct batch_shape *sh)
{
	buf_release(&sh->insert);
	buf_release(&sh->upsert);
	buf_release(&sh->delete);
	buf_release(&sh->update);
	buf_release(&sh->key_in);
}

void batch_release(struct batch *b)
{
	buf_release(&b->arena);
	buf_release(&b->seen);
	free(b->ops);
	free(b->sents);
	hash_index_release(&b->by_key);
	hash_index_release(&b->by_value);
	memset(b, 0, sizeof(*b));
}

void batch_clear(struct batch *b)
{
	b->nops = 0;
	b->sorted = false;
	b->nsents = 0;
	if (b->arena.cap > BATCH_KEEP_BYTES || b->cap > BATCH_KEEP_OPS ||
	    b->by_key.cap > 2 * BATCH_KEEP_OPS || b->seen.cap > BATCH_KEEP_BYTES ||
	    b->scap > BATCH_KEEP_OPS || b->by_value.cap > 2 * BATCH_KEEP_OPS) {
		batch_release(b);
		return;
	}
	buf_reset(&b->arena);
	buf_reset(&b->seen);
	hash_index_clear(&b->by_key);
	hash_index_clear(&b->by_value);
}

static void op_key(const void *ctx, uint32_t i, const char **s, size_t *len)
{
	const struct batch *b = ctx;

	*s = b->arena.ptr + b->ops[i].koff;
	*len = b->ops[i].klen;
}

static void seen_value(const void *ctx, uint32_t i, const char **s, size_t *len)
{
	const struct batch *b = ctx;

	*s = b->seen.ptr + b->sents[i].off;
	*len = b->sents[i].vlen;
}

static bool merged(const struct batch_shape *sh)
{
	return sh->mode == BATCH_NET || sh->mode == BATCH_SEGMENT;
}

/* The statement a run of ops of one kind starts with. */
static int stmt_head(struct buf *q, const struct batch_shape *sh, enum batch_kind kind)
{
	switch (kind) {
	case BATCH_UPSERT:
	case BATCH_INSERT: return buf_add(q, sh->insert.ptr, sh->insert.len);
	case BATCH_DELETE:
		if (buf_add(q, sh->delete.ptr, sh->delete.len) < 0)
			return GW_ENOMEM;
		return sh->mode == BATCH_ROWS ? 0 : buf_add(q, sh->key_in.ptr, sh->key_in.len);
	case BATCH_UPDATE: return buf_add(q, sh->update.ptr, sh->update.len);
	}
	return GW_EFATAL;
}

static int stmt_tail(struct buf *q, const struct batch_shape *sh, enum batch_kind kind)
{
	switch (kind) {
	case BATCH_UPSERT: return buf_add(q, sh->upsert.ptr, sh->upsert.len);
	case BATCH_DELETE:
		if (sh->mode == BATCH_ROWS)
			return buf_puts(q, " LIMIT 1");
		return sh->key_in.len ? buf_putc(q, ')') : 0;
	case BATCH_UPDATE: return buf_puts(q, " LIMIT 1");
	case BATCH_INSERT: return 0;
	}
	return GW_EFATAL;
}

/* Appends op o to the statement in q (n ops there already). */
static int stmt_add(struct buf *q, const struct batch *b, const struct batch_shape *sh,
		    const struct batch_op *o, size_t n)
{
	const char *k = b->arena.ptr + o->koff, *v = b->arena.ptr + o->voff;

	switch (o->kind) {
	case BATCH_UPSERT:
	case BATCH_INSERT:
		return (n && buf_putc(q, ',') < 0) || buf_add(q, v, o->vlen) < 0 ? GW_ENOMEM : 0;
	case BATCH_DELETE:
		if (n && buf_puts(q, sh->key_in.len ? "," : " OR ") < 0)
			return GW_ENOMEM;
		return buf_add(q, k, o->klen);
	case BATCH_UPDATE:
		return buf_add(q, v, o->vlen) < 0 || buf_puts(q, " WHERE ") < 0 ||
			       buf_add(q, k, o->klen) < 0
			   ? GW_ENOMEM
			   : 0;
	}
	return GW_EFATAL;
}

/* Whether ops of this kind go one to a statement. */
static bool single(const struct batch_shape *sh, enum batch_kind kind)
{
	return sh->mode == BATCH_ROWS && (kind == BATCH_DELETE || kind == BATCH_UPDATE);
}

/* Sends the ops of one kind among [from, to) (those pick selects, all
 * without it) as statements of at most BATCH_STMT_BYTES. */
static int send_kind(struct batch *b, const struct batch_shape *sh, enum batch_kind kind,
		     size_t from, size_t to, batch_pick_fn pick, void *pctx, struct buf *q,
		     batch_send_fn send, void *ctx)
{
	enum batch_expect expect = single(sh, kind) ? BATCH_EXPECT_ONE : BATCH_EXPECT_ANY;
	size_t i, n = 0;
	int rc;

	buf_reset(q);
	for (i = from; i <= to; i++) {
		const struct batch_op *o = i < to ? &b->ops[i] : NULL;
		if (o &&
		    (o->kind != kind || (pick && !pick(pctx, b->arena.ptr + o->koff, o->klen))))
			continue;
		if (n && (!o || q->len >= BATCH_STMT_BYTES || single(sh, kind))) {
			if (stmt_tail(q, sh, kind) < 0)
				return GW_ENOMEM;
			if ((rc = send(ctx, q, expect)) < 0)
				return rc;
			buf_reset(q);
			n = 0;
		}
		if (!o)
			break;
		if ((n == 0 && stmt_head(q, sh, kind) < 0) || stmt_add(q, b, sh, o, n) < 0)
			return GW_ENOMEM;
		n++;
	}
	return 0;
}

struct sort_ent {
	const char *k;
	size_t klen;
	struct batch_op op;
};

/* Integers as written ("-12", "7"): by value. Anything else after them,
 * by bytes: any total order is right in net mode, only the pages read
 * differ. */
static int key_cmp(const void *pa, const void *pb)
{
	const struct sort_ent *a = pa, *b = pb;
	bool ai = a->klen && (a->k[0] == '-' || (a->k[0] >= '0' && a->k[0] <= '9'));
	bool bi = b->klen && (b->k[0] == '-' || (b->k[0] >= '0' && b->k[0] <= '9'));
	bool an = ai && a->k[0] == '-', bn = bi && b->k[0] == '-';
	int c;

	if (ai != bi)
		return ai ? -1 : 1;
	if (ai && an != bn)
		return an ? -1 : 1;
	if (ai && a->klen != b->klen)
		c = a->klen < b->klen ? -1 : 1;
	else if ((c = memcmp(a->k, b->k, a->klen < b->klen ? a->klen : b->klen)) == 0)
		c = a->klen < b->klen ? -1 : a->klen > b->klen;
	return an ? -c : c;
}

/* The ops in key order (net mode: they are independent). The index by
 * key is not updated: the batch is sent and cleared next. */
static int sort_ops(struct batch *b)
{
	struct sort_ent *e;
	size_t i;

	if (b->sorted || b->nops < 2)
		return 0;
	if (!(e = malloc(b->nops * sizeof(*e))))
		return GW_ENOMEM;
	for (i = 0; i < b->nops; i++) {
		e[i].k = b->arena.ptr + b->ops[i].koff;
		e[i].klen = b->ops[i].klen;
		e[i].op = b->ops[i];
	}
	qsort(e, b->nops, sizeof(*e), key_cmp);
	for (i = 0; i < b->nops; i++)
		b->ops[i] = e[i].op;
	free(e);
	b->sorted = true;
	return 0;
}

int batch_send(struct batch *b, const struct batch_shape *sh, struct buf *scratch,
	       batch_pick_fn pick, void *pctx, batch_send_fn send, void *ctx)
{
	size_t from, to;
	int rc = 0;

	if (!b->nops)
		return 0;
	if (pick && sh->mode != BATCH_NET)
		return GW_EFATAL;
	if (sh->mode == BATCH_NET && sh->int_key && sort_ops(b) < 0)
		return GW_ENOMEM;
	if (merged(sh)) {
		if ((rc = send_kind(b, sh, BATCH_DELETE, 0, b->nops, pick, pctx, scratch, send,
				    ctx)) == 0)
			rc = send_kind(b, sh, BATCH_UPSERT, 0, b->nops, pick, pctx, scratch, send,
				       ctx);
	} else {
		for (from = 0; from < b->nops && rc == 0; from = to) {
			for (to = from + 1; to < b->nops && b->ops[to].kind == b->ops[from].kind;
			     to++)
				;
			rc = send_kind(b, sh, b->ops[from].kind, from, to, NULL, NULL, scratch,
				       send, ctx);
		}
	}
	return rc;
}

int batch_flush(struct batch *b, const struct batch_shape *sh, struct buf *scratch,
		batch_send_fn send, void *ctx)
{
	int rc = batch_send(b, sh, scratch, NULL, NULL, send, ctx);

	batch_clear(b);
	return rc;
}

/*
 * Segment mode: before a change of the row with key text k joins the
 * pending changes, a unique value that a change of another row of the
 * segment had ends the segment: the pending changes are sent first.
 * Within a segment every unique value belongs to one row, so the rows'
 * changes commute (see batch.h). Then the change's values are recorded.
 */
static int seg_admit(struct batch *b, const struct batch_shape *sh, const struct batch_change *c,
		     struct buf *scratch, batch_send_fn send, void *ctx)
{
	size_t u;
	int rc;

	if (hash_index_fit(&b->by_value, b->nsents, seen_value, b) < 0)
		return GW_ENOMEM;
	for (u = 0; u < c->nuniq; u++) {
		uint32_t *slot =
		    hash_index_find(&b->by_value, c->uniq[u].s, c->uniq[u].len, seen_value, b);
		const struct batch_seen *e = *slot ? &b->sents[*slot - 1] : NULL;
		if (e && (e->klen != c->key.len ||
			  memcmp(b->seen.ptr + e->off + e->vlen, c->key.s, c->key.len))) {
			if ((rc = batch_flush(b, sh, scratch, send, ctx)) < 0)
				return rc;
			break;
		}
	}
	for (u = 0; u < c->nuniq; u++) {
		uint32_t *slot;
		struct batch_seen *e;
		if (hash_index_fit(&b->by_value, b->nsents, seen_value, b) < 0)
			return GW_ENOMEM;
		slot = hash_index_find(&b->by_value, c->uniq[u].s, c->uniq[u].len, seen_value, b);
		if (*slot)
			continue;
		if (b->nsents == b->scap) {
			size_t ncap = b->scap ? 2 * b->scap : 64;
			struct batch_seen *n = realloc(b->sents, ncap * sizeof(*n));
			if (!n)
				return GW_ENOMEM;
			b->sents = n;
			b->scap = ncap;
		}
		e = &b->sents[b->nsents];
		e->off = b->seen.len;
		e->vlen = c->uniq[u].len;
		e->klen = c->key.len;
		if (buf_add(&b->seen, c->uniq[u].s, c->uniq[u].len) < 0 ||
		    buf_add(&b->seen, c->key.s, c->key.len) < 0)
			return GW_ENOMEM;
		b->nsents++;
		*slot = (uint32_t)b->nsents;
	}
	return 0;
}

int batch_add(struct batch *b, const struct batch_shape *sh, const struct batch_change *c,
	      struct buf *scratch, batch_send_fn send, void *ctx)
{
	struct batch_op *o = NULL;
	uint32_t *slot = NULL;
	size_t koff, voff;
	int rc;

	if (b->sorted)
		return GW_EFATAL; /* sent, not cleared: the caller's mistake */
	if (sh->mode == BATCH_SEGMENT && (rc = seg_admit(b, sh, c, scratch, send, ctx)) < 0)
		return rc;
	if (merged(sh)) {
		if (hash_index_fit(&b->by_key, b->nops, op_key, b) < 0)
			return GW_ENOMEM;
		slot = hash_index_find(&b->by_key, c->key.s, c->key.len, op_key, b);
		if (*slot)
			o = &b->ops[*slot - 1]; /* a later change of the key is its whole effect */
	}
	koff = b->arena.len;
	if (c->key.len && buf_add(&b->arena, c->key.s, c->key.len) < 0)
		return GW_ENOMEM;
	voff = b->arena.len;
	if (c->values.len && buf_add(&b->arena, c->values.s, c->values.len) < 0) {
		buf_truncate(&b->arena, koff);
		return GW_ENOMEM;
	}
	if (!o) {
		if (b->nops == b->cap) {
			size_t ncap = b->cap ? 2 * b->cap : 256;
			struct batch_op *n = realloc(b->ops, ncap * sizeof(*n));
			if (!n) {
				buf_truncate(&b->arena, koff);
				return GW_ENOMEM;
			}
			b->ops = n;
			b->cap = ncap;
		}
		o = &b->ops[b->nops++];
		if (slot)
			*slot = (uint32_t)b->nops;
	}
	o->koff = koff;
	o->klen = c->key.len;
	o->voff = voff;
	o->vlen = c->values.len;
	o->kind = c->kind;
	return 0;
}
