#include "lib/common.h"
#include "cloud/sts.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/banned.h"

#define STS_VERSION "2015-04-01"
#define STS_DURATION "3600"
#define STS_REFRESH_MARGIN_S 300

struct sts_entry {
	char key[512]; /* role ARN and the controller's key id */
	struct openapi_cred cred;
	int64_t issued_s;
	int64_t expires_s;
	struct sts_entry *next;
};

static pthread_mutex_t sts_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sts_entry *sts_cache;

void sts_session_name(char *out, size_t size, const char *task)
{
	size_t n = 0;
	const char *p;

	if (!size)
		return;
	for (p = "godwit-"; *p && n + 1 < size; p++)
		out[n++] = *p;
	for (p = task ? task : ""; *p && n + 1 < size && n < 64; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '@' || c == '_' || c == '-';
		out[n++] = ok ? c : '-';
	}
	out[n] = 0;
}

bool sts_needs_refresh(int64_t now_s, int64_t issued_s, int64_t expires_s)
{
	int64_t margin = STS_REFRESH_MARGIN_S;

	if (expires_s - issued_s < 4 * STS_REFRESH_MARGIN_S)
		margin = (expires_s - issued_s) / 4;
	return now_s >= expires_s - margin;
}

int64_t sts_parse_time(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -1;
	if (*end == '.') /* fractions of a second */
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0)
		return -1;
	return (int64_t)timegm(&tm);
}

static int role_arn(char *out, size_t size, const struct endpoint *ep)
{
	int n = snprintf(out, size, "acs:ram::%s:role/%s", ep->rds.account_id, ep->rds.role_name);

	return n < 0 || (size_t)n >= size ? GW_EFATAL : 0;
}

/* The controller's own account, for the trust policy in a message; the
 * placeholder when it cannot be read. */
static void caller_account(char *out, size_t size, const struct openapi_cred *base,
			   const char *task)
{
	struct cjson *j = NULL;
	struct gw_err e = GW_ERR_INIT;
	const char *acct;

	snprintf(out, size, "%s", "<controller-account-id>");
	if (openapi_call(&j, NULL, 0, "sts", STS_VERSION, "GetCallerIdentity", NULL, 0, base, task,
			 &e) == 0 &&
	    (acct = cjson_text(j, "AccountId")) && acct[0])
		snprintf(out, size, "%s", acct);
	cjson_free(j);
}

/* AssumeRole's failure in words a person acts on. */
static int explain(struct gw_err *err, int r, const char *code, const char *arn,
		   const struct endpoint *ep, const struct openapi_cred *base, const char *task)
{
	char acct[64];

	if (!strcmp(code, "EntityNotExist.Role")) {
		caller_account(acct, sizeof(acct), base, task);
		return err_set(
		    err, GW_EFATAL,
		    "role does not exist: %s (EntityNotExist.Role). Fix: in account %s "
		    "create the RAM role %s with the trust policy "
		    "{\"Statement\":[{\"Action\":\"sts:AssumeRole\",\"Effect\":\"Allow\","
		    "\"Principal\":{\"RAM\":[\"acs:ram::%s:root\"]}}],\"Version\":\"1\"} "
		    "and RDS permissions, or correct rds.roleName",
		    arn, ep->rds.account_id, ep->rds.role_name, acct);
	}
	if (!strcmp(code, "NoPermission") || !strncmp(code, "NoPermission.", 13) ||
	    !strcmp(code, "Forbidden.RAM") ||
	    !strcmp(code, "InvalidParameter.RoleArn.NotTrusted")) {
		caller_account(acct, sizeof(acct), base, task);
		return err_set(
		    err, GW_EFATAL,
		    "no permissions to assume %s (%s): the role does not trust the "
		    "controller's account %s. Fix: set the role's trust policy to "
		    "{\"Statement\":[{\"Action\":\"sts:AssumeRole\",\"Effect\":\"Allow\","
		    "\"Principal\":{\"RAM\":[\"acs:ram::%s:root\"]}}],\"Version\":\"1\"} "
		    "and allow sts:AssumeRole on it to the controller's RAM user",
		    arn, code, acct, acct);
	}
	err_prefix(err, "assuming %s", arn);
	return r;
}

static struct sts_entry *cache_find(const char *key)
{
	struct sts_entry *e;

