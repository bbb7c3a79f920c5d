#include "lib/common.h"
#include "controller/forge.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define FORGE_QUEUE 256
#define FORGE_TRIES 5
#define FORGE_DESC_MAX 140 /* GitHub's limit; Gitea and GitLab take more */
/* A description that changes while the state does not is sent at most
 * this often per commit and context. */
#define FORGE_DESC_EVERY_MS 30000

struct item {
	char sha[41];
	char context[80];
	enum forge_state state;
	char desc[FORGE_DESC_MAX + 1];
};

/* What the loop last queued for one commit and context. */
struct sent {
	struct item it;
	int64_t mono_ms;
	uint64_t round; /* the last forge_report() that saw it current */
};

struct forge {
	enum forge_api api;
	char *url; /* the repository's API URL, no trailing slash */
	char *token;
	char *url_base; /* NULL: no target URL */

	/* loop side */
	struct sent *sent;
	size_t nsent;
	uint64_t round;

	/* thread side */
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item queue[FORGE_QUEUE];
	size_t len;
	volatile int quit;
	int64_t deadline_mono;
	char last_error[512]; /* logged once until it changes */
};

/* --- pure parts --------------------------------------------------- */

static bool loopback(const char *host)
{
	return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "[::1]") ||
	       !strcmp(host, "::1");
}

int forge_parse_url(enum forge_api *out, const char *url, struct gw_err *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *path = NULL, *user = NULL;
	int r = GW_EFATAL;

	if (!u)
		return err_set(err, GW_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		err_set(err, GW_EFATAL, "--commit-status: not a URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		err_set(err, GW_EFATAL,
			"--commit-status: the URL holds credentials; put the token in "
			"GODWIT_FORGE_TOKEN instead");
		goto out;
	}
	if (strcmp(scheme, "https") && !(!strcmp(scheme, "http") && loopback(host))) {
		err_set(err, GW_EFATAL,
			"--commit-status %s://%s: the token is sent over https only (plain http "
			"to a loopback address)",
			scheme, host);
		goto out;
	}
	if (strstr(path, "/projects/")) {
		*out = FORGE_GITLAB;
	} else if (strstr(path, "/repos/")) {
		*out = FORGE_GITHUB;
	} else {
		err_set(
		    err, GW_EFATAL,
		    "--commit-status: give the repository's API URL: "
		    "https://api.github.com/repos/OWNER/REPO, https://HOST/api/v1/repos/OWNER/REPO "
		    "(Gitea) or https://HOST/api/v4/projects/ID (GitLab)");
		goto out;
	}
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(user);
	curl_url_cleanup(u);
	return r;
}

static bool caught_up(const struct task *t)
{
	size_t i;

	for (i = 0; i < TASK_NCOND; i++)
		if (t->conds[i].type && !strcmp(t->conds[i].type, "NotDelayed"))
			return t->conds[i].status;
	return false;
}

enum forge_state forge_task_state(char *desc, size_t descsz, const struct task *t,
				  bool prev_success)
{
	enum phase p = t->invalid ? PH_INVALID : t->rec.phase;
	const char *msg = t->invalid ? t->invalid_msg : t->rec.message;
	enum forge_state st;

	if (phase_is_error(p))
		st = FORGE_FAILURE;
	else if (p == PH_COMPLETED || p == PH_STOPPED)
		st = FORGE_SUCCESS;
	else if (p == PH_INCREMENTAL && (caught_up(t) || prev_success))
		st = FORGE_SUCCESS;
	else
		st = FORGE_PENDING;
	if (p == PH_INCREMENTAL && st == FORGE_SUCCESS)
		snprintf(desc, descsz, "Incremental: caught up, streaming changes");
	else
		snprintf(desc, descsz, "%s%s%s", phase_name(p), msg[0] ? ": " : "", msg);
	return st;
}

static const char *state_word(enum forge_api api, enum forge_state st)
{
	switch (st) {
	case FORGE_SUCCESS: return "success";
	case FORGE_FAILURE: return api == FORGE_GITLAB ? "failed" : "failure";
	default: return api == FORGE_GITLAB ? "running" : "pending";
	}
}

