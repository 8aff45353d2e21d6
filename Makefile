# eport-federation build. `make` builds bin/, `make test` runs every test in
# an ASan+UBSan build, `make bench` prints `bench NAME key=value` lines.
# Sources are found by wildcard so that a new module is one new file pair.

B         ?= build
PKGS      := libxml-2.0 yaml-0.1 jansson msgpack libcrypto libsodium libzmq hiredis libmicrohttpd libcurl
CC        ?= cc
CSTD      := -std=c11 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-format-truncation
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
INCS      := -Igateway -Iconnectors -Iconnectors/codec -Iconnectors/map
REL_FLAGS := -O2 -g
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
LDLIBS    := $(PKG_LIBS) -lpthread -lm

SRC_DIRS  := gateway connectors connectors/codec connectors/map
ALL_C     := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
TEST_C    := $(filter %_test.c,$(ALL_C))
LIB_C     := $(filter-out %_test.c,$(ALL_C))
CTL_C     := $(wildcard gateway/ctl/*.c)
D_C       := $(wildcard gateway/daemon/*.c)
FED_C     := $(wildcard tests/fed/*.c)
BENCH_C   := $(wildcard tests/bench/bench_*.c)
FUZZ_C    := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

.PHONY: all deps test unit golden bench fuzz lint clean demo demo-stop
all: bin/eportctl bin/eportd

deps:
	@sh deploy/deps.sh

$(B)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"; $(CC) $(CSTD) $(WARN) $(REL_FLAGS) $(INCS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"; $(CC) $(CSTD) $(WARN) $(SAN_FLAGS) $(INCS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

bin/eportctl: $(call obj,rel,$(CTL_C) $(LIB_C))
	@mkdir -p bin
	$(CC) $(REL_FLAGS) $^ -o $@ $(LDLIBS)

$(B)/san/bin/eportctl: $(call obj,san,$(CTL_C) $(LIB_C))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)

bin/eportd: $(call obj,rel,$(D_C) $(LIB_C))
	@mkdir -p bin
	$(CC) $(REL_FLAGS) $^ -o $@ $(LDLIBS)

$(B)/san/bin/eportd: $(call obj,san,$(D_C) $(LIB_C))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)

# Tools of the federation tests (tests/fed/*.c), one binary per file.
$(B)/san/fed/%: $(B)/san/tests/fed/%.o $(call obj,san,$(LIB_C))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS)

FED_BINS := $(patsubst tests/fed/%.c,$(B)/san/fed/%,$(FED_C))

# One cmocka binary per module test, linked with every library object.
$(B)/san/t/%: $(B)/san/%.o $(call obj,san,$(LIB_C))
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) $^ -o $@ $(LDLIBS) -lcmocka

UNIT_BINS := $(patsubst %.c,$(B)/san/t/%,$(TEST_C))

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

golden: $(B)/san/bin/eportctl
	@python3 tests/golden/run.py $(B)/san/bin/eportctl

test: $(UNIT_BINS) $(B)/san/bin/eportctl $(B)/san/bin/eportd $(FED_BINS)
	@B=$(B) sh tests/run-all.sh $(B)/san/bin/eportctl $(UNIT_BINS)

# Random faults (kill -9, Redis failovers, frozen processes) on two highly
# available provinces while records flow (tests/fed/chaos.py); ends with
# `chaos faults=N messages=M lost=0 duplicated=0`. CHAOS_SEED=N replays a
# schedule (the first line prints it), CHAOS_SECONDS (300) sets its length.
.PHONY: chaos
chaos: $(B)/san/bin/eportctl $(B)/san/bin/eportd
	@py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3; \
	EPORTD=$(abspath $(B))/san/bin/eportd EPORTCTL=$(abspath $(B))/san/bin/eportctl \
	    $$py tests/fed/chaos.py

# keep the objects of test binaries: rebuilding them on every run is waste
.SECONDARY:

$(B)/rel/bench/%: $(B)/rel/tests/bench/%.o $(call obj,rel,$(LIB_C))
	@mkdir -p $(dir $@)
	$(CC) $(REL_FLAGS) $^ -o $@ $(LDLIBS)

# Tools the Python benches drive (tests/bench/tool_*.c), not run alone.
$(B)/rel/benchtool/%: $(B)/rel/tests/bench/%.o $(call obj,rel,$(LIB_C))
	@mkdir -p $(dir $@)
	$(CC) $(REL_FLAGS) $^ -o $@ $(LDLIBS)

BENCHTOOL_C := $(wildcard tests/bench/tool_*.c)

bench: bin/eportctl bin/eportd $(patsubst tests/bench/%.c,$(B)/rel/bench/%,$(BENCH_C)) \
       $(patsubst tests/bench/%.c,$(B)/rel/benchtool/%,$(BENCHTOOL_C))
	@B=$(B) sh tests/bench/run.sh

# libFuzzer targets, built with clang; `make fuzz` runs each briefly.
FUZZ_SECONDS ?= 20
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined $(CSTD) $(INCS)
$(B)/fuzz/%: tests/fuzz/%.c $(LIB_C)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) $(PKG_CFLAGS) $^ -o $@ $(LDLIBS)

fuzz: $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_C))
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $^

lint: bin/eportctl
	bin/eportctl lint mappings

# The demo federation (deploy/demo/README.md): what is missing installed,
# bin/ built (each a make of its own: the flags are read once the
# packages are there), then five nodes on loopback until Ctrl-C.
# DEMO_ARGS: --once, --keep-state.
demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@python3 deploy/demo/run.py $(DEMO_ARGS)

demo-stop:
	@python3 deploy/demo/run.py --stop

clean:
	rm -rf build bin

-include $(shell find $(B) -name "*.d" 2>/dev/null)
