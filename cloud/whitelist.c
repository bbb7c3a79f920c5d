/* NEEDSWORK: placeholder; the real module replaces this file. */
#include "lib/common.h"
#include "engine/engine.h"

#include "lib/banned.h"

int cloud_whitelist_action(struct action_io *io, int add)
{
	(void)add;
	return err_set(&io->err, GW_EFATAL, "whitelist: not implemented yet");
}
