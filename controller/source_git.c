/*
 * A branch of a git repository, followed with libgit2. A bare clone is
 * kept under the state directory; a thread of the source's own fetches it
 * every interval (and at once on SIGHUP), so the controller's loop never
 * waits on the network. Specs are read from the tree of the fetched
 * commit, never from a work tree. A force-pushed branch needs nothing
 * special: the fetched tip is the truth.
 *
 * Two handles on the clone: the fetch thread's (fetches, judges
 * signatures) and the loop's (reads trees, blobs and history). They share
 * only what the mutex guards, and it is never held across the network or
 * a signature tool: the thread fetches into the clone unlocked, then takes
 * the mutex to publish the new tip and verdict. A fetch that hangs (a git
 * server that stops answering mid-fetch) holds up nothing but the next
 * fetch: the loop goes on with the specs of the last one, says after
 * GIT_STALL_MS that the server does not answer, and exits on SIGTERM
 * without waiting for it.
 *
 * Each spec carries the last commit that changed it (the newest commit in
 * first-parent history whose parent had another blob at that path) with
 * its author; a spec that disappeared is attributed to the commit that
 * removed it.
 *
 * With --verify-commits the fetch thread also judges every new tip
 * (controller/verify.h): specs are read from the newest commit that
 * verified, which is kept in the clone (file godwit-verified) so that a
 * restart under an unsigned tip goes on with it. A signed tip that does
 * not descend from that commit (the branch moved back to an older signed
 * commit, or was rewritten) is refused too: replaying an old signature
 * must not undo a reviewed change.
 *
 * Credentials: https uses $GODWIT_GIT_TOKEN (as the password of user
 * "x-access-token"); ssh uses $GODWIT_GIT_SSH_KEY or the ssh agent, and the
 * host key must be in ~/.ssh/known_hosts (or $GODWIT_GIT_KNOWN_HOSTS).
 */
#include "lib/common.h"
#include "controller/source_int.h"
#include "controller/verify.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "spec/spec.h"

#include <errno.h>
#include <git2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

/* How far back to look for the commit that last changed a file. */
#define HISTORY_LIMIT 2000
/* A fetch without a sign of life (data, a credential round) for this long
 * is reported as hanging. */
#define GIT_STALL_MS 60000
/* How long git_free() waits for a fetch to end before leaving it behind. */
#define GIT_FREE_WAIT_MS 2000

struct git_source {
	struct source base;
	char *url;
	char *branch; /* NULL: the remote's HEAD */
	char *path;   /* NULL: the whole tree */
	char *repo_dir;
	int64_t interval_ms;
	int efd;
	pthread_t thread;
	bool thread_started;
	char *verify_file;   /* --verify-commits (NULL: off); see judge_tip() */
	char *verified_path; /* the clone's godwit-verified: the applied commit */

	/* The loop's own. */
	git_repository *repo;
	char error_copy[600]; /* what git_last_error() returned last */
	bool stall_said;
	git_oid at; /* the commit of the last snapshot */
	bool have_at;

	/* The fetch thread's own. */
	git_repository *frepo;
	/* looked up once: libgit2 1.5's git_remote_lookup leaks a pcre2 match
	 * block per config regex miss (libgit2 #6382), every fetch */
	git_remote *remote;
	git_oid ftip; /* the fetched commit */
	bool have_ftip;
	char ferror[512];
	int auth_tries;	    /* credential rounds of the current fetch */
	char auth_why[256]; /* why credentials or the host key were refused */
	git_oid applied;    /* the newest commit that verified */
	bool have_applied;
	bool applied_checked; /* applied was verified by this process */
	git_oid judged;	      /* the tip last judged, and the key file then */
	bool have_judged;
	struct stat key_st;
	struct source_verify fverdict; /* the last verdict */

	/* Either thread, without the mutex. */
	atomic_int stop;
	atomic_llong alive_ms; /* monotonic: the running fetch's last sign of life */

	/* Published: the mutex guards these, and is held only to copy them. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool fetch_now;
	bool fetching;
	bool exited; /* the fetch thread returned */
	git_oid tip; /* the last fetched commit */
	bool have_tip;
	git_oid snap; /* where the specs come from: the tip, or with
			 --verify-commits the newest commit that verified */
	bool have_snap;
	bool changed;
	char last_error[512];
	struct source_verify verdict;
};

/* --- credentials and host keys ------------------------------------- */

/* From the --git URL; set before the source starts, then only read. */
static char *url_user, *url_secret;

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static char *percent_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int source_git_url_take_credential(char **clean_out, const char *url)
{
	const char *scheme_end = strstr(url, "://"), *auth, *at = NULL, *p, *colon;
	bool http;
	struct buf b = BUF_INIT;

	*clean_out = NULL;
	if (scheme_end) {
		auth = scheme_end + 3;
		for (p = auth; *p && *p != '/' && *p != '?' && *p != '#'; p++)
			if (*p == '@')
				at = p;
	}
	http = scheme_end && (!strncasecmp(url, "https://", 8) || !strncasecmp(url, "http://", 7));
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	/* Over http any user part may be a token (https://TOKEN@host); over
	 * ssh the user is a name, and only a password is a secret. */
	if (!at || (!http && !colon)) {
		if (!(*clean_out = strdup(url)))
			return GW_ENOMEM;
		return 0;
	}
	free(url_user);
	if (url_secret)
		explicit_bzero(url_secret, strlen(url_secret));
	free(url_secret);
	url_user = percent_decode(auth, colon ? (size_t)(colon - auth) : (size_t)(at - auth));
	url_secret = colon ? percent_decode(colon + 1, (size_t)(at - colon - 1)) : strdup("");
	if (!url_user || !url_secret || buf_add(&b, url, (size_t)(auth - url)) < 0 ||
	    (!http && buf_add(&b, auth, (size_t)(colon - auth)) < 0) ||
	    (!http && buf_putc(&b, '@') < 0) || buf_puts(&b, at + 1) < 0) {
		buf_release(&b);
		return GW_ENOMEM;
	}
	*clean_out = buf_detach(&b, NULL);
	return 1;
}

