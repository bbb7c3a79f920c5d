#include "lib/common.h"
#include "controller/notify.h"
#include "lib/log.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define NOTIFY_QUEUE 256
#define NOTIFY_TRIES 4

struct notifier {
	char *url;
	char shown[300]; /* scheme://host[:port]: the rest (a path, a query,
			    user:password@) often carries the webhook's secret */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *queue[NOTIFY_QUEUE];
	size_t head, len;
	volatile int quit;
	int64_t deadline_mono; /* when quitting: give up sending after this */
};

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr, (void)ud;
	return size * nmemb;
}

/* 0 sent; GW_ERETRY worth retrying; GW_EFATAL not. */
static int post_once(CURL *c, const char *url, const char *shown, const char *body)
{
	struct curl_slist *h = NULL, *h2;
	long code = 0;
	CURLcode cr;
	int r = GW_ERETRY;

	if (!(h2 = curl_slist_append(h, "Content-Type: application/json")))
		return GW_ERETRY;
	h = h2;
	curl_easy_reset(c);
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK) {
		r = GW_EFATAL;
		goto out;
	}
	cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		log_warn(NULL, "notify: POST %s: %s", shown, curl_easy_strerror(cr));
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		goto out;
	if (code >= 200 && code < 300)
		r = 0;
	else if (code >= 500 || code == 429 || code == 408)
		log_warn(NULL, "notify: POST %s: HTTP %ld", shown, code);
	else {
		log_warn(NULL, "notify: POST %s: HTTP %ld (not retried)", shown, code);
		r = GW_EFATAL;
	}
out:
	curl_slist_free_all(h);
	return r;
}

static void *notify_main(void *arg)
{
	struct notifier *n = arg;
	CURL *c = curl_easy_init();
	char *body;
	int i, r;
	volatile int stop = 0;

	if (!c)
		log_error(NULL, "notify: cannot initialise libcurl; notifications are off");
	for (;;) {
		pthread_mutex_lock(&n->mu);
		while (!n->len && !n->quit)
			pthread_cond_wait(&n->cv, &n->mu);
		if (!n->len || (n->quit && util_now_mono_ms() > n->deadline_mono)) {
			pthread_mutex_unlock(&n->mu);
			break;
		}
		body = n->queue[n->head];
		n->head = (n->head + 1) % NOTIFY_QUEUE;
		n->len--;
		pthread_mutex_unlock(&n->mu);
		for (i = 0; c && i < NOTIFY_TRIES; i++) {
			if ((r = post_once(c, n->url, n->shown, body)) != GW_ERETRY)
				break;
			if (n->quit && util_now_mono_ms() > n->deadline_mono)
				break;
			stop = n->quit;
			util_sleep_ms(500LL << i, &stop);
		}
		free(body);
	}
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

/* "scheme://host[:port]" of url, for the log. */
static void url_shown(char *out, size_t outsz, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;

	(void)snprintf(out, outsz, "(the notify URL)");
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
			port = NULL;
		(void)snprintf(out, outsz, "%s://%s%s%s", scheme, host, port ? ":" : "",
			       port ? port : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

int notifier_start(struct notifier **out, const char *url, struct gw_err *err)
{
	struct notifier *n = calloc(1, sizeof(*n));

	*out = NULL;
	if (!n || !(n->url = strdup(url))) {
		free(n);
		return err_set(err, GW_ENOMEM, "out of memory");
	}
	url_shown(n->shown, sizeof(n->shown), url);
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	if (pthread_create(&n->th, NULL, notify_main, n) != 0) {
		pthread_mutex_destroy(&n->mu);
		pthread_cond_destroy(&n->cv);
		free(n->url);
		free(n);
		return err_set(err, GW_EFATAL, "notify: cannot start a thread");
	}
	*out = n;
	return 0;
}

void notifier_post(struct notifier *n, const char *json)
{
	char *copy;

	if (!n || !(copy = strdup(json)))
		return;
	pthread_mutex_lock(&n->mu);
	if (n->len == NOTIFY_QUEUE) {
		free(n->queue[n->head]);
		n->head = (n->head + 1) % NOTIFY_QUEUE;
		n->len--;
		log_warn(NULL, "notify: queue full, oldest notification dropped");
	}
	n->queue[(n->head + n->len) % NOTIFY_QUEUE] = copy;
	n->len++;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

void notifier_free(struct notifier *n, int64_t grace_ms)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->deadline_mono = util_now_mono_ms() + grace_ms;
	n->quit = 1;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	(void)pthread_join(n->th, NULL);
	while (n->len) {
		free(n->queue[n->head]);
		n->head = (n->head + 1) % NOTIFY_QUEUE;
		n->len--;
	}
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	free(n->url);
	free(n);
}
