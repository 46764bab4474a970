/*
 * partitions.c
 *		Backend-local list of the partitions of activity.activities and their
 *		bounds, for the page function's partition walk.
 *
 * Built from each partition's pg_class.relpartbound and kept until the parent
 * table's relcache entry is invalidated, which happens whenever a partition is
 * created, attached, detached or dropped.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "activity.h"

#if PG_VERSION_NUM >= 140000
#define GetPartitionDesc(rel) RelationGetPartitionDesc((rel), true)
#else
#define GetPartitionDesc(rel) RelationGetPartitionDesc(rel)
#endif

static MemoryContext parts_cxt = NULL;
static ActivityPartitionList *parts_cache = NULL;
static bool parts_valid = false;
static bool parts_callback_registered = false;
static uint64 parts_generation = 0;

static void
parts_inval_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || (parts_cache != NULL && relid == parts_cache->parent))
		parts_valid = false;
}

static int
part_cmp(const void *a, const void *b)
{
	TimestampTz la = ((const ActivityPartition *) a)->lower;
	TimestampTz lb = ((const ActivityPartition *) b)->lower;

	return la < lb ? -1 : la > lb ? 1 : 0;
}

/*
 * A range bound datum as a timestamp, DT_NOBEGIN/DT_NOEND for MINVALUE/MAXVALUE.
 */
static TimestampTz
bound_value(List *datums)
{
	PartitionRangeDatum *prd = linitial_node(PartitionRangeDatum, datums);

	if (prd->kind == PARTITION_RANGE_DATUM_MINVALUE)
		return DT_NOBEGIN;
	if (prd->kind == PARTITION_RANGE_DATUM_MAXVALUE)
		return DT_NOEND;
	return DatumGetTimestampTz(castNode(Const, prd->value)->constvalue);
}

/*
 * The partitions of parent (opened and locked by the caller), oldest first.
 */
ActivityPartitionList *
activity_partition_list(Relation parent)
{
	PartitionDesc pd;
	MemoryContext old;
	ActivityPartitionList *list;
	int			i;

	if (parts_valid && parts_cache != NULL && parts_cache->parent == RelationGetRelid(parent))
		return parts_cache;

	if (!parts_callback_registered)
	{
		CacheRegisterRelcacheCallback(parts_inval_callback, (Datum) 0);
		parts_callback_registered = true;
	}
	if (parts_cxt == NULL)
		parts_cxt = AllocSetContextCreate(CacheMemoryContext, "activity partitions",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(parts_cxt);
	parts_cache = NULL;
	parts_valid = true;

	pd = GetPartitionDesc(parent);
	old = MemoryContextSwitchTo(parts_cxt);
	list = palloc0(sizeof(ActivityPartitionList));
	list->parent = RelationGetRelid(parent);
	list->generation = ++parts_generation;
	list->parts = palloc(sizeof(ActivityPartition) * Max(pd->nparts, 1));
	for (i = 0; i < pd->nparts; i++)
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(pd->oids[i]));
		Datum		d;
		bool		isnull;
		PartitionBoundSpec *spec;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", pd->oids[i]);
		d = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
		if (isnull)
			elog(ERROR, "partition %u has no partition bound", pd->oids[i]);
		spec = castNode(PartitionBoundSpec, stringToNode(TextDatumGetCString(d)));
		ReleaseSysCache(tup);

		if (spec->is_default)
		{
			list->default_relid = pd->oids[i];
			continue;
		}
		list->parts[list->nparts].relid = pd->oids[i];
		list->parts[list->nparts].lower = bound_value(spec->lowerdatums);
		list->parts[list->nparts].upper = bound_value(spec->upperdatums);
		list->nparts++;
	}
	qsort(list->parts, list->nparts, sizeof(ActivityPartition), part_cmp);
	MemoryContextSwitchTo(old);

	parts_cache = list;
	return list;
}
