/*
 * maintenance.c
 *		The row work of activity.maintain(): moving rows out of the default
 *		partition and expiring old ones, the only deletes the append-only
 *		guard lets through.
 *
 * maintain() itself (SQL, sql/) decides what to create, move and drop, and
 * takes every lock with a short timeout. These functions do the part that
 * must bypass the append-only guard, and nothing else: each checks that its
 * caller owns the log, deletes only from the default partition, and lifts
 * the guard for its own statement alone.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "activity.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(activity_move_rows);
PG_FUNCTION_INFO_V1(activity_expire_default);
PG_FUNCTION_INFO_V1(activity_delete_expired);
PG_FUNCTION_INFO_V1(activity_redact_rows);
PG_FUNCTION_INFO_V1(activity_lock_timeout_setting);
PG_FUNCTION_INFO_V1(activity_max_lock_hold_setting);
PG_FUNCTION_INFO_V1(activity_log_held);
PG_FUNCTION_INFO_V1(activity_log_held_for);

/*
 * What the append-only guard lets through, set only while one of the
 * statements below runs: maintenance moving or expiring rows of the default
 * partition, retention deleting rows of any partition, or an erasure
 * (activity.redact()) updating them.
 */
typedef enum GuardLifted
{
	GUARD_NONE,
	GUARD_DEFAULT_DELETE,
	GUARD_PARTITION_DELETE,
	GUARD_REDACT
} GuardLifted;

static GuardLifted guard_lifted = GUARD_NONE;

static bool
is_log_partition(Relation rel)
{
	return RelationGetNamespace(rel) == get_namespace_oid(ACTIVITY_PART_SCHEMA, true);
}

/*
 * Is this DELETE one of maintenance's own?
 */
bool
activity_maintenance_delete(Relation rel)
{
	switch (guard_lifted)
	{
		case GUARD_DEFAULT_DELETE:
			return RelationGetRelid(rel) == activity_relid(ACTIVITY_PART_SCHEMA, "activities_default", true);
		case GUARD_PARTITION_DELETE:
			return is_log_partition(rel);
		default:
			return false;
	}
}

/*
 * Is this UPDATE activity.redact()'s?
 */
bool
activity_redaction_update(Relation rel)
{
	return guard_lifted == GUARD_REDACT && is_log_partition(rel);
}

/*
 * Is activity.redact() updating rows? (Their new content is not checked
 * against their schema: an erasure takes out what the schema may require.)
 */
bool
activity_redacting(void)
{
	return guard_lifted == GUARD_REDACT;
}

/*
 * The caller must own activity.activities, as it must to create or drop
 * partitions.
 */
static void
check_owner(const char *what)
{
	Oid			relid = activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false);

	if (!activity_rel_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Only the owner of activity.activities may run maintenance.")));
}

/*
 * Run one statement with the append-only guard lifted as "how" says; returns
 * the number of rows it processed, or, for a statement that returns one
 * bigint (a count of what its CTEs changed), that number.
 */
static uint64
run_guarded(GuardLifted how, const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	uint64		n = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	guard_lifted = how;
	PG_TRY();
	{
		int			ret = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

		if (ret < 0)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
		n = SPI_processed;
		if (ret == SPI_OK_SELECT && n == 1 && SPI_tuptable->tupdesc->natts == 1 &&
			TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypid == INT8OID)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			n = isnull ? 0 : (uint64) DatumGetInt64(d);
		}
	}
	PG_FINALLY();
	{
		guard_lifted = GUARD_NONE;
	}
	PG_END_TRY();
	SPI_finish();
	return n;
}

static uint64
run_guarded_delete(const char *sql, int nargs, Oid *types, Datum *values)
{
	return run_guarded(GUARD_DEFAULT_DELETE, sql, nargs, types, values, NULL);
}

/*
 * The partition named by an argument: a table of activity_partitions that is
 * a partition of the log now.
 */