/* At most max bytes of s, cut before a UTF-8 continuation byte, control
 * characters made spaces. */
static void cut(char *out, size_t max, const char *s)
{
	size_t n = strlen(s), i;

	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	out[n] = '\0';
}

int forge_body(struct buf *out, enum forge_api api, enum forge_state st, const char *context,
	       const char *desc, const char *target_url)
{
	char d[FORGE_DESC_MAX + 1];
	int e = 0;

	cut(d, FORGE_DESC_MAX, desc);
	e |= buf_printf(out, "{\"state\":\"%s\",\"%s\":", state_word(api, st),
			api == FORGE_GITLAB ? "name" : "context");
	e |= json_str(out, context);
	e |= buf_puts(out, ",\"description\":");
	e |= json_str(out, d);
	if (target_url) {
		e |= buf_puts(out, ",\"target_url\":");
		e |= json_str(out, target_url);
	}
	e |= buf_putc(out, '}');
	return e ? GW_ENOMEM : 0;
}

/* --- the thread ---------------------------------------------------- */

static size_t keep_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;

	size_t n = size * nmemb;

	if (b->len < 2048 && buf_add(b, ptr, n > 2048 - b->len ? 2048 - b->len : n) < 0)
		return 0;
	return n;
}

static void report_error(struct forge *f, const char *msg)
{
	pthread_mutex_lock(&f->mu);
	if (strcmp(f->last_error, msg)) {
		snprintf(f->last_error, sizeof(f->last_error), "%s", msg);
		log_warn(NULL, "commit status: %s", msg);
	}
	pthread_mutex_unlock(&f->mu);
}

/* 0 sent; GW_ERETRY worth retrying; GW_EFATAL not. */
static int post_once(struct forge *f, CURL *c, const struct item *it)
{
	struct curl_slist *h = NULL, *h2;
	struct buf url = BUF_INIT, body = BUF_INIT, auth = BUF_INIT, resp = BUF_INIT;
	struct buf target = BUF_INIT;
	char msg[512], text[256];
	long code = 0;
	CURLcode cr;
	int r = GW_ERETRY;
	size_t i;

	if (f->url_base && buf_printf(&target, "%s/%s", f->url_base, it->context + 7) < 0)
		goto oom;
	if (buf_printf(&url, "%s/statuses/%s", f->url, it->sha) < 0 ||
	    forge_body(&body, f->api, it->state, it->context, it->desc,
		       f->url_base ? buf_cstr(&target) : NULL) < 0 ||
	    (f->api == FORGE_GITLAB ? buf_printf(&auth, "PRIVATE-TOKEN: %s", f->token)
				    : buf_printf(&auth, "Authorization: Bearer %s", f->token)) < 0)
		goto oom;
	{
		const char *hdrs[] = {
		    buf_cstr(&auth), "Content-Type: application/json",
		    f->api == FORGE_GITLAB ? "Accept: application/json"
					   : "Accept: application/vnd.github+json",
		    "User-Agent: godwit/" GODWIT_VERSION, "X-GitHub-Api-Version: 2022-11-28"};
		for (i = 0; i < ARRAY_SIZE(hdrs); i++) {
			if (!(h2 = curl_slist_append(h, hdrs[i])))
				goto oom;
			h = h2;
		}
	}
	curl_easy_reset(c);
	/* No redirects (the token would go along), http(s) only, no netrc. */
	if (curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url)) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, buf_cstr(&body)) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp) != CURLE_OK) {
		r = GW_EFATAL;
		goto out;
	}
	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		snprintf(msg, sizeof(msg), "POST %s: %s", buf_cstr(&url), curl_easy_strerror(cr));
		report_error(f, msg);
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		goto out;
	/* what the forge said, printable and short (never our request) */
	for (i = 0; i < resp.len && i + 1 < sizeof(text) && i < 200; i++)
		text[i] = resp.ptr[i] >= 0x20 && resp.ptr[i] < 0x7f ? resp.ptr[i] : ' ';
	text[i] = '\0';
	if (code >= 200 && code < 300) {
		r = 0;
	} else if (f->api == FORGE_GITLAB && code == 400 && strstr(text, "Cannot transition")) {
		r = 0; /* GitLab: the commit already has that state */
	} else if (code >= 500 || code == 429 || code == 408) {
		snprintf(msg, sizeof(msg), "POST %s: HTTP %ld (will retry) %s", buf_cstr(&url),
			 code, text);
		report_error(f, msg);
	} else {
		snprintf(msg, sizeof(msg), "POST %s: HTTP %ld%s %s", buf_cstr(&url), code,
			 code == 401   ? ": the forge refused the token in GODWIT_FORGE_TOKEN"
			 : code == 404 ? ": no such repository or commit, or the token may not "
					 "see it"
			 : code >= 300 && code < 400
			     ? ": a redirect, not followed (the token goes to the configured "
			       "host only): give the API URL itself"
			     : "",
			 text);
		report_error(f, msg);
		r = GW_EFATAL;
	}
	if (r == 0)
		log_debug(it->context + 7, "commit status %s on %.12s: %s",
			  state_word(f->api, it->state), it->sha, it->desc);
	goto out;
