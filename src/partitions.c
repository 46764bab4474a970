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
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
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

/*
 * The partition whose range holds ts, or NULL (the row would be in the
 * default partition).
 */
ActivityPartition *
activity_partition_for(ActivityPartitionList *list, TimestampTz ts)
{
	int			lo = 0;
	int			hi = list->nparts - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		ActivityPartition *p = &list->parts[mid];

		if (ts < p->lower)
			hi = mid - 1;
		else if (ts >= p->upper)
			lo = mid + 1;
		else
			return p;
	}
	return NULL;
}

/* cached plans, one per partition and kind */
typedef struct PartPlans
{
	Oid			relid;
	SPIPlanPtr	plans[NUM_PART_PLANS];
} PartPlans;

static HTAB *plan_cache = NULL;
static uint64 plan_cache_generation = 0;	/* partition list it matches */

/*
 * The cached plan of the given kind for partition relid. Plans are generic:
 * each is a single index seek whose shape does not depend on the values.
 * They run as the table owner (activity_become_owner), so every operator is
 * schema-qualified: a caller's search_path cannot redirect them.
 */
SPIPlanPtr
activity_partition_plan(Oid relid, PartPlanKind kind)
{
	PartPlans  *pp;
	bool		found;

	if (plan_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(PartPlans);
		ctl.hcxt = CacheMemoryContext;
		plan_cache = hash_create("activity partition plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	pp = hash_search(plan_cache, &relid, HASH_ENTER, &found);
	if (!found)
		memset(pp->plans, 0, sizeof(pp->plans));
	if (pp->plans[kind] == NULL)
	{
		char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													 get_rel_name(relid));
		char	   *sql;
		SPIPlanPtr	plan;

		if (kind == PART_PLAN_PAGE)
		{
			Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, UUIDOID, INT8OID};

			sql = psprintf("SELECT " FEED_COLUMNS " FROM %s "
						   "WHERE workspace_id OPERATOR(pg_catalog.=) $1 "
						   "AND (occurred_at, id) OPERATOR(pg_catalog.<) ($2, $3) "
						   "ORDER BY occurred_at DESC, id DESC LIMIT $4", rel);
			plan = SPI_prepare_cursor(sql, 4, types, CURSOR_OPT_GENERIC_PLAN);
		}
		else
		{
			Oid			types[1] = {UUIDOID};

			sql = psprintf("SELECT workspace_id FROM %s WHERE id OPERATOR(pg_catalog.=) $1 LIMIT 1", rel);
			plan = SPI_prepare_cursor(sql, 1, types, CURSOR_OPT_GENERIC_PLAN);
		}
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		pp->plans[kind] = plan;
	}
	return pp->plans[kind];
}

/*
 * Drop the plans of partitions that no longer exist.
 */
void
activity_forget_stale_plans(ActivityPartitionList *list)
{
	HASH_SEQ_STATUS seq;
	PartPlans  *pp;

	if (plan_cache == NULL || plan_cache_generation == list->generation)
		return;
	plan_cache_generation = list->generation;
	hash_seq_init(&seq, plan_cache);
	while ((pp = hash_seq_search(&seq)) != NULL)
	{
		bool		live = pp->relid == list->default_relid;
		int			i;

		for (i = 0; i < list->nparts && !live; i++)
			live = list->parts[i].relid == pp->relid;
		if (!live)
		{
			for (i = 0; i < NUM_PART_PLANS; i++)
				if (pp->plans[i])
					SPI_freeplan(pp->plans[i]);
			hash_search(plan_cache, &pp->relid, HASH_REMOVE, NULL);
		}
	}
}
