/*
 * Secrets, read at the moment of use. The value is never put into an error
 * message: errors name the variable or the file only.
 *
 * A spec's author names the variable or the file, and the endpoint the
 * password is sent to: what may be named is confined (docs/security.md).
 * The controller's own credentials are never handed out: variables
 * ALIBABA_CLOUD_*, GODWIT_* and the proxy settings; files under /proc and
 * /sys, the ssh and git credentials it uses ($GODWIT_GIT_SSH_KEY,
 * ~/.ssh, ~/.git-credentials, ~/.netrc, ~/.aliyun) and the paths
 * registered with spec_secret_protect_path() (the state directory). The
 * operator may confine further: a variable-name prefix, secret
 * directories. Files are read only when regular, and within
 * SECRET_READ_TIMEOUT_MS.
 */
#include "lib/common.h"
#include "spec/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

/* A password file is small; anything bigger is not a password. */
#define SECRET_MAX (64 * 1024)
#define SECRET_MAX_PATHS 16

/* Set before any thread starts (spec_secret_policy_set), then only read. */
static struct {
	char *env_prefix;
	char *dirs[SECRET_MAX_PATHS]; /* resolved */
	size_t ndirs;
	char *protected[SECRET_MAX_PATHS]; /* resolved */
	size_t nprotected;
} policy;

static const char *const own_env[] = {"ALIBABA_CLOUD_", "GODWIT_"};
static const char *const own_env_exact[] = {"http_proxy", "https_proxy", "all_proxy",
					    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"};

static bool is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

static int add_path(char **list, size_t *n, const char *path, size_t len, struct gw_err *err)
{
	char raw[PATH_MAX], real[PATH_MAX];

	if (len == 0)
		return 0;
	if (len >= sizeof(raw) || *n == SECRET_MAX_PATHS)
		return err_set(err, GW_EFATAL, "too many or too long paths");
	memcpy(raw, path, len);
	raw[len] = '\0';
	if (!realpath(raw, real))
		return err_set(err, GW_EFATAL, "%s: %s", raw, strerror(errno));
	if (!(list[*n] = strdup(real)))
		return err_set(err, GW_ENOMEM, "out of memory");
	(*n)++;
	return 0;
}

int spec_secret_policy_set(const char *env_prefix, const char *dirs, struct gw_err *err)
{
	const char *p, *colon;
	int r;

	if (env_prefix && *env_prefix && !(policy.env_prefix = strdup(env_prefix)))
		return err_set(err, GW_ENOMEM, "out of memory");
	for (p = dirs; p && *p; p = colon + 1) {
		if (!(colon = strchr(p, ':')))
			colon = p + strlen(p);
		if ((r = add_path(policy.dirs, &policy.ndirs, p, (size_t)(colon - p), err)) < 0) {
			err_prefix(err, "--secret-dir");
			return r;
		}
		if (!*colon)
			break;
	}
	return 0;
}

int spec_secret_protect_path(const char *path, struct gw_err *err)
{
	/* A path that does not exist yet protects nothing to be read. */
	if (access(path, F_OK) < 0)
		return 0;
	return add_path(policy.protected, &policy.nprotected, path, strlen(path), err);
}

void spec_secret_policy_reset(void)
{
	size_t i;

	free(policy.env_prefix);
	for (i = 0; i < policy.ndirs; i++)
		free(policy.dirs[i]);
	for (i = 0; i < policy.nprotected; i++)
		free(policy.protected[i]);
	memset(&policy, 0, sizeof(policy));
}

static int check_env(const char *name, struct gw_err *err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(own_env); i++)
		if (!strncmp(name, own_env[i], strlen(own_env[i])))
			goto own;
	for (i = 0; i < ARRAY_SIZE(own_env_exact); i++)
		if (!strcmp(name, own_env_exact[i]))
			goto own;
	if (policy.env_prefix && strncmp(name, policy.env_prefix, strlen(policy.env_prefix)))
		return err_set(err, GW_EFATAL,
			       "password: fromEnv %s: the controller hands out only variables "
			       "named %s* (--secret-env-prefix)",
			       name, policy.env_prefix);
	return 0;
own:
	return err_set(err, GW_EFATAL,
		       "password: fromEnv %s: a variable of the controller's own (ALIBABA_CLOUD_*, "
		       "GODWIT_*, proxy settings) is never handed out",
		       name);
}

