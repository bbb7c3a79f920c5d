#include "lib/common.h"
#include "cloud/rds.h"
#include "cloud/cloud.h"
#include "cloud/openapi.h"
#include "cloud/sts.h"
#include "lib/log.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define RDS_VERSION "2014-08-15"
#define RDS_GROUP "godwit"
#define RDS_MAX_PARAMS 8
/* Every connection asks for the address; the API has a rate limit. */
#define RDS_RESOLVE_TTL_MS 60000

struct resolved {
	char key[320]; /* instance, region, account, role: who asked matters */
	char host[256];
	unsigned port;
	int64_t until_ms;
	struct resolved *next;
};

static pthread_mutex_t resolve_mu = PTHREAD_MUTEX_INITIALIZER;
/* The migrations of one controller read and write whitelist groups one at a
 * time: the creation of a group (Cover) is a read-modify-write. */
static pthread_mutex_t whitelist_mu = PTHREAD_MUTEX_INITIALIZER;
static struct resolved *resolve_cache;

/* The instance's name in messages: id, region and, for another account, the
 * account. */
static void instance_name(char *out, size_t size, const struct endpoint *ep)
{
	if (ep->rds.account_id)
		snprintf(out, size, "%s (region %s, account %s)", ep->rds.instance_id,
			 ep->rds.region, ep->rds.account_id);
	else
		snprintf(out, size, "%s (region %s)", ep->rds.instance_id, ep->rds.region);
}

static int explain(struct gw_err *err, int r, const char *code, const char *action,
		   const struct endpoint *ep)
{
	char name[256];

	instance_name(name, sizeof(name), ep);
	if (!strcmp(code, "InvalidDBInstanceId.NotFound"))
		return err_set(err, GW_EFATAL,
			       "rds instance %s not found (InvalidDBInstanceId.NotFound): check "
			       "rds.instanceId and rds.region%s",
			       name,
			       ep->rds.account_id
				   ? ", and that rds.accountId is the account that owns it"
				   : "; an instance of another account needs rds.accountId and "
				     "rds.roleName");
	if (!strcmp(code, "NoPermission") || !strncmp(code, "Forbidden", 9))
		return err_set(err, GW_EFATAL,
			       "no permissions: %s on rds instance %s was refused (%s). Fix: grant "
			       "rds:DescribeDBInstanceNetInfo, rds:DescribeDBInstanceAttribute, "
			       "rds:DescribeResourceUsage, rds:DescribeDBInstanceIPArrayList and "
			       "rds:ModifySecurityIps (e.g. AliyunRDSFullAccess) to %s",
			       action, name, code,
			       ep->rds.role_name ? "the role" : "the controller's RAM user");
	err_prefix(err, "rds instance %s", name);
	return r;
}

