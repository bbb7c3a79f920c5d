/* NEEDSWORK: placeholder; the real module replaces this file. */
#include "lib/common.h"
#include "engine/engine.h"

#include "lib/banned.h"

int engine_precheck(struct action_io *io, struct precheck_summary *out)
{
	(void)out;
	return err_set(&io->err, GW_EFATAL, "precheck: not implemented yet");
}
