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
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "activity.h"
#include "compat.h"


static MemoryContext parts_cxt = NULL;
static ActivityPartitionList *parts_cache = NULL;
static bool parts_valid = false;
static bool parts_callback_registered = false;
static uint64 parts_generation = 0;

/* every partition of parts_cache was seen carrying the validation constraint */
static bool parts_checked = false;

static void
parts_inval_callback(Datum arg, Oid relid)
{
	int			i;

	if (relid == InvalidOid || (parts_cache != NULL && relid == parts_cache->parent))
	{
		parts_valid = false;
		parts_checked = false;
	}
	if (!parts_checked || parts_cache == NULL)
		return;
	/* a partition changed: look at its constraints again */
	if (relid == parts_cache->default_relid)
		parts_checked = false;
	for (i = 0; i < parts_cache->nparts && parts_checked; i++)
		if (parts_cache->parts[i].relid == relid)
			parts_checked = false;
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
	parts_checked = false;

	pd = activity_partition_desc(parent);
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
 * Does partition relid carry the validation constraint: a CHECK constraint
 * named activities_valid calling activity._valid_activity() on every column
 * of the description (activity.h), in its order, then xact_id?
 */
static bool
partition_validated(Oid relid)
{
	Oid			conoid = get_relation_constraint_oid(relid, "activities_valid", true);
	HeapTuple	tup;
	Form_pg_constraint con;
	bool		isnull;
	Datum		bin;
	Node	   *expr;
	FuncExpr   *fexpr;
	ListCell   *lc;
	int			i = 0;
	bool		ok;

	if (!OidIsValid(conoid))
		return false;
	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (!HeapTupleIsValid(tup))
		return false;
	con = (Form_pg_constraint) GETSTRUCT(tup);
	bin = SysCacheGetAttr(CONSTROID, tup, Anum_pg_constraint_conbin, &isnull);
	ok = con->contype == CONSTRAINT_CHECK && !isnull;
	expr = ok ? stringToNode(TextDatumGetCString(bin)) : NULL;
	ReleaseSysCache(tup);
	if (!ok || !IsA(expr, FuncExpr))
		return false;
	fexpr = (FuncExpr *) expr;
	if (list_length(fexpr->args) != AC_NUM + 1 ||
		strcmp(get_func_name(fexpr->funcid), "_valid_activity") != 0 ||
		get_func_namespace(fexpr->funcid) != get_namespace_oid(ACTIVITY_SCHEMA, false))
		return false;
	foreach(lc, fexpr->args)
	{
		Var		   *var = (Var *) lfirst(lc);
		char	   *name;

		if (!IsA(var, Var))
			return false;
		name = get_attname(relid, var->varattno, true);
		if (name == NULL || strcmp(name, i < AC_NUM ? activity_columns[i].name : "xact_id") != 0)
			return false;
		i++;
	}
	return true;
}

/*
 * Refuse to write through the log while one of its partitions lacks the
 * validation constraint (a table attached by hand): its rows would not be
 * checked. Looked at again only when the partitions or their constraints
 * change.
 */
void
activity_check_partitions_validated(Relation parent)
{
	ActivityPartitionList *list = activity_partition_list(parent);
	int			i;

	if (parts_checked)
		return;
	for (i = -1; i < list->nparts; i++)
	{
		Oid			relid = i < 0 ? list->default_relid : list->parts[i].relid;

		CHECK_FOR_INTERRUPTS();
		if (OidIsValid(relid) && !partition_validated(relid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s\" of activity.activities has no validation constraint",
							get_rel_name(relid)),
					 errdetail("Rows written into it would not be checked, so the log refuses writes until it has one."),
					 errhint("Run activity.maintain(), which adds the constraint to every partition that lacks it.")));
	}
	parts_checked = true;
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

/* cached plans: one per partition and query (a feed shape, or FIND_ID) */
typedef struct PartPlanKey
{
	Oid			relid;
	uint32		query;			/* a feed shape (FEED_*), or PLAN_FIND_ID */
} PartPlanKey;

#define PLAN_FIND_ID	0xFFFFFFFF
#define PLAN_FIND_AT	0xFFFFFFFE

typedef struct PartPlan
{
	PartPlanKey key;
	SPIPlanPtr	plan;
} PartPlan;

static HTAB *plan_cache = NULL;
static uint64 plan_cache_generation = 0;	/* partition list it matches */

/*
 * A timestamptz literal that reads back the same whatever the session's
 * DateStyle and TimeZone (a cached plan is parsed again when invalidated).
 */
static void
append_timestamptz(StringInfo s, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			year;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "partition bound out of range");
	year = tm.tm_year > 0 ? tm.tm_year : -(tm.tm_year - 1);
	appendStringInfo(s, "'%04d-%02d-%02d %02d:%02d:%02d.%06d+00%s'::pg_catalog.timestamptz",
					 year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec,
					 tm.tm_year > 0 ? "" : " BC");
}

