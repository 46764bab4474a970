/*
 * page.c
 *		activity.page(): keyset-paged feeds that walk partitions newest first.
 *
 * Instead of one query over the partitioned table (whose plan, locks and
 * Merge Append grow with the number of partitions), a page runs a cached
 * single-partition plan, an index seek on (workspace_id, occurred_at, id),
 * starting in the partition that holds the cursor and moving to older ones
 * only until it has "limit" + 1 rows. The default partition, which may hold
 * rows of any date, is read with the same seek and merged in. The cost of a
 * page therefore depends on its size, not on its depth nor on the number of
 * partitions.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rls.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "activity.h"

PG_FUNCTION_INFO_V1(activity_page);

/* columns of a feed row, as selected by PART_PLAN_PAGE (partitions.c) */
#define FEED_NCOLS			14
#define FEED_COL_ID			0
#define FEED_COL_OCCURRED	12

/* a fetched row and its sort key */
typedef struct FeedRow
{
	HeapTuple	tuple;
	TimestampTz occurred_at;
	pg_uuid_t  *id;
} FeedRow;

/*
 * Append up to "want" rows of partition relid that come after the position
 * (ts, id) to rows[*n]; returns the number fetched. Tuples are copied into
 * the caller's (pre-SPI) memory context.
 */
static int
fetch_partition(Oid relid, Datum workspace, TimestampTz ts, pg_uuid_t *id,
				int want, FeedRow *rows, int *n)
{
	Datum		args[4];
	int			ret;
	uint64		i;

	args[0] = workspace;
	args[1] = TimestampTzGetDatum(ts);
	args[2] = UUIDPGetDatum(id);
	args[3] = Int64GetDatum(want);
	ret = SPI_execute_plan(activity_partition_plan(relid, PART_PLAN_PAGE), args, NULL, true, want);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_copytuple(SPI_tuptable->vals[i]);
		bool		isnull;

		rows[*n].tuple = tup;
		rows[*n].occurred_at =
			DatumGetTimestampTz(heap_getattr(tup, FEED_COL_OCCURRED + 1, SPI_tuptable->tupdesc, &isnull));
		rows[*n].id = DatumGetUUIDP(heap_getattr(tup, FEED_COL_ID + 1, SPI_tuptable->tupdesc, &isnull));
		(*n)++;
	}
	SPI_freetuptable(SPI_tuptable);
	return (int) i;
}

/*
 * Newest first: is a before b in the feed?
 */
static inline bool
feed_before(const FeedRow *a, const FeedRow *b)
{
	if (a->occurred_at != b->occurred_at)
		return a->occurred_at > b->occurred_at;
	return memcmp(a->id->data, b->id->data, UUID_LEN) > 0;
}

/*
 * The hash binding a cursor to its query: direction and workspace.
 */
static uint32
query_hash(text *workspace, uint8 flags)
{
	StringInfoData buf;
	uint32		h;

	initStringInfo(&buf);
	appendStringInfo(&buf, "v1|%c|", (flags & CURSOR_FLAG_ASC) ? 'a' : 'd');
	appendBinaryStringInfo(&buf, VARDATA_ANY(workspace), VARSIZE_ANY_EXHDR(workspace));
	h = (uint32) hash_bytes_extended((const unsigned char *) buf.data, buf.len, 0x61637476);
	pfree(buf.data);
	return h;
}

/*
 * The caller must be allowed to read the log. page() reads the partitions
 * as the table owner, so it must not bypass row-level security either.
 */
static void
check_read_access(Relation parent)
{
	AclResult	aclresult = pg_class_aclcheck(RelationGetRelid(parent), GetUserId(), ACL_SELECT);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, RelationGetRelationName(parent));
	if (check_enable_rls(RelationGetRelid(parent), InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("activity.page() does not support row-level security on activity.activities"),
				 errhint("Query activity.activities directly, or use a role that is exempt from its policies.")));
}

/*
 * activity.page(workspace_id, after, "limit")
 */
