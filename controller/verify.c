#include "lib/common.h"
#include "controller/verify.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/banned.h"

/* A tool that has not answered by then is killed and the commit refused. */
#define TOOL_TIMEOUT_MS 20000
/* At most this many principals of one key are tried. */
#define MAX_PRINCIPALS 16

int verify_keys_kind(enum verify_keys *out, const char *path, struct gw_err *err)
{
	unsigned char head[64];
	const char *armor = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
	ssize_t n;
	size_t i = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return err_set(err, GW_EFATAL, "--verify-commits %s: %s", path, strerror(errno));
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n < 0)
		return err_set(err, GW_EFATAL, "--verify-commits %s: %s", path, strerror(errno));
	if (n == 0)
		return err_set(err, GW_EFATAL,
			       "--verify-commits %s: the file is empty (no key would be trusted)",
			       path);
	while (i < (size_t)n && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r'))
		i++;
	if ((size_t)n - i >= strlen(armor) && !memcmp(head + i, armor, strlen(armor)))
		*out = VERIFY_KEYS_OPENPGP;
	else if ((head[0] & 0xfc) == 0x98 || (head[0] == 0xc6 && memchr(head, 0, (size_t)n)))
		*out = VERIFY_KEYS_OPENPGP;		  /* a public-key packet (gpg --export) */
	else if (n >= 12 && !memcmp(head + 8, "KBXf", 4)) /* a keybox (pubring.kbx) */
		*out = VERIFY_KEYS_OPENPGP;
	else
		*out = VERIFY_KEYS_SSH;
	return 0;
}

static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

enum verify_sig verify_sig_kind(const char *sig, size_t len)
{
	if (!sig || !len)
		return VERIFY_SIG_NONE;
	if (starts(sig, len, "-----BEGIN SSH SIGNATURE-----"))
		return VERIFY_SIG_SSH;
	if (starts(sig, len, "-----BEGIN PGP SIGNATURE-----"))
		return VERIFY_SIG_OPENPGP;
	return VERIFY_SIG_OTHER;
}

static void set(struct verify_result *out, bool ok, const char *reason)
{
	out->ok = ok;
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
}

/* Copies text into out, one line, printable ASCII only (tool output may
 * carry a user id or a message from the signature). */
static void clean_copy(char *out, size_t outsz, const char *s, size_t n)
{
	size_t i, j = 0;

	for (i = 0; i < n && s[i] && j + 1 < outsz; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n' || ch == '\r')
			break;
		out[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[j] = '\0';
}

/* The last non-empty line of text (a tool's final word on stderr). */
static void last_line(char *out, size_t outsz, const char *text)
{
	const char *p = text, *best = NULL, *nl;
	size_t bn = 0, n;

	out[0] = '\0';
	while (p && *p) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			best = p, bn = n;
		p = nl ? nl + 1 : NULL;
	}
	if (best)
		clean_copy(out, outsz, best, bn);
}

/* --- running a tool ------------------------------------------------- */

struct scratch {
	char dir[PATH_MAX];
};

static int scratch_path(char *out, size_t outsz, const struct scratch *s, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", s->dir, name);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int scratch_write(const struct scratch *s, const char *name, const char *data, size_t len)
{
	char path[PATH_MAX];
	int fd;
	ssize_t w;

	if (scratch_path(path, sizeof(path), s, name) < 0)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -1;
	while (len) {
		if ((w = write(fd, data, len)) < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		data += w;
		len -= (size_t)w;
	}
	return close(fd);
}

/* Removes the scratch directory and what the tools left in it (one level
 * of subdirectories: gpgv's home). */
static void rm_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];
	struct stat st;

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= sizeof(p))
			continue;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && depth < 2)
			rm_tree(p, depth + 1);
		else
			(void)unlink(p);
	}
	if (d)
		closedir(d);
	(void)rmdir(dir);
}