int rds_endpoint_prefix(char *out, size_t size, const char *region)
{
	static const char *const central[] = {
	    "cn-qingdao",
	    "cn-beijing",
	    "cn-hangzhou",
	    "cn-shanghai",
	    "cn-shenzhen",
	    "cn-hongkong",
	    "ap-southeast-1",
	    "us-west-1",
	    "us-east-1",
	    "cn-shanghai-finance-1",
	    "cn-shenzhen-finance-1",
	    "cn-north-2-gov-1",
	    "cn-beijing-finance-1",
	    "cn-hangzhou-finance",
	};
	const char *p;
	size_t i;
	int n;

	if (!region || !region[0] || strlen(region) > 64)
		return GW_EFATAL;
	for (p = region; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return GW_EFATAL;
	for (i = 0; i < ARRAY_SIZE(central); i++)
		if (!strcmp(region, central[i])) {
			n = snprintf(out, size, "rds");
			return n < 0 || (size_t)n >= size ? GW_EFATAL : 0;
		}
	n = snprintf(out, size, "rds.%s", region);
	return n < 0 || (size_t)n >= size ? GW_EFATAL : 0;
}

/* One RDS call on ep's instance; *out is the parsed answer. */
static int rds_call(struct cjson **out, const struct endpoint *ep, const char *action,
		    const struct openapi_param *extra, size_t nextra, const char *task,
		    struct gw_err *err)
{
	struct openapi_param p[RDS_MAX_PARAMS];
	struct openapi_cred cred;
	char code[96] = "", product[80];
	size_t n = 0, i;
	int r, round;

	*out = NULL;
	if (!ep->rds.instance_id || !ep->rds.region || nextra + 2 > RDS_MAX_PARAMS)
		return err_set(err, GW_EFATAL, "rds endpoint without instanceId or region");
	if (rds_endpoint_prefix(product, sizeof(product), ep->rds.region) < 0)
		return err_set(err, GW_EFATAL,
			       "rds.region \"%s\" is not a region id (e.g. cn-hangzhou)",
			       ep->rds.region);
	p[n++] = (struct openapi_param){"RegionId", ep->rds.region};
	p[n++] = (struct openapi_param){"DBInstanceId", ep->rds.instance_id};
	for (i = 0; i < nextra; i++)
		p[n++] = extra[i];
	for (round = 0; round < 2; round++) {
		if ((r = sts_credentials(&cred, ep, task, err)) < 0)
			break;
		r = openapi_call(out, code, sizeof(code), product, RDS_VERSION, action, p, n, &cred,
				 task, err);
		/* assumed credentials that ran out in between: once more with
		 * fresh ones */
		if (r < 0 && !strcmp(code, "InvalidSecurityToken.Expired") && ep->rds.role_name) {
			sts_forget(ep);
			continue;
		}
		if (r < 0)
			r = explain(err, r, code, action, ep);
		break;
	}
	memset(&cred, 0, sizeof(cred));
	return r;
}

/* The first element of Items.<what> (RDS wraps single answers in lists). */
static const struct cjson *first_item(const struct cjson *j, const char *path)
{
	const struct cjson *a = cjson_path(j, path);

	return a && a->type == CJ_ARR ? a->child : NULL;
}

static int parse_u64(uint64_t *out, const char *s)
{
	int64_t v;

	if (!s || util_parse_int64(&v, s, 0, INT64_MAX) < 0)
		return GW_EFATAL;
	*out = (uint64_t)v;
	return 0;
}

static int cache_key(char *out, size_t size, const struct endpoint *ep)
{
	int n = snprintf(out, size, "%s|%s|%s|%s", ep->rds.instance_id, ep->rds.region,
			 ep->rds.account_id ? ep->rds.account_id : "",
			 ep->rds.role_name ? ep->rds.role_name : "");

	return n < 0 || (size_t)n >= size ? GW_EFATAL : 0;
}

/* Best effort: a failure only means the next connection asks again. */
static void remember(const char *key, const char *host, unsigned port)
{
	struct resolved *c;

	if (strlen(host) >= sizeof(c->host) || !key[0])
		return;
	pthread_mutex_lock(&resolve_mu);
	for (c = resolve_cache; c; c = c->next)
		if (!strcmp(c->key, key))
			break;
	if (!c && (c = calloc(1, sizeof(*c)))) {
		snprintf(c->key, sizeof(c->key), "%s", key);
		c->next = resolve_cache;
		resolve_cache = c;
	}
	if (c) {
		snprintf(c->host, sizeof(c->host), "%s", host);
		c->port = port;
		c->until_ms = util_now_mono_ms() + RDS_RESOLVE_TTL_MS;
	}
	pthread_mutex_unlock(&resolve_mu);
}

int cloud_endpoint_resolve(char **host_out, unsigned *port_out, const struct endpoint *ep,
			   const char *task, struct gw_err *err)
{
	static const char *const prefer[] = {"Public", "Private", "Inner"};
	struct cjson *j = NULL;
	const struct cjson *a, *it, *best = NULL;
	struct resolved *c = NULL;
	char key[320] = "";
	int64_t port;
	size_t k;
	int r;

	*host_out = NULL;
	if (cache_key(key, sizeof(key), ep) == 0) {
		pthread_mutex_lock(&resolve_mu);
		for (c = resolve_cache; c; c = c->next)
			if (!strcmp(c->key, key) && c->until_ms > util_now_mono_ms()) {
				*host_out = strdup(c->host);
				*port_out = c->port;
				break;
			}
		pthread_mutex_unlock(&resolve_mu);
		if (c)
			return *host_out ? 0 : err_set(err, GW_ENOMEM, "out of memory");
	}
	if ((r = rds_call(&j, ep, "DescribeDBInstanceNetInfo", NULL, 0, task, err)) < 0)
		goto out;
	a = cjson_path(j, "DBInstanceNetInfos.DBInstanceNetInfo");
	/* NEEDSWORK: the public address is preferred; a controller inside the
	 * instance's VPC would rather use the private one, which has no knob yet. */
	for (k = 0; k < ARRAY_SIZE(prefer) && !best; k++)
		for (it = a && a->type == CJ_ARR ? a->child : NULL; it && !best; it = it->next) {
			const char *type = cjson_text(it, "ConnectionStringType");
			const char *ipt = cjson_text(it, "IPType");
			if ((!type || !strcmp(type, "Normal")) && ipt && !strcmp(ipt, prefer[k]) &&
			    cjson_text(it, "ConnectionString"))
				best = it;
		}
	if (!best) {
		r = err_set(
		    err, GW_EFATAL,
		    "rds instance %s: DescribeDBInstanceNetInfo lists no connection address",
		    ep->rds.instance_id);
		goto out;
	}
	if (util_parse_int64(&port, cjson_text(best, "Port") ? cjson_text(best, "Port") : "", 1,
			     65535) < 0) {
		r = err_set(err, GW_EFATAL, "rds instance %s: DescribeDBInstanceNetInfo: bad Port",
			    ep->rds.instance_id);
		goto out;
	}
	if (!(*host_out = strdup(cjson_text(best, "ConnectionString")))) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	*port_out = (unsigned)port;
	log_debug(task, "rds %s: %s:%u", ep->rds.instance_id, *host_out, *port_out);
	remember(key, *host_out, *port_out);
out:
	cjson_free(j);
	return r;
}

int cloud_instance_info(struct cloud_instance_info *out, const struct endpoint *ep,
			const char *task, struct gw_err *err)
{
	struct cjson *j = NULL, *u = NULL;
	const struct cjson *it;
	uint64_t gib = 0, used = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = rds_call(&j, ep, "DescribeDBInstanceAttribute", NULL, 0, task, err)) < 0)
		goto out;
	if (!(it = first_item(j, "Items.DBInstanceAttribute")) ||
	    parse_u64(&gib, cjson_text(it, "DBInstanceStorage")) < 0) {
		r = err_set(
		    err, GW_EFATAL,
		    "rds instance %s: DescribeDBInstanceAttribute without DBInstanceStorage",
		    ep->rds.instance_id);
		goto out;
	}
	snprintf(out->engine, sizeof(out->engine), "%s",
		 cjson_text(it, "Engine") ? cjson_text(it, "Engine") : "");
	snprintf(out->engine_version, sizeof(out->engine_version), "%s",
		 cjson_text(it, "EngineVersion") ? cjson_text(it, "EngineVersion") : "");
	if ((r = rds_call(&u, ep, "DescribeResourceUsage", NULL, 0, task, err)) < 0)
		goto out;
	if (parse_u64(&used, cjson_text(u, "DiskUsed")) < 0) {
		r = err_set(err, GW_EFATAL,
			    "rds instance %s: DescribeResourceUsage without DiskUsed",
			    ep->rds.instance_id);
		goto out;
	}
	out->storage_total = gib << 30;
	out->storage_used = used;