/* Whether real (a resolved path) is one of the controller's own files. */
static bool own_file(const char *real)
{
	static const char *const home_files[] = {".ssh", ".git-credentials", ".netrc", ".aliyun",
						 ".config/git/credentials"};
	const char *home = getenv("HOME"), *key = getenv("GODWIT_GIT_SSH_KEY");
	char buf[PATH_MAX], res[PATH_MAX];
	size_t i;

	for (i = 0; i < policy.nprotected; i++)
		if (is_under(real, policy.protected[i]))
			return true;
	if (key && *key && realpath(key, res) && is_under(real, res))
		return true;
	for (i = 0; home && *home && i < ARRAY_SIZE(home_files); i++) {
		int n = snprintf(buf, sizeof(buf), "%s/%s", home, home_files[i]);
		if (n > 0 && (size_t)n < sizeof(buf) && realpath(buf, res) && is_under(real, res))
			return true;
	}
	return false;
}

/* Opens path for reading a secret, or says why not. */
static int open_checked(int *fd_out, const char *path, char *why, size_t whysz)
{
	char link[64], real[PATH_MAX];
	struct stat st;
	struct statfs sf;
	ssize_t n;
	size_t i;
	int fd;

	*fd_out = -1;
	/* Not even opened when it is not a regular file: a FIFO would block,
	 * a device may do something on open. */
	if (stat(path, &st) < 0) {
		(void)snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(why, whysz, "not a regular file");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
		(void)snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	/* What was opened, not what the name pointed at a moment ago. */
	(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void)snprintf(why, whysz, "not a regular file");
		goto refuse;
	}
	if (fstatfs(fd, &sf) < 0 || sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC) {
		(void)snprintf(why, whysz,
			       "a file of the kernel's (/proc, /sys) is never handed out");
		goto refuse;
	}
	if ((n = readlink(link, real, sizeof(real) - 1)) <= 0) {
		(void)snprintf(why, whysz, "cannot tell where it is");
		goto refuse;
	}
	real[n] = '\0';
	if (own_file(real)) {
		(void)snprintf(why, whysz,
			       "a file of the controller's own (its state, ssh or git credentials) "
			       "is never handed out");
		goto refuse;
	}
	for (i = 0; i < policy.ndirs; i++)
		if (is_under(real, policy.dirs[i]))
			break;
	if (policy.ndirs && i == policy.ndirs) {
		(void)snprintf(why, whysz,
			       "outside the secret directories of the controller (--secret-dir)");
		goto refuse;
	}
	*fd_out = fd;
	return 0;
refuse:
	close(fd);
	return -1;
}

/* The reading itself, in a thread of its own: a file on a hung network
 * file system must not hang the migration. Whoever finishes last frees. */
struct file_read {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	bool abandoned;
	char *path;
	char *value;
	int code;
	char why[160];
};

static void file_read_free(struct file_read *fr)
{
	pthread_mutex_destroy(&fr->mu);
	pthread_cond_destroy(&fr->cv);
	free(fr->path);
	spec_secret_free(fr->value);
	free(fr);
}