const char *source_git_cred_choose(enum git_cred_kind *kind, unsigned int allowed, int attempt,
				   const char *token, const char *keyfile, char *why, size_t whysz)
{
	why[0] = '\0';
	*kind = GIT_CRED_NONE;
	if (attempt > 1) {
		/* libgit2 asks again when the server refused what we gave:
		 * the same answer would loop, a different one is a guess */
		(void)snprintf(why, whysz, "%s",
			       (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
				   ? "the server refused the token in GODWIT_GIT_TOKEN"
			       : keyfile && *keyfile
				   ? "the server refused the key in GODWIT_GIT_SSH_KEY"
				   : "the server refused the keys of the ssh agent "
				     "(or set GODWIT_GIT_SSH_KEY)");
		return why;
	}
	if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
		if (token && *token) {
			*kind = GIT_CRED_TOKEN;
			return NULL;
		}
		(void)snprintf(why, whysz,
			       "the server asks for credentials: put a token in GODWIT_GIT_TOKEN");
		return why;
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		if (keyfile && *keyfile) {
			if (access(keyfile, R_OK) < 0) {
				(void)snprintf(why, whysz, "GODWIT_GIT_SSH_KEY=%s: %s", keyfile,
					       strerror(errno));
				return why;
			}
			*kind = GIT_CRED_SSH_KEY;
			return NULL;
		}
		*kind = GIT_CRED_SSH_AGENT;
		return NULL;
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		*kind = GIT_CRED_USERNAME;
		return NULL;
	}
	(void)snprintf(why, whysz, "the server asks for a kind of credentials godwit has not");
	return why;
}

static int cred_cb(git_credential **out, const char *url, const char *user_from_url,
		   unsigned int allowed, void *payload)
{
	struct git_source *g = payload;
	const char *token = getenv("GODWIT_GIT_TOKEN");
	const char *key = getenv("GODWIT_GIT_SSH_KEY");
	const char *user = user_from_url ? user_from_url : "git";
	const char *token_user = "x-access-token";
	enum git_cred_kind kind;

	(void)url;
	atomic_store(&g->alive_ms, util_now_mono_ms());
	if (atomic_load(&g->stop))
		return GIT_EUSER;
	/* The URL's own credential, taken out of it at start, when
	 * $GODWIT_GIT_TOKEN (preferred) is not set. */
	if ((!token || !*token) && url_secret && url_user) {
		token = url_secret;
		token_user = url_user;
	}
	/* a username-only round comes before the key round over ssh */
	if (allowed != GIT_CREDENTIAL_USERNAME)
		g->auth_tries++;
	if (source_git_cred_choose(&kind, allowed, g->auth_tries, token, key, g->auth_why,
				   sizeof(g->auth_why)))
		return GIT_EUSER;
	switch (kind) {
	case GIT_CRED_TOKEN: return git_credential_userpass_plaintext_new(out, token_user, token);
	case GIT_CRED_SSH_KEY: return git_credential_ssh_key_new(out, user, NULL, key, NULL);
	case GIT_CRED_SSH_AGENT: return git_credential_ssh_key_from_agent(out, user);
	case GIT_CRED_USERNAME: return git_credential_username_new(out, user);
	case GIT_CRED_NONE: break;
	}
	return GIT_PASSTHROUGH;
}

/* Whether one known_hosts host field (plain list or |1|salt|hash) names host. */
bool source_git_known_host_matches(const char *field, const char *host)
{
	if (!strncmp(field, "|1|", 3)) {
		unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
		const char *bar = strchr(field + 3, '|');
		unsigned int gotlen = 0;
		int sl, wl;

		if (!bar || bar - field - 3 > 80 || strlen(bar + 1) > 80)
			return false;
		sl =
		    EVP_DecodeBlock(salt, (const unsigned char *)field + 3, (int)(bar - field - 3));
		wl = EVP_DecodeBlock(want, (const unsigned char *)bar + 1, (int)strlen(bar + 1));
		if (sl < 20 || wl < 20)
			return false;
		if (!HMAC(EVP_sha1(), salt, 20, (const unsigned char *)host, strlen(host), got,
			  &gotlen))
			return false;
		return gotlen == 20 && !memcmp(got, want, 20);
	}
	for (;;) {
		const char *comma = strchr(field, ',');
		size_t n = comma ? (size_t)(comma - field) : strlen(field);
		if (n == strlen(host) && !strncmp(field, host, n))
			return true;
		if (!comma)
			return false;
		field = comma + 1;
	}
}

