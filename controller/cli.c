#include "lib/common.h"
#include "controller/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

int cli_parse(const char *cmd, int argc, char **argv, const struct cli_opt *opts, size_t nopts,
	      char ***positional_out, size_t *npositional_out)
{
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	size_t npos = 0, k;
	int i;

	*positional_out = NULL;
	*npositional_out = 0;
	if (!pos) {
		fprintf(stderr, "godwit %s: out of memory\n", cmd);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *name;
		size_t nlen;

		if (!strcmp(a, "--")) {
			for (i++; i < argc; i++)
				pos[npos++] = argv[i];
			break;
		}
		if (a[0] == '-' && a[1] && a[1] != '-') {
			/* No command has short flags; "-" alone is a name. */
			fprintf(stderr, "godwit %s: unknown flag %s (see godwit %s --help)\n", cmd,
				a, cmd);
			free(pos);
			return 2;
		}
		if (strncmp(a, "--", 2)) {
			pos[npos++] = argv[i];
			continue;
		}
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		for (k = 0; k < nopts; k++)
			if (strlen(opts[k].name) == nlen && !strncmp(opts[k].name, name, nlen))
				break;
		if (k == nopts) {
			fprintf(stderr, "godwit %s: unknown flag --%.*s (see godwit %s --help)\n",
				cmd, (int)nlen, name, cmd);
			free(pos);
			return 2;
		}
		if (opts[k].flag) {
			if (eq) {
				fprintf(stderr, "godwit %s: flag --%s takes no value\n", cmd,
					opts[k].name);
				free(pos);
				return 2;
			}
			*opts[k].flag = true;
		} else if (eq) {
			*opts[k].value = eq + 1;
		} else if (i + 1 < argc) {
			*opts[k].value = argv[++i];
		} else {
			fprintf(stderr, "godwit %s: flag --%s needs a value\n", cmd, opts[k].name);
			free(pos);
			return 2;
		}
	}
	*positional_out = pos;
	*npositional_out = npos;
	return 0;
}

const char *cli_default_state_dir(void)
{
	const char *d = getenv("GODWIT_STATE_DIR");

	return d && *d ? d : "godwit-state";
}