/* occurred_at >= lower AND occurred_at < upper, either side open if infinite */
static void
append_range(StringInfo s, TimestampTz lower, TimestampTz upper)
{
	bool		both = !TIMESTAMP_IS_NOBEGIN(lower) && !TIMESTAMP_IS_NOEND(upper);

	appendStringInfoChar(s, '(');
	if (!TIMESTAMP_IS_NOBEGIN(lower))
	{
		appendStringInfoString(s, "occurred_at OPERATOR(pg_catalog.>=) ");
		append_timestamptz(s, lower);
	}
	if (both)
		appendStringInfoString(s, " AND ");
	if (!TIMESTAMP_IS_NOEND(upper))
	{
		appendStringInfoString(s, "occurred_at OPERATOR(pg_catalog.<) ");
		append_timestamptz(s, upper);
	}
	if (TIMESTAMP_IS_NOBEGIN(lower) && TIMESTAMP_IS_NOEND(upper))
		appendStringInfoString(s, "true");
	appendStringInfoChar(s, ')');
}

/*
 * Under row-level security a feed query reads the parent table, as the
 * caller, so that the policies apply; a condition on occurred_at confines it
 * to one partition, which the planner then reads alone (pruning at plan
 * time: the bounds are constants). For the default partition, the condition
 * is every range no partition covers.
 */
static void
append_partition_condition(StringInfo s, Oid relid)
{
	ActivityPartitionList *list = parts_cache;
	TimestampTz prev_upper = DT_NOBEGIN;
	bool		first = true;
	int			i;

	if (list == NULL || !parts_valid)
		elog(ERROR, "the partition list of activity.activities is not loaded");
	for (i = 0; i < list->nparts; i++)
		if (list->parts[i].relid == relid)
		{
			append_range(s, list->parts[i].lower, list->parts[i].upper);
			return;
		}
	if (relid != list->default_relid)
		elog(ERROR, "relation %u is not a partition of activity.activities", relid);

	appendStringInfoChar(s, '(');
	for (i = 0; i <= list->nparts; i++)
	{
		TimestampTz lower = i < list->nparts ? list->parts[i].lower : DT_NOEND;

		/* the gap before partition i (after the last one, for i = nparts) */
		if (!TIMESTAMP_IS_NOEND(prev_upper) && (i == list->nparts || prev_upper < lower))
		{
			if (!first)
				appendStringInfoString(s, " OR ");
			append_range(s, prev_upper, lower);
			first = false;
		}
		if (i < list->nparts)
			prev_upper = list->parts[i].upper;
	}
	appendStringInfoString(s, first ? "false)" : ")");
}

/*
 * The SQL of a feed query of the given shape on one partition: the shape's
 * conditions (each filter's, as columns.c describes it), the keyset position
 * ($1, $2) and the order of its direction, LIMIT $3. Every parameter is
 * passed to every plan; a shape uses those it needs.
 */
/*
 * The select list of a feed query on relation relid: every column, as
 * activity_columns orders them; one the relation lacks (function_type, in
 * a log whose objects are still 0.1's, before ALTER EXTENSION UPDATE) is
 * selected as NULL.
 */