int source_git_known_host_check(const char *path, const char *host, const unsigned char *key,
				size_t keylen, char *why, size_t whysz)
{
	struct buf kh = BUF_INIT, b64 = BUF_INIT;
	char *line, *save = NULL;
	int rc = GIT_ECERTIFICATE, r;

	if ((r = util_read_file(&kh, path)) < 0) {
		(void)snprintf(why, whysz,
			       "known_hosts %s: %s (the host key of %s cannot be checked)", path,
			       strerror(-r), host);
		goto out;
	}
	if (base64_encode(&b64, key, keylen) < 0) {
		(void)snprintf(why, whysz, "out of memory");
		goto out;
	}
	for (line = strtok_r(kh.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hosts, *type, *k, *s2 = NULL;
		if (line[0] == '#' || line[0] == '@')
			continue;
		hosts = strtok_r(line, " \t", &s2);
		type = strtok_r(NULL, " \t", &s2);
		k = strtok_r(NULL, " \t", &s2);
		(void)type;
		if (hosts && k && source_git_known_host_matches(hosts, host) &&
		    !strcmp(k, buf_cstr(&b64))) {
			rc = 0;
			break;
		}
	}
	if (rc)
		(void)snprintf(why, whysz, "the host key of %s is not in %s", host, path);
out:
	buf_release(&kh);
	buf_release(&b64);
	return rc;
}

/* NEEDSWORK: libgit2 gives the host without the port, so a server on
 * another port must be listed under its bare name, not [host]:port. */
static int cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct git_source *g = payload;
	const char *path = getenv("GODWIT_GIT_KNOWN_HOSTS");
	char def[1024];
	git_cert_hostkey *hk;

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return valid ? 0 : GIT_ECERTIFICATE; /* TLS: the library's verdict */
	hk = (git_cert_hostkey *)cert;
	if (!(hk->type & GIT_CERT_SSH_RAW)) {
		(void)snprintf(g->auth_why, sizeof(g->auth_why),
			       "the host key of %s cannot be checked (no raw key)", host);
		return GIT_ECERTIFICATE;
	}
	if (!path) {
		(void)snprintf(def, sizeof(def), "%s/.ssh/known_hosts",
			       getenv("HOME") ? getenv("HOME") : "");
		path = def;
	}
	return source_git_known_host_check(path, host, (const unsigned char *)hk->hostkey,
					   hk->hostkey_len, g->auth_why, sizeof(g->auth_why));
}

/* --- fetching (the fetch thread) ----------------------------------- */

static void set_error(struct git_source *g, const char *what)
{
	const git_error *e = git_error_last();

	(void)snprintf(g->ferror, sizeof(g->ferror), "%s %s: %s", what, g->url,
		       g->auth_why[0]	 ? g->auth_why
		       : e && e->message ? e->message
					 : "unknown error");
}

/* Data came: the fetch is alive. Stopping: abort it. */
static int transfer_cb(const git_indexer_progress *stats, void *payload)
{
	struct git_source *g = payload;

	(void)stats;
	atomic_store(&g->alive_ms, util_now_mono_ms());
	return atomic_load(&g->stop) ? -1 : 0;
}

static int sideband_cb(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return transfer_cb(NULL, payload);
}

/* Fetches into the clone and moves g->ftip; without the mutex. */
static int fetch_once(struct git_source *g)
{
	git_fetch_options fo;
	git_remote *remote = NULL;
	git_buf head = {NULL, 0, 0};
	char refname[512];
	const char *branch = g->branch;
	git_oid oid;
	int rc = -1;

	if (git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION) < 0)
		return -1;
	fo.callbacks.credentials = cred_cb;
	fo.callbacks.certificate_check = cert_cb;
	fo.callbacks.transfer_progress = transfer_cb;
	fo.callbacks.sideband_progress = sideband_cb;
	fo.callbacks.payload = g;
	g->auth_tries = 0;
	g->auth_why[0] = '\0';
	fo.prune = GIT_FETCH_PRUNE;
	if (!g->remote && git_remote_lookup(&g->remote, g->frepo, "origin") < 0) {
		set_error(g, "git remote");
		goto out;
	}
	remote = g->remote;
	if (git_remote_fetch(remote, NULL, &fo, "godwit fetch") < 0) {
		set_error(g, "git fetch");
		goto out;
	}
	if (!branch) {
		/* The remote's HEAD, as advertised during the fetch. A new
		 * connection: its credential rounds count from one again. */
		g->auth_tries = 0;
		if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &fo.callbacks, NULL, NULL) <
			0 ||
		    git_remote_default_branch(&head, remote) < 0) {
			set_error(g, "git remote HEAD of");
			(void)git_remote_disconnect(remote);
			goto out;
		}
		(void)git_remote_disconnect(remote);
		branch = head.ptr;
		if (!strncmp(branch, "refs/heads/", 11))
			branch += 11;
	}
	(void)snprintf(refname, sizeof(refname), "refs/remotes/origin/%s", branch);
	if (git_reference_name_to_id(&oid, g->frepo, refname) < 0) {
		(void)snprintf(g->ferror, sizeof(g->ferror), "git %s: no branch %s", g->url,
			       branch);
		goto out;
	}
	g->ftip = oid;
	g->have_ftip = true;
	g->ferror[0] = '\0';
	rc = 0;
out:
	git_buf_dispose(&head);
	return rc;
}

/* --- commit signatures (--verify-commits) --------------------------- */

