#include "lib/common.h"
#include "cloud/openapi.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/banned.h"

#define OPENAPI_MAX_PARAMS 64
#define OPENAPI_ATTEMPTS 5
#define OPENAPI_BACKOFF_BASE_MS 300
#define OPENAPI_BACKOFF_CAP_MS 8000
#define OPENAPI_CONNECT_TIMEOUT_MS 10000L
#define OPENAPI_TIMEOUT_MS 30000L
#define OPENAPI_MAX_RESPONSE (4u << 20)

static int copy_env(char *out, size_t size, const char *name, bool required, struct gw_err *err)
{
	const char *v = getenv(name);
	int n;

	out[0] = 0;
	if (!v || !v[0])
		return required ? err_set(err, GW_EFATAL,
					  "Alibaba Cloud credentials: %s is not set in the "
					  "controller's environment",
					  name)
				: 0;
	n = snprintf(out, size, "%s", v);
	if (n < 0 || (size_t)n >= size)
		return err_set(err, GW_EFATAL, "Alibaba Cloud credentials: %s is too long", name);
	return 0;
}

int openapi_cred_from_env(struct openapi_cred *out, struct gw_err *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = copy_env(out->id, sizeof(out->id), "ALIBABA_CLOUD_ACCESS_KEY_ID", true, err)) <
		0 ||
	    (r = copy_env(out->secret, sizeof(out->secret), "ALIBABA_CLOUD_ACCESS_KEY_SECRET", true,
			  err)) < 0 ||
	    (r = copy_env(out->token, sizeof(out->token), "ALIBABA_CLOUD_SECURITY_TOKEN", false,
			  err)) < 0)
		return r;
	return 0;
}

int openapi_percent_encode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		unsigned c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			if (buf_putc(out, (char)c) < 0)
				return GW_ENOMEM;
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			if (buf_add(out, e, 3) < 0)
				return GW_ENOMEM;
		}
	}
	return 0;
}

struct enc_pair {
	char *k;
	char *v;
};

static int cmp_pair(const void *a, const void *b)
{
	return strcmp(((const struct enc_pair *)a)->k, ((const struct enc_pair *)b)->k);
}

int openapi_canonical_query(struct buf *out, const struct openapi_param *params, size_t n)
{
	struct enc_pair *pairs = NULL;
	struct buf t = BUF_INIT;
	size_t i, done = 0;
	int r = GW_ENOMEM;

	if (!(pairs = calloc(n ? n : 1, sizeof(*pairs))))
		return GW_ENOMEM;
	for (done = 0; done < n; done++) {
		buf_reset(&t);
		if (openapi_percent_encode(&t, params[done].key) < 0 ||
		    !(pairs[done].k = strdup(buf_cstr(&t))))
			goto out;
		buf_reset(&t);
		if (openapi_percent_encode(&t, params[done].value ? params[done].value : "") < 0 ||
		    !(pairs[done].v = strdup(buf_cstr(&t)))) {
			free(pairs[done].k);
			goto out;
		}
	}
	qsort(pairs, n, sizeof(*pairs), cmp_pair);
	for (i = 0; i < n; i++)
		if ((i && buf_putc(out, '&') < 0) || buf_puts(out, pairs[i].k) < 0 ||
		    buf_putc(out, '=') < 0 || buf_puts(out, pairs[i].v) < 0)
			goto out;
	r = 0;
out:
	for (i = 0; i < done; i++) {
		free(pairs[i].k);
		free(pairs[i].v);
	}
	free(pairs);
	buf_release(&t);
	return r;
}

int openapi_sign(struct buf *out, const struct openapi_param *params, size_t n, const char *secret)
{
	struct buf q = BUF_INIT, sts = BUF_INIT, key = BUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	int r = GW_ENOMEM;

	if (openapi_canonical_query(&q, params, n) < 0 || buf_puts(&sts, "GET&%2F&") < 0 ||
	    openapi_percent_encode(&sts, buf_cstr(&q)) < 0 || buf_puts(&key, secret) < 0 ||
	    buf_putc(&key, '&') < 0)
		goto out;
	if (!HMAC(EVP_sha1(), key.ptr, (int)key.len, (const unsigned char *)sts.ptr, sts.len, mac,
		  &maclen)) {
		r = GW_EFATAL;
		goto out;
	}
	r = base64_encode(out, mac, maclen) < 0 ? GW_ENOMEM : 0;
out:
	/* the key holds the secret: wipe it before it goes back to malloc */
	if (key.ptr)
		memset(key.ptr, 0, key.cap);
	buf_release(&key);
	buf_release(&q);
	buf_release(&sts);
	return r;
}

