# activity: a PostgreSQL extension for append-only, validated, paged activity logs.
EXTENSION = activity
EXTVERSION = 0.2

MODULE_big = activity
OBJS = \
	src/activity.o \
	src/capture.o \
	src/chain.o \
	src/columns.o \
	src/counts.o \
	src/cursor.o \
	src/drop_guard.o \
	src/formats.o \
	src/ids.o \
	src/ingest.o \
	src/feed.o \
	src/jsonschema.o \
	src/maintenance.o \
	src/page.o \
	src/partitions.o \
	src/registry.o \
	src/uuidv7.o \
	src/validate.o

DATA = $(wildcard sql/activity--*.sql)

TESTS = $(wildcard test/sql/*.sql)
# change_feed last: its retention run removes the old rows of the others
REGRESS = $(filter-out change_feed,$(patsubst test/sql/%.sql,%,$(TESTS))) change_feed
REGRESS_OPTS = --inputdir=test --load-extension=activity

PG_CONFIG ?= pg_config
# PostgreSQL 14 to 18 (src/compat.h holds every difference)
PG_MAJOR := $(shell $(PG_CONFIG) --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
ifeq ($(shell test "$(PG_MAJOR)" -ge 14 -a "$(PG_MAJOR)" -le 18 2>/dev/null && echo ok),)
$(error activity supports PostgreSQL 14 to 18; $(PG_CONFIG) is PostgreSQL $(PG_MAJOR))
endif
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): src/activity.h src/compat.h src/jsonschema.h

.PHONY: prove
# pgTAP tests (need a running server and the extension installed)
prove:
	pg_prove --ext .sql -r test/t
