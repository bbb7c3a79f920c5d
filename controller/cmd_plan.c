/*
 * `godwit plan PATH... [--state-dir DIR] [--json]`: for each spec, where it
 * stands (from the state directory) and the ordered actions the controller
 * would take next, irreversible ones marked. Deterministic (no times, sorted
 * files) so that it diffs and fits a pull-request comment; secrets are never
 * in a spec, so never in a plan. Read-only: it reads files, connects to
 * nothing.
 */
#include "lib/common.h"
#include "controller/commands.h"
#include "controller/plan.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/util.h"
#include "reconcile/task.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/banned.h"

const char *plan_state_word(enum desired_state st)
{
	return st == STATE_PAUSED ? "paused" : st == STATE_STOPPED ? "stopped" : "running";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_yaml(const char *n)
{
	size_t l = strlen(n);

	return (l > 5 && !strcmp(n + l - 5, ".yaml")) || (l > 4 && !strcmp(n + l - 4, ".yml"));
}

/* The length of path without trailing slashes (but "/" stays). */
static size_t dir_len(const char *path)
{
	size_t l = strlen(path);

	while (l > 1 && path[l - 1] == '/')
		l--;
	return l;
}

/* Expands directories into their *.yaml / *.yml files, sorted. */
static int expand(char ***files, size_t *n, const char *path)
{
	struct stat st;
	struct dirent *de;
	char **found = NULL, **nn;
	size_t nf = 0, i;
	DIR *d;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		nn = realloc(*files, (*n + 1) * sizeof(**files));
		if (!nn || !(nn[*n] = strdup(path))) {
			if (nn)
				*files = nn;
			return -1;
		}
		*files = nn;
		(*n)++;
		return 0;
	}
	if (!(d = opendir(path)))
		return -1;
	while ((de = readdir(d))) {
		struct buf p = BUF_INIT;

		if (de->d_name[0] == '.' || !is_yaml(de->d_name))
			continue;
		if (buf_printf(&p, "%.*s/%s", (int)dir_len(path), path, de->d_name) < 0 ||
		    !(nn = realloc(found, (nf + 1) * sizeof(*found)))) {
			buf_release(&p);
			break;
		}
		found = nn;
		found[nf++] = buf_detach(&p, NULL);
	}
	closedir(d);
	if (nf)
		qsort(found, nf, sizeof(*found), cmp_str);
	for (i = 0; i < nf; i++) {
		nn = realloc(*files, (*n + 1) * sizeof(**files));
		if (!nn) {
			free(found[i]);
			continue;
		}
		*files = nn;
		(*files)[(*n)++] = found[i];
	}
	free(found);
	return 0;
}

static void read_first_line(char *out, size_t outsz, const char *path)
{
	struct buf b = BUF_INIT;
	char *nl;

	out[0] = 0;
	if (util_read_file(&b, path) == 0 && b.len) {
		snprintf(out, outsz, "%s", buf_cstr(&b));
		if ((nl = strchr(out, '\n')))
			*nl = 0;
	}
	buf_release(&b);
}

enum meta_stage plan_read_stage(const char *state_dir, const char *name, bool *known)
{
	struct buf b = BUF_INIT;
	char path[4096], val[64] = "";
	const char *p;
	int i;
	enum meta_stage st = META_NONE;

	*known = false;
	snprintf(path, sizeof(path), "%s/tasks/%s/status.yaml", state_dir, name);
	if (util_read_file(&b, path) == 0 && b.len && (p = strstr(buf_cstr(&b), "\nstage: ")))
		sscanf(p + 8, "%63s", val);
	for (i = META_NONE; i <= META_CUTOVER_DONE; i++)
		if (!strcmp(val, meta_stage_name((enum meta_stage)i))) {
			st = (enum meta_stage)i;
			*known = true;
		}
	buf_release(&b);
	return st;
}

