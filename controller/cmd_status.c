/*
 * `godwit status [NAME] [--state-dir DIR] [--json]`: reads the files the
 * controller leaves in the state directory (never a server). Without NAME,
 * a table of every migration; with NAME, its conditions, precheck results
 * and recent audit entries.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/banned.h"

struct row {
	char name[64];
	char phase[32];
	char progress[256];
	char delay[32];
	char message[512];
	char controller[128]; /* the one driving it ("" when none here) */
	int64_t created;
};

static void read_line(char *out, size_t outsz, const char *dir, const char *file)
{
	struct buf b = BUF_INIT;
	char path[4096];
	char *nl;

	out[0] = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return;
	if (util_read_file(&b, path) == 0 && b.len) {
		snprintf(out, outsz, "%s", buf_cstr(&b));
		if ((nl = strchr(out, '\n')))
			*nl = 0;
	}
	buf_release(&b);
}

/* The value of a top-level "key: value" line of status.yaml. */
static void yaml_top(char *out, size_t outsz, const char *yaml, const char *key)
{
	size_t kl = strlen(key);
	const char *p = yaml, *e;

	out[0] = 0;
	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ':' && p[kl + 1] == ' ') {
			p += kl + 2;
			e = strchr(p, '\n');
			snprintf(out, outsz, "%.*s", (int)(e ? e - p : (ptrdiff_t)strlen(p)), p);
			return;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
}

static void unquote(char *out, size_t outsz, const char *q);

