-- bench/operations.sh: the validated COPY file read back into bench.src,
-- numbered from 0 in its order (occurred_at, id), and the rows of one type
-- numbered from 0 in bench.src_type: the sources of operations_events.sql
-- and operations_expiring.sql.
-- psql variables: file (the COPY file, read by the server), cols (its
-- columns), type (the type of bench.src_type)
\set ON_ERROR_STOP 1
CREATE UNLOGGED TABLE bench.src_file (id uuid, workspace_id text, platform text, type text, version int2, actor_type text,
    initiator_id text, recipient_id text, subject_type text, subject_id text, metadata jsonb,
    occurred_at timestamptz, recorded_at timestamptz);
COPY bench.src_file (:cols) FROM :'file';
CREATE UNLOGGED TABLE bench.src AS
SELECT row_number() OVER (ORDER BY occurred_at, id) - 1 AS n, * FROM bench.src_file;
CREATE UNIQUE INDEX ON bench.src (n);
CREATE UNLOGGED TABLE bench.src_type AS
SELECT row_number() OVER (ORDER BY occurred_at, id) - 1 AS n, * FROM bench.src_file WHERE type = :'type';
CREATE UNIQUE INDEX ON bench.src_type (n);
DROP TABLE bench.src_file;
ANALYZE bench.src;
ANALYZE bench.src_type;
