/*
 * drop_guard.c
 *		An event trigger that keeps DROP from deleting events silently.
 *
 * DROP EXTENSION activity would drop activity.activities and, with it, every
 * partition and every event; so would DROP SCHEMA activity_partitions CASCADE,
 * and DROP TABLE deletes a partition's events. Before any of these runs
 * (ddl_command_start), the guard counts the events it would delete and
 * refuses, saying how many and how to proceed, unless the transaction has
 * set activity.drop_events = on. maintain() sets it for the partitions that
 * retention drops.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "activity.h"

PG_FUNCTION_INFO_V1(activity_guard_drop);

/*
 * The number of rows of relid (the log, or one of its partitions).
 */
static int64
count_events(Oid relid)
{
	int64		n;
	bool		isnull;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute(psprintf("SELECT count(*) FROM %s",
							   quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
														  get_rel_name(relid))),
					  true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the events of relation %u", relid);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return n;
}

/*
 * Refuse to drop what holds n events, unless activity.drop_events is on.
 */
static void
refuse_unless_confirmed(int64 n, const char *what, const char *command)
{
	if (n == 0 || activity_drop_events)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("%s would delete " INT64_FORMAT " events", command, n),
			 errdetail("%s holds " INT64_FORMAT " events.", what, n),
			 errhint("Dump them first if they are to be kept (pg_dump keeps the log, see the README). "
					 "To delete them, run in one transaction: SET LOCAL activity.drop_events = on; %s;",
					 command)));
}

/* is relid the log, or one of its partitions? */
static bool
is_log_relation(Oid relid, Oid log_relid)
{
	return relid == log_relid ||
		(get_rel_relispartition(relid) && get_partition_parent(relid, true) == log_relid);
}

/*
 * Event trigger on ddl_command_start for DROP EXTENSION, DROP SCHEMA and
 * DROP TABLE.
 */
Datum
activity_guard_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *stmt;
	Oid			log_relid;
	ListCell   *lc;
	bool		cascade;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "activity_guard_drop: not fired by event trigger manager");
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	cascade = stmt->behavior == DROP_CASCADE;
	log_relid = activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, true);
	if (!OidIsValid(log_relid))
		PG_RETURN_VOID();

	foreach(lc, stmt->objects)
	{
		CHECK_FOR_INTERRUPTS();
		switch (stmt->removeType)
		{
			case OBJECT_EXTENSION:
				if (strcmp(strVal(lfirst(lc)), "activity") == 0)
					refuse_unless_confirmed(count_events(log_relid), "The activity log",
											cascade ? "DROP EXTENSION activity CASCADE" : "DROP EXTENSION activity");
				break;
			case OBJECT_SCHEMA:
				if (strcmp(strVal(lfirst(lc)), ACTIVITY_SCHEMA) == 0 ||
					strcmp(strVal(lfirst(lc)), ACTIVITY_PART_SCHEMA) == 0)
					refuse_unless_confirmed(count_events(log_relid),
											psprintf("Schema %s", strVal(lfirst(lc))),
											psprintf("DROP SCHEMA %s%s", strVal(lfirst(lc)), cascade ? " CASCADE" : ""));
				break;
			case OBJECT_TABLE:
				{
					RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
					Oid			relid = RangeVarGetRelid(rv, NoLock, true);

					if (OidIsValid(relid) && is_log_relation(relid, log_relid))
						refuse_unless_confirmed(count_events(relid),
												psprintf("Partition %s", get_rel_name(relid)),
												psprintf(cascade ? "DROP TABLE %s CASCADE" : "DROP TABLE %s",
														 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																					get_rel_name(relid))));
					break;
				}
			default:
				break;
		}
	}
	PG_RETURN_VOID();
}