static void who(char *out, size_t outsz, const git_signature *sig)
{
	out[0] = '\0';
	if (sig)
		(void)snprintf(out, outsz, "%s <%s>", sig->name, sig->email);
}

/* Verifies one commit, in the fetch thread. */
static void judge(struct git_source *g, const git_oid *oid, struct verify_result *res,
		  struct source_verify *v)
{
	git_buf sig = {NULL, 0, 0}, data = {NULL, 0, 0};
	git_commit *c = NULL;
	git_oid id = *oid;
	int r;

	memset(res, 0, sizeof(*res));
	git_oid_tostr(v->tip, sizeof(v->tip), oid);
	if (git_commit_lookup(&c, g->frepo, oid) == 0) {
		who(v->tip_author, sizeof(v->tip_author), git_commit_author(c));
		who(v->tip_committer, sizeof(v->tip_committer), git_commit_committer(c));
		v->tip_time = (int64_t)git_commit_time(c);
		git_commit_free(c);
	}
	r = git_commit_extract_signature(&sig, &data, g->frepo, &id, NULL);
	if (r == GIT_ENOTFOUND) {
		(void)verify_check(res, g->verify_file, NULL, 0, NULL, 0);
	} else if (r < 0) {
		snprintf(res->reason, sizeof(res->reason), "VerifyError");
		(void)snprintf(res->why, sizeof(res->why), "reading the signature: %s",
			       git_error_last() ? git_error_last()->message : "libgit2 error");
	} else {
		(void)verify_check(res, g->verify_file, sig.ptr, sig.size, data.ptr, data.size);
	}
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
}

static void save_applied(struct git_source *g)
{
	char hex[GIT_OID_HEXSZ + 2];

	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &g->applied);
	hex[GIT_OID_HEXSZ] = '\n';
	hex[GIT_OID_HEXSZ + 1] = '\0';
	if (util_write_file_atomic(g->verified_path, hex, strlen(hex)) < 0)
		log_warn(NULL, "cannot write %s: a restart will not know the last verified commit",
			 g->verified_path);
}

static void load_applied(struct git_source *g)
{
	struct buf b = BUF_INIT;

	if (util_read_file(&b, g->verified_path) == 0 && b.len >= GIT_OID_HEXSZ &&
	    git_oid_fromstrn(&g->applied, b.ptr, GIT_OID_HEXSZ) == 0)
		g->have_applied = true;
	buf_release(&b);
}

static bool same_key_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Judges a new tip (or a refused one again once the key file changed, or
 * on SIGHUP), in the fetch thread; true when the verdict is a new one,
 * for the caller to publish.
 */
static bool judge_tip(struct git_source *g, bool again)
{
	struct source_verify v;
	struct verify_result res;
	struct stat st;
	git_oid tip = g->ftip;
	char applied[GIT_OID_HEXSZ + 1] = "";
	bool moved = false;

	memset(&st, 0, sizeof(st));
	(void)stat(g->verify_file, &st);
	if (g->have_judged && !git_oid_cmp(&g->judged, &tip) &&
	    (g->fverdict.ok || (!again && same_key_file(&st, &g->key_st))))
		return false;
	/* The commit a previous run verified is trusted only once it
	 * verifies again against today's keys. */
	if (g->have_applied && !g->applied_checked && git_oid_cmp(&g->applied, &tip)) {
		memset(&v, 0, sizeof(v));
		judge(g, &g->applied, &res, &v);
		if (atomic_load(&g->stop))
			return false;
		if (!res.ok) {
			log_warn(NULL,
				 "the last verified commit %s no longer verifies (%s): "
				 "not acting on it",
				 v.tip, res.why);
			g->have_applied = false;
		}
	}
	g->applied_checked = true;
	memset(&v, 0, sizeof(v));
	judge(g, &tip, &res, &v);
	if (atomic_load(&g->stop))
		return false;
	if (res.ok && g->have_applied && git_oid_cmp(&g->applied, &tip)) {
		int d = git_graph_descendant_of(g->frepo, &tip, &g->applied);

		if (d != 1) {
			git_oid_tostr(applied, sizeof(applied), &g->applied);
			res.ok = false;
			snprintf(res.reason, sizeof(res.reason), "NotDescendant");
			(void)snprintf(res.why, sizeof(res.why),
				       "signed by %s, but it does not descend from %s, the commit "
				       "last verified (the branch moved back or was rewritten; "
				       "commit on top of it instead)",
				       res.signer, applied);
		}
	}
	if (res.ok) {
		moved = !g->have_applied || git_oid_cmp(&g->applied, &tip);
		g->applied = tip;
		g->have_applied = true;
		if (moved)
			save_applied(g);
	}
	g->judged = tip;
	g->have_judged = true;
	g->key_st = st;
	v.enabled = true;
	v.ok = res.ok;
	if (g->have_applied)
		git_oid_tostr(v.applied, sizeof(v.applied), &g->applied);
	snprintf(v.reason, sizeof(v.reason), "%s", res.reason);
	snprintf(v.signer, sizeof(v.signer), "%s", res.signer);
	snprintf(v.key, sizeof(v.key), "%s", res.key);
	if (res.ok)
		(void)snprintf(v.message, sizeof(v.message), "commit %.12s signed by %s%s%s%s",
			       v.tip, res.signer, res.key[0] ? " (" : "", res.key,
			       res.key[0] ? ")" : "");
	else
		(void)snprintf(v.message, sizeof(v.message),
			       "commit %.12s by %s refused: %s; %s%.12s", v.tip,
			       v.tip_author[0] ? v.tip_author : "?", res.why,
			       v.applied[0] ? "acting on the specs of "
					    : "no commit has verified: "
					      "nothing is applied",
			       v.applied);
	if (strcmp(v.tip, g->fverdict.tip) || v.ok != g->fverdict.ok ||
	    strcmp(v.message, g->fverdict.message) || moved) {
		v.seq = g->fverdict.seq + 1;
		g->fverdict = v;
		return true;
	}
	return false;
}

