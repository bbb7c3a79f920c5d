/*
 * The Verified gate (`controller --verify-commits`): what the controller
 * does with the git source's verdict on the fetched tip (struct
 * source_verify; the source itself already holds back the specs of a
 * refused tip). Every migration gets a condition `Verified` saying which
 * commit was judged and why it was refused or who signed it; each new
 * verdict is logged once, appended to STATE_DIR/audit.jsonl (action
 * "verify-commit", with the commit, its author and committer as the commit
 * states them, and the signer as the key file names it) and written to
 * STATE_DIR/source.yaml, which `godwit status` shows. Loop thread only.
 */
#ifndef GODWIT_GATE_H
#define GODWIT_GATE_H

#include "lib/common.h"
#include "controller/source.h"
#include "reconcile/task.h"

struct gate {
	uint64_t seq; /* the verdict last published */
	bool have;
};

void gate_apply(struct gate *g, const struct source_verify *v, struct task *const *tasks, size_t n,
		const char *state_dir, int64_t now_ms);

#endif