out:
	cjson_free(j);
	cjson_free(u);
	return r;
}

/* Whether entry a and b are the same address ("1.2.3.4" == "1.2.3.4/32"). */
static bool same_entry(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen > 3 && !memcmp(a + alen - 3, "/32", 3) && !memchr(a, ':', alen))
		alen -= 3;
	if (blen > 3 && !memcmp(b + blen - 3, "/32", 3) && !memchr(b, ':', blen))
		blen -= 3;
	return alen == blen && !memcmp(a, b, alen);
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static bool in_cidrs(const char *e, size_t n, char *const *cidrs, size_t ncidrs)
{
	size_t i;

	for (i = 0; i < ncidrs; i++)
		if (same_entry(e, n, cidrs[i], strlen(cidrs[i])))
			return true;
	return false;
}

/* Whether the comma list holds entry c. */
static bool in_list(const char *list, const char *c)
{
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *s = p;
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		trim(&s, &n);
		if (n && same_entry(s, n, c, strlen(c)))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

static int list_add(struct buf *b, const char *s, size_t n)
{
	if ((b->len && buf_putc(b, ',') < 0) || buf_add(b, s, n) < 0)
		return GW_ENOMEM;
	return 0;
}

int rds_whitelist_plan(enum rds_wl_op *op, struct buf *out, const char *current, char *const *cidrs,
		       size_t ncidrs, int add)
{
	struct buf keep = BUF_INIT, gone = BUF_INIT;
	const char *p = current;
	size_t i;
	int r = GW_ENOMEM;

	*op = RDS_WL_NONE;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		const char *s = p;
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		trim(&s, &n);
		if (n) {
			if (!add && in_cidrs(s, n, cidrs, ncidrs)) {
				if (list_add(&gone, s, n) < 0)
					goto out;
			} else if (list_add(&keep, s, n) < 0) {
				goto out;
			}
		}
		p = comma ? comma + 1 : NULL;
	}
	if (add) {
		struct buf missing = BUF_INIT;

		for (i = 0; i < ncidrs; i++) {
			if (in_list(buf_cstr(&keep), cidrs[i]) ||
			    in_list(buf_cstr(&missing), cidrs[i]))
				continue;
			if (list_add(&missing, cidrs[i], strlen(cidrs[i])) < 0) {
				buf_release(&missing);
				goto out;
			}
		}
		if (missing.len) {
			/* Append (not Cover with the union): another writer of the
			 * group between our read and our write loses nothing. A
			 * group that does not exist yet is created with Cover. */
			*op = current ? RDS_WL_APPEND : RDS_WL_COVER;
			if (buf_add(out, missing.ptr, missing.len) < 0) {
				buf_release(&missing);
				goto out;
			}
		}
		buf_release(&missing);
	} else if (gone.len) {
		/* Delete exactly our entries, as the group spells them */
		*op = RDS_WL_DELETE;
		if (buf_add(out, gone.ptr, gone.len) < 0)
			goto out;
	}
	r = 0;
out:
	buf_release(&keep);
	buf_release(&gone);
	return r;
}