oom:
	r = GW_ERETRY;
out:
	curl_slist_free_all(h);
	/* the header held the token: wipe it before the memory goes back */
	if (auth.ptr)
		memset(auth.ptr, 0, auth.len);
	buf_release(&auth);
	buf_release(&url);
	buf_release(&body);
	buf_release(&resp);
	buf_release(&target);
	return r;
}

static void *forge_main(void *arg)
{
	struct forge *f = arg;
	CURL *c = curl_easy_init();
	struct item it;
	volatile int stop = 0;
	int i, r;

	if (!c)
		log_error(NULL, "commit status: cannot initialise libcurl; statuses are off");
	for (;;) {
		pthread_mutex_lock(&f->mu);
		while (!f->len && !f->quit)
			pthread_cond_wait(&f->cv, &f->mu);
		if (!f->len || (f->quit && util_now_mono_ms() > f->deadline_mono)) {
			pthread_mutex_unlock(&f->mu);
			break;
		}
		it = f->queue[0];
		memmove(f->queue, f->queue + 1, (f->len - 1) * sizeof(*f->queue));
		f->len--;
		pthread_mutex_unlock(&f->mu);
		for (i = 0; c && i < FORGE_TRIES; i++) {
			if ((r = post_once(f, c, &it)) != GW_ERETRY)
				break;
			if (f->quit && util_now_mono_ms() > f->deadline_mono)
				break;
			stop = f->quit;
			util_sleep_ms(1000LL << i, &stop);
		}
	}
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

/* --- the loop side ------------------------------------------------- */

static void enqueue(struct forge *f, const struct item *it)
{
	size_t i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->len; i++)
		if (!strcmp(f->queue[i].sha, it->sha) && !strcmp(f->queue[i].context, it->context))
			break;
	if (i == f->len && f->len == FORGE_QUEUE) {
		log_warn(NULL, "commit status: queue full, the oldest status dropped");
		memmove(f->queue, f->queue + 1, (f->len - 1) * sizeof(*f->queue));
		i = --f->len;
	}
	f->queue[i] = *it; /* a status not sent yet is replaced */
	if (i == f->len)
		f->len++;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

static struct sent *sent_find(struct forge *f, const char *sha, const char *context)
{
	size_t i;

	for (i = 0; i < f->nsent; i++)
		if (!strcmp(f->sent[i].it.sha, sha) && !strcmp(f->sent[i].it.context, context))
			return &f->sent[i];
	return NULL;
}

static void offer(struct forge *f, const char *sha, const char *name, enum forge_state st,
		  const char *desc, int64_t now)
{
	struct item it;
	struct sent *s, *ns;

	if (strlen(sha) != 40)
		return; /* not a commit (--dir, or nothing known yet) */
	memset(&it, 0, sizeof(it));
	snprintf(it.sha, sizeof(it.sha), "%s", sha);
	snprintf(it.context, sizeof(it.context), "godwit/%s", name);
	it.state = st;
	cut(it.desc, FORGE_DESC_MAX, desc);
	s = sent_find(f, it.sha, it.context);
	if (s)
		s->round = f->round;
	if (s && s->it.state == st &&
	    (!strcmp(s->it.desc, it.desc) || now - s->mono_ms < FORGE_DESC_EVERY_MS))
		return;
	if (!s) {
		if (!(ns = realloc(f->sent, (f->nsent + 1) * sizeof(*ns))))
			return;
		f->sent = ns;
		s = &f->sent[f->nsent++];
	}
	s->it = it;
	s->mono_ms = now;
	s->round = f->round;
	enqueue(f, &it);
}

void forge_report(struct forge *f, struct task *const *tasks, size_t n)
{
	int64_t now = util_now_mono_ms();
	char desc[1200];
	size_t i;

	if (!f)
		return;
	f->round++;
	for (i = 0; i < n; i++) {
		const struct task *t = tasks[i];
		const char *sha = t->invalid || t->deleted ? t->attempted.commit : t->rev.commit;
		const struct sent *s;
		enum forge_state st;
		char ctx[80];

		if (!task_reports(t))
			continue;
		snprintf(ctx, sizeof(ctx), "godwit/%s", t->name);
		s = sent_find(f, sha, ctx);
		st = forge_task_state(desc, sizeof(desc), t,
				      s && s->it.state == FORGE_SUCCESS &&
					  !strncmp(s->it.desc, "Incremental", 11));
		offer(f, sha, t->name, st, desc, now);
		/* a newer spec refused: its commit says so */
		if (t->spec_immutable && !t->invalid && strcmp(t->attempted.commit, sha)) {
			snprintf(desc, sizeof(desc), "SpecImmutable: %s", t->immutable_msg);
			offer(f, t->attempted.commit, t->name, FORGE_FAILURE, desc, now);
		}
	}
	/* forget the commits no migration points at any more (of a task
	 * another controller drives, too: it is reposted if it comes back) */
	if (f->nsent > 64) {
		size_t k = 0;

		for (i = 0; i < f->nsent; i++)
			if (f->sent[i].round == f->round)
				f->sent[k++] = f->sent[i];
		f->nsent = k;
	}
}

int forge_start(struct forge **out, const char *url, const char *token, const char *url_base,
		struct gw_err *err)
{
	struct forge *f;
	enum forge_api api;
	size_t n;

	*out = NULL;
	if (forge_parse_url(&api, url, err) < 0)
		return err->code;
	if (!token || !*token)
		return err_set(err, GW_EFATAL,
			       "--commit-status needs a token in GODWIT_FORGE_TOKEN");
	if (!(f = calloc(1, sizeof(*f))))
		return err_set(err, GW_ENOMEM, "out of memory");
	f->api = api;
	f->url = strdup(url);
	f->token = strdup(token);
	f->url_base = url_base ? strdup(url_base) : NULL;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (!f->url || !f->token || (url_base && !f->url_base)) {
		forge_free(f, 0);
		return err_set(err, GW_ENOMEM, "out of memory");
	}
	n = strlen(f->url);
	while (n && f->url[n - 1] == '/')
		f->url[--n] = '\0';
	n = f->url_base ? strlen(f->url_base) : 0;
	while (n && f->url_base[n - 1] == '/')
		f->url_base[--n] = '\0';
	if (pthread_create(&f->th, NULL, forge_main, f) != 0) {
		forge_free(f, 0);
		return err_set(err, GW_EFATAL, "commit status: cannot start a thread");
	}
	f->started = true;
	*out = f;
	return 0;
}

void forge_free(struct forge *f, int64_t grace_ms)
{
	if (!f)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->mu);
		f->deadline_mono = util_now_mono_ms() + grace_ms;
		f->quit = 1;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		(void)pthread_join(f->th, NULL);
	}
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	if (f->token)
		memset(f->token, 0, strlen(f->token));
	free(f->token);
	free(f->url);
	free(f->url_base);
	free(f->sent);
	free(f);
}
