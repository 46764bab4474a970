-- The activity.cursor type: text form, checksum, versioning, binding to a workspace
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

-- Errors are shown as "SQLSTATE: message DETAIL: detail" so the output does not
-- depend on C file names or line numbers.
\i test/sql/include/expect_error.sql

-- An independent implementation of the documented format: 1 byte version,
-- 1 byte flags, 8 bytes occurred_at (microseconds since 2000-01-01, big
-- endian), 16 bytes id, 8 bytes query hash, 4 bytes CRC-32C of the first 34
-- bytes; unpadded URL-safe base64. Format 1 (0.1): a 4-byte hash, the CRC of
-- the first 30 bytes.
CREATE FUNCTION pg_temp.crc32c(b bytea) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    crc bigint := 4294967295;
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        crc := crc # get_byte(b, i);
        FOR k IN 1 .. 8 LOOP
            IF (crc & 1) = 1 THEN
                crc := (crc >> 1) # 2197175160;   -- 0x82F63B78
            ELSE
                crc := crc >> 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN crc # 4294967295;
END;
$$;
-- the well-known check value of CRC-32C
SELECT to_hex(pg_temp.crc32c('123456789'::bytea)) AS crc32c_check;

CREATE FUNCTION pg_temp.be4(v bigint) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT substring(int8send(v) FROM 5 FOR 4) $$;

-- the 64-bit hash of a workspace's unfiltered newest-first feed; format 1
-- cursors carry its low 32 bits
CREATE FUNCTION pg_temp.query_hash(workspace text) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT hashtextextended('v1|d|' || workspace, 1633907830)
$$;

CREATE FUNCTION pg_temp.cursor_bytes(ver int, flags int, ts timestamptz, id uuid, qhash bigint)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT p || pg_temp.be4(pg_temp.crc32c(p))
    FROM (SELECT set_byte('\x00'::bytea, 0, ver) || set_byte('\x00'::bytea, 0, flags)
                 || int8send(((extract(epoch FROM ts) - 946684800) * 1000000)::bigint)
                 || uuid_send(id)
                 || CASE WHEN ver = 1 THEN pg_temp.be4(qhash & 4294967295) ELSE int8send(qhash) END AS p) s
$$;