static int scratch_open(struct scratch *s)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(s->dir, sizeof(s->dir), "%s/godwit-verify.XXXXXX", t && *t ? t : "/tmp");

	if (n < 0 || (size_t)n >= sizeof(s->dir) || !mkdtemp(s->dir))
		return -1;
	return 0;
}

/*
 * Runs argv[0] (found in PATH) with stdin from the scratch file in_name
 * (or /dev/null), stdout and stderr into the bufs. Returns the exit code,
 * or -1 when it could not run or was killed at the time limit (why set).
 */
static int run_tool(struct buf *out, struct buf *errout, const struct scratch *s,
		    char *const argv[], const char *in_name, char *why, size_t whysz)
{
	char in[PATH_MAX], op[PATH_MAX], ep[PATH_MAX], pathenv[4096];
	char *envp[] = {pathenv, "LC_ALL=C", NULL};
	const char *path = getenv("PATH");
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	int64_t deadline = util_now_mono_ms() + TOOL_TIMEOUT_MS;
	int status = 0, rc = -1, r;
	pid_t pid, w;

	snprintf(pathenv, sizeof(pathenv), "PATH=%s", path ? path : "/usr/bin:/bin");
	if (!in_name)
		snprintf(in, sizeof(in), "/dev/null");
	if ((in_name && scratch_path(in, sizeof(in), s, in_name) < 0) ||
	    scratch_path(op, sizeof(op), s, "stdout") < 0 ||
	    scratch_path(ep, sizeof(ep), s, "stderr") < 0) {
		snprintf(why, whysz, "%s: path too long", argv[0]);
		return -1;
	}
	(void)unlink(op);
	(void)unlink(ep);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGHUP);
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto nomem;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto nomem;
	}
	/* The controller blocks its signals in every thread; the tool must
	 * not inherit that (nor an ignored SIGPIPE). */
	if (posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, op, O_WRONLY | O_CREAT | O_TRUNC, 0600) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 2, ep, O_WRONLY | O_CREAT | O_TRUNC, 0600) != 0 ||
	    posix_spawnattr_setsigmask(&at, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&at, &def) != 0 ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
		goto nomem;
	}
	r = posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		snprintf(why, whysz, "cannot run %s: %s (install it: Debian packages %s)", argv[0],
			 strerror(r), !strcmp(argv[0], "gpgv") ? "gpgv" : "openssh-client");
		return -1;
	}
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(why, whysz, "%s: waitpid: %s", argv[0], strerror(errno));
			return -1;
		}
		if (util_now_mono_ms() > deadline) {
			(void)kill(pid, SIGKILL);
			(void)waitpid(pid, &status, 0);
			snprintf(why, whysz, "%s did not answer within %d s", argv[0],
				 TOOL_TIMEOUT_MS / 1000);
			return -1;
		}
		util_sleep_ms(5, NULL);
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		snprintf(why, whysz, "%s was killed by signal %d", argv[0], WTERMSIG(status));
	buf_reset(out);
	buf_reset(errout);
	(void)util_read_file(out, op);
	(void)util_read_file(errout, ep);
	return rc;
nomem:
	snprintf(why, whysz, "%s: out of memory", argv[0]);
	return -1;
}

/* "... with ED25519 key SHA256:abc" -> "ED25519 key SHA256:abc". */
static void ssh_key_of(char *out, size_t outsz, const char *text)
{
	const char *p = strstr(text, " with ");
	const char *e;

	out[0] = '\0';
	if (!p)
		return;
	p += 6;
	e = strchr(p, '\n');
	clean_copy(out, outsz, p, e ? (size_t)(e - p) : strlen(p));
}

