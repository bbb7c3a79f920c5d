# godwit: `make` builds bin/godwit; `make test` installs what is missing and
# runs every test; `make demo` runs a sample migration on local servers.

CC      ?= cc
O       ?= build
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation
PKGS    := libcurl openssl yaml-0.1 libgit2 libzstd zlib libmicrohttpd

# External headers are system headers: their warnings are not ours. On a
# fresh machine mariadb_config and the .pc files come with `make deps`:
# the targets that install them first (demo, test) build in a make started
# afterwards, which reads these again.
EXT_CFLAGS := $(shell mariadb_config --cflags 2>/dev/null | sed 's/-I/-isystem /g') \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
EXT_LIBS   := $(shell mariadb_config --libs 2>/dev/null) \
              $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

ALL_CFLAGS := $(WARN) -D_GNU_SOURCE -I. $(EXT_CFLAGS) $(CFLAGS) -MMD -MP

MODULES := lib binlog spec reconcile engine cloud controller
SRCS    := $(filter-out controller/main.c,$(wildcard $(addsuffix /*.c,$(MODULES))))
OBJS    := $(SRCS:%.c=$(O)/%.o)
UNIT    := $(wildcard tests/unit/test_*.c)
UNITBIN := $(UNIT:tests/unit/%.c=$(O)/tests/%)
FUZZ    := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps test unit check format format-check fuzz demo demo-gitops bench clean asan

# Building without the libraries installed: say what to do, once.
ifeq ($(shell command -v mariadb_config 2>/dev/null),)
ifneq ($(filter-out deps demo test clean format format-check check,$(or $(MAKECMDGOALS),all)),)
$(warning mariadb_config not found: run 'make deps' first (make demo and make test do it))
endif
endif

all: bin/godwit

bin/godwit: $(O)/controller/main.o $(O)/libgodwit.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(EXT_LIBS)

$(O)/libgodwit.a: $(OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(O)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/tests/%: tests/unit/%.c $(O)/libgodwit.a
	@mkdir -p $(@D)
	@echo "  TEST    $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $< $(O)/libgodwit.a $(EXT_LIBS) -lcmocka

unit: $(UNITBIN)

# The sanitizer build: the same sources and unit tests under ASan/UBSan.
asan:
	$(MAKE) O=build-asan CC=gcc CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" unit

deps:
	@scripts/install-deps

test: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory O=build-asan CC=gcc \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" unit
	@$(MAKE) --no-print-directory fuzz
	@tests/run

FORMAT_SRCS = $(wildcard $(addsuffix /*.[ch],$(MODULES)) tests/unit/*.[ch] tests/fuzz/*.[ch])

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) || \
		{ echo "format drift: run 'make format'"; exit 1; }

check: format-check

# libFuzzer targets (clang). Each fuzz_X.c defines LLVMFuzzerTestOneInput.
fuzz: $(FUZZ:tests/fuzz/%.c=build-fuzz/%)

build-fuzz/%: tests/fuzz/%.c $(SRCS)
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	@clang $(WARN) -Wno-unknown-warning-option -D_GNU_SOURCE -I. $(EXT_CFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(SRCS) $(EXT_LIBS)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo

# The review-gated cutover from git: signed commits, a plan, commit statuses.
demo-gitops: deps all
	@scripts/demo-gitops

clean:
	rm -rf build build-asan build-fuzz bin

-include $(OBJS:.o=.d) $(O)/controller/main.d