	for (e = sts_cache; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	return NULL;
}

static int cache_key(char *out, size_t size, const struct endpoint *ep, const char *key_id)
{
	char arn[384];
	int n;

	if (role_arn(arn, sizeof(arn), ep) < 0)
		return GW_EFATAL;
	n = snprintf(out, size, "%s|%s", arn, key_id);
	return n < 0 || (size_t)n >= size ? GW_EFATAL : 0;
}

int sts_credentials(struct openapi_cred *out, const struct endpoint *ep, const char *task,
		    struct gw_err *err)
{
	struct openapi_cred base;
	struct cjson *j = NULL;
	const struct cjson *c;
	struct sts_entry *e, fresh;
	char arn[384], session[72], key[512], code[96] = "";
	const char *id, *secret, *token, *exp;
	int64_t now = (int64_t)time(NULL);
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = openapi_cred_from_env(&base, err)) < 0)
		return r;
	if (!ep->rds.role_name || !ep->rds.account_id) {
		*out = base;
		goto out;
	}
	if (role_arn(arn, sizeof(arn), ep) < 0 || cache_key(key, sizeof(key), ep, base.id) < 0) {
		r = err_set(err, GW_EFATAL, "rds.accountId or rds.roleName is too long");
		goto out;
	}
	pthread_mutex_lock(&sts_mu);
	e = cache_find(key);
	if (e && !sts_needs_refresh(now, e->issued_s, e->expires_s)) {
		*out = e->cred;
		pthread_mutex_unlock(&sts_mu);
		goto out;
	}
	pthread_mutex_unlock(&sts_mu);

	/* Not under the lock: two migrations may both renew, which is harmless,
	 * while a slow STS would otherwise hold up every other call. */
	sts_session_name(session, sizeof(session), task);
	{
		const struct openapi_param p[] = {{"RoleArn", arn},
						  {"RoleSessionName", session},
						  {"DurationSeconds", STS_DURATION}};
		r = openapi_call(&j, code, sizeof(code), "sts", STS_VERSION, "AssumeRole", p,
				 ARRAY_SIZE(p), &base, task, err);
	}
	if (r < 0) {
		r = explain(err, r, code, arn, ep, &base, task);
		goto out;
	}
	c = cjson_get(j, "Credentials");
	id = cjson_text(c, "AccessKeyId");
	secret = cjson_text(c, "AccessKeySecret");
	token = cjson_text(c, "SecurityToken");
	exp = cjson_text(c, "Expiration");
	memset(&fresh, 0, sizeof(fresh));
	if (!id || !secret || !token || sts_parse_time(exp) < 0 ||
	    strlen(id) >= sizeof(fresh.cred.id) || strlen(secret) >= sizeof(fresh.cred.secret) ||
	    strlen(token) >= sizeof(fresh.cred.token)) {
		r = err_set(err, GW_ERETRY,
			    "assuming %s: AssumeRole answered without usable "
			    "credentials",
			    arn);
		goto out;
	}
	snprintf(fresh.key, sizeof(fresh.key), "%s", key);
	snprintf(fresh.cred.id, sizeof(fresh.cred.id), "%s", id);
	snprintf(fresh.cred.secret, sizeof(fresh.cred.secret), "%s", secret);
	snprintf(fresh.cred.token, sizeof(fresh.cred.token), "%s", token);
	snprintf(fresh.cred.account, sizeof(fresh.cred.account), "%s", ep->rds.account_id);
	fresh.issued_s = now;
	fresh.expires_s = sts_parse_time(exp);
	log_info(task, "assumed %s until %s", arn, exp);

	pthread_mutex_lock(&sts_mu);
	if (!(e = cache_find(key))) {
		if (!(e = calloc(1, sizeof(*e)))) {
			pthread_mutex_unlock(&sts_mu);
			r = err_set(err, GW_ENOMEM, "out of memory");
			goto out;
		}
		e->next = sts_cache;
		sts_cache = e;
	}
	fresh.next = e->next;
	*e = fresh;
	*out = e->cred;
	pthread_mutex_unlock(&sts_mu);
	r = 0;
out:
	memset(&base, 0, sizeof(base));
	memset(&fresh, 0, sizeof(fresh));
	cjson_free(j);
	return r;
}

void sts_forget(const struct endpoint *ep)
{
	struct sts_entry *e;
	char arn[384];
	size_t n;

	if (!ep->rds.role_name || !ep->rds.account_id || role_arn(arn, sizeof(arn), ep) < 0)
		return;
	n = strlen(arn);
	pthread_mutex_lock(&sts_mu);
	for (e = sts_cache; e; e = e->next)
		if (!strncmp(e->key, arn, n) && e->key[n] == '|')
			e->expires_s = e->issued_s; /* renewed on the next use */
	pthread_mutex_unlock(&sts_mu);
}
