# garcom — see README. `make run` and `make check` work on a fresh Debian
# machine: they install what is missing, configure, build, then run or test.
# Packagers: ./configure && make && make install [PREFIX=...] [DESTDIR=...]

.DEFAULT_GOAL := all

-include config.mk

# Written by ./configure; on a fresh clone the deps come first.
config.mk src/build.h: configure VERSION
	@sh tools/deps.sh build
	./configure

SRC = src/main.c src/master.c src/worker.c src/log.c src/config.c src/config_value.c src/config_schema.c src/config_dump.c \
	src/config_mime.c src/sites.c \
	src/coro.c src/timer.c src/netpoll.c src/conn.c src/http.c \
	src/date.c src/mime.c src/static.c src/path.c src/route.c src/filecache.c \
	src/autoindex.c src/proxy.c src/upstream.c src/notify.c src/accesslog.c \
	src/metrics.c
OBJ = $(SRC:.c=.o) src/coro_$(ARCH).o
ifneq ($(LLHTTP_SRC),)
LLHTTP_OBJ = src/llhttp/llhttp.o src/llhttp/api.o src/llhttp/http.o
endif

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# One guard page per coroutine stack: no frame may jump over it.
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DLLHTTP_STRICT_MODE=1 -fstack-clash-protection \
	$(LLHTTP_CFLAGS) $(DEP_CFLAGS) $(CFLAGS)
ALL_CFLAGS = $(WARN) $(BASE_CFLAGS) -MMD -MP
LIBS = $(LLHTTP_LIBS) $(DEP_LIBS)

all: src/garcom