static char *
log_partition_arg(Oid relid)
{
	HeapTuple	tup;
	Form_pg_class form;
	char	   *name;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	form = (Form_pg_class) GETSTRUCT(tup);
	if (form->relkind != RELKIND_RELATION || !form->relispartition ||
		form->relnamespace != get_namespace_oid(ACTIVITY_PART_SCHEMA, false))
	{
		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a partition of activity.activities", get_rel_name(relid))));
	}
	name = quote_qualified_identifier(ACTIVITY_PART_SCHEMA, NameStr(form->relname));
	ReleaseSysCache(tup);
	return name;
}

/*
 * activity._delete_expired(part regclass, before timestamptz, workspace
 * text, prefixes text[], batch int, removal text, newer_than timestamptz,
 * since_xact xid8, through_at timestamptz, through_id uuid) returns bigint:
 * deletes up to "batch" rows of one partition that occurred before "before"
 * (and at or after newer_than, written by since_xact or later, of one
 * workspace, of types matching the prefixes, up to (through_at, through_id)
 * in (occurred_at, id) order, where given), under a ROW EXCLUSIVE lock (inserts go on), with
 * their registered ids; their entries in the hash chain are marked removed
 * by "removal". Retention by rule.
 */
Datum
activity_delete_expired(PG_FUNCTION_ARGS)
{
	Oid			types[9] = {TIMESTAMPTZOID, TEXTOID, TEXTARRAYOID, INT4OID, TEXTOID, TIMESTAMPTZOID, XID8OID,
	TIMESTAMPTZOID, UUIDOID};
	Datum		values[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	char	   *part;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("part, before, batch and removal must not be null")));
	if (PG_GETARG_INT32(4) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch must be positive")));
	check_owner("expire activities");
	part = log_partition_arg(PG_GETARG_OID(0));
	for (i = 0; i < 9; i++)
	{
		if (PG_ARGISNULL(i + 1))
			nulls[i] = 'n';
		else
			values[i] = PG_GETARG_DATUM(i + 1);
	}
	PG_RETURN_INT64((int64) run_guarded(GUARD_PARTITION_DELETE, psprintf(
		"WITH d AS (DELETE FROM %s a WHERE a.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
		"  SELECT v.ctid FROM %s v WHERE v.occurred_at OPERATOR(pg_catalog.<) $1"
		"  AND ($6 IS NULL OR v.occurred_at OPERATOR(pg_catalog.>=) $6)"
		"  AND ($7 IS NULL OR v.xact_id OPERATOR(pg_catalog.>=) $7)"
		"  AND ($8 IS NULL OR v.occurred_at OPERATOR(pg_catalog.<) $8"
		"       OR (v.occurred_at OPERATOR(pg_catalog.=) $8 AND v.id OPERATOR(pg_catalog.<=) $9))"
		"  AND ($2 IS NULL OR v.workspace_id OPERATOR(pg_catalog.=) $2)"
		"  AND activity._type_matches(v.type, $3) LIMIT $4))"
		" RETURNING a.id),"
		" i AS (DELETE FROM activity.event_ids e USING d WHERE e.id OPERATOR(pg_catalog.=) d.id)"
		" SELECT activity._chain_removed(ARRAY(SELECT d.id FROM d), $5)", part, part),
		9, types, values, nulls));
}

/*
 * activity._redact_rows(part regclass, workspace text, member text,
 * pseudonym text, redaction bigint) returns bigint: in one partition, rows of
 * the workspace (every workspace if NULL) that name the member get the
 * pseudonym in its place (initiator, recipient, subject, and any string of
 * their metadata) and lose the personal fields of their metadata
 * (activity._redact_metadata()); the hash chain gets a 'redacted' entry for
 * each, with the digest of its new content. The only UPDATE the guard lets
 * through.
 */
