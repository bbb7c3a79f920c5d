#include "lib/common.h"
#include "lib/util.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/banned.h"

int util_parse_int64(int64_t *out, const char *s, int64_t min, int64_t max)
{
	char *end = NULL;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int util_parse_duration(int64_t *out, const char *s)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	int64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -1;
	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	while (*p) {
		int64_t v = 0;
		size_t i, best = ARRAY_SIZE(units);

		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*p++ - '0');
		}
		for (i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].unit);
			if (!strncmp(p, units[i].unit, n) &&
			    (best == ARRAY_SIZE(units) || n > strlen(units[best].unit)))
				best = i;
		}
		if (best == ARRAY_SIZE(units))
			return -1;
		if (v > INT64_MAX / units[best].ms || total > INT64_MAX - v * units[best].ms)
			return -1;
		total += v * units[best].ms;
		p += strlen(units[best].unit);
	}
	*out = total;
	return 0;
}

void util_format_duration(char *out, size_t outsz, int64_t ms)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
	size_t i, n = 0;

	if (outsz == 0)
		return;
	out[0] = '\0';
	if (ms <= 0) {
		(void)snprintf(out, outsz, "0s");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(units) && n < outsz; i++) {
		int64_t q = ms / units[i].ms;
		int r;
		if (!q)
			continue;
		ms -= q * units[i].ms;
		r = snprintf(out + n, outsz - n, "%lld%s", (long long)q, units[i].unit);
		if (r < 0)
			return;
		n += (size_t)r;
	}
}

int util_parse_size(uint64_t *out, const char *s)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {{"", 1},
		     {"B", 1},
		     {"KiB", 1024ULL},
		     {"MiB", 1024ULL * 1024},
		     {"GiB", 1024ULL * 1024 * 1024},
		     {"TiB", 1024ULL * 1024 * 1024 * 1024},
		     {"KB", 1000ULL},
		     {"MB", 1000000ULL},
		     {"GB", 1000000000ULL},
		     {"TB", 1000000000000ULL}};
	uint64_t v = 0;
	const char *p = s;
	size_t i;

	if (!s || *s < '0' || *s > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcmp(p, units[i].unit)) {
			if (v && units[i].mul > UINT64_MAX / v)
				return -1;
			*out = v * units[i].mul;
			return 0;
		}
	}
	return -1;
}

int util_read_file(struct buf *out, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = util_read_fd(out, fd);
	close(fd);
	return err;
}

int util_read_fd(struct buf *out, int fd)
{
	char chunk[65536];
	int err = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		if (buf_add(out, chunk, (size_t)n) < 0) {
			err = -ENOMEM;
			break;
		}
	}
	if (!err && !out->ptr && buf_add(out, "", 0) < 0)
		err = -ENOMEM;
	return err;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash)
		(void)snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		(void)snprintf(dir, sizeof(dir), "/");
	else
		(void)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* The state directory holds audit lines (authors' e-mails) and server
 * errors: private to the controller's user unless the operator shares it
 * with a group (util_set_group_readable). */
static mode_t file_mode = 0600, dir_mode = 0700;

void util_set_group_readable(bool group)
{
	file_mode = group ? 0640 : 0600;
	dir_mode = group ? 0750 : 0700;
}

unsigned util_dir_mode(void)
{
	return dir_mode;
}

int util_write_file_atomic(const char *path, const void *data, size_t len)
{
	/* A name of each call's own: two threads replacing one file must not
	 * write into the same temporary file. */
	static atomic_uint seq;
	char tmp[PATH_MAX];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(),
		     atomic_fetch_add(&seq, 1)) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, file_mode);
	if (fd < 0)
		return -errno;
	err = write_all(fd, data, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		(void)unlink(tmp);
		return err;
	}
	fsync_parent(path);
	return 0;
}

int util_append_fsync(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, file_mode);
	int err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, data, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

int util_mkdir_p(const char *path, unsigned mode)
{
	char tmp[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];
			tmp[i] = '\0';
			if (mkdir(tmp, (mode_t)mode & dir_mode) < 0 && errno != EEXIST)
				return -errno;
			tmp[i] = c;
		}
	}
	return 0;
}

void util_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		mdlen = 0;
	for (i = 0; i < mdlen && i < 32; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * i] = '\0';
}

int64_t util_now_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_format_time(char out[32], int64_t unix_seconds)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	if (!strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}

void util_sleep_ms(int64_t ms, const volatile int *cancel)
{
	int64_t end = util_now_mono_ms() + ms;

	for (;;) {
		int64_t left = end - util_now_mono_ms();
		struct timespec ts;
		if (left <= 0 || (cancel && *cancel))
			return;
		if (left > 50)
			left = 50;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000000L;
		nanosleep(&ts, NULL);
	}
}

bool util_glob_match(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, 0) == 0;
}

void util_strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