CREATE FUNCTION pg_temp.b64url(b bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT translate(rtrim(replace(encode(b, 'base64'), E'\n', ''), '='), '+/', '-_')
$$;

-- a cursor of format 2 at a raw position (microseconds since 2000-01-01)
CREATE FUNCTION pg_temp.cursor_at(us bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.b64url(p || pg_temp.be4(pg_temp.crc32c(p)))
    FROM (SELECT '\x0200'::bytea || int8send(us) || uuid_send('01890000-0000-7000-8000-000000000001') || int8send(0) AS p) s
$$;

CREATE FUNCTION pg_temp.make_cursor(ver int, flags int, ts timestamptz, id uuid, qhash bigint)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT pg_temp.b64url(pg_temp.cursor_bytes(ver, flags, ts, id, qhash))
$$;

SELECT name FROM activity.register_type('cur.event');
INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at) VALUES
    ('01890000-0000-7000-8000-000000000001', 'cur-ws', 'cur.event', 'u1', '2031-06-01 10:00:00+00'),
    ('01890000-0000-7000-8000-000000000002', 'cur-ws', 'cur.event', 'u2', '2031-06-01 11:00:00+00'),
    ('01890000-0000-7000-8000-000000000003', 'cur-ws', 'cur.event', 'u3', '2031-06-01 12:00:00+00');

-- a cursor names the row it was returned with
SELECT p.initiator_id, i.format_version, i.direction, i.occurred_at, i.id,
       i.query_hash = pg_temp.query_hash('cur-ws') AS bound_to_workspace
FROM activity.page('cur-ws') p, activity.cursor_info(p.cursor) i;

-- its text form: 51 URL-safe characters, exactly the documented encoding
SELECT length(p.cursor::text) AS len,
       p.cursor::text ~ '^[A-Za-z0-9_-]{51}$' AS url_safe,
       p.cursor::text = pg_temp.make_cursor(2, 0, p.occurred_at, p.id, pg_temp.query_hash('cur-ws')) AS documented_format,
       p.cursor::text::activity.cursor OPERATOR(activity.=) p.cursor AS text_round_trip,
       length(activity.cursor_send(p.cursor)) AS binary_bytes,
       activity.cursor_send(p.cursor) = pg_temp.cursor_bytes(2, 0, p.occurred_at, p.id, pg_temp.query_hash('cur-ws')) AS binary_format
FROM activity.page('cur-ws') p;

-- equality: same position of the same query. The operator lives in schema
-- activity, like the type: qualify it or put the schema on the search_path.
SELECT a.initiator_id AS a, b.initiator_id AS b, a.cursor OPERATOR(activity.=) b.cursor AS equal
FROM activity.page('cur-ws') a, activity.page('cur-ws') b
ORDER BY 1, 2;

-- a hand-made cursor with a valid checksum is accepted and pages on from there
SELECT initiator_id, has_more
FROM activity.page('cur-ws',
        pg_temp.make_cursor(2, 0, '2031-06-01 12:00:00+00', '01890000-0000-7000-8000-000000000003',
                            pg_temp.query_hash('cur-ws'))::activity.cursor);
-- so is a cursor of format 1 (issued by 0.1 and the first 0.2 builds: 46
-- characters, a 32-bit hash), checked against the low 32 bits of the hash
SELECT length(c) AS format_1_length, (activity.cursor_info(c::activity.cursor)).format_version,
       (SELECT string_agg(initiator_id, ',') FROM activity.page('cur-ws', c::activity.cursor)) AS pages_on
FROM (SELECT pg_temp.make_cursor(1, 0, '2031-06-01 12:00:00+00', '01890000-0000-7000-8000-000000000003',
                                 pg_temp.query_hash('cur-ws')) AS c) x;

-- NULL cursor: from the start
SELECT count(*) FROM activity.page('cur-ws', NULL);

-- Input errors: all SQLSTATE 22P02 with a detail naming the problem
SELECT label, pg_temp.expect_error(format('SELECT %L::activity.cursor', input)) AS error
FROM (VALUES
    ('empty', ''),
    ('too short', 'abc'),
    ('45 characters', repeat('A', 45)),
    ('47 characters', repeat('A', 47)),
    ('50 characters', repeat('A', 50)),
    ('52 characters', repeat('A', 52)),
    ('long input is shortened in the message', repeat('x', 100)),
    ('plus sign (standard base64)', repeat('A', 50) || '+'),
    ('slash (standard base64)', '/' || repeat('A', 50)),
    ('padding', repeat('A', 49) || '=='),
    ('space', repeat('A', 20) || ' ' || repeat('A', 30)),
    ('non-ASCII, 51 bytes', repeat('A', 49) || 'é'),
    ('non-ASCII, 51 characters', repeat('A', 50) || 'é'),
    ('all zero bytes', repeat('A', 51)),
    ('all zero bytes, format 1 length', repeat('A', 46))
) t(label, input);

-- Every single-character change of a valid cursor is rejected as corrupted
-- (51 positions x 63 other characters).
WITH good AS (
    SELECT cursor::text AS c FROM activity.page('cur-ws', NULL, 1)
), alphabet AS (
    SELECT substr('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', n, 1) AS ch
    FROM generate_series(1, 64) n
), edits AS (
    SELECT overlay(g.c PLACING a.ch FROM pos FOR 1) AS edited
    FROM good g, generate_series(1, 51) pos, alphabet a
    WHERE substr(g.c, pos, 1) <> a.ch
)
SELECT count(*) AS edits,
       regexp_replace(pg_temp.expect_error(format('SELECT %L::activity.cursor', edited)),
                      '"[^"]*"', '"..."') AS error
FROM edits
GROUP BY 2;

-- Well-formed and checksummed, but a format version or flags this version does not know
SELECT label, pg_temp.expect_error(format('SELECT %L::activity.cursor', input)) AS error
FROM (VALUES
    ('format version 0', pg_temp.make_cursor(0, 0, '2031-06-01', '01890000-0000-7000-8000-000000000001', 0)),
    ('format version 3', pg_temp.make_cursor(3, 0, '2031-06-01', '01890000-0000-7000-8000-000000000001', 0)),
    ('format version 255', pg_temp.make_cursor(255, 0, '2031-06-01', '01890000-0000-7000-8000-000000000001', 0)),
    ('unknown flag 0x02', pg_temp.make_cursor(2, 2, '2031-06-01', '01890000-0000-7000-8000-000000000001', 0)),
    ('unknown flag 0x80', pg_temp.make_cursor(2, 129, '2031-06-01', '01890000-0000-7000-8000-000000000001', 0)),
    ('unknown flag 0x02, format 1', pg_temp.make_cursor(1, 2, '2031-06-01', '01890000-0000-7000-8000-000000000001', 0)),
    -- a position no row can have: before 4714 BC, infinity (checksummed all the same)
    ('position before 4714 BC', pg_temp.cursor_at(-211813488000000001)),
    ('position infinity', pg_temp.cursor_at(9223372036854775807))
) t(label, input);

-- The ascending flag is a valid cursor, but not one page() (newest first) accepts
SELECT i.direction
FROM activity.cursor_info(pg_temp.make_cursor(2, 1, '2031-06-01', '01890000-0000-7000-8000-000000000001',
                                              pg_temp.query_hash('cur-ws'))::activity.cursor) i;
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.page('cur-ws', %L)$$,
    pg_temp.make_cursor(2, 1, '2031-06-01', '01890000-0000-7000-8000-000000000001',
                        pg_temp.query_hash('cur-ws')))) AS ascending_cursor;