Datum
activity_redact_rows(PG_FUNCTION_ARGS)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, INT8OID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *part;
	int			i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("part, member, pseudonym and redaction must not be null")));
	check_owner("redact activities");
	part = log_partition_arg(PG_GETARG_OID(0));
	for (i = 0; i < 4; i++)
	{
		if (PG_ARGISNULL(i + 1))
			nulls[i] = 'n';
		else
			values[i] = PG_GETARG_DATUM(i + 1);
	}
	PG_RETURN_INT64((int64) run_guarded(GUARD_REDACT, psprintf(
		"WITH u AS (UPDATE %s a SET"
		"  initiator_id = CASE WHEN a.initiator_id OPERATOR(pg_catalog.=) $2 THEN $3 ELSE a.initiator_id END,"
		"  recipient_id = CASE WHEN a.recipient_id OPERATOR(pg_catalog.=) $2 THEN $3 ELSE a.recipient_id END,"
		"  subject_id = CASE WHEN a.subject_id OPERATOR(pg_catalog.=) $2 THEN $3 ELSE a.subject_id END,"
		"  metadata = activity._redact_metadata(a.type, a.version, a.metadata, $2, $3,"
		"     (a.initiator_id OPERATOR(pg_catalog.=) $2 OR a.recipient_id OPERATOR(pg_catalog.=) $2) IS TRUE)"
		" WHERE ($1 IS NULL OR a.workspace_id OPERATOR(pg_catalog.=) $1)"
		"  AND (a.initiator_id OPERATOR(pg_catalog.=) $2 OR a.recipient_id OPERATOR(pg_catalog.=) $2"
		"       OR a.subject_id OPERATOR(pg_catalog.=) $2 OR activity._mentions(a.metadata, $2))"
		" RETURNING a.id, activity._event_digest((SELECT k.key FROM activity.hash_chain_key k), %s) AS digest)"
		" SELECT activity._chain_redacted($4, pg_catalog.array_agg(u.id), pg_catalog.array_agg(u.digest)) FROM u",
		part, activity_column_list()),
		4, types, values, nulls));
}

/*
 * activity._move_rows(target regclass, lower timestamptz, upper timestamptz)
 * returns bigint: moves the rows of the default partition in [lower, upper)
 * into target, a table of maintain()'s that is not yet a partition, in one
 * statement (whatever it deletes, it inserts). Rows are moved as they are,
 * xact_id (the change feed's order) included:
 * they were validated when written, and target has no validation constraint
 * yet. Takes no lock stronger than ROW EXCLUSIVE on the default partition.
 */
Datum
activity_move_rows(PG_FUNCTION_ARGS)
{
	Oid			target;
	HeapTuple	tup;
	Form_pg_class form;
	char	   *sql;
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("target, lower and upper must not be null")));
	check_owner("move activities between partitions");
	target = PG_GETARG_OID(0);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(target));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", target)));
	form = (Form_pg_class) GETSTRUCT(tup);
	if (form->relkind != RELKIND_RELATION || form->relispartition ||
		form->relnamespace != get_namespace_oid(ACTIVITY_PART_SCHEMA, false))
	{
		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table of %s waiting to become a partition",
						get_rel_name(target), ACTIVITY_PART_SCHEMA)));
	}
	ReleaseSysCache(tup);

	values[0] = PG_GETARG_DATUM(1);
	values[1] = PG_GETARG_DATUM(2);
	sql = psprintf("WITH moved AS (DELETE FROM %s.activities_default "
				   "WHERE occurred_at OPERATOR(pg_catalog.>=) $1 AND occurred_at OPERATOR(pg_catalog.<) $2 "
				   "RETURNING %s, xact_id) "
				   "INSERT INTO %s (%s, xact_id) SELECT %s, xact_id FROM moved",
				   ACTIVITY_PART_SCHEMA, activity_column_list(),
				   quote_qualified_identifier(ACTIVITY_PART_SCHEMA, get_rel_name(target)),
				   activity_column_list(), activity_column_list());
	PG_RETURN_INT64((int64) run_guarded_delete(sql, 2, types, values));
}

/*
 * activity._expire_default(before timestamptz) returns bigint: deletes the
 * rows of the default partition that occurred before "before" (retention),
 * under a ROW EXCLUSIVE lock, never an exclusive one.
 */
