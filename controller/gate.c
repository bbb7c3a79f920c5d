#include "lib/common.h"
#include "controller/gate.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

#include "lib/banned.h"

static void set_condition(struct condition *c, const struct source_verify *v, int64_t now_s)
{
	if (!c->type || c->status != v->ok)
		c->last_transition = now_s;
	c->type = "Verified";
	c->status = v->ok;
	snprintf(c->reason, sizeof(c->reason), "%s", v->reason);
	snprintf(c->message, sizeof(c->message), "%s", v->message);
}

static int audit_line(struct buf *b, const struct source_verify *v, int64_t now_ms)
{
	char ts[32];
	int e = 0;

	util_format_time(ts, now_ms / 1000);
	e |= buf_printf(b,
			"{\"time\":\"%s\",\"task\":null,\"action\":\"verify-commit\","
			"\"event\":\"end\",\"result\":\"%s\",\"reason\":",
			ts, v->ok ? "ok" : "refused");
	e |= json_str(b, v->reason);
	if (!v->ok) {
		e |= buf_puts(b, ",\"error\":");
		e |= json_str(b, v->message);
	}
	e |= buf_puts(b, ",\"signer\":");
	e |= v->signer[0] ? json_str(b, v->signer) : buf_puts(b, "null");
	e |= buf_puts(b, ",\"key\":");
	e |= v->key[0] ? json_str(b, v->key) : buf_puts(b, "null");
	e |= buf_printf(b, ",\"applied\":\"%s\",\"revision\":{\"commit\":\"%s\",\"author\":",
			v->applied, v->tip);
	e |= json_str(b, v->tip_author);
	e |= buf_puts(b, ",\"committer\":");
	e |= json_str(b, v->tip_committer);
	util_format_time(ts, v->tip_time);
	e |= buf_printf(b, ",\"commitTime\":\"%s\"}}\n", ts);
	return e;
}

static int source_yaml(struct buf *b, const struct source_verify *v, int64_t now_ms)
{
	char ts[32];
	int e = 0;

	e |= buf_puts(b, "apiVersion: godwit/v1\nkind: SourceStatus\nverified:\n");
	e |= buf_printf(b, "  status: \"%s\"\n  reason: ", v->ok ? "True" : "False");
	e |= yaml_str(b, v->reason);
	e |= buf_puts(b, "\n  message: ");
	e |= yaml_str(b, v->message);
	e |= buf_printf(b, "\n  commit: \"%s\"\n  author: ", v->tip);
	e |= yaml_str(b, v->tip_author);
	e |= buf_puts(b, "\n  committer: ");
	e |= yaml_str(b, v->tip_committer);
	util_format_time(ts, v->tip_time);
	e |= buf_printf(b, "\n  commitTime: \"%s\"\n  signer: ", ts);
	e |= yaml_str(b, v->signer);
	e |= buf_puts(b, "\n  key: ");
	e |= yaml_str(b, v->key);
	util_format_time(ts, now_ms / 1000);
	e |= buf_printf(b, "\n  appliedRevision: \"%s\"\n  time: \"%s\"\n", v->applied, ts);
	return e;
}

static void publish(const struct source_verify *v, const char *state_dir, int64_t now_ms)
{
	struct buf b = BUF_INIT;
	char path[4096];

	if (v->ok)
		log_info(NULL, "verified: %s", v->message);
	else
		log_warn(NULL, "not applied: %s", v->message);
	if (!state_dir)
		return;
	if (audit_line(&b, v, now_ms) ||
	    (size_t)snprintf(path, sizeof(path), "%s/audit.jsonl", state_dir) >= sizeof(path) ||
	    util_append_fsync(path, b.ptr, b.len) < 0)
		log_warn(NULL, "cannot append to %s/audit.jsonl", state_dir);
	buf_reset(&b);
	if (source_yaml(&b, v, now_ms) ||
	    (size_t)snprintf(path, sizeof(path), "%s/source.yaml", state_dir) >= sizeof(path) ||
	    util_write_file_atomic(path, b.ptr, b.len) < 0)
		log_warn(NULL, "cannot write %s/source.yaml", state_dir);
	buf_release(&b);
}

void gate_apply(struct gate *g, const struct source_verify *v, struct task *const *tasks, size_t n,
		const char *state_dir, int64_t now_ms)
{
	size_t i;

	if (!v->enabled || !v->tip[0])
		return; /* nothing judged yet */
	if (!g->have || g->seq != v->seq) {
		publish(v, state_dir, now_ms);
		g->seq = v->seq;
		g->have = true;
	}
	for (i = 0; i < n; i++)
		set_condition(&tasks[i]->verified, v, now_ms / 1000);
}
