/*
 * --notify-url: a JSON POST on every phase change, sent by a background
 * thread with libcurl (timeout, retries with backoff), so that a slow or
 * dead receiver never blocks the loop. The queue is bounded: when it is
 * full the oldest notification is dropped (and logged).
 */
#ifndef GODWIT_NOTIFY_H
#define GODWIT_NOTIFY_H

#include "lib/common.h"
#include "lib/err.h"

struct notifier;

int notifier_start(struct notifier **out, const char *url, struct gw_err *err);
/* Queues one JSON document (copied). Never blocks on the network. */
void notifier_post(struct notifier *n, const char *json);
/* Sends what is queued for at most grace_ms, then stops and frees. */
void notifier_free(struct notifier *n, int64_t grace_ms);

#endif