Datum
activity_expire_default(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("before must not be null")));
	check_owner("expire activities");
	values[0] = PG_GETARG_DATUM(0);
	PG_RETURN_INT64((int64) run_guarded_delete(psprintf("WITH d AS (DELETE FROM %s.activities_default "
														"WHERE occurred_at OPERATOR(pg_catalog.<) $1 RETURNING id)"
														" SELECT activity._chain_removed(ARRAY(SELECT d.id FROM d),"
														"  'expired from the default partition by retention at ' "
														"  OPERATOR(pg_catalog.||) pg_catalog.now())",
														ACTIVITY_PART_SCHEMA),
											   1, types, values));
}

/*
 * activity._lock_timeout() returns text: activity.lock_timeout as a value for
 * PostgreSQL's lock_timeout.
 */
Datum
activity_lock_timeout_setting(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%dms", activity_lock_timeout)));
}

/*
 * activity._max_lock_hold() returns text: activity.max_lock_hold as an
 * interval.
 */
Datum
activity_max_lock_hold_setting(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%dms", activity_max_lock_hold)));
}

/*
 * How long maintenance has kept inserts waiting in this transaction.
 *
 * Every partition maintenance attaches (SHARE on the log) or drops (ACCESS
 * EXCLUSIVE) keeps its lock on the log until the transaction ends, so one
 * call that attaches hundreds of partitions holds inserts back for all of
 * them. Maintenance notes when it first took such a lock in this
 * transaction (activity._log_held()) and stops once activity.max_lock_hold
 * has passed since (activity._log_held_for()). The note follows the lock:
 * a subtransaction that rolls back releases the lock it took and forgets
 * the note it made; one that commits hands both to its parent.
 */
static TimestampTz log_held_since = 0;
static SubTransactionId log_held_subid = InvalidSubTransactionId;

static void
maintenance_xact_callback(XactEvent event, void *arg)
{
	log_held_since = 0;
	log_held_subid = InvalidSubTransactionId;
}

static void
maintenance_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							 SubTransactionId parentSubid, void *arg)
{
	if (log_held_subid == InvalidSubTransactionId || mySubid != log_held_subid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		log_held_since = 0;
		log_held_subid = InvalidSubTransactionId;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		log_held_subid = parentSubid;
}

/*
 * Called from _PG_init.
 */
void
activity_maintenance_init(void)
{
	RegisterXactCallback(maintenance_xact_callback, NULL);
	RegisterSubXactCallback(maintenance_subxact_callback, NULL);
}

/*
 * activity._log_held() returns void: notes that this (sub)transaction now
 * holds a lock on the log that makes inserts wait, unless an earlier one
 * still does.
 */
Datum
activity_log_held(PG_FUNCTION_ARGS)
{
	if (log_held_since == 0)
	{
		log_held_since = GetCurrentTimestamp();
		log_held_subid = GetCurrentSubTransactionId();
	}
	PG_RETURN_VOID();
}

/*
 * activity._log_held_for() returns interval: how long ago maintenance first
 * took such a lock in this transaction; NULL if it holds none.
 */
Datum
activity_log_held_for(PG_FUNCTION_ARGS)
{
	Interval   *result;
	TimestampTz now = GetCurrentTimestamp();

	if (log_held_since == 0)
		PG_RETURN_NULL();
	result = (Interval *) palloc0(sizeof(Interval));
	result->time = now > log_held_since ? now - log_held_since : 0;
	PG_RETURN_INTERVAL_P(result);
}

/*
 * activity._incarnation() returns text: which database this is, as the
 * change feed's positions need it: the cluster's system identifier (the same
 * on its physical standbys, another after initdb, pg_upgrade or a restore
 * into another cluster) and the database's OID (another for a restore into a
 * new database). Transaction ids in a position mean something only here.
 */
PG_FUNCTION_INFO_V1(activity_incarnation);
Datum
activity_incarnation(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf(UINT64_FORMAT "/%u", GetSystemIdentifier(), MyDatabaseId)));
}
