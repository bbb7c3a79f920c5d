/* NEEDSWORK: placeholder; the real command replaces this file. */
#include "lib/common.h"
#include "controller/commands.h"

#include <stdio.h>

#include "lib/banned.h"

int cmd_plan(int argc, char **argv)
{
	(void)argc, (void)argv;
	fprintf(stderr, "godwit plan: not implemented yet\n");
	return 2;
}