static int read_all(struct file_read *fr)
{
	size_t len = 0;
	char *v;
	int fd;

	if (open_checked(&fd, fr->path, fr->why, sizeof(fr->why)) < 0)
		return GW_EFATAL;
	if (!(v = malloc(SECRET_MAX + 1))) {
		close(fd);
		return GW_ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, v + len, SECRET_MAX + 1 - len);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			(void)snprintf(fr->why, sizeof(fr->why), "%s", strerror(errno));
			break;
		}
		if (n == 0) {
			fr->value = v;
			v = NULL;
			break;
		}
		len += (size_t)n;
		if (len > SECRET_MAX) {
			(void)snprintf(fr->why, sizeof(fr->why), "larger than %d bytes",
				       SECRET_MAX);
			break;
		}
	}
	close(fd);
	if (v) {
		explicit_bzero(v, len);
		free(v);
		return GW_EFATAL;
	}
	if (memchr(fr->value, '\0', len)) {
		/* Cut at the NUL, it would be another password: say so instead. */
		explicit_bzero(fr->value, len);
		free(fr->value);
		fr->value = NULL;
		(void)snprintf(fr->why, sizeof(fr->why), "contains a NUL byte");
		return GW_EFATAL;
	}
	if (len && fr->value[len - 1] == '\n')
		len--;
	if (len && fr->value[len - 1] == '\r')
		len--;
	fr->value[len] = '\0';
	return 0;
}

static void *read_thread(void *arg)
{
	struct file_read *fr = arg;
	int code = read_all(fr);
	bool abandoned;

	pthread_mutex_lock(&fr->mu);
	fr->code = code;
	fr->done = true;
	abandoned = fr->abandoned;
	pthread_cond_signal(&fr->cv);
	pthread_mutex_unlock(&fr->mu);
	if (abandoned)
		file_read_free(fr);
	return NULL;
}

static int read_secret_file(char **out, const char *path, struct gw_err *err)
{
	struct file_read *fr = calloc(1, sizeof(*fr));
	pthread_condattr_t ca;
	pthread_attr_t ta;
	pthread_t th;
	struct timespec deadline;
	bool started;
	int r;

	if (!fr || !(fr->path = strdup(path))) {
		free(fr);
		return err_set(err, GW_ENOMEM, "password file %s: out of memory", path);
	}
	pthread_mutex_init(&fr->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fr->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	started = pthread_create(&th, &ta, read_thread, fr) == 0;
	pthread_attr_destroy(&ta);
	if (!started) {
		file_read_free(fr);
		return err_set(err, GW_ERETRY, "password file %s: cannot start a thread", path);
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += SECRET_READ_TIMEOUT_MS / 1000;
	deadline.tv_nsec += (long)(SECRET_READ_TIMEOUT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fr->mu);
	while (!fr->done)
		if (pthread_cond_timedwait(&fr->cv, &fr->mu, &deadline) == ETIMEDOUT)
			break;
	if (!fr->done) {
		fr->abandoned = true; /* the thread frees it when the read ends */
		pthread_mutex_unlock(&fr->mu);
		return err_set(err, GW_ERETRY, "password file %s: not read within %d s", path,
			       SECRET_READ_TIMEOUT_MS / 1000);
	}
	pthread_mutex_unlock(&fr->mu);
	if (fr->code == 0) {
		*out = fr->value;
		fr->value = NULL;
		r = 0;
	} else if (fr->code == GW_ENOMEM) {
		r = err_set(err, GW_ENOMEM, "password file %s: out of memory", path);
	} else {
		r = err_set(err, GW_EFATAL, "password file %s: %s", path, fr->why);
	}
	file_read_free(fr);
	return r;
}

int spec_secret_resolve(char **out, const struct secret_ref *ref, struct gw_err *err)
{
	const char *v;
	int r;

	*out = NULL;
	switch (ref->kind) {
	case SECRET_NONE:
		if (!(*out = strdup("")))
			return err_set(err, GW_ENOMEM, "out of memory");
		return 0;
	case SECRET_ENV:
		if ((r = check_env(ref->name, err)) < 0)
			return r;
		if (!(v = getenv(ref->name)))
			return err_set(err, GW_EFATAL,
				       "password: environment variable %s is not set", ref->name);
		if (!(*out = strdup(v)))
			return err_set(err, GW_ENOMEM, "out of memory");
		return 0;
	case SECRET_FILE: return read_secret_file(out, ref->name, err);
	}
	return err_set(err, GW_EFATAL, "password: unknown secret kind");
}

void spec_secret_free(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}
