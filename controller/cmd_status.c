/* NEEDSWORK: placeholder; the real command replaces this file. */
#include "lib/common.h"
#include "controller/commands.h"

#include <stdio.h>

#include "lib/banned.h"

int cmd_status(int argc, char **argv)
{
	(void)argc, (void)argv;
	fprintf(stderr, "godwit status: not implemented yet\n");
	return 2;
}
