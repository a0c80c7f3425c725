# mule — see README.md.  `make demo` and `make check` do all the set-up.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANPREFIX ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR   ?=

CC        ?= cc
PKG_CONFIG ?= pkg-config
VERSION   := 0.1.0

PKGS      := libsodium libarchive sqlite3 libzstd libisal gnutls libqrencode \
             libpng
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# libetpan: pkg-config when it has a .pc file, else libetpan-config.  Its
# Debian .pc adds hardening -specs flags meant for Debian's own build; drop them.
ETPAN_CFLAGS := $(shell $(PKG_CONFIG) --cflags libetpan 2>/dev/null || libetpan-config --cflags 2>/dev/null)
ETPAN_LIBS := $(filter-out -specs=%,$(shell $(PKG_CONFIG) --libs libetpan 2>/dev/null || libetpan-config --libs 2>/dev/null))

CFLAGS    ?= -O2 -g
CSTD      := -std=c11 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Wno-unused-parameter
ifeq ($(DEVELOPER),1)
WARN      += -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wpointer-arith -Wformat=2 -Wvla -Wimplicit-fallthrough
endif
ifeq ($(SANITIZE),1)
CFLAGS    += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
endif
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) -I. $(PKG_CFLAGS) $(ETPAN_CFLAGS) \
             -DMULE_VERSION=\"$(VERSION)\" -DMULE_MANDIR=\"$(MANPREFIX)\"
LIBS      = $(PKG_LIBS) $(ETPAN_LIBS) -lm -pthread

LIB_SRC   := $(wildcard core/*.c crypto/*.c bundle/*.c replica/*.c replica/*/*.c \
             transports/*.c sync/*.c)
LIB_OBJ   := $(LIB_SRC:.c=.o)
CLI_SRC   := $(wildcard cli/*.c)
CLI_OBJ   := $(CLI_SRC:.c=.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:.c=)
HDRS      := $(wildcard core/*.h crypto/*.h bundle/*.h replica/*.h replica/*/*.h \
             transports/*.h sync/*.h cli/*.h)
MANS      := $(wildcard man/*.1 man/*.5)

.PHONY: all check test unit deps demo bench fuzz install uninstall clean lint soak

all: mule

libmule.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

%.o: %.c $(HDRS)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

mule: $(CLI_OBJ) libmule.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) libmule.a $(LIBS)

tests/unit/test_%: tests/unit/test_%.c libmule.a $(HDRS) $(wildcard tests/unit/*.h)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< libmule.a $(LIBS) -lcmocka

unit: $(UNIT_BIN)

deps:
	@sh scripts/deps.sh

check: deps
	$(MAKE) all unit
	@sh tests/run.sh

test: check

demo: deps
	$(MAKE) all
	@sh scripts/demo.sh

bench: deps
	@sh scripts/deps.sh --bench
	$(MAKE) all
	@sh bench/run.sh

soak: all
	@MULE_SOAK=1 sh tests/run.sh

FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:.c=)
FUZZ_TIME ?= 60
fuzz:
	@sh scripts/deps.sh --fuzz
	$(MAKE) clean
	$(MAKE) CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" libmule.a
	for f in $(FUZZ_SRC); do \
	  clang $(CSTD) -O1 -g -I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $${f%.c} $$f libmule.a $(LIBS) || exit 1; done
	@sh tests/fuzz/run.sh $(FUZZ_TIME)

lint: all
	@sh scripts/deps.sh --lint
	mandoc -Tlint -Wwarning $(MANS)
	python3 scripts/callgraph.py
	python3 scripts/callgraph.py --level dir

install: mule
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man5
	install -m 0755 mule $(DESTDIR)$(BINDIR)/mule
	for m in man/*.1; do install -m 0644 $$m $(DESTDIR)$(MANPREFIX)/man1/; done
	for m in man/*.5; do install -m 0644 $$m $(DESTDIR)$(MANPREFIX)/man5/; done
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 completion/mule.bash $(DESTDIR)$(BASHCOMPDIR)/mule

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mule
	for m in man/*.1; do rm -f $(DESTDIR)$(MANPREFIX)/man1/$${m#man/}; done
	for m in man/*.5; do rm -f $(DESTDIR)$(MANPREFIX)/man5/$${m#man/}; done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/mule

clean:
	rm -f mule libmule.a $(LIB_OBJ) $(CLI_OBJ) $(UNIT_BIN) $(FUZZ_BIN)
	rm -rf tests/trash.* tests/out demo