/* ", throttle 20000 rows/s, 50MiB/s" or "". */
static const char *throttle_str(char *out, size_t outsz, const struct spec *s)
{
	uint64_t v = s->throttle_bytes;
	const char *unit = "B";
	int n = 0;

	out[0] = 0;
	if (s->throttle_rows)
		n = snprintf(out, outsz, ", throttle %llu rows/s",
			     (unsigned long long)s->throttle_rows);
	if (n < 0 || (size_t)n >= outsz || !v)
		return out;
	if (v % (1024ULL * 1024 * 1024) == 0)
		v /= 1024ULL * 1024 * 1024, unit = "GiB";
	else if (v % (1024ULL * 1024) == 0)
		v /= 1024ULL * 1024, unit = "MiB";
	else if (v % 1024 == 0)
		v /= 1024, unit = "KiB";
	snprintf(out + n, outsz - (size_t)n, "%s %llu%s/s", n ? "," : ", throttle",
		 (unsigned long long)v, unit);
	return out;
}

int plan_describe(struct buf *b, enum mact a, const struct spec *s)
{
	char d[96];

	switch (a) {
	case MA_PRECHECK:
		return buf_puts(
		    b, "run the precheck items against source and destination (reads only)");
	case MA_WHITELIST_ADD:
		return buf_puts(b, "add whitelist.cidrs to the whitelist group 'godwit' of rds "
				   "endpoints (nothing without rds)");
	case MA_SCHEMA_CREATE:
		return buf_puts(b, "create the selected databases, tables, views, routines and "
				   "(disabled) events on the destination");
	case MA_FULL:
		return buf_printf(b,
				  "record the hand-off binlog position, copy every selected row in "
				  "resumable chunks (parallelism %d%s)",
				  s->parallelism, throttle_str(d, sizeof(d), s));
	case MA_VERIFY: return buf_puts(b, "compare source and destination chunk by chunk");
	case MA_SCHEMA_AFTER_FULL:
		return buf_puts(b,
				(s->migration_types & MT_INCREMENTAL)
				    ? "add foreign keys on the destination"
				    : "add foreign keys, triggers and events on the destination");
	case MA_INCREMENTAL:
		if (s->state != STATE_STOPPED)
			return buf_puts(b,
					"stream source binlog changes from the hand-off position "
					"(runs until state: stopped)");
		util_format_duration(d, sizeof(d), s->stop_max_delay_ms);
		return buf_printf(
		    b, "gated stop: wait until the delay is at most %s%s, drain, stop", d,
		    s->stop_freeze_source ? ", set the SOURCE read_only (freezeSource) "
					    "before the final drain"
					  : "");
	case MA_SCHEMA_CUTOVER:
		return buf_puts(b, "cutover: create triggers and enable events on the destination");
	case MA_WHITELIST_REMOVE:
		return buf_puts(b, "remove the controller's addresses from the rds whitelist group "
				   "'godwit'");
	default: return buf_puts(b, mact_name(a));
	}
}

const char *plan_types(char *out, size_t outsz, unsigned t)
{
	snprintf(out, outsz, "%s%s%s%s%s", t & MT_SCHEMA ? "schema" : "",
		 (t & MT_SCHEMA) && (t & (MT_FULL | MT_INCREMENTAL)) ? "," : "",
		 t & MT_FULL ? "full" : "", (t & MT_FULL) && (t & MT_INCREMENTAL) ? "," : "",
		 t & MT_INCREMENTAL ? "incremental" : "");
	return out;
}

/* Whether the saved spec of the task has another immutable hash. */
static bool immutable_refused(const char *state_dir, const struct spec *s, enum meta_stage st)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct spec *old = NULL;
	char path[4096];
	bool refused = false;

	if (st == META_NONE)
		return false;
	snprintf(path, sizeof(path), "%s/tasks/%s/spec.yaml", state_dir, s->name);
	if (spec_load_file(&old, path, &d) == 0) {
		refused = strcmp(old->immutable_hash, s->immutable_hash) != 0;
		spec_free(old);
	}
	diag_list_release(&d);
	return refused;
}

