#include "lib/common.h"
#include "controller/http.h"
#include "controller/commands.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

struct http {
	struct MHD_Daemon *d;
	const char *state_dir;
	char id[128];
	atomic_llong alive_ms; /* monotonic */
	pthread_mutex_t mu;    /* guards what the loop publishes */
	struct buf metrics;
	bool ready;
	char not_ready[256];
	int64_t start_s; /* unix seconds the process started */
};

int http_parse_listen(struct sockaddr_storage *out, unsigned *len_out, const char *listen,
		      struct gw_err *err)
{
	char host[128] = "127.0.0.1";
	const char *port = listen, *colon;
	int64_t p;

	memset(out, 0, sizeof(*out));
	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (!end || end[1] != ':' || (size_t)(end - listen - 1) >= sizeof(host))
			return err_set(err, GW_EFATAL, "--listen %s: [ADDRESS]:PORT expected",
				       listen);
		memcpy(host, listen + 1, (size_t)(end - listen - 1));
		host[end - listen - 1] = 0;
		port = end + 2;
	} else if ((colon = strrchr(listen, ':'))) {
		if ((size_t)(colon - listen) >= sizeof(host) || colon == listen)
			return err_set(err, GW_EFATAL, "--listen %s: ADDRESS:PORT expected",
				       listen);
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = 0;
		port = colon + 1;
	}
	if (util_parse_int64(&p, port, 0, 65535) < 0)
		return err_set(err, GW_EFATAL, "--listen %s: the port must be 0 to 65535", listen);
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return err_set(err, GW_EFATAL, "--listen %s: not an IPv6 address: %s",
				       listen, host);
		*len_out = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)out;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return err_set(err, GW_EFATAL,
				       "--listen %s: not an IPv4 address: %s (names are not "
				       "resolved)",
				       listen, host);
		*len_out = sizeof(*a);
	}
	return 0;
}

/* Prometheus' standard process metrics, from /proc/self. */
static int process_metrics(struct buf *b, int64_t start_s)
{
	struct buf stat = BUF_INIT;
	struct rusage ru;
	struct rlimit rl;
	struct dirent *de;
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long vsize = 0;
	long long rss = 0;
	size_t fds = 0;
	const char *p;
	DIR *d;
	int e = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		e |= buf_printf(b,
				"# HELP process_cpu_seconds_total Total user and system CPU time "
				"spent in seconds.\n# TYPE process_cpu_seconds_total counter\n"
				"process_cpu_seconds_total %.2f\n",
				(double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
				    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) /
					1e6);
	/* fields 23 (vsize) and 24 (rss) of /proc/self/stat, after the
	 * command name in parentheses */
	if (util_read_file(&stat, "/proc/self/stat") == 0 && (p = strrchr(buf_cstr(&stat), ')')) &&
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
		   "%*u %llu %lld",
		   &vsize, &rss) == 2) {
		e |= buf_printf(b,
				"# HELP process_virtual_memory_bytes Virtual memory size in "
				"bytes.\n# TYPE process_virtual_memory_bytes gauge\n"
				"process_virtual_memory_bytes %llu\n",
				vsize);
		e |= buf_printf(b,
				"# HELP process_resident_memory_bytes Resident memory size in "
				"bytes.\n# TYPE process_resident_memory_bytes gauge\n"
				"process_resident_memory_bytes %lld\n",
				rss * (page > 0 ? page : 4096));
	}
	buf_release(&stat);
	if ((d = opendir("/proc/self/fd"))) {
		while ((de = readdir(d)))
			fds += de->d_name[0] != '.';
		closedir(d);
		e |= buf_printf(b,
				"# HELP process_open_fds Number of open file descriptors.\n"
				"# TYPE process_open_fds gauge\nprocess_open_fds %zu\n",
				fds > 0 ? fds - 1 : 0); /* without the directory's own */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		e |= buf_printf(b,
				"# HELP process_max_fds Maximum number of open file descriptors.\n"
				"# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
				(unsigned long long)rl.rlim_cur);
	e |= buf_printf(b,
			"# HELP process_start_time_seconds Start time of the process since unix "
			"epoch in seconds.\n# TYPE process_start_time_seconds gauge\n"
			"process_start_time_seconds %lld\n",
			(long long)start_s);
	return e;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
			     const struct buf *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    body->len, body->ptr ? body->ptr : (void *)"", MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct buf b = BUF_INIT;
	const char *type = "text/plain; charset=utf-8";
	unsigned code = MHD_HTTP_OK;
	enum MHD_Result ret;
	int e = 0;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		e |= buf_puts(&b, "only GET and HEAD\n");
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (!strcmp(url, "/metrics")) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		pthread_mutex_lock(&h->mu);
		e |= buf_add(&b, h->metrics.ptr ? h->metrics.ptr : "", h->metrics.len);
		pthread_mutex_unlock(&h->mu);
		e |= buf_puts(&b, "# HELP godwit_controller_info The controller serving this "
				  "endpoint.\n# TYPE godwit_controller_info gauge\n"
				  "godwit_controller_info{id=");
		e |= json_str(&b, h->id);
		e |= buf_printf(&b, ",version=\"%s\"} 1\n", GODWIT_VERSION);
		e |= process_metrics(&b, h->start_s);
	} else if (!strcmp(url, "/healthz")) {
		int64_t since = util_now_mono_ms() - atomic_load(&h->alive_ms);

		if (since > HTTP_STALL_S * 1000) {
			code = MHD_HTTP_SERVICE_UNAVAILABLE;
			e |= buf_printf(&b, "the loop has not turned for %lld s\n",
					(long long)(since / 1000));
		} else {
			e |= buf_puts(&b, "ok\n");
		}
	} else if (!strcmp(url, "/readyz")) {
		pthread_mutex_lock(&h->mu);
		if (h->ready) {
			e |= buf_puts(&b, "ok\n");
		} else {
			code = MHD_HTTP_SERVICE_UNAVAILABLE;
			e |= buf_printf(&b, "the spec source has not been read yet%s%s\n",
					h->not_ready[0] ? ": " : "", h->not_ready);
		}
		pthread_mutex_unlock(&h->mu);
	} else if (!strcmp(url, "/status")) {
		type = "application/json";
		if (status_table_render(&b, h->state_dir, true) < 0) {
			buf_reset(&b);
			code = MHD_HTTP_INTERNAL_SERVER_ERROR;
			type = "text/plain; charset=utf-8";
			e |= buf_printf(&b, "cannot read %s/tasks\n", h->state_dir);
		}
	} else {
		code = MHD_HTTP_NOT_FOUND;
		e |= buf_puts(&b, "not found: /metrics, /healthz, /readyz, /status\n");
	}
	if (e) {
		buf_reset(&b);
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	ret = reply(conn, code, type, &b);
	buf_release(&b);
	return ret;
}

