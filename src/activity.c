/*
 * activity.c
 *		Module entry point: settings (GUCs) of the activity extension.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "activity.h"
#include "compat.h"
#include "jsonschema.h"

PG_MODULE_MAGIC;

int			activity_max_metadata_bytes = 256 * 1024;
int			activity_max_metadata_depth = 32;
bool		activity_restoring = false;
int			activity_lock_timeout = 500;
int			activity_max_lock_hold = 1000;
int			activity_retention_max_rows = 1000000;
int			activity_chain_max_rows = 1000000;
int			activity_retention_pause = 50;
bool		activity_drop_events = false;
bool		activity_direct_scans = true;

char	   *activity_actor_id = NULL;
char	   *activity_actor_type = NULL;

void		_PG_init(void);

static bool
check_actor_type(char **newval, void **extra, GucSource source)
{
	if (**newval == '\0' || strcmp(*newval, "user") == 0 || strcmp(*newval, "agent") == 0 ||
		strcmp(*newval, "system") == 0)
		return true;
	GUC_check_errdetail("activity.actor_type is user, agent, system, or empty.");
	return false;
}

/*
 * Define the extension's settings. Nothing here needs shared_preload_libraries:
 * the library is loaded on first use in each session.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("activity.max_metadata_bytes",
							"Largest metadata payload an activity may carry.",
							"Measured as the size of the stored jsonb value.",
							&activity_max_metadata_bytes,
							256 * 1024, 64, 64 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.max_metadata_depth",
							"Deepest nesting of objects and arrays allowed in activity metadata.",
							"The top-level object is depth 1.",
							&activity_max_metadata_depth,
							32, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.max_validation_steps",
							"Most steps one JSON Schema validation may take before it is stopped with an error.",
							"A step is one subschema applied to one value; it bounds the time a schema "
							"that applies subschemas to the same value again and again can take.",
							&activity_max_validation_steps,
							1000000, 1000, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.max_validation_errors",
							"Most violations activity.validation_errors() reports for one document.",
							"Validation stops at that many.",
							&activity_max_validation_errors,
							100, 1, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.regex_cache_size",
							"Memory the compiled regular expressions of JSON Schemas may keep per session.",
							"The cache is emptied when it would grow past this size.",
							&activity_regex_cache_kb,
							8192, 64, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("activity.direct_scans",
							 "Lets activity.page() read partitions by direct index scans.",
							 "Off: every partition is read through a cached plan of the same query "
							 "(for comparisons and diagnosis; slower on feeds that visit many partitions).",
							 &activity_direct_scans,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("activity.lock_timeout",
							"Longest wait of activity.maintain() for each lock it takes.",
							"A step whose lock is not granted in time is skipped and done by a later run, "
							"so that inserts and pages never queue behind maintenance for longer.",
							&activity_lock_timeout,
							500, 1, 60 * 1000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.max_lock_hold",
							"Longest time one call of activity.maintain() or activity.create_partitions() keeps inserts waiting.",
							"Each partition attached or dropped holds a lock on the log until the transaction ends. "
							"Once the log has been held this long, the rest of the work is reported as deferred "
							"and done by the next call.",
							&activity_max_lock_hold,
							1000, 0, 24 * 60 * 60 * 1000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.retention_max_rows",
							"Most rows one call of activity.maintain() deletes for retention rules.",
							"Rows are deleted in batches of 10,000 under ROW EXCLUSIVE locks; what is left "
							"over is reported as deferred and deleted by the next call.",
							&activity_retention_max_rows,
							1000000, 1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.retention_pause",
							"Pause between two batches of rows activity.maintain() deletes for retention rules.",
							"Deleting writes WAL that inserts' commits wait behind; pausing between batches "
							"of 10,000 rows leaves ingestion most of its rate while a large deletion runs.",
							&activity_retention_pause,
							50, 0, 60 * 1000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.chain_max_rows",
							"Most activities one call of activity.maintain() adds to the hash chain.",
							NULL,
							&activity_chain_max_rows,
							1000000, 1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("activity.drop_events",
							 "Lets DROP EXTENSION, DROP SCHEMA and DROP TABLE delete events of the activity log.",
							 "Off: they are refused while the log (or the partition dropped) holds events. "
							 "Set it in the transaction that drops deliberately.",
							 &activity_drop_events,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("activity.restoring",
							 "Stores the rows this session writes into the log as they are, as a restore does.",
							 "For pg_restore --data-only of a dump made with --load-via-partition-root: "
							 "rows were validated when they were first written. Has effect only in a session "
							 "of the owner of activity.activities, outside SECURITY DEFINER functions.",
							 &activity_restoring,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("activity.actor_id",
							   "Who the application acts for: the initiator_id of the activities captured by activity.track().",
							   "Empty: the system (actor_type system, no initiator).",
							   &activity_actor_id,
							   "",
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("activity.actor_type",
							   "The actor_type of the activities captured by activity.track(): user, agent or system.",
							   "Empty: user when activity.actor_id is set, system otherwise.",
							   &activity_actor_type,
							   "",
							   PGC_USERSET, 0,
							   check_actor_type, NULL, NULL);

	activity_ingest_init();
	activity_feed_init();
	activity_maintenance_init();

	activity_reserve_guc_prefix("activity");
}