static int plan_one(struct buf *out, const char *file, const char *state_dir, bool json, bool first)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct buf dg = BUF_INIT, desc = BUF_INIT;
	struct spec *s = NULL;
	struct task_record rec;
	enum mact acts[32];
	char phase[64], path[4096], types[64], d[32];
	enum meta_stage st;
	bool known, have_rec, refused;
	size_t n, i;
	int e = 0, rc = 0;

	if (json && !first)
		e |= buf_puts(out, ",\n");
	if (spec_load_file(&s, file, &diags) < 0) {
		e |= diag_list_format(&dg, &diags);
		if (json) {
			e |= buf_puts(out, "  {\"file\": ");
			e |= json_str(out, file);
			e |= buf_puts(out, ", \"valid\": false, \"errors\": ");
			e |= json_str(out, buf_cstr(&dg));
			e |= buf_puts(out, "}");
		} else {
			e |= buf_printf(out, "%s: invalid spec (phase Invalid)\n", file);
			e |= buf_puts(out, buf_cstr(&dg));
			e |= buf_putc(out, '\n');
		}
		rc = 1;
		goto out;
	}
	have_rec = task_record_load(&rec, state_dir, s->name) == 0;
	snprintf(path, sizeof(path), "%s/tasks/%s/phase", state_dir, s->name);
	read_first_line(phase, sizeof(phase), path);
	st = plan_read_stage(state_dir, s->name, &known);
	refused = immutable_refused(state_dir, s, st);
	n = refused ? 0 : machine_plan(acts, ARRAY_SIZE(acts), &rec, s, st);
	plan_types(types, sizeof(types), s->migration_types);
	util_format_duration(d, sizeof(d), s->stop_max_delay_ms);

	if (json) {
		e |= buf_puts(out, "  {\"file\": ");
		e |= json_str(out, file);
		e |= buf_puts(out, ", \"valid\": true, \"name\": ");
		e |= json_str(out, s->name);
		e |= buf_printf(
		    out,
		    ", \"specHash\": \"%s\", \"immutableHash\": \"%s\", \"phase\": \"%s\", "
		    "\"stage\": \"%s\", \"state\": \"%s\", \"migrationTypes\": \"%s\", "
		    "\"specImmutable\": %s, \"actions\": [",
		    s->hash, s->immutable_hash, have_rec && phase[0] ? phase : "New",
		    meta_stage_name(st), plan_state_word(s->state), types,
		    refused ? "true" : "false");
		for (i = 0; i < n; i++) {
			buf_reset(&desc);
			e |= plan_describe(&desc, acts[i], s);
			e |= buf_printf(out,
					"%s\n    {\"step\": %zu, \"action\": \"%s\", "
					"\"irreversible\": %s, \"description\": ",
					i ? "," : "", i + 1, mact_name(acts[i]),
					mact_irreversible(acts[i], s) ? "true" : "false");
			e |= json_str(out, buf_cstr(&desc));
			e |= buf_puts(out, "}");
		}
		e |= buf_puts(out, "]}");
		goto out;
	}
	e |= buf_printf(out, "migration %s (%s)\n", s->name, file);
	e |= buf_printf(out, "  spec hash:       %s\n", s->hash);
	e |= buf_printf(out, "  migrationTypes:  %s\n", types);
	e |= buf_printf(out, "  state:           %s", plan_state_word(s->state));
	if (s->state == STATE_STOPPED)
		e |= buf_printf(out, " (maxDelay %s, freezeSource %s, force %s)", d,
				s->stop_freeze_source ? "true" : "false",
				s->stop_force ? "true" : "false");
	e |= buf_printf(out, "\n  now:             %s, stage %s\n",
			have_rec && phase[0] ? phase : "new (nothing done yet)",
			meta_stage_name(st));
	if (refused)
		e |= buf_puts(out, "  refused:         SpecImmutable: source, destination, objects "
				   "or migrationTypes changed after data moved; the controller "
				   "goes on with the previous spec\n");
	if (have_rec && rec.blocked_hash[0] && !strcmp(rec.blocked_hash, s->hash))
		e |= buf_printf(out, "  blocked:         %s until the spec changes\n", phase);
	if (s->state == STATE_STOPPED && s->stop_force && st >= META_FULL_STARTED &&
	    st < META_FULL_DONE && (s->migration_types & MT_FULL))
		e |= buf_puts(out, "  ! stop.force: the running copy is cancelled; the destination "
				   "stays incomplete\n");
	if (!n) {
		e |= buf_puts(out, "  next:            nothing\n");
	} else {
		e |= buf_puts(out, "  next:\n");
		for (i = 0; i < n; i++) {
			buf_reset(&desc);
			e |= plan_describe(&desc, acts[i], s);
			e |= buf_printf(out, "    %zu. %-18s %s%s\n", i + 1, mact_name(acts[i]),
					buf_cstr(&desc),
					mact_irreversible(acts[i], s) ? "  [IRREVERSIBLE]" : "");
		}
	}
	e |= buf_putc(out, '\n');