-- A cursor is bound to its workspace: replaying it against another one fails
SELECT name FROM activity.register_type('cur.event');
SELECT activity.record('cur-other', 'cur.event', 'u9', occurred_at => '2031-06-01 09:00:00+00') IS NOT NULL AS recorded;
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.page('cur-other', %L)$$, cursor)) AS other_workspace
FROM activity.page('cur-ws', NULL, 1);
-- even when only the case of the workspace differs
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.page('CUR-WS', %L)$$, cursor)) AS other_case
FROM activity.page('cur-ws', NULL, 1);
-- a forged cursor with a valid checksum but the hash of another workspace
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.page('cur-ws', %L)$$,
    pg_temp.make_cursor(2, 0, '2031-06-01', '01890000-0000-7000-8000-000000000001',
                        pg_temp.query_hash('cur-other')))) AS forged_hash;
-- two workspaces whose hashes agree in 32 bits (easy to find): a cursor of
-- one is refused by the other (64 bits disagree)
SELECT (pg_temp.query_hash('tenant-22551') # pg_temp.query_hash('tenant-136504')) & 4294967295 = 0 AS low_32_bits_collide,
       pg_temp.query_hash('tenant-22551') = pg_temp.query_hash('tenant-136504') AS hashes_equal;
SELECT activity.record('tenant-22551', 'cur.event', 'u1', occurred_at => '2031-06-01 09:00:00+00') IS NOT NULL AS recorded;
SELECT activity.record('tenant-136504', 'cur.event', 'u1', occurred_at => '2031-06-01 09:00:00+00') IS NOT NULL AS recorded;
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.page('tenant-136504', %L)$$, cursor)) AS colliding_workspace
FROM activity.page('tenant-22551', NULL, 1);

-- Binary input (COPY ... FORMAT binary) is checked like text input: the
-- server reads a binary COPY stream, built here around the raw bytes, from a
-- program (no file is written).
CREATE TEMP TABLE cursors (c activity.cursor);
CREATE FUNCTION pg_temp.binary_copy(b bytea) RETURNS text
LANGUAGE sql AS $$
    SELECT 'echo ' || translate(encode(
               '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea    -- signature, flags, extension
               || '\x0001'::bytea || int4send(length(b)) || b                       -- one tuple of one field
               || '\xffff'::bytea,                                                  -- trailer
               'base64'), E'\n', '') || ' | base64 -d'