static const char *
feed_select_list(Oid relid)
{
	StringInfoData s;
	int			c;
	bool		all = true;

	for (c = 0; c < AC_NUM && all; c++)
		all = get_attnum(relid, activity_columns[c].name) != InvalidAttrNumber;
	if (all)
		return activity_column_list();
	initStringInfo(&s);
	for (c = 0; c < AC_NUM; c++)
	{
		if (c)
			appendStringInfoString(&s, ", ");
		if (get_attnum(relid, activity_columns[c].name) != InvalidAttrNumber)
			appendStringInfoString(&s, activity_columns[c].name);
		else
			appendStringInfo(&s, "NULL::%s AS %s", format_type_be(activity_columns[c].type),
							 activity_columns[c].name);
	}
	return s.data;
}

static char *
feed_sql(Oid relid, const char *rel, uint32 shape)
{
	StringInfoData s;
	bool		asc = (shape & FEED_ASC) != 0;
	int			f;

	initStringInfo(&s);
	if (shape & FEED_RLS)
	{
		appendStringInfo(&s, "SELECT %s FROM %s.%s WHERE ", feed_select_list(relid),
						 quote_identifier(ACTIVITY_SCHEMA), quote_identifier(ACTIVITY_TABLE));
		append_partition_condition(&s, relid);
		appendStringInfo(&s, " AND (occurred_at, id) OPERATOR(pg_catalog.%s) ($%d, $%d)",
						 asc ? ">" : "<", FEED_P_POS_TS + 1, FEED_P_POS_ID + 1);
	}
	else
		appendStringInfo(&s, "SELECT %s FROM %s WHERE (occurred_at, id) OPERATOR(pg_catalog.%s) ($%d, $%d)",
						 feed_select_list(relid), rel, asc ? ">" : "<", FEED_P_POS_TS + 1, FEED_P_POS_ID + 1);
	for (f = 0; f < FF_NUM; f++)
	{
		if (!(shape & FEED_HAS(f)))
			continue;
		/*
		 * A metadata search reads the metadata index alone, the workspace a
		 * filter (compared in the C collation: the same equality, which no
		 * index of the default collation serves). A generic plan, blind to
		 * the document, otherwise ANDs it with the workspace's feed index: a
		 * bitmap of the whole workspace in each partition (11 ms instead of
		 * 1.8 ms for a post id of a workspace of 100,000 events).
		 */
		if (f == FF_WORKSPACE && (shape & FEED_HAS(FF_METADATA)))
			appendStringInfo(&s, " AND workspace_id OPERATOR(pg_catalog.=) ($%d COLLATE \"C\")", FEED_P(f) + 1);
		else
			appendStringInfo(&s, " AND %s", activity_feed_condition(f));

		/*
		 * Through the parent, the partition's bounds make its time index a
		 * candidate, and a generic plan may prefer it (rows in heap order)
		 * to the workspace's index: a walk over the whole partition for a
		 * sparse workspace. The same condition restated as a range halves
		 * the time index's estimate, never the workspace index's (where it
		 * is an index condition).
		 */
		if (f == FF_WORKSPACE && (shape & FEED_RLS) && !(shape & FEED_HAS(FF_METADATA)))
			appendStringInfo(&s, " AND workspace_id OPERATOR(pg_catalog.>=) $%d"
							 " AND workspace_id OPERATOR(pg_catalog.<=) $%d",
							 FEED_P(f) + 1, FEED_P(f) + 1);
	}
	/* the predicate of the time index: only the listing of every workspace may use it */
	if (!(shape & FEED_WORKSPACE))
		appendStringInfoString(&s, " AND occurred_at OPERATOR(pg_catalog.>) '-infinity'::pg_catalog.timestamptz");
	appendStringInfo(&s, " ORDER BY occurred_at %s, id %s LIMIT $%d",
					 asc ? "ASC" : "DESC", asc ? "ASC" : "DESC", FEED_P_LIMIT + 1);
	return s.data;
}

/*
 * The cached plan of query for partition relid. Plans are generic: each is a
 * single index seek whose shape does not depend on the values. They run as
 * the table owner (activity_become_owner), so every operator is
 * schema-qualified: a caller's search_path cannot redirect them.
 */