static int check_ssh(struct verify_result *out, const char *keyfile, const struct scratch *s)
{
	struct buf o = BUF_INIT, e = BUF_INIT;
	char sigp[PATH_MAX], msg[256], *principals[MAX_PRINCIPALS];
	char *line, *save = NULL;
	size_t np = 0, i;
	int rc;

	if (scratch_path(sigp, sizeof(sigp), s, "sig") < 0) {
		set(out, false, "VerifyError");
		snprintf(out->why, sizeof(out->why), "scratch path too long");
		return GW_EFATAL;
	}
	{
		char *argv[] = {"ssh-keygen", "-Y", "find-principals", "-f", (char *)keyfile, "-s",
				sigp,	      NULL};
		rc = run_tool(&o, &e, s, argv, NULL, out->why, sizeof(out->why));
	}
	if (rc < 0) {
		set(out, false, "VerifyError");
		goto out;
	}
	if (rc != 0) {
		/* No principal: which key was it? check-novalidate verifies
		 * the signature against its own key (and the namespace) only. */
		char *argv[] = {"ssh-keygen", "-Y", "check-novalidate", "-n", "git", "-s",
				sigp,	      NULL};
		last_line(msg, sizeof(msg), buf_cstr(&e));
		rc = run_tool(&o, &e, s, argv, "payload", out->why, sizeof(out->why));
		if (rc == 0) {
			ssh_key_of(out->key, sizeof(out->key), buf_cstr(&o));
			if (!out->key[0])
				ssh_key_of(out->key, sizeof(out->key), buf_cstr(&e));
			set(out, false, "UnknownKey");
			snprintf(out->why, sizeof(out->why),
				 "signed with %s, which %s does not list",
				 out->key[0] ? out->key : "an SSH key", keyfile);
		} else if (rc > 0) {
			last_line(msg, sizeof(msg), buf_cstr(&e));
			set(out, false, "BadSignature");
			snprintf(out->why, sizeof(out->why),
				 "the SSH signature does not verify: %s",
				 msg[0] ? msg : "ssh-keygen refused it");
		} else {
			set(out, false, "VerifyError");
		}
		goto out;
	}
	/* One principal a line, as in the allowed-signers file. */
	for (line = strtok_r(o.ptr, "\n", &save); line && np < MAX_PRINCIPALS;
	     line = strtok_r(NULL, "\n", &save))
		if (*line && !(principals[np++] = strdup(line)))
			np--;
	set(out, false, "BadSignature");
	snprintf(out->why, sizeof(out->why), "the SSH signature does not verify");
	for (i = 0; i < np; i++) {
		char *argv[] = {"ssh-keygen",	 "-Y", "verify",      "-n", "git", "-f",
				(char *)keyfile, "-I", principals[i], "-s", sigp,  NULL};
		rc = run_tool(&o, &e, s, argv, "payload", out->why, sizeof(out->why));
		if (rc == 0) {
			set(out, true, "Signed");
			clean_copy(out->signer, sizeof(out->signer), principals[i],
				   strlen(principals[i]));
			ssh_key_of(out->key, sizeof(out->key), buf_cstr(&o));
			out->why[0] = '\0';
			break;
		}
		if (rc > 0) {
			last_line(msg, sizeof(msg), buf_cstr(&e));
			snprintf(out->why, sizeof(out->why),
				 "the SSH signature does not verify: %s",
				 msg[0] ? msg : "ssh-keygen refused it");
		} else {
			set(out, false, "VerifyError");
		}
	}
	for (i = 0; i < np; i++)
		free(principals[i]);
out:
	buf_release(&o);
	buf_release(&e);
	return out->ok ? 0 : GW_EFATAL;
}

/* The n-th space-separated word of a status line (0 = the keyword). */
static void word(char *out, size_t outsz, const char *line, int n)
{
	const char *p = line, *e;

	out[0] = '\0';
	while (n-- > 0 && p) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return;
	e = p;
	while (*e && *e != ' ' && *e != '\n')
		e++;
	clean_copy(out, outsz, p, (size_t)(e - p));
}

