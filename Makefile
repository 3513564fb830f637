# payworker -- top-level build.
#
#   make            build everything (normal build in build/normal)
#   make test       install missing packages, check style, build normal and
#                   ASan+UBSan variants, run every unit test in both and under
#                   valgrind; the last line reports "N passed, N failed"
#   make check      clang-format dry run, banned functions, the worker's
#                   allocator, layering (ops/check-layers.sh), function
#                   prefixes (ops/check-prefixes.sh), file sizes (ops/check-sizes.sh)
#   make format     reformat the sources in place
#   make deps       install missing Debian packages (root) or print the command
#   make install    payworker and payctl into $(DESTDIR)$(PREFIX)/bin (PREFIX
#                   /usr/local), the schemas into $(PREFIX)/share/payworker
#
# Layers: worker/ -> schemas/ -> libprovider/ (never upward). libprovider
# builds as its own static library and includes nothing from worker/.

# plain `make` builds everything (the first rule would otherwise be the
# schema embedder's)
.DEFAULT_GOAL := all

CC       ?= cc
BUILD    ?= build/normal
PREFIX   ?= /usr/local
SAN      ?=
OPT      ?= -O2

WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral
DEFS     := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
CFLAGS   ?= $(OPT) -g
# every folder of the three layers that holds headers is on the include path
INC_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard libprovider/*.h libprovider/*/*.h schemas/*.h \
                worker/*.h worker/*/*.h))))
ALL_CFLAGS = $(WARN) $(DEFS) $(CFLAGS) $(SANFLAGS) $(addprefix -I,$(INC_DIRS)) -MMD -MP
# objects live apart from the programs: ops/devkafka/ is a folder of sources
# and build/normal/ops/devkafka the program
OBJ      = $(BUILD)/obj
# an archive is rebuilt from scratch when its list of members changes (a
# file removed or renamed must not linger in it): $(call members,NAME)
# names a file holding the list, rewritten only when the list differs
members = $(BUILD)/members/$(1).list
$(BUILD)/members/%.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$($(patsubst %_LIB,%_OBJ,$*))' | cmp -s - $@ 2>/dev/null || echo '$($(patsubst %_LIB,%_OBJ,$*))' > $@
FORCE:
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

JSONC_LIBS  := -ljson-c
AVRO_LIBS   := -lavro
CMOCKA_LIBS := -lcmocka
KAFKA_LIBS  := -lrdkafka
CURL_LIBS   := -lcurl
EVENT_LIBS  := -levent

# ---- libprovider ---------------------------------------------------------
# provider.h (the interface; pv_provider.c the registry and checked entry
# points, pv_classify.c, pv_command.c), core/ (domain, errors, money, time,
# JSON, the HTTP request, OAuth, UTF-8), adapters/ (one provider each)
PV_SRC := $(sort $(wildcard libprovider/*.c libprovider/*/*.c))
PV_OBJ := $(PV_SRC:%.c=$(OBJ)/%.o)
PV_LIB := $(BUILD)/libprovider/libprovider.a

# ---- schemas: the event contracts and the codec ----------------------------
# The .avsc files are compiled into the binaries (schemas/embed.c), so what
# runs is exactly what is in the repository.
AVSC    := schemas/payment_command.avsc schemas/payment_result.avsc schemas/balance_update.avsc
SC_SRC  := $(sort $(wildcard schemas/sc_*.c))
SC_OBJ  := $(SC_SRC:%.c=$(OBJ)/%.o) $(BUILD)/gen/sc_avsc.o
SC_LIB  := $(BUILD)/schemas/libschemas.a
EMBED   := $(BUILD)/tools/embed

$(EMBED): schemas/embed.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) -O2 -o $@ $<

$(BUILD)/gen/sc_avsc.c: $(AVSC) $(EMBED)
	@mkdir -p $(dir $@)
	$(EMBED) $@ sc_avsc_payment_command=schemas/payment_command.avsc \
	    sc_avsc_payment_result=schemas/payment_result.avsc \
	    sc_avsc_balance_update=schemas/balance_update.avsc

$(BUILD)/gen/sc_avsc.o: $(BUILD)/gen/sc_avsc.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(SC_LIB): $(SC_OBJ) $(call members,SC_LIB)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