static SPIPlanPtr
partition_plan(Oid relid, uint32 query)
{
	PartPlanKey key;
	PartPlan   *pp;
	bool		found;

	if (plan_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(PartPlanKey);
		ctl.entrysize = sizeof(PartPlan);
		ctl.hcxt = CacheMemoryContext;
		plan_cache = hash_create("activity partition plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	key.query = query;
	pp = hash_search(plan_cache, &key, HASH_ENTER, &found);
	if (!found)
		pp->plan = NULL;
	if (pp->plan == NULL)
	{
		char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													 get_rel_name(relid));
		SPIPlanPtr	plan;

		if (query == PLAN_FIND_AT)
		{
			Oid			types[3] = {UUIDOID, TEXTOID, TIMESTAMPTZOID};

			/* the workspace feed index's leading columns, then the id */
			plan = SPI_prepare_cursor(psprintf("SELECT type, true FROM %s WHERE workspace_id OPERATOR(pg_catalog.=) $2 "
											   "AND occurred_at OPERATOR(pg_catalog.=) $3 "
											   "AND id OPERATOR(pg_catalog.=) $1 LIMIT 1", rel),
									  3, types, CURSOR_OPT_GENERIC_PLAN);
		}
		else if (query != PLAN_FIND_ID)
		{
			Oid			types[FEED_NPARAMS];
			int			f;

			types[FEED_P_POS_TS] = TIMESTAMPTZOID;
			types[FEED_P_POS_ID] = UUIDOID;
			types[FEED_P_LIMIT] = INT8OID;
			for (f = 0; f < FF_NUM; f++)
				types[FEED_P(f)] = feed_filters[f].argtype;

			plan = SPI_prepare_cursor(feed_sql(relid, rel, query), FEED_NPARAMS, types, CURSOR_OPT_GENERIC_PLAN);
		}
		else
		{
			Oid			types[2] = {UUIDOID, TEXTOID};

			/* of that workspace if there is one (0.1 stored ids twice) */
			plan = SPI_prepare_cursor(psprintf("SELECT type, workspace_id OPERATOR(pg_catalog.=) $2 FROM %s "
											   "WHERE id OPERATOR(pg_catalog.=) $1 ORDER BY 2 DESC LIMIT 1", rel),
									  2, types, CURSOR_OPT_GENERIC_PLAN);
		}
		if (plan == NULL)
		{
			hash_search(plan_cache, &key, HASH_REMOVE, NULL);
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		}
		SPI_keepplan(plan);
		pp->plan = plan;
	}
	return pp->plan;
}

SPIPlanPtr
activity_partition_plan(Oid relid, PartPlanKind kind)
{
	Assert(kind == PART_PLAN_FIND_ID || kind == PART_PLAN_FIND_AT);
	return partition_plan(relid, kind == PART_PLAN_FIND_ID ? PLAN_FIND_ID : PLAN_FIND_AT);
}

SPIPlanPtr
activity_feed_plan(Oid relid, uint32 shape)
{
	return partition_plan(relid, shape);
}

/*
 * Drop the plans of partitions that no longer exist.
 */
void
activity_forget_stale_plans(ActivityPartitionList *list)
{
	HASH_SEQ_STATUS seq;
	PartPlan   *pp;

	if (plan_cache == NULL || plan_cache_generation == list->generation)
		return;
	plan_cache_generation = list->generation;
	hash_seq_init(&seq, plan_cache);
	while ((pp = hash_seq_search(&seq)) != NULL)
	{
		bool		live = pp->key.relid == list->default_relid;
		int			i;

		for (i = 0; i < list->nparts && !live; i++)
			live = list->parts[i].relid == pp->key.relid;
		/* the conditions of plans through the parent follow the bounds */
		if (pp->key.query != PLAN_FIND_ID && pp->key.query != PLAN_FIND_AT &&
			(pp->key.query & FEED_RLS) != 0)
			live = false;
		if (!live)
		{
			if (pp->plan)
				SPI_freeplan(pp->plan);
			hash_search(plan_cache, &pp->key, HASH_REMOVE, NULL);
		}
	}
}
