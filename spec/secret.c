/*
 * Secrets, read at the moment of use. The value is never put into an error
 * message: errors name the variable or the file only.
 */
#include "lib/common.h"
#include "spec/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

/* A password file is small; anything bigger is not a password. */
#define SECRET_MAX (64 * 1024)

static int read_secret_file(char **out, const char *path, struct gw_err *err)
{
	char *v = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return err_set(err, GW_EFATAL, "password file %s: %s", path, strerror(errno));
	if (!(v = malloc(SECRET_MAX + 1))) {
		close(fd);
		return err_set(err, GW_ENOMEM, "password file %s: out of memory", path);
	}
	for (;;) {
		ssize_t n = read(fd, v + len, SECRET_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			spec_secret_free(v);
			return err_set(err, GW_EFATAL, "password file %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SECRET_MAX) {
			close(fd);
			explicit_bzero(v, len);
			free(v);
			return err_set(err, GW_EFATAL, "password file %s: larger than %d bytes",
				       path, SECRET_MAX);
		}
	}
	close(fd);
	if (memchr(v, '\0', len)) {
		/* Cut at the NUL, it would be another password: say so instead. */
		explicit_bzero(v, len);
		free(v);
		return err_set(err, GW_EFATAL, "password file %s: contains a NUL byte", path);
	}
	if (len && v[len - 1] == '\n')
		len--;
	if (len && v[len - 1] == '\r')
		len--;
	v[len] = '\0';
	*out = v;
	return 0;
}

int spec_secret_resolve(char **out, const struct secret_ref *ref, struct gw_err *err)
{
	const char *v;

	*out = NULL;
	switch (ref->kind) {
	case SECRET_NONE:
		if (!(*out = strdup("")))
			return err_set(err, GW_ENOMEM, "out of memory");
		return 0;
	case SECRET_ENV:
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
