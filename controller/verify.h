/*
 * Commit signatures (`controller --verify-commits FILE`): whether a
 * commit was signed by a key the operator trusts.
 *
 * FILE is either an SSH allowed-signers file (the format of git's
 * gpg.ssh.allowedSignersFile: "PRINCIPALS [OPTIONS] KEYTYPE KEY" lines) or
 * an OpenPGP keyring (`gpg --export`, binary or ASCII-armoured, or a
 * keybox); verify_keys_kind() decides from the file's first bytes.
 *
 * The signature and the bytes it signs come from libgit2
 * (git_commit_extract_signature); ssh-keygen or gpgv judge them, as git
 * itself does: for SSH, `ssh-keygen -Y find-principals` names the
 * principals FILE lists for the signing key, then `ssh-keygen -Y verify
 * -n git -I PRINCIPAL` checks the signature for one of them; for OpenPGP,
 * `gpgv --status-fd` against FILE alone (an empty home directory: no other
 * key is trusted). The signer reported is the principal or the key's user
 * id from FILE, never what the commit says about itself. Validity windows
 * of allowed-signers entries are checked against the current time, not
 * the commit's (which its author chose). Nothing here parses a signature.
 *
 * The tools run as child processes with a time limit: call this from a
 * thread that may wait (the git source's fetch thread), never the loop.
 */
#ifndef GODWIT_VERIFY_H
#define GODWIT_VERIFY_H

#include "lib/common.h"
#include "lib/err.h"

enum verify_keys { VERIFY_KEYS_SSH = 1, VERIFY_KEYS_OPENPGP };
enum verify_sig { VERIFY_SIG_NONE, VERIFY_SIG_SSH, VERIFY_SIG_OPENPGP, VERIFY_SIG_OTHER };

struct verify_result {
	bool ok;
	/* "Signed", or why not: "Unsigned", "UnknownKey", "BadSignature",
	 * "ExpiredKey", "RevokedKey", "WrongKind", "VerifyError" */
	char reason[32];
	char signer[256]; /* ok: the principal (ssh) or user id (openpgp) */
	char key[128];	  /* the signing key's fingerprint, when known */
	char why[512];	  /* not ok: one sentence */
};

/* The kind of the key file at path, from its first bytes. GW_EFATAL with
 * the reason (unreadable, empty) in err. */
int verify_keys_kind(enum verify_keys *out, const char *path, struct gw_err *err);
/* The kind of an extracted signature, from its armour line. */
enum verify_sig verify_sig_kind(const char *sig, size_t len);
/*
 * Judges sig over payload against keyfile (kind as verify_keys_kind
 * says). Always fills *out; returns 0 when out->ok, GW_EFATAL when the
 * signature is refused. sig NULL or empty: "Unsigned".
 */
int verify_check(struct verify_result *out, const char *keyfile, const char *sig, size_t siglen,
		 const char *payload, size_t len);
/* The verdict of gpgv from its --status-fd lines and exit code (pure;
 * used by verify_check). */
void verify_gpg_status(struct verify_result *out, const char *status, int exit_code,
		       const char *keyfile);

#endif