/* ms from now on the clock of pthread_cond_timedwait(). */
static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Publishes what one round of the fetch thread found; with g->mu held. */
static void publish(struct git_source *g, bool fetched, bool new_verdict)
{
	if (fetched && (!g->have_tip || git_oid_cmp(&g->ftip, &g->tip))) {
		g->tip = g->ftip;
		g->have_tip = true;
		g->changed = true;
	}
	if (new_verdict) {
		g->verdict = g->fverdict;
		g->changed = true;
	}
	if (g->verify_file) {
		if (g->have_applied && (!g->have_snap || git_oid_cmp(&g->applied, &g->snap)))
			g->changed = true;
		g->snap = g->applied;
		g->have_snap = g->have_applied;
	} else {
		g->snap = g->tip;
		g->have_snap = g->have_tip;
	}
	if (!fetched)
		memcpy(g->last_error, g->ferror, sizeof(g->last_error));
	else if (g->verify_file && !g->have_applied)
		/* nothing to act on: for --once, an error */
		(void)snprintf(g->last_error, sizeof(g->last_error), "%s", g->fverdict.message);
	else
		g->last_error[0] = '\0';
}

static void *fetch_thread(void *arg)
{
	struct git_source *g = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&g->mu);
	while (!atomic_load(&g->stop)) {
		struct timespec ts;
		char prev[sizeof(g->ferror)];
		bool again = g->fetch_now, fetched, new_verdict = false, was;

		/* a SIGHUP from here on asks for one more fetch */
		g->fetch_now = false;
		g->fetching = true;
		atomic_store(&g->alive_ms, util_now_mono_ms());
		pthread_mutex_unlock(&g->mu);

		/* the network and the signature tools, without the mutex */
		memcpy(prev, g->ferror, sizeof(prev));
		fetched = fetch_once(g) == 0;
		if (!fetched && strcmp(prev, g->ferror))
			log_warn(NULL, "%s (keeping the specs of the last fetch)", g->ferror);
		if (fetched && g->verify_file)
			new_verdict = judge_tip(g, again);

		pthread_mutex_lock(&g->mu);
		g->fetching = false;
		was = g->changed;
		publish(g, fetched, new_verdict);
		if (g->changed && !was && write(g->efd, &one, sizeof(one)) < 0)
			log_warn(NULL, "git source: eventfd: %s", strerror(errno));
		deadline_in(&ts, g->interval_ms);
		while (!atomic_load(&g->stop) && !g->fetch_now)
			if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
				break;
	}
	g->exited = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* --- the source interface ------------------------------------------ */

static int git_fd(struct source *s)
{
	return ((struct git_source *)s)->efd;
}

/* A fetch running without a sign of life for GIT_STALL_MS: its age in
 * seconds, else 0. With g->mu held. */
static int64_t stalled_s(struct git_source *g)
{
	int64_t quiet = util_now_mono_ms() - atomic_load(&g->alive_ms);

	return g->fetching && quiet >= GIT_STALL_MS ? quiet / 1000 : 0;
}