$$;
CREATE FUNCTION pg_temp.binary_input(b bytea) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE cursors;
    RETURN pg_temp.expect_error(format('COPY cursors FROM PROGRAM %L (FORMAT binary)', pg_temp.binary_copy(b)));
END;
$$;
SELECT label, pg_temp.binary_input(input) AS result
FROM (VALUES
    ('valid', pg_temp.cursor_bytes(2, 0, '2031-06-01 12:00:00+00', '01890000-0000-7000-8000-000000000003', pg_temp.query_hash('cur-ws'))),
    ('valid, format 1', pg_temp.cursor_bytes(1, 0, '2031-06-01 12:00:00+00', '01890000-0000-7000-8000-000000000003', pg_temp.query_hash('cur-ws'))),
    ('37 bytes', substring(pg_temp.cursor_bytes(2, 0, '2031-06-01', '01890000-0000-7000-8000-000000000003', 0) FROM 1 FOR 37)),
    ('39 bytes', pg_temp.cursor_bytes(2, 0, '2031-06-01', '01890000-0000-7000-8000-000000000003', 0) || '\x00'::bytea),
    ('bad checksum', set_byte(pg_temp.cursor_bytes(2, 0, '2031-06-01', '01890000-0000-7000-8000-000000000003', 0), 5, 1)),
    ('format version 3', pg_temp.cursor_bytes(3, 0, '2031-06-01', '01890000-0000-7000-8000-000000000003', 0)),
    ('unknown flags', pg_temp.cursor_bytes(2, 4, '2031-06-01', '01890000-0000-7000-8000-000000000003', 0))
) t(label, input);
SELECT pg_temp.binary_input(pg_temp.cursor_bytes(2, 0, '2031-06-01 12:00:00+00', '01890000-0000-7000-8000-000000000003',
                                                 pg_temp.query_hash('cur-ws'))) AS load_valid;
SELECT c OPERATOR(activity.=) (SELECT cursor FROM activity.page('cur-ws', NULL, 1)) AS binary_round_trip FROM cursors;

-- NULLs: the cursor functions are strict
SELECT activity.cursor_info(NULL) IS NULL AS info_null,
       (NULL::activity.cursor OPERATOR(activity.=) NULL) IS NULL AS eq_null,
       activity.cursor_send(NULL) IS NULL AS send_null;
-- with the schema on the search_path, plain = works
SET search_path = activity, public;
SELECT count(*) FILTER (WHERE a.cursor = b.cursor) AS equal_pairs, count(*) AS pairs
FROM activity.page('cur-ws') a, activity.page('cur-ws') b;
RESET search_path;

-- drivers pass a cursor back as they got it: text (a parameter typed text)
-- or its raw bytes (binary results, sent back as bytea); both checked
WITH p AS (SELECT cursor FROM activity.page('cur-ws', NULL, 1))
SELECT (SELECT count(*) FROM activity.page('cur-ws', (SELECT cursor::text FROM p)::text, 1)) AS page_after_text,
       (SELECT count(*) FROM activity.page('cur-ws', activity.cursor_send((SELECT cursor FROM p)), 1)) AS page_after_bytea,
       (activity.cursor_send((SELECT cursor FROM p))::activity.cursor OPERATOR(activity.=) (SELECT cursor FROM p)) AS bytea_round_trip;
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('bytea too short', $$SELECT '\x0102'::bytea::activity.cursor$$),
    ('bytea bad crc',   $$SELECT overlay(activity.cursor_send(cursor) PLACING '\xff'::bytea FROM 5) ::activity.cursor
                          FROM activity.page('cur-ws', NULL, 1)$$),
    ('text garbage',    $$SELECT activity.page('cur-ws', 'not a cursor'::text)$$)
) AS t(label, sql);
