-- activity.uuidv7() and activity.uuidv7_time()
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

-- version 7, RFC 9562 variant (10xx)
SELECT substr(u::text, 15, 1) AS version_digit,
       substr(u::text, 20, 1) IN ('8', '9', 'a', 'b') AS rfc_variant
FROM (SELECT activity.uuidv7() AS u) s;

-- strictly increasing within a session, hence unique (20000 ids: several per millisecond)
WITH ids AS (
    SELECT n, activity.uuidv7() AS u FROM generate_series(1, 20000) n
)
SELECT count(*) AS ids,
       count(DISTINCT u) AS distinct_ids,
       bool_and(u > prev) FILTER (WHERE prev IS NOT NULL) AS strictly_increasing,
       bool_and(substr(u::text, 15, 1) = '7') AS all_version_7
FROM (SELECT n, u, lag(u) OVER (ORDER BY n) AS prev FROM ids) s;

-- the embedded time is the current time (millisecond precision)
SELECT activity.uuidv7_time(activity.uuidv7())
       BETWEEN date_trunc('milliseconds', clock_timestamp()) - interval '5 seconds'
           AND clock_timestamp() + interval '5 seconds' AS time_is_now;

-- RFC 9562 appendix A.6 example: 0x017F22E279B0 ms = 2022-02-22 19:22:22 UTC
SELECT activity.uuidv7_time('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
-- millisecond precision is kept
SELECT activity.uuidv7_time('017f22e2-79b1-7cc3-98c4-dc0c0c07398f');
-- the Unix epoch
SELECT activity.uuidv7_time('00000000-0000-7000-8000-000000000000');

-- not version 7, or not the RFC variant: NULL
SELECT activity.uuidv7_time('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11') IS NULL AS v4_is_null;
SELECT activity.uuidv7_time('017f22e2-79b0-1cc3-98c4-dc0c0c07398f') IS NULL AS v1_is_null;
SELECT activity.uuidv7_time('017f22e2-79b0-7cc3-18c4-dc0c0c07398f') IS NULL AS ncs_variant_is_null;
SELECT activity.uuidv7_time('00000000-0000-0000-0000-000000000000') IS NULL AS nil_is_null;
-- strict
SELECT activity.uuidv7_time(NULL) IS NULL AS null_is_null;

-- the round trip: an id's time is the time it was made
SELECT abs(extract(epoch FROM activity.uuidv7_time(activity.uuidv7()) - clock_timestamp())) < 5 AS round_trip;

-- volatility as declared
SELECT p.proname, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p WHERE p.pronamespace = 'activity'::regnamespace AND p.proname LIKE 'uuidv7%'
ORDER BY 1;
