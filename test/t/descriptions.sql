-- The one description of the log's columns, feed filters and feed indexes
-- (src/activity.h, src/columns.c) against every SQL object that must agree
-- with it: the table, every partition's indexes, the validation constraint's
-- function, record(), page(), page_plans() and the view. Adding a column or
-- a filter to the C description without the SQL (or the other way round)
-- fails here.
BEGIN;
SELECT plan(14);

SELECT activity.create_partitions('2031-01-01', '2031-03-01') \g /dev/null

-- columns
SELECT results_eq(
    $$SELECT a.attname::text COLLATE "default", a.atttypid::regtype FROM pg_attribute a
      WHERE a.attrelid = 'activity.activities'::regclass AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attname <> 'xact_id' ORDER BY a.attnum$$,
    $$SELECT name, type FROM activity._columns() ORDER BY ord$$,
    'activity.activities has the described columns, in order (xact_id aside), with their types');
SELECT is((SELECT count(*) FROM pg_inherits i
           JOIN pg_attribute a ON a.attrelid = i.inhrelid AND a.attnum > 0 AND NOT a.attisdropped
           WHERE i.inhparent = 'activity.activities'::regclass
             AND a.attname IN (SELECT name FROM activity._columns())),
          (SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity.activities'::regclass)
            * (SELECT count(*) FROM activity._columns()),
          'every partition has every described column');
SELECT results_eq(
    $$SELECT a.name COLLATE "default", a.type FROM unnest((SELECT proargnames FROM pg_proc WHERE oid = 'activity._valid_activity'::regproc),
                                        (SELECT proargtypes::regtype[] FROM pg_proc WHERE oid = 'activity._valid_activity'::regproc))
                              WITH ORDINALITY a(name, type, ord) ORDER BY a.ord$$,
    $$SELECT name, type FROM activity._columns() UNION ALL SELECT 'xact_id', 'xid8'::regtype$$,
    'the validation constraint''s function takes every described column, in order, then xact_id');
SELECT is((SELECT count(*) FROM pg_constraint c
           JOIN pg_inherits i ON i.inhrelid = c.conrelid AND i.inhparent = 'activity.activities'::regclass
           WHERE c.conname = 'activities_valid'
             AND pg_get_constraintdef(c.oid) = format('CHECK (activity._valid_activity(%s, xact_id)) NOT VALID',
                                                      (SELECT string_agg(name, ', ' ORDER BY ord) FROM activity._columns()))),
          (SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity.activities'::regclass),
          'every partition''s validation constraint passes every described column');
SELECT is(ARRAY(SELECT name FROM activity._columns()
                EXCEPT SELECT unnest(proargnames) FROM pg_proc WHERE oid = 'activity.record'::regproc),
          '{recorded_at}'::text[],
          'record() has an argument named after every described column but recorded_at (the server sets it)');
SELECT is(ARRAY(SELECT name FROM activity._columns()
                EXCEPT SELECT attname::text FROM pg_attribute
                       WHERE attrelid = 'activity.activity_log'::regclass AND attnum > 0),
          '{}'::text[], 'the view activity.activity_log shows every described column');

-- page(): its result is every described column, then the cursor
SELECT results_eq(
    $$SELECT a.name COLLATE "default", a.type::regtype FROM pg_proc p,
             unnest(p.proargnames, p.proallargtypes, p.proargmodes) WITH ORDINALITY a(name, type, mode, ord)
      WHERE p.oid = 'activity.page'::regproc AND a.mode = 't' ORDER BY a.ord$$,
    $$SELECT name, type FROM activity._columns()
      UNION ALL VALUES ('cursor', 'activity.cursor'::regtype), ('has_more', 'boolean'::regtype)$$,
    'page() returns every described column, in order, then cursor and has_more');

-- feed filters: each is an argument of page() and page_plans(), of its type,
-- on a described column
SELECT is(ARRAY(SELECT f.argument || ' ' || f.type FROM activity._feed_filters() f
                EXCEPT SELECT a.name || ' ' || a.type::regtype FROM pg_proc p,
                       unnest(p.proargnames, p.proallargtypes, p.proargmodes) a(name, type, mode)
                       WHERE p.oid = 'activity.page'::regproc AND a.mode = 'i'),
          '{}'::text[], 'page() has an argument for every described filter, of its type');
SELECT is(ARRAY(SELECT f.argument || ' ' || f.type FROM activity._feed_filters() f
                EXCEPT SELECT a.name || ' ' || a.type::regtype FROM pg_proc p,
                       unnest(p.proargnames, p.proallargtypes, p.proargmodes) a(name, type, mode)
                       WHERE p.oid = 'activity.page_plans'::regproc AND a.mode = 'i'),
          '{}'::text[], 'page_plans() has an argument for every described filter, of its type');
SELECT is(ARRAY(SELECT "column" FROM activity._feed_filters() EXCEPT SELECT name FROM activity._columns()),
          '{}'::text[], 'every filter is on a described column');
SELECT is((SELECT array_agg(param ORDER BY ord) FROM activity._feed_filters()),
          (SELECT array_agg(3 + ord ORDER BY ord) FROM activity._feed_filters()),
          'the filters are the feed plan''s parameters $4 onwards, in order');

-- feed indexes: every partition has each, leading with the described columns
SELECT is((SELECT count(*) FROM pg_inherits p CROSS JOIN activity._feed_indexes() f
           WHERE p.inhparent = 'activity.activities'::regclass
             AND NOT EXISTS (
                 SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                 WHERE x.indrelid = p.inhrelid AND i.relname = (SELECT relname FROM pg_class WHERE oid = p.inhrelid) || f.suffix
                   AND x.indisunique = f."unique" AND x.indisvalid
                   AND ARRAY(SELECT a.attname::text FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY k(attnum, ord)
                             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.ord) = f.columns)),
          0::bigint, 'every partition has every described feed index, with its columns in order');
SELECT set_eq(
    $$SELECT name FROM activity._index_definitions('activity_partitions.activities_default')$$,
    $$SELECT 'activities_default' || suffix FROM activity._feed_indexes()$$,
    'a partition''s index statements are the described feed indexes (the change feed needs none: activity.feed_batches)');
SELECT is(ARRAY(SELECT c FROM activity._feed_indexes() f, unnest(f.columns) c EXCEPT SELECT name FROM activity._columns()),
          '{}'::text[], 'every feed index is on described columns');

SELECT * FROM finish();
ROLLBACK;
