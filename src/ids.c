/*
 * ids.c
 *		Every activity id is stored once, across all partitions.
 *
 * A unique index on a partitioned table must include the partition key, so
 * the partitions' primary keys, (id, occurred_at), cannot see a retried event
 * that carries another occurred_at. activity.event_ids holds every id with
 * its occurred_at under one unique index; the validation of each row written
 * registers its id there, in the same transaction, with btree's own
 * uniqueness check (which waits for a concurrent writer of the same id to
 * commit or abort). The insert is done directly, heap tuple and index entry,
 * as PostgreSQL does for its catalogs: no executor or SPI per row.
 *
 * Rows stored as they are (a restore, maintain() moving rows) are not
 * registered again: their ids come with the dump, or are there already.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "catalog/index.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "activity.h"
#include "compat.h"

/*
 * activity.event_ids, its primary key and the key's IndexInfo, looked up once
 * per backend and forgotten when either relation changes (or is dropped).
 */
static Oid	ids_relid = InvalidOid;
static Oid	ids_pk = InvalidOid;
static IndexInfo *ids_ii = NULL;
static MemoryContext ids_cxt = NULL;
static bool ids_valid = false;
static bool ids_callback = false;

static void
ids_inval_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == ids_relid || relid == ids_pk)
		ids_valid = false;
}

/*
 * Look activity.event_ids up; false if it does not exist (an extension still
 * at 0.1).
 */
static bool
ids_lookup(void)
{
	Relation	rel;
	Relation	index;
	MemoryContext old;

	if (ids_valid)
		return OidIsValid(ids_relid);
	if (!ids_callback)
	{
		CacheRegisterRelcacheCallback(ids_inval_callback, (Datum) 0);
		ids_callback = true;
	}
	ids_relid = activity_relid(ACTIVITY_SCHEMA, "event_ids", true);
	ids_pk = InvalidOid;
	ids_ii = NULL;
	if (ids_cxt == NULL)
		ids_cxt = AllocSetContextCreate(CacheMemoryContext, "activity event_ids", ALLOCSET_SMALL_SIZES);
	MemoryContextReset(ids_cxt);
	/* an invalidation arriving from here on makes the next call look again */
	ids_valid = true;
	if (!OidIsValid(ids_relid))
		return false;
	rel = table_open(ids_relid, AccessShareLock);
	ids_pk = activity_primary_key_index(rel);
	if (!OidIsValid(ids_pk))
		elog(ERROR, "activity.event_ids has no primary key");
	index = index_open(ids_pk, AccessShareLock);
	old = MemoryContextSwitchTo(ids_cxt);
	ids_ii = BuildIndexInfo(index);
	MemoryContextSwitchTo(old);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return true;
}

/*
 * Does activity.event_ids exist (the extension is past 0.1)?
 */
bool
activity_ids_available(void)
{
	return ids_lookup();
}

/*
 * Register the id of an activity being written; ERROR (23505) if it is in
 * the log already. A no-op while activity.event_ids does not exist (an
 * extension still at 0.1).
 */
void
activity_register_id(Datum id, Datum occurred_at)
{
	Relation	rel;
	Relation	index;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	HeapTuple	tup;
	MemoryContext cxt = CurrentMemoryContext;

	if (!ids_lookup())
		return;
	rel = table_open(ids_relid, RowExclusiveLock);
	index = index_open(ids_pk, RowExclusiveLock);

	values[0] = id;
	values[1] = occurred_at;
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	simple_heap_insert(rel, tup);
	PG_TRY();
	{
		index_insert(index, values, nulls, &tup->t_self, rel, UNIQUE_CHECK_YES, false, ids_ii);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("activity %s is already in the log",
						DatumGetCString(DirectFunctionCall1(uuid_out, id))),
				 errdetail("An activity id is stored once, whatever occurred_at a retry carries."),
				 errhint("To retry an event safely, record it with activity.record(..., id => ...), "
						 "which returns the id of the activity already there.")));
	}
	PG_END_TRY();
	index_close(index, NoLock);
	table_close(rel, NoLock);
	heap_freetuple(tup);
}