static bool git_changed(struct source *s)
{
	struct git_source *g = (struct git_source *)s;
	uint64_t v;
	int64_t stall;
	bool changed;

	while (read(g->efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	pthread_mutex_lock(&g->mu);
	changed = g->changed;
	stall = stalled_s(g);
	pthread_mutex_unlock(&g->mu);
	if (stall && !g->stall_said)
		log_warn(NULL,
			 "git fetch %s: no answer from the server for %lld s; still waiting (the "
			 "specs of the last fetch stay applied)",
			 g->url, (long long)stall);
	else if (!stall && g->stall_said)
		log_info(NULL, "git fetch %s: the server answers again", g->url);
	g->stall_said = stall != 0;
	return changed;
}

static void git_refresh(struct source *s)
{
	struct git_source *g = (struct git_source *)s;

	pthread_mutex_lock(&g->mu);
	g->fetch_now = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static const char *git_last_error(struct source *s)
{
	struct git_source *g = (struct git_source *)s;
	int64_t stall;

	pthread_mutex_lock(&g->mu);
	if ((stall = stalled_s(g)))
		(void)snprintf(g->error_copy, sizeof(g->error_copy),
			       "git fetch %s: no answer from the server for %lld s", g->url,
			       (long long)stall);
	else
		memcpy(g->error_copy, g->last_error, sizeof(g->last_error));
	pthread_mutex_unlock(&g->mu);
	return g->error_copy[0] ? g->error_copy : NULL;
}

/* The blob id at path in commit c; false when absent. */
static bool blob_at(git_oid *out, git_commit *c, const char *path)
{
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	bool found = false;

	if (git_commit_tree(&tree, c) == 0 && git_tree_entry_bypath(&e, tree, path) == 0 &&
	    git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
		*out = *git_tree_entry_id(e);
		found = true;
	}
	git_tree_entry_free(e);
	git_tree_free(tree);
	return found;
}

/*
 * Walks first-parent history from `from`: the newest commit at which the
 * blob at path changed (or, for a deleted file, disappeared).
 */
static void last_change(struct git_source *g, const git_oid *from, const char *full_path,
			char commit_out[41], char **author_out, int64_t *time_out)
{
	git_commit *c = NULL, *parent = NULL;
	git_oid cur, prev;
	bool has_cur, has_prev;
	int n;

	commit_out[0] = '\0';
	*author_out = NULL;
	*time_out = 0;
	if (git_commit_lookup(&c, g->repo, from) < 0)
		return;
	has_cur = blob_at(&cur, c, full_path);
	for (n = 0; n < HISTORY_LIMIT; n++) {
		bool differs;
		if (git_commit_parentcount(c) == 0) {
			differs = true; /* the root commit introduced it */
		} else {
			if (git_commit_parent(&parent, c, 0) < 0)
				break;
			has_prev = blob_at(&prev, parent, full_path);
			differs = has_cur != has_prev || (has_cur && git_oid_cmp(&cur, &prev));
		}
		if (differs) {
			const git_signature *a = git_commit_author(c);
			struct buf b = BUF_INIT;
			git_oid_tostr(commit_out, 41, git_commit_id(c));
			if (a && buf_printf(&b, "%s <%s>", a->name, a->email) == 0)
				*author_out = buf_detach(&b, NULL);
			buf_release(&b);
			*time_out = a ? (int64_t)a->when.time : 0;
			break;
		}
		git_commit_free(c);
		c = parent;
		parent = NULL;
	}
	git_commit_free(parent);
	git_commit_free(c);
}

static int add_tree(struct git_source *g, struct source_snapshot *out, git_tree *tree,
		    const char *prefix, int depth, struct gw_err *err)
{
	size_t i, n = git_tree_entrycount(tree);

	if (depth > 16)
		return 0;
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		struct buf rel = BUF_INIT;
		int r = 0;

		if (buf_printf(&rel, "%s%s%s", prefix, *prefix ? "/" : "", name) < 0) {
			buf_release(&rel);
			return err_set(err, GW_ENOMEM, "out of memory");
		}
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE && name[0] != '.') {
			git_tree *sub = NULL;
			if (git_tree_lookup(&sub, g->repo, git_tree_entry_id(e)) == 0) {
				r = add_tree(g, out, sub, buf_cstr(&rel), depth + 1, err);
				git_tree_free(sub);
			}
		} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && source_is_spec_name(name)) {
			git_blob *blob = NULL;
			if (git_blob_lookup(&blob, g->repo, git_tree_entry_id(e)) < 0) {
				out->complete = false;
			} else {
				r = source_snapshot_add(out, buf_cstr(&rel),
							git_blob_rawcontent(blob),
							(size_t)git_blob_rawsize(blob));
				git_blob_free(blob);
				if (r == 0) {
					struct spec_file *f = &out->files[out->nfiles - 1];
					struct buf full = BUF_INIT;
					if (buf_printf(&full, "%s%s%s", g->path ? g->path : "",
						       g->path ? "/" : "", f->path) == 0)
						last_change(g, &g->at, buf_cstr(&full), f->commit,
							    &f->author, &f->commit_time);
					buf_release(&full);
				} else {
					err_set(err, GW_ENOMEM, "out of memory");
				}
			}
		}
		buf_release(&rel);
		if (r < 0)
			return r;
	}
	return 0;
}

static int git_snapshot(struct source *s, struct source_snapshot *out, struct gw_err *err)
{
	struct git_source *g = (struct git_source *)s;
	git_commit *c = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_tree_entry *sub = NULL;
	int r = 0;

	/* what the fetch thread published; the reading below is the loop's,
	 * on its own handle, without the mutex */
	pthread_mutex_lock(&g->mu);
	g->changed = false;
	out->verify = g->verdict;
	g->at = g->snap;
	g->have_at = g->have_snap;
	pthread_mutex_unlock(&g->mu);
	if (!g->have_at) {
		/* Nothing fetched (or verified) yet: an incomplete, empty
		 * snapshot. */
		out->complete = false;
		goto out;
	}
	git_oid_tostr(out->revision, sizeof(out->revision), &g->at);
	if (git_commit_lookup(&c, g->repo, &g->at) < 0 || git_commit_tree(&root, c) < 0) {
		r = err_set(err, GW_ERETRY, "git %s: cannot read commit %s", g->url, out->revision);
		goto out;
	}
	if (g->path) {
		if (git_tree_entry_bypath(&sub, root, g->path) < 0 ||
		    git_tree_entry_type(sub) != GIT_OBJECT_TREE ||
		    git_tree_lookup(&tree, g->repo, git_tree_entry_id(sub)) < 0) {
			/* The folder is gone: that is an empty set of specs only
			 * if the commit says so, which it does. */
			goto out;
		}
		r = add_tree(g, out, tree, "", 0, err);
	} else {
		r = add_tree(g, out, root, "", 0, err);
	}
out:
	git_tree_entry_free(sub);
	git_tree_free(tree);
	git_tree_free(root);
	git_commit_free(c);
	return r;
}

