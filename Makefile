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
	src/config_mime.c src/config_check.c src/sites.c \
	src/coro.c src/timer.c src/netpoll.c src/conn.c src/http.c src/http_scan.c \
	src/date.c src/mime.c src/static.c src/path.c src/route.c src/filecache.c \
	src/autoindex.c src/proxy.c src/upstream.c src/notify.c src/accesslog.c \
	src/metrics.c
# B: a build directory prefix ("build/asan/"); empty = objects beside the sources.
B =
OBJ = $(addprefix $(B),$(SRC:.c=.o)) $(B)src/coro_$(ARCH).o
ifneq ($(LLHTTP_SRC),)
LLHTTP_OBJ = $(B)src/llhttp/llhttp.o $(B)src/llhttp/api.o $(B)src/llhttp/http.o
endif

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# One guard page per coroutine stack: no frame may jump over it.
BASE_CFLAGS = -std=gnu11 -D_GNU_SOURCE -DLLHTTP_STRICT_MODE=1 -fstack-clash-protection \
	$(LLHTTP_CFLAGS) $(DEP_CFLAGS) $(CFLAGS)
ALL_CFLAGS = $(WARN) $(BASE_CFLAGS) -MMD -MP
LIBS = $(LLHTTP_LIBS) $(DEP_LIBS)

all: $(B)src/garcom

$(B)src/garcom: $(OBJ) $(LLHTTP_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJ) $(LLHTTP_OBJ) $(LIBS)

$(OBJ): src/build.h

$(B)src/%.o: src/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)src/%.o: src/%.S config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# llhttp's generated C is not warning-clean: its own flags, none of ours.
$(B)src/llhttp/%.o: $(LLHTTP_SRC)/%.c config.mk
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -w -c -o $@ $<

# ---- tests -------------------------------------------------------------
T = $(B)tests/unit/
UNIT = $(T)test_coro $(T)test_timer $(T)test_netpoll $(T)test_config $(T)test_path $(T)test_sites \
	$(T)test_http $(T)test_scan_response
CORO_OBJ = $(B)src/coro.o $(B)src/coro_$(ARCH).o
NET_OBJ = $(B)src/timer.o $(B)src/netpoll.o $(B)src/conn.o $(B)src/log.o $(CORO_OBJ)
CONFIG_OBJ = $(addprefix $(B)src/,config.o config_value.o config_schema.o config_dump.o \
	config_mime.o config_check.o sites.o)

$(T)test_coro: tests/unit/test_coro.c $(CORO_OBJ)
$(T)test_timer: tests/unit/test_timer.c $(B)src/timer.o
$(T)test_netpoll: tests/unit/test_netpoll.c $(NET_OBJ)
$(T)test_config: tests/unit/test_config.c $(CONFIG_OBJ)
$(T)test_sites: tests/unit/test_sites.c $(CONFIG_OBJ)
$(T)test_path: tests/unit/test_path.c $(B)src/path.o $(B)src/date.o $(B)src/mime.o
$(T)test_http: tests/unit/test_http.c $(B)src/http.o $(B)src/http_scan.o $(B)src/date.o $(NET_OBJ) \
	$(LLHTTP_OBJ)
$(T)test_scan_response: tests/unit/test_scan_response.c $(B)src/http_scan.o
$(UNIT):
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Isrc -o $@ $^ $(LIBS) $(CMOCKA_LIBS)

unit: $(UNIT)
	@for t in $(UNIT); do echo "== $$t"; ./$$t || exit 1; done
	@[ -n "$(B)" ] || sh tests/unit/cross-aarch64.sh

# GARCOM_BINARY tells the tests which build to run.
integration: $(B)src/garcom
	GARCOM_BINARY=$(CURDIR)/$(B)src/garcom /usr/bin/python3 -m pytest -q tests/integration

check: test-deps
	@$(MAKE) --no-print-directory all unit integration

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer,
# built apart in build/asan/ so the normal objects stay as they are. Every
# report, from a test program or from any daemon process (a worker's leak
# report at exit reaches no test), goes to a file under build/asan/; any such
# file fails the run. Fake stacks (use-after-return) are off: they move
# locals off the coroutine stacks the coroutine tests measure. SEGV is left
# to the kernel, as in the normal build: some tests kill a worker with it.
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
ASAN_REPORTS = $(CURDIR)/build/asan/report
ASAN_ENV = GARCOM_SANITIZED=1 \
	ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=0:handle_segv=0:log_path=$(ASAN_REPORTS) \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(ASAN_REPORTS)
check-asan: test-deps
	@rm -f $(ASAN_REPORTS).*
	@$(ASAN_ENV) $(MAKE) --no-print-directory B=build/asan/ CFLAGS="$(ASAN_FLAGS)" \
		LDFLAGS="$(ASAN_FLAGS)" all unit integration; st=$$?; \
	if ls $(ASAN_REPORTS).* >/dev/null 2>&1; then \
		cat $(ASAN_REPORTS).*; echo "check-asan: the sanitizer reports above fail the run"; exit 1; \
	fi; exit $$st

test-deps:
	@sh tools/deps.sh check
	@test -f config.mk || ./configure

run: $(B)src/garcom
	$(B)src/garcom -c conf/garcom.conf

# The bench (issue 7): not part of `all`. bench/floor is the floor, the
# least an HTTP server can do per request on this machine.
bench/floor: bench/floor.c
	$(CC) -O2 -g $(WARN) -std=gnu11 -o $@ $<

bench: src/garcom bench/floor
	@sh tools/deps.sh bench
	sh bench/bench.sh

bench-count: src/garcom bench/floor
	@sh tools/deps.sh bench
	sh bench/count.sh

# ---- fuzzing (libFuzzer, clang) ----------------------------------------
# `make fuzz [FUZZ_TIME=60]`: build every target with clang into
# tests/fuzz/build (never the gcc objects in src/), replay the committed
# regressions, then run each target FUZZ_TIME seconds on a scratch copy of
# its seed corpus. `make fuzz-smoke`: the same, 10 seconds each.
FUZZ_TIME ?= 60
FUZZ_CC ?= clang
FUZZ_DIR = tests/fuzz/build
FUZZ_TARGETS = request conditional proxy config sites scan scan_response serve_diff
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
install: $(B)src/garcom
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SYSCONFDIR)/garcom/sites.d \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/garcom/html
	install -m 755 $(B)src/garcom $(DESTDIR)$(SBINDIR)/garcom
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
	rm -f src/garcom src/*.o src/*.d src/llhttp/*.o src/llhttp/*.d $(UNIT) tests/unit/*.d bench/floor
	rm -rf build
	rm -rf tests/integration/__pycache__ .pytest_cache tests/integration/.pytest_cache
	rm -rf $(FUZZ_DIR)

distclean: clean
	rm -f config.mk src/build.h

deps:
	@sh tools/deps.sh check

.PHONY: all unit integration check check-asan test-deps run bench bench-count install uninstall \
	clean distclean deps fuzz fuzz-smoke fuzz-build fuzz-deps

-include $(B)src/*.d $(B)src/llhttp/*.d $(wildcard $(FUZZ_DIR)/*.d)