/* libmicrohttpd's own messages (a bind that fails, a bad request) go to
 * the log, not stderr. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	size_t n;

	(void)cls;
	if (buf_vprintf(&b, fmt, ap) == 0) {
		n = b.len;
		while (n && b.ptr[n - 1] == '\n')
			n--;
		buf_truncate(&b, n);
		log_warn(NULL, "http: %s", buf_cstr(&b));
	}
	buf_release(&b);
}

int http_start(struct http **out, const char *listen, const char *state_dir, const char *id,
	       struct gw_err *err)
{
	struct sockaddr_storage sa;
	struct http *h;
	unsigned salen = 0;
	int r;

	*out = NULL;
	if ((r = http_parse_listen(&sa, &salen, listen, err)) < 0)
		return r;
	if (!(h = calloc(1, sizeof(*h))))
		return err_set(err, GW_ENOMEM, "out of memory");
	pthread_mutex_init(&h->mu, NULL);
	h->state_dir = state_dir;
	snprintf(h->id, sizeof(h->id), "%s", id);
	atomic_init(&h->alive_ms, util_now_mono_ms());
	h->start_s = util_now_ms() / 1000;
	snprintf(h->not_ready, sizeof(h->not_ready), "starting");
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				    (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!h->d) {
		r = err_set(err, GW_EFATAL, "--listen %s: cannot listen there (%s)", listen,
			    errno ? strerror(errno) : "libmicrohttpd refused");
		pthread_mutex_destroy(&h->mu);
		free(h);
		return r;
	}
	log_info(NULL, "serving /metrics, /healthz, /readyz and /status on %s", listen);
	*out = h;
	return 0;
}

void http_loop_alive(struct http *h, int64_t mono_ms)
{
	atomic_store(&h->alive_ms, mono_ms);
}

void http_publish(struct http *h, const char *metrics, size_t len, bool ready,
		  const char *not_ready)
{
	pthread_mutex_lock(&h->mu);
	buf_reset(&h->metrics);
	if (buf_add(&h->metrics, metrics, len) < 0)
		buf_reset(&h->metrics);
	h->ready = ready;
	snprintf(h->not_ready, sizeof(h->not_ready), "%s", not_ready ? not_ready : "");
	pthread_mutex_unlock(&h->mu);
}

void http_free(struct http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	buf_release(&h->metrics);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
