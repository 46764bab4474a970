-- The demo: the extension, the bundled catalogue, sample events, a paged feed.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS activity;
\echo '== partitions created ahead of time by activity.maintain()'
SELECT action, partition, lower, upper FROM activity.maintain();

\echo '== registering the bundled catalogue (examples/catalogue.sql)'
\o /dev/null
\ir catalogue.sql
\ir sample_events.sql
\o
SELECT count(*) AS event_types FROM activity.event_types;
SELECT count(*) AS activities FROM activity.activities;

\echo '== rejected events: award.given needs a recipient; issue identifiers follow their schema'
\set ON_ERROR_STOP off
SELECT activity.record('community-acme', 'award.given', 'member-ada', '{"award": "Helpful"}');
SELECT activity.record('ws-42', 'issue.created', 'user-7', '{"title": "Broken", "identifier": "eng 2"}');
\set ON_ERROR_STOP on

\echo '== community-acme feed, page 1 (limit 4, newest first)'
SELECT occurred_at::timestamptz(0), type, initiator_id, recipient_id, metadata, has_more
FROM activity.page('community-acme', "limit" => 4);
SELECT cursor AS next FROM activity.page('community-acme', "limit" => 4) OFFSET 3 \gset

\echo '== page 2, after the cursor' :'next'
SELECT occurred_at::timestamptz(0), type, initiator_id, recipient_id, metadata, has_more
FROM activity.page('community-acme', after => :'next', "limit" => 4);

\echo '== the log is append-only'
\set ON_ERROR_STOP off
DELETE FROM activity.activities WHERE workspace_id = 'community-acme';
\set ON_ERROR_STOP on

\echo '== anomaly monitoring: four quiet weeks of Discord joins, then a raid in the last hour'
\o /dev/null
INSERT INTO activity.activities (workspace_id, type, initiator_id, platform, occurred_at)
SELECT 'property-9', 'discord:guildMemberAdd', 'member-' || h || '-' || g, 'discord',
       date_trunc('hour', now()) - h * interval '1 hour' + random() * interval '59 minutes'
FROM generate_series(1, 29 * 24) h, generate_series(1, 1 + (h % 3)) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, platform, occurred_at)
SELECT 'property-9', 'discord:guildMemberAdd', 'raider-' || g, 'discord',
       date_trunc('hour', now()) + (g % 50) * interval '1 second'
FROM generate_series(1, 120) g;
\o
SELECT "check", bucket, key, n, round(expected::numeric, 1) AS expected, round(score::numeric, 1) AS score
FROM activity.anomalies('property-9', since => date_trunc('hour', now()) - interval '1 day', until => now() + interval '1 hour');