static void git_attribute_deletion(struct source *s, struct spec_deleted *d)
{
	struct git_source *g = (struct git_source *)s;
	struct buf full = BUF_INIT;

	if (g->have_at &&
	    buf_printf(&full, "%s%s%s", g->path ? g->path : "", g->path ? "/" : "", d->path) == 0)
		last_change(g, &g->at, buf_cstr(&full), d->commit, &d->author, &d->commit_time);
	buf_release(&full);
}

/* Whether blob id holds a spec file of migration name. */
static bool blob_names(struct git_source *g, const git_oid *id, const char *path, const char *name)
{
	struct diag_list d = DIAG_LIST_INIT;
	struct spec *s = NULL;
	git_blob *blob = NULL;
	bool yes = false;

	if (git_blob_lookup(&blob, g->repo, id) < 0)
		return false;
	if (spec_load_buffer(&s, path, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
			     &d) == 0)
		yes = !strcmp(s->name, name);
	spec_free(s);
	diag_list_release(&d);
	git_blob_free(blob);
	return yes;
}

/* First-parent history from the commit of the last snapshot (never an
 * unverified tip), newest first: the first commit whose diff against its
 * parent deletes a spec file of migration `name`. */
static int git_find_deleted(struct source *s, const char *name, struct spec_deleted *out)
{
	struct git_source *g = (struct git_source *)s;
	git_commit *c = NULL, *parent = NULL;
	git_tree *t = NULL, *pt = NULL;
	git_diff_options opts;
	char *pathspec = g->path;
	int n, rc = GW_ENOTFOUND;

	if (!g->have_at || git_commit_lookup(&c, g->repo, &g->at) < 0 ||
	    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION) < 0)
		goto out;
	if (g->path) {
		opts.pathspec.strings = &pathspec;
		opts.pathspec.count = 1;
	}
	for (n = 0; n < HISTORY_LIMIT && git_commit_parentcount(c) > 0 && rc == GW_ENOTFOUND; n++) {
		git_diff *diff = NULL;
		size_t i;

		if (git_commit_parent(&parent, c, 0) < 0 || git_commit_tree(&t, c) < 0 ||
		    git_commit_tree(&pt, parent) < 0 ||
		    git_diff_tree_to_tree(&diff, g->repo, pt, t, &opts) < 0)
			break;
		for (i = 0; i < git_diff_num_deltas(diff); i++) {
			const git_diff_delta *dd = git_diff_get_delta(diff, i);
			const char *p = dd->old_file.path, *base = strrchr(p, '/');
			const git_signature *a = git_commit_author(c);
			struct buf b = BUF_INIT;
			size_t skip = g->path ? strlen(g->path) + 1 : 0;

			if (dd->status != GIT_DELTA_DELETED ||
			    !source_is_spec_name(base ? base + 1 : p) ||
			    !blob_names(g, &dd->old_file.id, p, name))
				continue;
			out->path = strdup(strlen(p) > skip ? p + skip : p);
			git_oid_tostr(out->commit, sizeof(out->commit), git_commit_id(c));
			if (a && buf_printf(&b, "%s <%s>", a->name, a->email) == 0)
				out->author = buf_detach(&b, NULL);
			buf_release(&b);
			out->commit_time = a ? (int64_t)a->when.time : 0;
			rc = 0;
			break;
		}
		git_diff_free(diff);
		git_tree_free(t);
		git_tree_free(pt);
		t = pt = NULL;
		git_commit_free(c);
		c = parent;
		parent = NULL;
	}
out:
	git_tree_free(t);
	git_tree_free(pt);
	git_commit_free(parent);
	git_commit_free(c);
	return rc;
}

static int64_t git_declared(struct source *s, const char *path)
{
	struct git_source *g = (struct git_source *)s;
	git_commit *c = NULL, *parent = NULL;
	struct buf full = BUF_INIT;
	git_oid id;
	int64_t t = 0;
	int n;

	if (!g->have_at ||
	    buf_printf(&full, "%s%s%s", g->path ? g->path : "", g->path ? "/" : "", path) < 0 ||
	    git_commit_lookup(&c, g->repo, &g->at) < 0 || !blob_at(&id, c, buf_cstr(&full)))
		goto out;
	for (n = 0; n < HISTORY_LIMIT; n++) {
		t = (int64_t)git_commit_time(c);
		if (git_commit_parentcount(c) == 0 || git_commit_parent(&parent, c, 0) < 0 ||
		    !blob_at(&id, parent, buf_cstr(&full)))
			break;
		git_commit_free(c);
		c = parent;
		parent = NULL;
	}
out:
	git_commit_free(parent);
	git_commit_free(c);
	buf_release(&full);
	return t;
}

static void git_free(struct source *s)
{
	struct git_source *g = (struct git_source *)s;
	bool exited = true;

	if (g->thread_started) {
		struct timespec ts;

		deadline_in(&ts, GIT_FREE_WAIT_MS);
		pthread_mutex_lock(&g->mu);
		atomic_store(&g->stop, 1);
		pthread_cond_broadcast(&g->cv);
		/* a fetch moving data sees stop at its next callback; one
		 * hanging on a silent server sees nothing */
		while (!g->exited)
			if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) == ETIMEDOUT)
				break;
		exited = g->exited;
		pthread_mutex_unlock(&g->mu);
		if (exited) {
			pthread_join(g->thread, NULL);
		} else {
			/* The process is ending: leave the thread, and all it
			 * uses, behind. */
			log_warn(NULL, "git fetch %s does not end: not waiting for it", g->url);
			pthread_detach(g->thread);
		}
	}
	if (g->repo)
		git_repository_free(g->repo);
	if (!exited)
		return;
	git_remote_free(g->remote);
	if (g->frepo)
		git_repository_free(g->frepo);
	if (g->efd >= 0)
		close(g->efd);
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g->url);
	free(g->branch);
	free(g->path);
	free(g->repo_dir);
	free(g->verify_file);
	free(g->verified_path);
	free(g);
	(void)git_libgit2_shutdown();
}

