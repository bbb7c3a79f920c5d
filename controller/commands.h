/*
 * The commands of PRODUCT.md section 3. Each takes the arguments after the
 * command name (argv[0] is the command name) and returns the process exit
 * code: 0 success, 1 the thing checked is not right (invalid spec, failed
 * precheck, data differs), 2 usage error. Only main() exits.
 */
#ifndef GODWIT_COMMANDS_H
#define GODWIT_COMMANDS_H

#include "lib/common.h"
#include "lib/buf.h"

int cmd_validate(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_precheck(int argc, char **argv);
int cmd_controller(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_binlog(int argc, char **argv);
/* Hidden: runs one engine action (tests, debugging). */
int cmd_action(int argc, char **argv);

/*
 * A small flag parser shared by the commands. Flags are "--name VALUE",
 * "--name=VALUE" or, for booleans, "--name". Everything else is positional.
 * An unknown flag or a missing value prints one line
 * "godwit CMD: unknown flag --x (see godwit CMD --help)" to stderr and
 * returns 2; otherwise 0. *positional_out is argv-borrowed, malloc'd array.
 */
struct cli_opt {
	const char *name;   /* without the dashes */
	const char **value; /* for flags with a value */
	bool *flag;	    /* for boolean flags */
};

int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t nopts,
	      char ***positional_out, size_t *npositional_out);
/* The table of `godwit status` (json: its --json) for state_dir, appended
 * to out; reads the files only (any thread may call it). GW_EFATAL when
 * STATE_DIR/tasks cannot be read (errno says why), GW_ENOMEM. */
int status_table_render(struct buf *out, const char *state_dir, bool json);
/* Default state directory: $GODWIT_STATE_DIR or ./godwit-state. */
const char *cli_default_state_dir(void);

#endif
