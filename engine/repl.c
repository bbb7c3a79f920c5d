/* NEEDSWORK: placeholder; the real module replaces this file. */
#include "lib/common.h"
#include "engine/engine.h"

#include "lib/banned.h"

int engine_incremental(struct action_io *io)
{

	return err_set(&io->err, GW_EFATAL, "incremental: not implemented yet");
}
