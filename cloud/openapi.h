/*
 * Signed RPC-style Alibaba Cloud OpenAPI calls (signature version 1.0):
 * HMAC-SHA1 over "GET&%2F&" + the percent-encoded canonical query, sent
 * over libcurl with timeouts and retries. The proxy variables (http_proxy,
 * https_proxy, no_proxy) are honoured by libcurl itself.
 *
 * GODWIT_ALIYUN_ENDPOINT (a base URL) sends every call there instead of
 * https://<product>.aliyuncs.com/.
 */
#ifndef GODWIT_CLOUD_OPENAPI_H
#define GODWIT_CLOUD_OPENAPI_H

#include "lib/common.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "cloud/cjson.h"

#include <stdint.h>

/* A key pair, with the token of temporary (STS) credentials. Secrets:
 * never formatted into a message or a log line. */
struct openapi_cred {
	char id[128];
	char secret[128];
	char token[2048]; /* "" for long-term keys */
	char account[32]; /* the owner account when known (for messages), else "" */
};

struct openapi_param {
	const char *key;
	const char *value;
};

/* Reads ALIBABA_CLOUD_ACCESS_KEY_ID, _SECRET and the optional
 * ALIBABA_CLOUD_SECURITY_TOKEN. Fails (GW_EFATAL) naming the missing one. */
int openapi_cred_from_env(struct openapi_cred *out, struct gw_err *err);

/* RFC 3986 percent-encoding as the signature wants it: A-Z a-z 0-9 - _ . ~
 * kept, every other byte %XX (so space is %20, '*' %2A, '/' %2F). */
int openapi_percent_encode(struct buf *out, const char *s) WARN_UNUSED;

/* "k1=v1&k2=v2" with keys and values percent-encoded, sorted by encoded
 * key (byte order). */
int openapi_canonical_query(struct buf *out, const struct openapi_param *params,
			    size_t n) WARN_UNUSED;

/* The base64 Signature of a request whose parameters (without Signature)
 * are params: HMAC-SHA1 keyed with secret + "&". */
int openapi_sign(struct buf *out, const struct openapi_param *params, size_t n,
		 const char *secret) WARN_UNUSED;

/* Calls action on product (the host prefix: "sts", "rds", "rds.eu-west-1")
 * with Format=JSON
 * and the common parameters added, and returns the parsed response in *out
 * (caller frees with cjson_free).
 *
 * Failures: the message is "Action: Code: Message" without anything secret.
 * Throttling*, ServiceUnavailable, InternalError, HTTP 5xx and transport
 * failures are retried in the call (backoff with jitter) and reported as
 * GW_ERETRY when they persist; everything else is GW_EFATAL, with the
 * service's code in *code_out (may be NULL) for the caller to explain. */
int openapi_call(struct cjson **out, char *code_out, size_t code_size, const char *product,
		 const char *version, const char *action, const struct openapi_param *params,
		 size_t n, const struct openapi_cred *cred, const char *task, struct gw_err *err);

/* The delay before attempt (1-based retry count): exponential from base_ms,
 * capped at cap_ms, with full jitter from r in [0, 1). */
int64_t openapi_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, double r);

/* Whether a service error code is worth retrying (throttling, busy). */
bool openapi_code_retryable(const char *code, long http_status);

#endif