int64_t openapi_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, double r)
{
	int64_t d = base_ms;
	int i;

	for (i = 1; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	/* half fixed, half jitter: spreads the migrations that were throttled
	 * together without ever retrying at once */
	return d / 2 + (int64_t)((double)(d / 2) * r);
}

bool openapi_code_retryable(const char *code, long http_status)
{
	static const char *const busy[] = {
	    "ServiceUnavailable",
	    "InternalError",
	    "UnknownError",
	    "SignatureNonceUsed",
	    "OperationDenied.DBInstanceStatus",
	    "IncorrectDBInstanceState",
	    "Idempotence.Processing",
	};
	size_t i;

	if (code && !strncmp(code, "Throttling", 10))
		return true;
	for (i = 0; code && i < ARRAY_SIZE(busy); i++)
		if (!strcmp(code, busy[i]))
			return true;
	return http_status >= 500 || http_status == 429;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double rand_unit(void)
{
	uint32_t v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)util_now_mono_ms() * 2654435761u;
	return (double)v / 4294967296.0;
}

static int make_nonce(char out[37])
{
	unsigned char b[16];
	int n;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return GW_EFATAL;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	n = snprintf(out, 37,
		     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		     b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		     b[13], b[14], b[15]);
	return n == 36 ? 0 : GW_EFATAL;
}

static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;

	return buf_add(b, ptr, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* The service's message, cut where it would echo the string to sign (which
 * carries the security token) and with any secret masked. */
static void safe_message(char *out, size_t size, const char *msg, const struct openapi_cred *c)
{
	const char *secrets[2] = {c->secret, c->token};
	char *cut;
	size_t i;

	snprintf(out, size, "%s", msg ? msg : "");
	for (cut = out; *cut; cut++)
		if (!strncasecmp(cut, "server string to sign", 21) ||
		    !strncasecmp(cut, "string to sign", 14) ||
		    !strncasecmp(cut, "stringtosign", 12)) {
			*cut = 0;
			break;
		}
	while (cut > out && (cut[-1] == ' ' || cut[-1] == ':' || cut[-1] == '.'))
		*--cut = 0;
	for (i = 0; i < 2; i++) {
		size_t n = strlen(secrets[i]);
		char *p;
		if (n < 4)
			continue;
		while ((p = strstr(out, secrets[i])))
			memset(p, '*', n);
	}
}

/* What a person does about a code that says the credentials are wrong. */
static const char *hint(const char *code)
{
	if (!strcmp(code, "SignatureDoesNotMatch") || !strncmp(code, "InvalidAccessKeyId", 18))
		return "; check ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET";
	if (!strncmp(code, "InvalidSecurityToken", 20) || !strcmp(code, "MissingSecurityToken"))
		return "; check ALIBABA_CLOUD_SECURITY_TOKEN (temporary credentials expire)";
	if (!strncmp(code, "InvalidTimeStamp", 16))
		return "; check the controller's clock";
	return "";
}

static const char *base_url(struct buf *tmp, const char *product)
{
	const char *e = getenv("GODWIT_ALIYUN_ENDPOINT");

	buf_reset(tmp);
	if (e && e[0]) {
		size_t n = strlen(e);
		while (n && e[n - 1] == '/')
			n--;
		if (buf_add(tmp, e, n) < 0)
			return NULL;
	} else if (buf_printf(tmp, "https://%s.aliyuncs.com", product) < 0) {
		return NULL;
	}
	return buf_cstr(tmp);
}

/*
 * GODWIT_ALIYUN_ENDPOINT (tests, private endpoints) must be https: every
 * request carries the access key's signature and the STS token. Plain
 * http only to a loopback address (an emulator, a local proxy), whose
 * traffic does not leave the machine.
 */
static bool is_loopback_v4(const char *host)
{
	struct in_addr a;

	return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static int endpoint_check(struct gw_err *err)
{
	const char *e = getenv("GODWIT_ALIYUN_ENDPOINT");
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (!e || !e[0])
		return 0;
	if (!(u = curl_url()))
		return err_set(err, GW_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, e, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		ok = !strcasecmp(scheme, "https") ||
		     (!strcasecmp(scheme, "http") &&
		      (is_loopback_v4(host) || !strcmp(host, "[::1]") ||
		       !strcasecmp(host, "localhost")));
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (!ok)
		return err_set(err, GW_EFATAL,
			       "GODWIT_ALIYUN_ENDPOINT must be an https URL (plain http only to "
			       "a loopback address): requests carry the credentials' signature "
			       "and token");
	return 0;
}

/* One attempt. 0: 2xx and *out parsed; otherwise the classified error with
 * the message in err and the service code in code. */
static int call_once(struct cjson **out, char *code, size_t code_size, long *status_out,
		     const char *product, const char *version, const char *action,
		     const struct openapi_param *params, size_t n, const struct openapi_cred *cred,
		     struct gw_err *err)
{
	struct openapi_param all[OPENAPI_MAX_PARAMS + 10];
	struct buf url = BUF_INIT, q = BUF_INIT, sig = BUF_INIT, body = BUF_INIT;
	char nonce[37], ts[32], cerr[CURL_ERROR_SIZE] = "", msg[512];
	struct cjson *j = NULL;
	CURL *c = NULL;
	long status = 0;
	size_t k = 0, i;
	time_t now = time(NULL);
	struct tm tm;
	CURLcode cc;
	int r;

	*out = NULL;
	buf_init(&body, OPENAPI_MAX_RESPONSE);
	if (n > OPENAPI_MAX_PARAMS) {
		r = err_set(err, GW_EFATAL, "%s: too many parameters", action);
		goto out;
	}
	if (make_nonce(nonce) < 0 || !gmtime_r(&now, &tm) ||
	    !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		r = err_set(err, GW_EFATAL, "%s: cannot make a nonce or a timestamp", action);
		goto out;
	}
	all[k++] = (struct openapi_param){"AccessKeyId", cred->id};
	all[k++] = (struct openapi_param){"Action", action};
	all[k++] = (struct openapi_param){"Format", "JSON"};
	all[k++] = (struct openapi_param){"SignatureMethod", "HMAC-SHA1"};
	all[k++] = (struct openapi_param){"SignatureNonce", nonce};
	all[k++] = (struct openapi_param){"SignatureVersion", "1.0"};
	all[k++] = (struct openapi_param){"Timestamp", ts};
	all[k++] = (struct openapi_param){"Version", version};
	if (cred->token[0])
		all[k++] = (struct openapi_param){"SecurityToken", cred->token};
	for (i = 0; i < n; i++)
		all[k++] = params[i];
	if (!base_url(&url, product) || openapi_canonical_query(&q, all, k) < 0 ||
	    openapi_sign(&sig, all, k, cred->secret) < 0 || buf_puts(&url, "/?") < 0 ||
	    buf_add(&url, q.ptr, q.len) < 0 || buf_puts(&url, "&Signature=") < 0 ||
	    openapi_percent_encode(&url, buf_cstr(&sig)) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto out;
	}
	if (!(c = curl_easy_init())) {
		r = err_set(err, GW_ERETRY, "%s: cannot start an HTTP request", action);
		goto out;
	}
	if (curl_easy_setopt(c, CURLOPT_URL, url.ptr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, OPENAPI_CONNECT_TIMEOUT_MS) !=
		CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, OPENAPI_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "godwit/" GODWIT_VERSION) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body) != CURLE_OK) {
		r = err_set(err, GW_EFATAL, "%s: cannot configure the HTTP request", action);
		goto out;
	}
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		/* the URL carries the token: name the host only */
		r = err_set(err, GW_ERETRY, "%s: %s: %s", action, base_url(&q, product),
			    cerr[0] ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		status = 0;
	*status_out = status;
	if (cjson_parse(&j, body.ptr ? body.ptr : "", body.len, err) < 0) {
		r = err_set(err, status >= 500 || status < 200 ? GW_ERETRY : GW_EFATAL,
			    "%s: HTTP %ld with a body that is not JSON", action, status);
		goto out;
	}
	if (status >= 200 && status < 300) {
		*out = j;
		j = NULL;
		r = 0;
		goto out;
	}
	snprintf(code, code_size, "%s", cjson_text(j, "Code") ? cjson_text(j, "Code") : "");
	safe_message(msg, sizeof(msg), cjson_text(j, "Message"), cred);
	r = err_set(err, openapi_code_retryable(code, status) ? GW_ERETRY : GW_EFATAL,
		    "%s: %s: %s (HTTP %ld%s%s)%s", action, code[0] ? code : "error", msg, status,
		    cjson_text(j, "RequestId") ? ", RequestId " : "",
		    cjson_text(j, "RequestId") ? cjson_text(j, "RequestId") : "", hint(code));
out:
	if (c)
		curl_easy_cleanup(c);
	cjson_free(j);
	buf_release(&body);
	buf_release(&sig);
	buf_release(&q);
	buf_release(&url);
	return r;
}

int openapi_call(struct cjson **out, char *code_out, size_t code_size, const char *product,
		 const char *version, const char *action, const struct openapi_param *params,
		 size_t n, const struct openapi_cred *cred, const char *task, struct gw_err *err)
{
	char code[96];
	int attempt, r = GW_EFATAL;

	*out = NULL;
	if (code_out && code_size)
		code_out[0] = 0;
	if (pthread_once(&curl_once, curl_init_once) != 0 || curl_init_rc != CURLE_OK)
		return err_set(err, GW_EFATAL, "%s: libcurl cannot be initialised", action);
	if ((r = endpoint_check(err)) < 0)
		return r;
	for (attempt = 1; attempt <= OPENAPI_ATTEMPTS; attempt++) {
		long status = 0;
		int64_t d;

		code[0] = 0;
		r = call_once(out, code, sizeof(code), &status, product, version, action, params, n,
			      cred, err);
		log_debug(task, "openapi %s %s: %s", product, action, r == 0 ? "ok" : err->msg);
		if (r != GW_ERETRY || attempt == OPENAPI_ATTEMPTS)
			break;
		d = openapi_backoff_ms(attempt, OPENAPI_BACKOFF_BASE_MS, OPENAPI_BACKOFF_CAP_MS,
				       rand_unit());
		log_info(task, "%s %s: %s; retrying in %lld ms", product, action,
			 code[0] ? code : "transient failure", (long long)d);
		util_sleep_ms(d, NULL);
	}
	if (r < 0 && code_out && code_size)
		snprintf(code_out, code_size, "%s", code);
	if (r == 0 && attempt > 1)
		err_clear(err); /* the retried failure is over */
	return r;
}
