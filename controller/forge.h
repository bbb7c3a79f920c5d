/*
 * Commit statuses (`controller --commit-status URL`): for each migration,
 * the commit that last changed its spec gets a status with context
 * "godwit/NAME" on the forge, where reviewers look:
 *
 *   pending  while it converges (Pending ... MigratingFull, Retrying,
 *            Paused, Stopping, Incremental until caught up)
 *   success  Incremental caught up (delay within stop.maxDelay), Completed,
 *            Stopped
 *   failure  PrecheckFailed, Failed, Invalid; and, on the commit of a
 *            newer spec refused as SpecImmutable, that refusal
 *
 * with "Phase: message" as description (at most 140 bytes, cut on a
 * character boundary) and STATUS_URL_BASE/NAME as target URL.
 *
 * URL is the repository's API URL: https://api.github.com/repos/O/R
 * (GitHub), https://HOST/api/v1/repos/O/R (Gitea, Forgejo: the same API)
 * or https://HOST/api/v4/projects/ID (GitLab, whose states are pending,
 * running, success, failed). The token (GODWIT_FORGE_TOKEN) goes in the
 * Authorization (GitLab: PRIVATE-TOKEN) header to that host only:
 * redirects are not followed, a URL with credentials in it is refused,
 * and plain http is allowed only to a loopback address. The token never
 * reaches a log line, status file or error.
 *
 * A background thread posts, with a time limit and retries (5xx, 429,
 * network errors: 5 tries with backoff); the loop only queues, and a
 * status not yet sent is replaced by a newer one for the same commit and
 * context. Loop-thread API except where said.
 */
#ifndef GODWIT_FORGE_H
#define GODWIT_FORGE_H

#include "lib/common.h"
#include "lib/err.h"
#include "reconcile/task.h"

enum forge_api { FORGE_GITHUB, FORGE_GITLAB };
enum forge_state { FORGE_PENDING, FORGE_SUCCESS, FORGE_FAILURE };

struct forge;

/* Checks url (see above) and starts the thread. */
int forge_start(struct forge **out, const char *url, const char *token, const char *url_base,
		struct gw_err *err);
/* Queues a status for every migration whose state or description
 * changed since it was last queued. Never blocks on the network. */
void forge_report(struct forge *f, struct task *const *tasks, size_t n);
/* Sends what is queued for at most grace_ms, then stops and frees. */
void forge_free(struct forge *f, int64_t grace_ms);

/* Which API a URL speaks; GW_EFATAL with the reason in err when the URL
 * is not one godwit sends a token to. */
int forge_parse_url(enum forge_api *out, const char *url, struct gw_err *err);
/* The state and description of a task's status now; prev_success: the
 * last one queued for this commit was success (Incremental stays
 * success while it streams: no flapping with every second of delay). */
enum forge_state forge_task_state(char *desc, size_t descsz, const struct task *t,
				  bool prev_success);
/* The request body for api (description cut to 140 bytes). */
int forge_body(struct buf *out, enum forge_api api, enum forge_state st, const char *context,
	       const char *desc, const char *target_url);

#endif