src/garcom: $(OBJ) $(LLHTTP_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(LLHTTP_OBJ) $(LIBS)

$(OBJ): src/build.h

src/%.o: src/%.c config.mk
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

src/%.o: src/%.S config.mk
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# llhttp's generated C is not warning-clean: its own flags, none of ours.
src/llhttp/%.o: $(LLHTTP_SRC)/%.c config.mk
	@mkdir -p src/llhttp
	$(CC) $(BASE_CFLAGS) -w -c -o $@ $<

# ---- tests -------------------------------------------------------------
UNIT = tests/unit/test_coro tests/unit/test_timer tests/unit/test_netpoll \
	tests/unit/test_config tests/unit/test_path tests/unit/test_sites
CORO_OBJ = src/coro.o src/coro_$(ARCH).o
NET_OBJ = src/timer.o src/netpoll.o src/conn.o src/log.o $(CORO_OBJ)

tests/unit/test_coro: tests/unit/test_coro.c $(CORO_OBJ)
tests/unit/test_timer: tests/unit/test_timer.c src/timer.o
tests/unit/test_netpoll: tests/unit/test_netpoll.c $(NET_OBJ)
tests/unit/test_config: tests/unit/test_config.c src/config.o src/config_value.o src/config_schema.o src/config_dump.o src/config_mime.o src/sites.o
tests/unit/test_sites: tests/unit/test_sites.c src/config.o src/config_value.o src/config_schema.o src/config_dump.o src/config_mime.o src/sites.o
tests/unit/test_path: tests/unit/test_path.c src/path.o src/date.o src/mime.o
$(UNIT):
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $^ $(LIBS) $(CMOCKA_LIBS)

unit: $(UNIT)
	@for t in $(UNIT); do echo "== $$t"; ./$$t || exit 1; done
	@sh tests/unit/cross-aarch64.sh

integration: src/garcom
	/usr/bin/python3 -m pytest -q tests/integration

check: test-deps
	@$(MAKE) --no-print-directory all unit integration

test-deps:
	@sh tools/deps.sh check
	@test -f config.mk || ./configure

run: src/garcom
	src/garcom -c conf/garcom.conf

bench: src/garcom
	@sh tools/deps.sh bench
	sh bench/bench.sh

# ---- fuzzing (libFuzzer, clang) ----------------------------------------
# `make fuzz [FUZZ_TIME=60]`: build every target with clang into
# tests/fuzz/build (never the gcc objects in src/), replay the committed
# regressions, then run each target FUZZ_TIME seconds on a scratch copy of
# its seed corpus. `make fuzz-smoke`: the same, 10 seconds each.
FUZZ_TIME ?= 60
FUZZ_CC ?= clang
FUZZ_DIR = tests/fuzz/build
FUZZ_TARGETS = request conditional proxy config sites
FUZZ_BIN = $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DLLHTTP_STRICT_MODE=1 -g -O1 -fno-omit-frame-pointer \
	$(FUZZ_SAN) $(LLHTTP_CFLAGS) $(DEP_CFLAGS)
FUZZ_LIB_OBJ = $(patsubst src/%.c,$(FUZZ_DIR)/%.o,$(filter-out src/main.c src/master.c src/worker.c,$(SRC))) \
	$(FUZZ_DIR)/coro_$(ARCH).o
ifneq ($(LLHTTP_SRC),)
FUZZ_LIB_OBJ += $(FUZZ_DIR)/llhttp/llhttp.o $(FUZZ_DIR)/llhttp/api.o $(FUZZ_DIR)/llhttp/http.o
endif

$(FUZZ_DIR)/%.o: src/%.c config.mk src/build.h
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/%.o: src/%.S config.mk
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/llhttp/%.o: $(LLHTTP_SRC)/%.c config.mk
	@mkdir -p $(FUZZ_DIR)/llhttp
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -w -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/world.c tests/fuzz/world.h tests/fuzz/sandbox.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc -Itests/fuzz -o $@ \
		$< tests/fuzz/world.c tests/fuzz/sandbox.c $(FUZZ_LIB_OBJ) $(LIBS) -ldl

# Kept between builds (make would delete them as intermediate files).
.SECONDARY: $(FUZZ_LIB_OBJ)

fuzz-build: fuzz-deps $(FUZZ_BIN)

fuzz-deps:
	@sh tools/deps.sh fuzz

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	sh tests/fuzz/run.sh 10 $(FUZZ_TARGETS)

# ---- install -----------------------------------------------------------
install: src/garcom
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/garcom/sites.d \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/garcom/html
	install -m 755 src/garcom $(DESTDIR)$(SBINDIR)/garcom
	test -f $(DESTDIR)$(SYSCONFDIR)/garcom/garcom.conf || \
		sed -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DATADIR@|$(PREFIX)/share|g' \
		conf/garcom.conf.in >$(DESTDIR)$(SYSCONFDIR)/garcom/garcom.conf
	install -m 644 www/* $(DESTDIR)$(PREFIX)/share/garcom/html/
	install -m 644 man/garcom.8 $(DESTDIR)$(MANDIR)/man8/garcom.8
	install -m 644 man/garcom.conf.5 $(DESTDIR)$(MANDIR)/man5/garcom.conf.5
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		systemd/garcom.service.in >$(DESTDIR)$(PREFIX)/lib/systemd/system/garcom.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/garcom $(DESTDIR)$(MANDIR)/man8/garcom.8 \
		$(DESTDIR)$(MANDIR)/man5/garcom.conf.5 \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/garcom.service
	for f in www/*; do rm -f "$(DESTDIR)$(PREFIX)/share/garcom/html/$${f#www/}"; done
	rmdir $(DESTDIR)$(PREFIX)/share/garcom/html $(DESTDIR)$(PREFIX)/share/garcom 2>/dev/null || true
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/garcom (your configuration)"

clean:
	rm -f src/garcom src/*.o src/*.d src/llhttp/*.o src/llhttp/*.d $(UNIT) tests/unit/*.d
	rm -rf tests/integration/__pycache__ .pytest_cache tests/integration/.pytest_cache
	rm -rf $(FUZZ_DIR)

distclean: clean
	rm -f config.mk src/build.h

deps:
	@sh tools/deps.sh check

.PHONY: all unit integration check test-deps run bench install uninstall clean distclean deps \
	fuzz fuzz-smoke fuzz-build fuzz-deps

-include src/*.d src/llhttp/*.d $(wildcard $(FUZZ_DIR)/*.d)