int cloud_whitelist_apply(const struct endpoint *ep, char *const *cidrs, size_t ncidrs, int add,
			  const char *task, struct gw_err *err)
{
	struct cjson *j = NULL, *m = NULL;
	const struct cjson *a, *it;
	const char *current = NULL;
	struct buf list = BUF_INIT;
	enum rds_wl_op op;
	int r;

	pthread_mutex_lock(&whitelist_mu);
	if ((r = rds_call(&j, ep, "DescribeDBInstanceIPArrayList", NULL, 0, task, err)) < 0)
		goto out;
	a = cjson_path(j, "Items.DBInstanceIPArray");
	for (it = a && a->type == CJ_ARR ? a->child : NULL; it; it = it->next) {
		const char *name = cjson_text(it, "DBInstanceIPArrayName");
		if (name && !strcmp(name, RDS_GROUP)) {
			current = cjson_text(it, "SecurityIPList");
			if (!current)
				current = "";
			break;
		}
	}
	if ((r = rds_whitelist_plan(&op, &list, current, cidrs, ncidrs, add)) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (op == RDS_WL_NONE) {
		log_info(task, "rds %s: whitelist group %s already %s", ep->rds.instance_id,
			 RDS_GROUP, add ? "holds the entries" : "is without the entries");
		goto out;
	}
	{
		const struct openapi_param p[] = {
		    {"DBInstanceIPArrayName", RDS_GROUP},
		    {"SecurityIps", buf_cstr(&list)},
		    {"ModifyMode", op == RDS_WL_COVER	 ? "Cover"
				   : op == RDS_WL_APPEND ? "Append"
							 : "Delete"},
		};
		if ((r = rds_call(&m, ep, "ModifySecurityIps", p, ARRAY_SIZE(p), task, err)) < 0)
			goto out;
	}
	log_info(task, "rds %s: whitelist group %s %s (%s)", ep->rds.instance_id, RDS_GROUP,
		 add ? "now holds the entries" : "no longer holds the entries", buf_cstr(&list));
out:
	pthread_mutex_unlock(&whitelist_mu);
	cjson_free(j);
	cjson_free(m);
	buf_release(&list);
	return r;
}