void verify_gpg_status(struct verify_result *out, const char *status, int exit_code,
		       const char *keyfile)
{
	const char *p = status, *nl;
	int newsig = 0, good = 0, valid = 0, bad = 0;
	char badkind[32] = "", keyid[64] = "";

	memset(out, 0, sizeof(*out));
	for (; p && *p; p = nl ? nl + 1 : NULL) {
		const char *l;
		size_t n;

		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n < 10 || strncmp(p, "[GNUPG:] ", 9))
			continue;
		l = p + 9;
		if (!strncmp(l, "NEWSIG", 6)) {
			newsig++;
		} else if (!strncmp(l, "GOODSIG ", 8)) {
			const char *uid = strchr(l + 8, ' ');

			good++;
			word(keyid, sizeof(keyid), l, 1);
			if (uid)
				clean_copy(out->signer, sizeof(out->signer), uid + 1,
					   (size_t)(p + n - uid - 1));
		} else if (!strncmp(l, "VALIDSIG ", 9)) {
			valid++;
			/* the primary key's fingerprint is the 10th argument */
			word(out->key, sizeof(out->key), l, 10);
			if (!out->key[0])
				word(out->key, sizeof(out->key), l, 1);
		} else if (!strncmp(l, "BADSIG ", 7) || !strncmp(l, "ERRSIG ", 7) ||
			   !strncmp(l, "EXPSIG ", 7) || !strncmp(l, "EXPKEYSIG ", 10) ||
			   !strncmp(l, "REVKEYSIG ", 10) || !strncmp(l, "NO_PUBKEY ", 10)) {
			bad++;
			if (!badkind[0] || !strcmp(badkind, "ERRSIG"))
				word(badkind, sizeof(badkind), l, 0);
			word(keyid, sizeof(keyid), l, 1);
		}
	}
	if (exit_code == 0 && newsig == 1 && good == 1 && valid == 1 && !bad) {
		set(out, true, "Signed");
		return;
	}
	out->signer[0] = '\0';
	if (newsig > 1) {
		set(out, false, "BadSignature");
		snprintf(out->why, sizeof(out->why),
			 "more than one OpenPGP signature (refused: only one is judged)");
	} else if (!strcmp(badkind, "NO_PUBKEY") || !strcmp(badkind, "ERRSIG")) {
		set(out, false, "UnknownKey");
		snprintf(out->key, sizeof(out->key), "%s", keyid);
		snprintf(out->why, sizeof(out->why),
			 "signed with OpenPGP key %s, which %s does not hold",
			 keyid[0] ? keyid : "(unknown)", keyfile);
	} else if (!strcmp(badkind, "EXPKEYSIG") || !strcmp(badkind, "EXPSIG")) {
		set(out, false, "ExpiredKey");
		snprintf(out->why, sizeof(out->why),
			 "signed with OpenPGP key %s, which has expired", keyid);
	} else if (!strcmp(badkind, "REVKEYSIG")) {
		set(out, false, "RevokedKey");
		snprintf(out->why, sizeof(out->why), "signed with OpenPGP key %s, which is revoked",
			 keyid);
	} else {
		set(out, false, "BadSignature");
		snprintf(out->why, sizeof(out->why), "the OpenPGP signature%s%s does not verify",
			 keyid[0] ? " by key " : "", keyid);
	}
}