# ---- worker/ and ops/ programs ---------------------------------------------
# worker/pw_*.c and worker/*/pw_*.c are the worker's library (engine/, store/,
# io/, operations/), shared by payworker, payctl and the dev tools. A program
# is one file (worker/payworker.c) or a folder of files (worker/payctl/,
# ops/devkafka/, ops/provider-sim/); it is built as $(BUILD)/<its path>.
PW_SRC   := $(sort $(wildcard worker/pw_*.c worker/*/pw_*.c))
# the store's Lua scripts are compiled in as the schemas are (embed.c):
# worker/store/scripts/NAME.lua becomes pw_store_lua_NAME[] (and _len)
PW_LUA   := $(sort $(wildcard worker/store/scripts/*.lua))
PW_OBJ   := $(PW_SRC:%.c=$(OBJ)/%.o) $(BUILD)/gen/pw_store_lua.o
PW_LIB   := $(BUILD)/worker/libworker.a
PROG_NAMES := worker/payworker worker/payctl ops/devkafka ops/provider-sim
prog_src  = $(if $(wildcard $(1)/*.c),$(sort $(wildcard $(1)/*.c)),$(1).c)
PROG_SRC := $(foreach p,$(PROG_NAMES),$(call prog_src,$(p)))
PROGS    := $(PROG_NAMES:%=$(BUILD)/%)
PROG_LIBS = $(KAFKA_LIBS) $(CURL_LIBS) $(EVENT_LIBS) -lhiredis $(AVRO_LIBS) $(JSONC_LIBS) -lm

$(BUILD)/gen/pw_store_lua.c: $(PW_LUA) $(EMBED)
	@mkdir -p $(dir $@)
	$(EMBED) $@ $(foreach f,$(PW_LUA),pw_store_lua_$(basename $(notdir $(f)))=$(f))

$(BUILD)/gen/pw_store_lua.o: $(BUILD)/gen/pw_store_lua.c
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(PW_LIB): $(PW_OBJ) $(call members,PW_LIB)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

define PROG_RULE
$(BUILD)/$(1): $$(patsubst %.c,$$(OBJ)/%.o,$$(call prog_src,$(1))) $$(PW_LIB) $$(SC_LIB) $$(PV_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) -o $$@ $$^ $$(PROG_LIBS)
endef
$(foreach p,$(PROG_NAMES),$(eval $(call PROG_RULE,$(p))))

progs: $(PROGS)

install: $(BUILD)/worker/payworker $(BUILD)/worker/payctl
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/payworker/schemas
	install -m 755 $(BUILD)/worker/payworker $(BUILD)/worker/payctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 schemas/*.avsc $(DESTDIR)$(PREFIX)/share/payworker/schemas/

# ---- unit tests ------------------------------------------------------------
TEST_UTIL_SRC := tests/unit/testutil.c
TEST_SRC      := $(sort $(filter-out $(TEST_UTIL_SRC),$(wildcard tests/unit/test_*.c)))
TEST_BIN      := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_UTIL_OBJ := $(TEST_UTIL_SRC:%.c=$(OBJ)/%.o)

.PHONY: FORCE all lib tests progs itests test check format deps clean fuzz run bench chaos chaos-quick \
        install
# keep objects that pattern rules chain through (no rebuild on every run)
.SECONDARY:

BENCH_BIN := $(BUILD)/bench/bench
CHAOS_BIN := $(BUILD)/chaos/chaos

all: lib tests progs itests $(BENCH_BIN) $(CHAOS_BIN)

lib: $(PV_LIB) $(SC_LIB)
tests: $(TEST_BIN)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(PV_LIB): $(PV_OBJ) $(call members,PV_LIB)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(TEST_UTIL_OBJ) $(PW_LIB) $(SC_LIB) $(PV_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PROG_LIBS)

# ---- integration tests: tests/integration/itest_*.c, one cmocka binary each,
# run against real processes (devkafka, redis-server, provider-sim, workers)
ITEST_SRC := $(sort $(filter-out tests/integration/itest_util.c,$(wildcard tests/integration/itest_*.c)))
ITEST_BIN := $(ITEST_SRC:tests/integration/%.c=$(BUILD)/itests/%)
# the support files (itest_util.c, teststack.c, storetest.c, simclient.c) are
# an archive, so a binary gets only the files it uses (and their globals)
ITEST_UTIL_SRC := $(sort $(filter-out $(ITEST_SRC),$(wildcard tests/integration/*.c)))
ITEST_UTIL_OBJ := $(ITEST_UTIL_SRC:%.c=$(OBJ)/%.o)
ITEST_UTIL_LIB := $(BUILD)/tests/libitest.a

$(ITEST_UTIL_LIB): $(ITEST_UTIL_OBJ) $(call members,ITEST_UTIL_LIB)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

$(BUILD)/itests/%: $(OBJ)/tests/integration/%.o $(ITEST_UTIL_LIB) $(TEST_UTIL_OBJ) $(PW_LIB) $(SC_LIB) $(PV_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PROG_LIBS)

itests: $(ITEST_BIN)

# ---- benchmarks: make bench (tests/bench) ------------------------------------

$(BENCH_BIN): $(OBJ)/tests/bench/bench.o $(ITEST_UTIL_LIB) $(TEST_UTIL_OBJ) $(PW_LIB) $(SC_LIB) $(PV_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PROG_LIBS)

bench: deps
	@$(MAKE) --no-print-directory all BUILD=build/normal
	@mkdir -p tests/bench/results
	PAYW_BUILD_DIR=build/normal build/normal/bench/bench $(BENCH_ARGS)
	@if [ -z "$(BENCH_ARGS)" ] && [ -z "$$PAYW_BENCH_ONLY" ]; then \
	    f=tests/bench/results/$$(date -u +%F-%H%M)-$$(hostname)-$$(nproc)cores.csv; \
	    cp tests/bench/results/latest.csv $$f && echo "kept: $$f"; fi
	@if command -v gnuplot >/dev/null; then gnuplot tests/bench/chart.gp && \
	    echo "chart: tests/bench/results/latest.png"; fi

# ---- the fault test: make chaos (full, <= 10 min), make chaos-quick or
# CHAOS_QUICK=1 (<= 2 min); tests/chaos/README.md -----------------------------

CHAOS_OBJ := $(patsubst %.c,$(OBJ)/%.o,$(sort $(wildcard tests/chaos/*.c)))

$(CHAOS_BIN): $(CHAOS_OBJ) $(ITEST_UTIL_LIB) $(TEST_UTIL_OBJ) $(PW_LIB) $(SC_LIB) $(PV_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PROG_LIBS)

chaos: deps
	@$(MAKE) --no-print-directory all BUILD=build/normal
	PAYW_BUILD_DIR=build/normal build/normal/chaos/chaos $(if $(CHAOS_QUICK),--quick)

chaos-quick:
	@$(MAKE) --no-print-directory chaos CHAOS_QUICK=1

# ---- fuzzing ---------------------------------------------------------------
# The fuzz target also links into a cmocka test that replays the corpus.
$(BUILD)/tests/test_fuzz_corpus: $(OBJ)/tests/unit/test_fuzz_corpus.o \
		$(OBJ)/tests/fuzz/fuzz_command.o $(TEST_UTIL_OBJ) $(SC_LIB) $(PV_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(AVRO_LIBS) $(JSONC_LIBS)

# make fuzz: libFuzzer (clang) with ASan+UBSan over command decoding for
# FUZZ_SECONDS, starting from the committed corpus; new inputs go to
# build/fuzz/corpus, crashes to build/fuzz/ (copy interesting ones into
# tests/fuzz/corpus/command so make test replays them).
FUZZ_SECONDS ?= 300
FUZZ_CFLAGS  := $(WARN) $(DEFS) -g -O1 $(addprefix -I,$(filter libprovider% schemas%,$(INC_DIRS))) \
                -fsanitize=fuzzer,address,undefined
FUZZ_SRC     := tests/fuzz/fuzz_command.c $(PV_SRC) $(SC_SRC)

build/fuzz/fuzz_command: $(FUZZ_SRC) $(AVSC)
	@$(MAKE) --no-print-directory BUILD=build/fuzz build/fuzz/gen/sc_avsc.c
	clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRC) build/fuzz/gen/sc_avsc.c $(AVRO_LIBS) $(JSONC_LIBS)

fuzz: deps build/fuzz/fuzz_command
	@mkdir -p build/fuzz/corpus
	cp -n tests/fuzz/corpus/command/* build/fuzz/corpus/ 2>/dev/null || true
	build/fuzz/fuzz_command -max_total_time=$(FUZZ_SECONDS) -max_len=1048576 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix=build/fuzz/ build/fuzz/corpus

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- the test command (README, .ci/run) ------------------------------------
deps:
	@sh ops/deps.sh

test: deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory all BUILD=build/normal
	@$(MAKE) --no-print-directory all BUILD=build/asan SAN=1 OPT=-O1
	@sh tests/run-tests.sh build/normal build/asan

# ---- the embedded dev stack (README's first command) ------------------------
run: deps
	@$(MAKE) --no-print-directory all BUILD=build/normal
	@sh ops/run-dev.sh

# ---- style ---------------------------------------------------------------
FORMAT_SRC = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
BANNED     := sprintf|vsprintf|strcpy|strcat|atoi|atol|gets|strtok

check:
	@sh ops/deps.sh
	@clang-format --dry-run --Werror $(FORMAT_SRC)
	@if grep -nE '(^|[^_a-zA-Z0-9.>])($(BANNED))[[:space:]]*\(' $(FORMAT_SRC); then \
	    echo "make check: banned function used (see above): $(BANNED)" >&2; exit 1; fi
	@if grep -nE '(^|[^_a-zA-Z0-9.>])(malloc|calloc|realloc|strdup|strndup)[[:space:]]*\(' \
	    $(filter-out worker/pw_alloc.c,$(wildcard worker/*.c worker/*/*.c)); then \
	    echo "make check: worker/ allocates through pw_alloc.h (pw_alloc_malloc, ...), which never returns NULL" >&2; exit 1; fi
	@sh ops/check-layers.sh
	@sh ops/check-prefixes.sh || { echo "make check: the functions above do not start with their file's name" >&2; exit 1; }
	@sh ops/check-sizes.sh
	@echo "check: format, banned functions, the worker's allocator, layering, prefixes and sizes OK"

format:
	clang-format -i $(FORMAT_SRC)

clean:
	rm -rf build