Datum
activity_page(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *workspace;
	int			limit;
	uint32		qhash;
	TimestampTz pos_ts = DT_NOEND;
	pg_uuid_t	pos_id;
	TupleDesc	outdesc;
	Tuplestorestate *store;
	MemoryContext per_query;
	MemoryContext old;
	Relation	parent;
	ActivityPartitionList *parts;
	FeedRow    *drows;
	FeedRow    *prows;
	int			nd = 0;
	int			np = 0;
	int			want;
	int			i;
	int			di;
	int			pi;
	int			emitted;
	ActivityUserContext saved;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("activity.page() must be called in a context that accepts a set")));

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("workspace_id must not be null")));
	workspace = PG_GETARG_TEXT_PP(0);
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("limit must not be null")));
	limit = PG_GETARG_INT32(2);
	if (limit < 1 || limit > ACTIVITY_MAX_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("limit must be between 1 and %d, not %d", ACTIVITY_MAX_LIMIT, limit)));

	qhash = query_hash(workspace, 0);
	memset(pos_id.data, 0xFF, UUID_LEN);
	if (!PG_ARGISNULL(1))
	{
		ActivityCursor c;

		activity_cursor_read(PG_GETARG_DATUM(1), &c);
		if (c.query_hash != qhash || (c.flags & CURSOR_FLAG_ASC) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cursor does not belong to this query"),
					 errdetail("The cursor was returned by a page of another workspace, filter or direction."),
					 errhint("Start again without a cursor, or pass the same arguments as the page that returned it.")));
		pos_ts = c.occurred_at;
		pos_id = c.id;
	}

	/* output set, in the per-query context */
	per_query = rsinfo->econtext->ecxt_per_query_memory;
	old = MemoryContextSwitchTo(per_query);
	if (get_call_result_type(fcinfo, NULL, &outdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	outdesc = CreateTupleDescCopy(outdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);

	/*
	 * Lock the parent for the whole transaction: no partition can be
	 * detached or dropped under the walk, and invalidations are processed
	 * before the partition list is read.
	 */
	parent = table_open(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false), AccessShareLock);
	check_read_access(parent);
	parts = activity_partition_list(parent);

	want = limit + 1;
	drows = palloc(sizeof(FeedRow) * want);
	prows = palloc(sizeof(FeedRow) * want);

	activity_become_owner(RelationGetRelid(parent), &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	activity_forget_stale_plans(parts);

	if (OidIsValid(parts->default_relid))
		fetch_partition(parts->default_relid, PointerGetDatum(workspace),
						pos_ts, &pos_id, want, drows, &nd);
	for (i = parts->nparts - 1; i >= 0 && np < want; i--)
	{
		if (parts->parts[i].lower > pos_ts)
			continue;			/* entirely after the cursor */
		CHECK_FOR_INTERRUPTS();
		fetch_partition(parts->parts[i].relid, PointerGetDatum(workspace),
						pos_ts, &pos_id, want - np, prows, &np);
	}

	/* merge the two newest-first streams and emit up to limit rows */
	di = pi = emitted = 0;
	while (emitted < limit && (di < nd || pi < np))
	{
		FeedRow    *r;
		Datum		values[FEED_NCOLS + 2];
		bool		nulls[FEED_NCOLS + 2];
		ActivityCursor c;
		HeapTuple	out;

		if (di < nd && (pi >= np || feed_before(&drows[di], &prows[pi])))
			r = &drows[di++];
		else
			r = &prows[pi++];

		heap_deform_tuple(r->tuple, outdesc, values, nulls);

		c.format_version = CURSOR_FORMAT_VERSION;
		c.flags = 0;
		c.occurred_at = r->occurred_at;
		c.id = *r->id;
		c.query_hash = qhash;
		values[FEED_NCOLS] = activity_cursor_make(&c);
		nulls[FEED_NCOLS] = false;
		values[FEED_NCOLS + 1] = BoolGetDatum(nd + np > limit);
		nulls[FEED_NCOLS + 1] = false;

		out = heap_form_tuple(outdesc, values, nulls);
		tuplestore_puttuple(store, out);
		emitted++;
	}

	SPI_finish();
	activity_restore_user(&saved);
	table_close(parent, NoLock);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = outdesc;
	return (Datum) 0;
}