static int load_row(struct row *r, const char *state_dir, const char *name)
{
	char dir[4096], created[32];
	struct buf st = BUF_INIT;
	char path[4200];

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/tasks/%s", state_dir, name) >= sizeof(dir))
		return -1;
	read_line(r->phase, sizeof(r->phase), dir, "phase");
	if (!r->phase[0])
		return -1;
	read_line(r->progress, sizeof(r->progress), dir, "progress");
	read_line(r->delay, sizeof(r->delay), dir, "delay_seconds");
	read_line(r->message, sizeof(r->message), dir, "message");
	snprintf(path, sizeof(path), "%s/status.yaml", dir);
	if (util_read_file(&st, path) == 0) {
		char ctl[160];

		yaml_top(created, sizeof(created), buf_cstr(&st), "createdUnix");
		r->created = strtoll(created, NULL, 10);
		yaml_top(ctl, sizeof(ctl), buf_cstr(&st), "controller");
		unquote(r->controller, sizeof(r->controller), ctl);
	}
	buf_release(&st);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The task names in the state dir, sorted; the caller frees each and the
 * array. */
static int list_tasks(char ***out, size_t *n_out, const char *state_dir)
{
	char dir[4096], **names = NULL, **nn;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n_out = 0;
	snprintf(dir, sizeof(dir), "%s/tasks", state_dir);
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*out = names;
	*n_out = n;
	return 0;
}

static void format_age(char *out, size_t outsz, int64_t created)
{
	int64_t s = util_now_ms() / 1000 - created;

	if (!created || s < 0)
		snprintf(out, outsz, "-");
	else if (s < 120)
		snprintf(out, outsz, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(out, outsz, "%lldm", (long long)(s / 60));
	else if (s < 172800)
		snprintf(out, outsz, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, outsz, "%lldd", (long long)(s / 86400));
}

/* "[######----] full 12/20 rows 60.0%" when the line has a percentage. */
static void format_progress(char *out, size_t outsz, const char *progress)
{
	const char *pct = strrchr(progress, '%');
	const char *start = pct;
	char bar[11];
	double v;
	int i, fill;

	if (!pct) {
		snprintf(out, outsz, "%s", progress);
		return;
	}
	while (start > progress && start[-1] != ' ')
		start--;
	v = strtod(start, NULL);
	fill = (int)(v / 10.0 + 0.5);
	for (i = 0; i < 10; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[10] = 0;
	snprintf(out, outsz, "[%s] %s", bar, progress);
}

static void unquote(char *out, size_t outsz, const char *q);

/* With --verify-commits: "Commits: ..." from source.yaml, under the table. */
static int source_line(struct buf *out, const char *state_dir)
{
	struct buf y = BUF_INIT;
	char path[4096], status[16] = "", msg[800] = "";
	const char *p;
	int e = 0;

	snprintf(path, sizeof(path), "%s/source.yaml", state_dir);
	if (util_read_file(&y, path) == 0 && y.len) {
		if ((p = strstr(buf_cstr(&y), "\n  status: ")))
			unquote(status, sizeof(status), p + 11);
		if ((p = strstr(buf_cstr(&y), "\n  message: ")))
			unquote(msg, sizeof(msg), p + 12);
		e |= buf_printf(out, "\nCommits: %s: %s\n",
				!strcmp(status, "True") ? "verified" : "NOT VERIFIED", msg);
	}
	buf_release(&y);
	return e;
}

int status_table_render(struct buf *out, const char *state_dir, bool json)
{
	char **names = NULL, age[32], prog[300], msg[64];
	size_t n = 0, i;
	struct row r;
	struct buf b = BUF_INIT;
	int e = 0, first = 1;

	if (list_tasks(&names, &n, state_dir) < 0)
		return GW_EFATAL;
	if (json)
		e |= buf_puts(&b, "[");
	else
		e |= buf_printf(&b, "%-24s %-16s %-48s %-6s %-5s %-20s %s\n", "NAME", "PHASE",
				"PROGRESS", "DELAY", "AGE", "CONTROLLER", "MESSAGE");
	for (i = 0; i < n; i++) {
		if (load_row(&r, state_dir, names[i]) < 0)
			continue;
		format_age(age, sizeof(age), r.created);
		if (json) {
			e |= buf_puts(&b, first ? "\n  {\"name\": " : ",\n  {\"name\": ");
			e |= json_str(&b, r.name);
			e |= buf_printf(&b, ", \"phase\": \"%s\", \"progress\": ", r.phase);
			e |= json_str(&b, r.progress);
			e |=
			    buf_printf(&b, ", \"delaySeconds\": %s, \"age\": \"%s\", \"message\": ",
				       r.delay[0] ? r.delay : "null", age);
			e |= json_str(&b, r.message);
			e |= buf_puts(&b, ", \"controller\": ");
			e |= json_str(&b, r.controller);
			e |= buf_puts(&b, "}");
			first = 0;
		} else {
			format_progress(prog, sizeof(prog), r.progress);
			snprintf(msg, sizeof(msg), "%s", r.message);
			e |= buf_printf(&b, "%-24s %-16s %-48s %-6s %-5s %-20s %s\n", r.name,
					r.phase, prog, r.delay[0] ? r.delay : "-", age,
					r.controller[0] ? r.controller : "-", msg);
		}
	}
	if (json)
		e |= buf_puts(&b, first ? "]\n" : "\n]\n");
	else
		e |= source_line(&b, state_dir);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!e)
		e |= buf_add(out, b.ptr ? b.ptr : "", b.len);
	buf_release(&b);
	return e ? GW_ENOMEM : 0;
}

static int print_table(const char *state_dir, bool json)
{
	struct buf b = BUF_INIT;
	int r = status_table_render(&b, state_dir, json);

	if (r == GW_EFATAL)
		fprintf(stderr, "godwit status: cannot read %s/tasks: %s\n", state_dir,
			strerror(errno));
	else if (r < 0)
		fprintf(stderr, "godwit status: out of memory\n");
	else
		fputs(buf_cstr(&b), stdout);
	buf_release(&b);
	return r < 0 ? 1 : 0;
}

/* The conditions block of status.yaml: values are JSON strings already. */
struct cond_row {
	char type[64], status[16], reason[128], message[600], time[40];
};

static size_t parse_conditions(struct cond_row *out, size_t max, const char *yaml)
{
	const char *p = strstr(yaml, "\nconditions:\n"), *e;
	size_t n = 0;
	char key[32], val[700];

	if (!p)
		return 0;
	p += strlen("\nconditions:\n");
	while (*p == ' ') {
		e = strchr(p, '\n');
		if (!e)
			break;
		if (sscanf(p, " - type: %63s", out[n < max ? n : max - 1].type) == 1) {
			if (n >= max)
				break;
			n++;
		} else if (n && sscanf(p, " %31[a-zA-Z]: %699[^\n]", key, val) == 2) {
			struct cond_row *c = &out[n - 1];

			if (!strcmp(key, "status"))
				snprintf(c->status, sizeof(c->status), "%s", val);
			else if (!strcmp(key, "reason"))
				snprintf(c->reason, sizeof(c->reason), "%s", val);
			else if (!strcmp(key, "message"))
				snprintf(c->message, sizeof(c->message), "%s", val);
			else if (!strcmp(key, "lastTransitionTime"))
				snprintf(c->time, sizeof(c->time), "%s", val);
		}
		p = e + 1;
	}
	return n;
}

/* A JSON string literal without its quotes and escapes (for the table). */
static void unquote(char *out, size_t outsz, const char *q)
{
	size_t i = 0;

	if (*q == '"')
		q++;
	while (*q && *q != '"' && i + 1 < outsz) {
		if (*q == '\\' && q[1]) {
			q++;
			out[i++] = *q == 'n' ? ' ' : *q;
		} else {
			out[i++] = *q;
		}
		q++;
	}
	out[i] = 0;
}

/* One precheck item being read from precheck.yaml. */
struct pc_item {
	char id[64], result[16], cause[512], fix[512];
};

/* Alike items (one id, one result: a schema with 22 cascading foreign
 * keys gives 22 warnings) are one line with a count and the first one's
 * cause, in the order their first one came; every item is in
 * precheck.yaml. */
struct pc_group {
	struct pc_item first;
	int n;
};

struct pc_groups {
	struct pc_group *v;
	size_t n;
};

static int pc_item_add(struct pc_groups *gs, const struct pc_item *it)
{
	struct pc_group *nv;
	size_t i;

	if (!it->id[0] || !strcmp(it->result, "pass"))
		return 0;
	for (i = 0; i < gs->n; i++)
		if (!strcmp(gs->v[i].first.id, it->id) &&
		    !strcmp(gs->v[i].first.result, it->result)) {
			gs->v[i].n++;
			return 0;
		}
	if (!(nv = realloc(gs->v, (gs->n + 1) * sizeof(*nv))))
		return GW_ENOMEM;
	gs->v = nv;
	nv[gs->n].first = *it;
	nv[gs->n++].n = 1;
	return 0;
}

static int pc_groups_print(struct buf *out, const struct pc_groups *gs)
{
	size_t i;
	int e = 0;

	for (i = 0; i < gs->n; i++) {
		const struct pc_item *it = &gs->v[i].first;

		if (gs->v[i].n == 1)
			e |= buf_printf(out, "  %-5s %-24s %s\n", it->result, it->id, it->cause);
		else
			e |= buf_printf(out,
					"  %-5s %-24s %d alike, e.g. %s (all in precheck.yaml)\n",
					it->result, it->id, gs->v[i].n, it->cause);
		if (it->fix[0])
			e |= buf_printf(out, "        %-24s fix: %s\n", "", it->fix);
	}
	return e;
}

/*
 * The counts, then the items that did not pass with their cause and fix:
 * what a person has to read. Every item is in precheck.yaml.
 */
static int precheck_summary(struct buf *out, const struct buf *pc, const char *state_dir,
			    const char *name)
{
	struct pc_item it;
	struct pc_groups gs = {NULL, 0};
	char passed[16] = "0", warned[16] = "0", failed[16] = "0", when[40] = "";
	const char *p, *nl;
	int e = 0, shown = 0;
	struct buf items = BUF_INIT;

	memset(&it, 0, sizeof(it));
	for (p = pc->ptr; p && *p; p = nl ? nl + 1 : NULL) {
		char line[1200];
		size_t n;
		const char *l;

		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = 0;
		for (l = line; *l == ' '; l++)
			;
		if (!strncmp(l, "- id: ", 6)) {
			e |= pc_item_add(&gs, &it);
			shown += it.id[0] && strcmp(it.result, "pass");
			memset(&it, 0, sizeof(it));
			unquote(it.id, sizeof(it.id), l + 6);
		} else if (!strncmp(l, "result: ", 8)) {
			unquote(it.result, sizeof(it.result), l + 8);
		} else if (!strncmp(l, "cause: ", 7)) {
			unquote(it.cause, sizeof(it.cause), l + 7);
		} else if (!strncmp(l, "fix: ", 5)) {
			unquote(it.fix, sizeof(it.fix), l + 5);
		} else if (l == line && !strncmp(l, "passed: ", 8)) {
			unquote(passed, sizeof(passed), l + 8);
		} else if (l == line && !strncmp(l, "warned: ", 8)) {
			unquote(warned, sizeof(warned), l + 8);
		} else if (l == line && !strncmp(l, "failed: ", 8)) {
			unquote(failed, sizeof(failed), l + 8);
		} else if (l == line && !strncmp(l, "time: ", 6)) {
			unquote(when, sizeof(when), l + 6);
		}
	}
	e |= pc_item_add(&gs, &it);
	e |= pc_groups_print(&items, &gs);
	free(gs.v);
	shown += it.id[0] && strcmp(it.result, "pass");
	e |= buf_printf(out, "  %s passed, %s warned, %s failed%s%s\n", passed, warned, failed,
			when[0] ? " at " : "", when);
	e |= buf_puts(out, buf_cstr(&items));
	if (strcmp(passed, "0"))
		e |= buf_printf(out, "  (the passed items: %s/tasks/%s/precheck.yaml)\n", state_dir,
				name);
	if (!shown && strcmp(warned, "0")) /* counts without items: an old file */
		e |= buf_puts(out, "  (see precheck.yaml for the items)\n");
	buf_release(&items);
	return e;
}

/* The value of "key":"..." in one audit line, unquoted. */
static void json_field(char *out, size_t outsz, const char *line, const char *key)
{
	char pat[64];
	const char *p;

	out[0] = 0;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(line, pat)))
		unquote(out, outsz, p + strlen(pat));
}

