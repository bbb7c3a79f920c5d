/* NEEDSWORK: placeholder; the real module replaces this file. */
#include "lib/common.h"
#include "engine/engine.h"

#include "lib/banned.h"

int engine_schema(struct action_io *io, enum schema_stage stage)
{
	(void)stage;
	return err_set(&io->err, GW_EFATAL, "schema: not implemented yet");
}