out:
	if (e)
		rc = GW_ENOMEM;
	spec_free(s);
	diag_list_release(&diags);
	buf_release(&dg);
	buf_release(&desc);
	return rc;
}

static int plan_git_range(const char *range, const char *path, const char *state_dir, bool json)
{
	struct buf out = BUF_INIT;
	struct gw_err err = GW_ERR_INIT;
	int r = plan_range(&out, range, path, state_dir, json ? PLAN_JSON : PLAN_MARKDOWN, &err);

	if (r < 0)
		fprintf(stderr, "godwit plan: %s\n", err.msg);
	else
		fputs(buf_cstr(&out), stdout);
	buf_release(&out);
	return r < 0 ? 2 : r;
}

int cmd_plan(int argc, char **argv)
{
	const char *state_dir = NULL, *range = NULL, *path = NULL, *format = NULL;
	bool json = false, help = false;
	const struct cli_opt opts[] = {
	    {"state-dir", &state_dir, NULL}, {"json", NULL, &json},	{"git-range", &range, NULL},
	    {"path", &path, NULL},	     {"format", &format, NULL}, {"help", NULL, &help},
	};
	char **pos = NULL, **files = NULL;
	size_t npos = 0, nfiles = 0, i;
	struct buf out = BUF_INIT;
	int rc, r, bad = 0;

	if ((rc = cli_parse("plan", argc, argv, opts, ARRAY_SIZE(opts), &pos, &npos)) != 0)
		return rc;
	if (format && strcmp(format, "json") && strcmp(format, range ? "markdown" : "text")) {
		fprintf(stderr, "godwit plan: --format %s: one of %s\n", format,
			range ? "markdown, json" : "text, json");
		free(pos);
		return 2;
	}
	json |= format && !strcmp(format, "json");
	if (range && !help) {
		free(pos);
		if (npos) {
			fprintf(stderr, "godwit plan: --git-range takes no PATH (use --path)\n");
			return 2;
		}
		return plan_git_range(range, path, state_dir, json);
	}
	if (help || !npos || path) {
		fprintf(help ? stdout : stderr,
			"usage: godwit plan PATH... [--state-dir DIR] [--format text|json]\n"
			"       godwit plan --git-range BASE..HEAD [--path DIR] [--state-dir DIR]\n"
			"                   [--format markdown|json]\n");
		free(pos);
		return help ? 0 : 2;
	}
	if (!state_dir)
		state_dir = cli_default_state_dir();
	for (i = 0; i < npos; i++)
		if (expand(&files, &nfiles, pos[i]) < 0) {
			fprintf(stderr, "godwit plan: cannot read %s\n", pos[i]);
			bad = 1;
		}
	if (json && buf_puts(&out, "{\"migrations\": [\n") < 0)
		bad = 1;
	for (i = 0; i < nfiles; i++) {
		r = plan_one(&out, files[i], state_dir, json, i == 0);
		if (r == GW_ENOMEM) {
			fprintf(stderr, "godwit plan: out of memory\n");
			bad = 1;
		} else if (r) {
			bad = 1;
		}
	}
	if (json && buf_puts(&out, "\n]}\n") < 0)
		bad = 1;
	fputs(buf_cstr(&out), stdout);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(pos);
	buf_release(&out);
	return bad ? 1 : 0;
}
