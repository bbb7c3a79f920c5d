/*
 * The controller's HTTP endpoint (`--listen [ADDR:]PORT`), served by
 * libmicrohttpd from a thread of its own:
 *   /metrics  Prometheus text: the metrics of metrics.prom for the
 *             migrations this controller drives, then process metrics
 *   /healthz  200 while the loop turns (it stamps http_loop_alive() on
 *             every step), 503 once it has not for HTTP_STALL_S
 *   /readyz   200 once the spec source was read whole, 503 before
 *   /status   the JSON of `godwit status --json` (from the state directory)
 * GET and HEAD only. The loop publishes what the thread serves
 * (http_publish); the thread never touches a task.
 */
#ifndef GODWIT_HTTP_H
#define GODWIT_HTTP_H

#include "lib/common.h"
#include "lib/err.h"

#include <stdint.h>

/* How long the loop may not turn before /healthz fails. */
#define HTTP_STALL_S 60

struct http;

/* listen: "PORT" (127.0.0.1), "ADDR:PORT" or "[ADDR6]:PORT". state_dir is
 * borrowed for the server's life. */
int http_start(struct http **out, const char *listen, const char *state_dir, const char *id,
	       struct gw_err *err);
/* The loop turned (monotonic ms). */
void http_loop_alive(struct http *h, int64_t mono_ms);
/* What /metrics serves (the migrations' part; copied), and whether the
 * spec source was read (why not, when not). */
void http_publish(struct http *h, const char *metrics, size_t len, bool ready,
		  const char *not_ready);
void http_free(struct http *h);

/* Parses "[ADDR:]PORT" into a socket address (for tests too); 0 or a
 * message in err. */
struct sockaddr_storage;
int http_parse_listen(struct sockaddr_storage *out, unsigned *len_out, const char *listen,
		      struct gw_err *err);

#endif