static const struct source_ops git_ops = {
    .fd = git_fd,
    .changed = git_changed,
    .snapshot = git_snapshot,
    .refresh = git_refresh,
    .last_error = git_last_error,
    .free = git_free,
    .attribute_deletion = git_attribute_deletion,
    .find_deleted = git_find_deleted,
    .declared = git_declared,
};

static char *trim_slashes(const char *p)
{
	size_t n;
	char *r;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (n && p[n - 1] == '/')
		n--;
	if (!n)
		return NULL;
	if ((r = malloc(n + 1))) {
		memcpy(r, p, n);
		r[n] = '\0';
	}
	return r;
}

int source_git_open(struct source **out, const char *url, const char *branch, const char *path,
		    int64_t interval_ms, const char *cache_dir, const char *verify_file,
		    struct gw_err *err)
{
	struct git_source *g;
	struct buf dir = BUF_INIT;
	char h[65];
	git_remote *remote = NULL;
	int r;

	*out = NULL;
	if (git_libgit2_init() < 0)
		return err_set(err, GW_EFATAL, "libgit2 failed to start");
	if (!(g = calloc(1, sizeof(*g)))) {
		(void)git_libgit2_shutdown();
		return err_set(err, GW_ENOMEM, "out of memory");
	}
	g->base.ops = &git_ops;
	g->efd = -1;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->interval_ms = interval_ms > 0 ? interval_ms : 30000;
	if (source_git_url_take_credential(&g->url, url) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto fail;
	}
	url = g->url; /* from here on, without its credential */
	g->branch = branch && *branch ? strdup(branch) : NULL;
	g->path = path && *path ? trim_slashes(path) : NULL;
	util_sha256_hex(h, url, strlen(url));
	if (!g->url || buf_printf(&dir, "%s/git/%.16s.git", cache_dir, h) < 0) {
		r = err_set(err, GW_ENOMEM, "out of memory");
		goto fail;
	}
	g->repo_dir = buf_detach(&dir, NULL);
	if ((r = util_mkdir_p(g->repo_dir, 0755)) < 0) {
		r = err_set(err, GW_EFATAL, "git cache %s: %s", g->repo_dir, strerror(-r));
		goto fail;
	}
	if (git_repository_open_bare(&g->repo, g->repo_dir) < 0) {
		if (git_repository_init(&g->repo, g->repo_dir, 1) < 0) {
			r = err_set(err, GW_EFATAL, "git cache %s: %s", g->repo_dir,
				    git_error_last() ? git_error_last()->message : "init failed");
			goto fail;
		}
	}
	/* The remote is (re)pointed at the URL every start. */
	if (git_remote_lookup(&remote, g->repo, "origin") == 0) {
		if (strcmp(git_remote_url(remote), url) &&
		    git_remote_set_url(g->repo, "origin", url) < 0) {
			r = err_set(err, GW_EFATAL, "git remote %s: %s", url,
				    git_error_last() ? git_error_last()->message : "?");
			goto fail;
		}
		git_remote_free(remote);
		remote = NULL;
	} else if (git_remote_create(&remote, g->repo, "origin", url) < 0) {
		r = err_set(err, GW_EFATAL, "git remote %s: %s", url,
			    git_error_last() ? git_error_last()->message : "?");
		goto fail;
	}
	git_remote_free(remote);
	remote = NULL;
	/* the fetch thread's own handle */
	if (git_repository_open_bare(&g->frepo, g->repo_dir) < 0) {
		r = err_set(err, GW_EFATAL, "git cache %s: %s", g->repo_dir,
			    git_error_last() ? git_error_last()->message : "open failed");
		goto fail;
	}
	if (verify_file) {
		enum verify_keys kind;

		if (verify_keys_kind(&kind, verify_file, err) < 0) {
			r = err->code;
			goto fail;
		}
		if (!(g->verify_file = realpath(verify_file, NULL)) ||
		    buf_printf(&dir, "%s/godwit-verified", g->repo_dir) < 0) {
			r = err_set(err, GW_EFATAL, "--verify-commits %s: %s", verify_file,
				    strerror(errno));
			goto fail;
		}
		g->verified_path = buf_detach(&dir, NULL);
		load_applied(g);
		g->verdict.enabled = true;
		g->fverdict.enabled = true;
		g->snap = g->applied;
		g->have_snap = g->have_applied;
	}
	atomic_init(&g->stop, 0);
	atomic_init(&g->alive_ms, util_now_mono_ms());
	if ((g->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = err_set(err, GW_EFATAL, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (pthread_create(&g->thread, NULL, fetch_thread, g) != 0) {
		r = err_set(err, GW_EFATAL, "git source: cannot start its thread");
		goto fail;
	}
	g->thread_started = true;
	*out = &g->base;
	return 0;
fail:
	git_remote_free(remote);
	buf_release(&dir);
	git_free(&g->base);
	return r;
}