static int check_openpgp(struct verify_result *out, const char *keyfile, const struct scratch *s)
{
	struct buf o = BUF_INIT, e = BUF_INIT, head = BUF_INIT;
	char sigp[PATH_MAX], pay[PATH_MAX], home[PATH_MAX], ring[PATH_MAX], abs[PATH_MAX];
	char msg[256];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (scratch_path(sigp, sizeof(sigp), s, "sig") < 0 ||
	    scratch_path(pay, sizeof(pay), s, "payload") < 0 ||
	    scratch_path(home, sizeof(home), s, "home") < 0 || mkdir(home, 0700) < 0 ||
	    !realpath(keyfile, abs)) {
		set(out, false, "VerifyError");
		snprintf(out->why, sizeof(out->why), "%s: %s", keyfile, strerror(errno));
		goto out;
	}
	snprintf(ring, sizeof(ring), "%s", abs);
	/* gpgv reads binary keyrings only: an armoured one is dearmoured by
	 * gpg into the scratch directory first. */
	if (util_read_file(&head, abs) == 0 && head.len &&
	    strstr(buf_cstr(&head), "-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		char *argv[] = {"gpg",	     "--batch", "--no-options", "--homedir", home,
				"--dearmor", "-o",	ring,		abs,	     NULL};
		if (scratch_path(ring, sizeof(ring), s, "keyring.gpg") < 0 ||
		    (rc = run_tool(&o, &e, s, argv, NULL, out->why, sizeof(out->why))) != 0) {
			last_line(msg, sizeof(msg), buf_cstr(&e));
			set(out, false, "VerifyError");
			if (rc > 0)
				snprintf(out->why, sizeof(out->why), "gpg --dearmor %s: %s",
					 keyfile, msg);
			goto out;
		}
	}
	{
		char *argv[] = {"gpgv",	     "--homedir", home, "--status-fd", "1",
				"--keyring", ring,	  sigp, pay,	       NULL};
		rc = run_tool(&o, &e, s, argv, NULL, out->why, sizeof(out->why));
	}
	if (rc < 0) {
		set(out, false, "VerifyError");
		goto out;
	}
	verify_gpg_status(out, buf_cstr(&o), rc, keyfile);
out:
	buf_release(&o);
	buf_release(&e);
	buf_release(&head);
	return out->ok ? 0 : GW_EFATAL;
}

int verify_check(struct verify_result *out, const char *keyfile, const char *sig, size_t siglen,
		 const char *payload, size_t len)
{
	struct gw_err err = GW_ERR_INIT;
	enum verify_keys keys;
	enum verify_sig kind = verify_sig_kind(sig, siglen);
	struct scratch s;
	int r;

	memset(out, 0, sizeof(*out));
	if (kind == VERIFY_SIG_NONE) {
		set(out, false, "Unsigned");
		snprintf(out->why, sizeof(out->why), "the commit is not signed");
		return GW_EFATAL;
	}
	if (verify_keys_kind(&keys, keyfile, &err) < 0) {
		set(out, false, "VerifyError");
		snprintf(out->why, sizeof(out->why), "%s", err.msg);
		return GW_EFATAL;
	}
	if (kind == VERIFY_SIG_OTHER || (kind == VERIFY_SIG_SSH) != (keys == VERIFY_KEYS_SSH)) {
		set(out, false, "WrongKind");
		snprintf(out->why, sizeof(out->why), "signed with %s, but %s is %s",
			 kind == VERIFY_SIG_SSH	      ? "an SSH key"
			 : kind == VERIFY_SIG_OPENPGP ? "an OpenPGP key"
						      : "an X.509 or unknown kind of signature",
			 keyfile,
			 keys == VERIFY_KEYS_SSH ? "an SSH allowed-signers file"
						 : "an OpenPGP keyring");
		return GW_EFATAL;
	}
	if (scratch_open(&s) < 0) {
		set(out, false, "VerifyError");
		snprintf(out->why, sizeof(out->why), "cannot make a scratch directory: %s",
			 strerror(errno));
		return GW_EFATAL;
	}
	if (scratch_write(&s, "sig", sig, siglen) < 0 ||
	    scratch_write(&s, "payload", payload, len) < 0) {
		set(out, false, "VerifyError");
		snprintf(out->why, sizeof(out->why), "cannot write into %s: %s", s.dir,
			 strerror(errno));
		r = GW_EFATAL;
	} else {
		r = keys == VERIFY_KEYS_SSH ? check_ssh(out, keyfile, &s)
					    : check_openpgp(out, keyfile, &s);
	}
	rm_tree(s.dir, 0);
	return r;
}
