/*
 * The credentials a call on an endpoint is made with: the controller's own
 * (the environment), or, for an endpoint with rds.accountId and
 * rds.roleName, temporary ones from STS AssumeRole (Version 2015-04-01)
 * into acs:ram::<accountId>:role/<roleName>.
 *
 * Assumed credentials are cached per role and controller key, shared by all
 * migrations (thread-safe), and renewed before they expire.
 */
#ifndef GODWIT_CLOUD_STS_H
#define GODWIT_CLOUD_STS_H

#include "lib/common.h"
#include "lib/err.h"
#include "cloud/openapi.h"
#include "spec/spec.h"

#include <stdint.h>

/* The credentials for ep into *out. Errors of AssumeRole are explained:
 * "role does not exist" (EntityNotExist.Role) and "no permissions"
 * (NoPermission, an untrusting role), each with the trust policy that fixes
 * it. task names the migration (the role session name is derived from it). */
int sts_credentials(struct openapi_cred *out, const struct endpoint *ep, const char *task,
		    struct gw_err *err);

/* Forgets the cached credentials of ep's role (after the service rejected
 * them as expired). */
void sts_forget(const struct endpoint *ep);

/* The role session name for a migration: "godwit-" + the name, cut to 64
 * characters of [A-Za-z0-9.@_-]. */
void sts_session_name(char *out, size_t size, const char *task);

/* Whether credentials valid until expires_s (issued at issued_s) are to be
 * renewed at now_s: within 5 minutes of the end, or the last quarter of a
 * shorter lifetime. */
bool sts_needs_refresh(int64_t now_s, int64_t issued_s, int64_t expires_s);

/* "Expiration" of an AssumeRole answer (2015-04-09T11:52:19Z) in seconds
 * since the epoch; -1 if malformed. */
int64_t sts_parse_time(const char *s);

#endif