/* "TIME  ACTION EVENT RESULT  commit AUTHOR  error" from one audit line. */
static int audit_line(struct buf *out, const char *line)
{
	char time[40], action[40], event[16], result[32], error[512], commit[48], author[256];

	json_field(time, sizeof(time), line, "time");
	json_field(action, sizeof(action), line, "action");
	json_field(event, sizeof(event), line, "event");
	json_field(result, sizeof(result), line, "result");
	json_field(error, sizeof(error), line, "error");
	json_field(commit, sizeof(commit), line, "commit");
	json_field(author, sizeof(author), line, "author");
	if (!strncmp(author, "null", 4))
		author[0] = 0;
	return buf_printf(out, "  %s  %-18s %-5s %-14s%s%.12s%s%s%s%s\n", time, action, event,
			  result, commit[0] ? " " : "", commit, author[0] ? " " : "", author,
			  error[0] ? "  " : "", error);
}

static int print_one(const char *state_dir, const char *name, bool json)
{
	struct buf st = BUF_INIT, pc = BUF_INIT, out = BUF_INIT;
	struct cond_row conds[16];
	char dir[4096], path[4200], pos[4096], u1[128], u2[600], u3[40];
	char *lines[10] = {NULL};
	size_t nc, i, nl = 0;
	struct row r;
	bool streaming;
	int e = 0, rc = 0;

	if (load_row(&r, state_dir, name) < 0) {
		fprintf(stderr, "godwit status: no migration named '%s' in %s\n", name, state_dir);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/tasks/%s", state_dir, name);
	snprintf(path, sizeof(path), "%s/status.yaml", dir);
	(void)util_read_file(&st, path);
	snprintf(path, sizeof(path), "%s/precheck.yaml", dir);
	(void)util_read_file(&pc, path);
	snprintf(path, sizeof(path), "%s/audit.jsonl", state_dir);
	read_line(pos, sizeof(pos), dir, "position");
	memset(conds, 0, sizeof(conds));
	nc = parse_conditions(conds, 16, buf_cstr(&st));

	/* the last 10 audit lines of this task, reading the log line by line
	 * (it only grows: memory stays bounded) */
	{
		struct buf needle = BUF_INIT;
		FILE *f = fopen(path, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		e |= buf_puts(&needle, "\"task\":");
		e |= json_str(&needle, name);
		e |= buf_putc(&needle, ',');
		while (f && !e && (n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = 0;
			if (!strstr(line, buf_cstr(&needle)))
				continue;
			if (nl == 10) {
				free(lines[0]);
				memmove(lines, lines + 1, 9 * sizeof(*lines));
				nl = 9;
			}
			if (!(lines[nl] = strdup(line)))
				break;
			nl++;
		}
		free(line);
		if (f)
			fclose(f);
		buf_release(&needle);
	}

	if (json) {
		e |= buf_puts(&out, "{\"name\": ");
		e |= json_str(&out, r.name);
		e |= buf_printf(&out, ", \"phase\": \"%s\", \"progress\": ", r.phase);
		e |= json_str(&out, r.progress);
		e |= buf_printf(
		    &out, ", \"delaySeconds\": %s, \"position\": ", r.delay[0] ? r.delay : "null");
		e |= json_str(&out, pos);
		e |= buf_puts(&out, ", \"message\": ");
		e |= json_str(&out, r.message);
		e |= buf_puts(&out, ", \"controller\": ");
		e |= json_str(&out, r.controller);
		e |= buf_puts(&out, ",\n \"conditions\": [");
		for (i = 0; i < nc; i++)
			e |= buf_printf(&out,
					"%s\n  {\"type\": \"%s\", \"status\": %s, \"reason\": %s, "
					"\"message\": %s, \"lastTransitionTime\": %s}",
					i ? "," : "", conds[i].type, conds[i].status,
					conds[i].reason, conds[i].message, conds[i].time);
		e |= buf_puts(&out, "],\n \"precheck\": ");
		e |= json_str(&out, buf_cstr(&pc));
		e |= buf_puts(&out, ",\n \"status\": ");
		e |= json_str(&out, buf_cstr(&st));
		e |= buf_puts(&out, ",\n \"audit\": [");
		for (i = 0; i < nl; i++)
			e |= buf_printf(&out, "%s\n  %s", i ? "," : "", lines[i]);
		e |= buf_puts(&out, "]}\n");
	} else {
		/* Without a stream running, the delay is not known and the
		 * position is the last one applied: say so, and when. */
		char action[64], when[32] = "";
		struct stat pst;

		yaml_top(action, sizeof(action), buf_cstr(&st), "action");
		streaming = !strcmp(action, "incremental");
		snprintf(path, sizeof(path), "%s/position", dir);
		if (pos[0] && !streaming && stat(path, &pst) == 0)
			util_format_time(when, (int64_t)pst.st_mtime);
		e |= buf_printf(&out,
				"Name:      %s\nPhase:     %s\nProgress:  %s\nDelay:     %s%s\n",
				r.name, r.phase, r.progress, r.delay[0] ? r.delay : "-",
				r.delay[0] || streaming ? "" : " (not streaming now)");
		e |= buf_printf(
		    &out, "Position:  %s%s%s%s\nMessage:   %s\nDriven by: %s\n", pos[0] ? pos : "-",
		    when[0] ? " (the last applied, at " : "", when, when[0] ? ")" : "", r.message,
		    r.controller[0] ? r.controller : "- (no controller here drives it)");
		e |= buf_printf(&out, "\nConditions:\n  %-22s %-6s %-20s %-21s %s\n", "TYPE",
				"STATUS", "REASON", "SINCE", "MESSAGE");
		for (i = 0; i < nc; i++) {
			unquote(u1, sizeof(u1), conds[i].reason);
			unquote(u2, sizeof(u2), conds[i].message);
			unquote(u3, sizeof(u3), conds[i].time);
			e |= buf_printf(&out, "  %-22s %-6s %-20s %-21s %s\n", conds[i].type,
					!strcmp(conds[i].status, "\"True\"") ? "True" : "False", u1,
					u3, u2);
		}
		e |= buf_puts(&out, "\nPrecheck:\n");
		if (pc.len)
			e |= precheck_summary(&out, &pc, state_dir, name);
		else
			e |= buf_puts(&out, "  (not run yet)\n");
		e |= buf_puts(&out, "\nRecent actions:\n");
		for (i = 0; i < nl; i++)
			e |= audit_line(&out, lines[i]);
		if (!nl)
			e |= buf_puts(&out, "  (none)\n");
	}
	if (e) {
		fprintf(stderr, "godwit status: out of memory\n");
		rc = 1;
	} else {
		fputs(buf_cstr(&out), stdout);
	}
	for (i = 0; i < nl; i++)
		free(lines[i]);
	buf_release(&st);
	buf_release(&pc);
	buf_release(&out);
	return rc;
}

int cmd_status(int argc, char **argv)
{
	const char *state_dir = NULL;
	bool json = false, help = false;
	const struct cli_opt opts[] = {
	    {"state-dir", &state_dir, NULL},
	    {"json", NULL, &json},
	    {"help", NULL, &help},
	};
	char **pos = NULL;
	size_t npos = 0;
	int rc;

	if ((rc = cli_parse("status", argc, argv, opts, ARRAY_SIZE(opts), &pos, &npos)) != 0)
		return rc;
	if (help || npos > 1) {
		fprintf(help ? stdout : stderr,
			"usage: godwit status [NAME] [--state-dir DIR] [--json]\n");
		free(pos);
		return help ? 0 : 2;
	}
	if (!state_dir)
		state_dir = cli_default_state_dir();
	rc = npos ? print_one(state_dir, pos[0], json) : print_table(state_dir, json);
	free(pos);
	return rc;
}
