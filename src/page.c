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

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "catalog/pg_proc.h"
#include "access/table.h"
#include "catalog/index.h"
#include "commands/defrem.h"
#include "nodes/primnodes.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rls.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "activity.h"
#include "compat.h"
#include "jsonschema.h"

PG_FUNCTION_INFO_V1(activity_page);
PG_FUNCTION_INFO_V1(activity_page_plans);

/*
 * The arguments of page() and page_plans() that are no filter; the filters
 * are feed_filters (activity.h). Each is found by its name in the calling
 * function's signature, so that a filter is added by describing it, and an
 * older signature (0.1's page(workspace_id, after, "limit"), during an
 * upgrade) simply lacks the newer arguments.
 */
enum
{
	PA_AFTER, PA_LIMIT, PA_UNIVERSAL_TYPES, PA_DIRECTION, PA_NUM
};
static const char *const page_arg_names[PA_NUM] = {"after", "limit", "universal_types", "direction"};

typedef struct PageArgPositions
{
	Oid			fn_oid;
	int			filter[FF_NUM];	/* argument position, -1 if absent */
	int			other[PA_NUM];
} PageArgPositions;

/* the result row of page(): a column (AC_*), the cursor or has_more */
#define OUT_CURSOR		AC_NUM
#define OUT_HAS_MORE	(AC_NUM + 1)

/* a fetched row and its sort key */
typedef struct FeedRow
{
	HeapTuple	tuple;
	TimestampTz occurred_at;
	pg_uuid_t  *id;
} FeedRow;

/* a feed query: its shape and the parameters of its plans */
typedef struct FeedQuery
{
	uint32		shape;
	Datum		params[FEED_NPARAMS];
	char		nulls[FEED_NPARAMS];
} FeedQuery;

/*
 * Append up to "want" rows of partition relid that come after the position
 * (ts, id) to rows[*n]; returns the number fetched. Tuples are copied into
 * the caller's (pre-SPI) memory context.
 */
static int
fetch_partition(Oid relid, FeedQuery *q, TimestampTz ts, pg_uuid_t *id,
				int want, FeedRow *rows, int *n, bool rls)
{
	int			ret;
	uint64		i;

	q->params[FEED_P_POS_TS] = TimestampTzGetDatum(ts);
	q->params[FEED_P_POS_ID] = UUIDPGetDatum(id);
	q->params[FEED_P_LIMIT] = Int64GetDatum(want);
	ret = SPI_execute_plan(activity_feed_plan(relid, q->shape | (rls ? FEED_RLS : 0)),
						   q->params, q->nulls, true, want);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_copytuple(SPI_tuptable->vals[i]);
		bool		isnull;

		rows[*n].tuple = tup;
		rows[*n].occurred_at =
			DatumGetTimestampTz(heap_getattr(tup, AC_OCCURRED_AT + 1, SPI_tuptable->tupdesc, &isnull));
		rows[*n].id = DatumGetUUIDP(heap_getattr(tup, AC_ID + 1, SPI_tuptable->tupdesc, &isnull));
		(*n)++;
	}
	SPI_freetuptable(SPI_tuptable);
	return (int) i;
}

/*
 * Is a before b in the feed (newest first, or oldest first if asc)?
 */
static inline bool
feed_before(const FeedRow *a, const FeedRow *b, bool asc)
{
	int			cmp;

	if (a->occurred_at != b->occurred_at)
		cmp = a->occurred_at > b->occurred_at ? 1 : -1;
	else
		cmp = memcmp(a->id->data, b->id->data, UUID_LEN);
	return asc ? cmp < 0 : cmp > 0;
}

/* --- the query hash a cursor carries --- */

static void
hash_field(StringInfo buf, char tag, const char *data, int len)
{
	appendStringInfo(buf, "%c%d:", tag, len);
	appendBinaryStringInfo(buf, data, len);
}

static void
hash_text_arg(StringInfo buf, char tag, FunctionCallInfo fcinfo, int arg)
{
	text	   *t;

	if (arg < 0 || PG_NARGS() <= arg || PG_ARGISNULL(arg))
		return;
	t = PG_GETARG_TEXT_PP(arg);
	hash_field(buf, tag, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

static void
hash_array_arg(StringInfo buf, char tag, FunctionCallInfo fcinfo, int arg)
{
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;

	if (arg < 0 || PG_NARGS() <= arg || PG_ARGISNULL(arg))
		return;
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(arg), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	appendStringInfo(buf, "%c[%d]", tag, n);
	for (i = 0; i < n; i++)
	{
		text	   *t = DatumGetTextPP(elems[i]);

		hash_field(buf, 'e', VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
}

static void
hash_uuid_arg(StringInfo buf, char tag, FunctionCallInfo fcinfo, int arg)
{
	if (arg < 0 || PG_NARGS() <= arg || PG_ARGISNULL(arg))
		return;
	hash_field(buf, tag, (const char *) PG_GETARG_UUID_P(arg)->data, UUID_LEN);
}

static void
hash_time_arg(StringInfo buf, char tag, FunctionCallInfo fcinfo, int arg)
{
	if (arg < 0 || PG_NARGS() <= arg || PG_ARGISNULL(arg))
		return;
	appendStringInfo(buf, "%c" INT64_FORMAT, tag, (int64) PG_GETARG_TIMESTAMPTZ(arg));
}

/*
 * The hash binding a cursor to its query: workspace, every filter as given,
 * and direction. A page of a workspace with no filter, newest first, hashes
 * as in version 0.1, so that its cursors stay valid across the upgrade; a
 * filter not given adds nothing, so that a new filter leaves the cursors of
 * older queries valid.
 */
static uint64
query_hash(FunctionCallInfo fcinfo, const PageArgPositions *pos, uint32 shape)
{
	StringInfoData buf;
	uint64		h;
	int			f;

	initStringInfo(&buf);
	if (shape == FEED_WORKSPACE)
	{
		text	   *ws = PG_GETARG_TEXT_PP(pos->filter[FF_WORKSPACE]);

		appendStringInfoString(&buf, "v1|d|");
		appendBinaryStringInfo(&buf, VARDATA_ANY(ws), VARSIZE_ANY_EXHDR(ws));
	}
	else
	{
		appendStringInfo(&buf, "v2|%c|", (shape & FEED_ASC) ? 'a' : 'd');
		if (!(shape & FEED_WORKSPACE))
			appendStringInfoString(&buf, "*");	/* all workspaces */
		for (f = 0; f < FF_NUM; f++)
		{
			const FeedFilterDef *d = &feed_filters[f];
			int			arg = pos->filter[f];

			if (d->argtype == TEXTARRAYOID)
				hash_array_arg(&buf, d->hash_tag, fcinfo, arg);
			else if (d->argtype == TIMESTAMPTZOID)
				hash_time_arg(&buf, d->hash_tag, fcinfo, arg);
			else if (d->argtype == UUIDOID)
				hash_uuid_arg(&buf, d->hash_tag, fcinfo, arg);
			else
				hash_text_arg(&buf, d->hash_tag, fcinfo, arg);
			/* the types selected by universal type, after the types */
			if (f == FF_TYPES)
				hash_array_arg(&buf, 'u', fcinfo, pos->other[PA_UNIVERSAL_TYPES]);
		}
	}
	h = hash_bytes_extended((const unsigned char *) buf.data, buf.len, 0x61637476);
	pfree(buf.data);
	return h;
}

/* --- filter arguments --- */

static inline bool
arg_given(FunctionCallInfo fcinfo, int arg)
{
	return arg >= 0 && PG_NARGS() > arg && !PG_ARGISNULL(arg);
}

/*
 * Where each argument is in the signature of the function called (cached in
 * its FmgrInfo: once per query).
 */
static const PageArgPositions *
page_arg_positions(FunctionCallInfo fcinfo)
{
	PageArgPositions *pos = (PageArgPositions *) fcinfo->flinfo->fn_extra;
	HeapTuple	tup;
	Oid		   *types;
	char	  **names;
	char	   *modes;
	int			nargs;
	int			i;
	int			k;

	if (pos != NULL && pos->fn_oid == fcinfo->flinfo->fn_oid)
		return pos;
	pos = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(PageArgPositions));
	pos->fn_oid = fcinfo->flinfo->fn_oid;
	for (k = 0; k < FF_NUM; k++)
		pos->filter[k] = -1;
	for (k = 0; k < PA_NUM; k++)
		pos->other[k] = -1;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	nargs = get_func_arg_info(tup, &types, &names, &modes);
	ReleaseSysCache(tup);
	for (i = 0; names != NULL && i < nargs && i < PG_NARGS(); i++)
	{
		if (modes != NULL && modes[i] != PROARGMODE_IN)
			continue;
		for (k = 0; k < FF_NUM; k++)
			if (strcmp(names[i], feed_filters[k].arg) == 0 && types[i] == feed_filters[k].argtype)
				pos->filter[k] = i;
		for (k = 0; k < PA_NUM; k++)
			if (strcmp(names[i], page_arg_names[k]) == 0)
				pos->other[k] = i;
	}
	if (pos->filter[FF_WORKSPACE] != 0 || pos->other[PA_AFTER] != 1 || pos->other[PA_LIMIT] != 2)
		elog(ERROR, "function %u is not activity.page() nor page_plans()", fcinfo->flinfo->fn_oid);
	fcinfo->flinfo->fn_extra = pos;
	return pos;
}

/* the elements of a text[] argument as C strings; NULL elements refused */
static char **
array_arg_strings(FunctionCallInfo fcinfo, int arg, const char *name, int *n)
{
	Datum	   *elems;
	bool	   *enulls;
	char	  **strs;
	int			i;

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(arg), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, n);
	strs = palloc(sizeof(char *) * (*n + 1));
	for (i = 0; i < *n; i++)
	{
		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", name)));
		strs[i] = TextDatumGetCString(elems[i]);
	}
	return strs;
}

static Datum
strings_to_array(char **strs, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * (n + 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(strs[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* sort strs and drop repeats (n log n: arrays may be long); sets *n */
static void
sort_unique(char **strs, int *n)
{
	int			i;
	int			k = 0;

	CHECK_FOR_INTERRUPTS();
	qsort(strs, *n, sizeof(char *), cstring_cmp);
	for (i = 0; i < *n; i++)
		if (k == 0 || strcmp(strs[k - 1], strs[i]) != 0)
			strs[k++] = strs[i];
	*n = k;
}

/* is s one of the sorted strs? */
static bool
sorted_contains(char **strs, int n, const char *s)
{
	return n > 0 && bsearch(&s, strs, n, sizeof(char *), cstring_cmp) != NULL;
}

/*
 * The exact type names the types and universal_types arguments select:
 * entries of types ending in ".*" are prefixes, matched against the
 * registered types, the others are names; universal_types selects the
 * registered types that map to one of them; given both, a type must satisfy
 * both. Sorted, without repeats; sets *n (0: nothing can match). Time
 * n log n in the arguments' length, plus patterns x registered types.
 */
static char **
selected_types(FunctionCallInfo fcinfo, int types_arg, int universal_arg, int *n)
{
	char	  **names = NULL;
	int			nnames = 0;
	int			nall;
	EventType **all = activity_all_types(&nall);
	int			i;
	int			j;

	if (arg_given(fcinfo, types_arg))
	{
		int			ngiven;
		char	  **given = array_arg_strings(fcinfo, types_arg, "types", &ngiven);

		names = palloc(sizeof(char *) * (ngiven + nall + 1));
		for (i = 0; i < ngiven; i++)
		{
			size_t		len = strlen(given[i]);
			char	   *star = strchr(given[i], '*');

			if (star == NULL)
			{
				names[nnames++] = given[i];
				continue;
			}
			if (len < 3 || star != given[i] + len - 1 || (given[i][len - 2] != '.' && given[i][len - 2] != ':'))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid type pattern \"%s\"", given[i]),
						 errdetail("A pattern is a type name prefix ending in \".*\" or \":*\", such as \"post.*\" or \"discord:*\".")));
			CHECK_FOR_INTERRUPTS();
			for (j = 0; j < nall; j++)
				if (strncmp(all[j]->name, given[i], len - 1) == 0)
				{
					/* each type once, whatever number of patterns match it */
					if (nnames >= ngiven + nall)
						sort_unique(names, &nnames);
					names[nnames++] = all[j]->name;
				}
		}
		sort_unique(names, &nnames);
	}
	if (arg_given(fcinfo, universal_arg))
	{
		int			nuniv;
		char	  **univ = array_arg_strings(fcinfo, universal_arg, "universal_types", &nuniv);
		char	  **mapped = palloc(sizeof(char *) * (nall + 1));
		int			nmapped = 0;

		sort_unique(univ, &nuniv);
		for (j = 0; j < nall; j++)
			if (all[j]->universal_type && sorted_contains(univ, nuniv, all[j]->universal_type) &&
				(names == NULL || sorted_contains(names, nnames, all[j]->name)))
				mapped[nmapped++] = all[j]->name;
		names = mapped;
		nnames = nmapped;
		sort_unique(names, &nnames);
	}
	*n = nnames;
	return names;
}

/*
 * The caller must be allowed to read the log. Returns whether row-level
 * security applies to the caller: then page() reads through the parent
 * table as the caller, so that the policies filter every row (see
 * read_partition()); otherwise it reads the partitions as the table owner.
 * (With row_security = off and policies that apply, the queries through the
 * parent raise PostgreSQL's own error.)
 */
bool
activity_check_read_access(Relation parent)
{
	AclResult	aclresult = pg_class_aclcheck(RelationGetRelid(parent), GetUserId(), ACL_SELECT);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, RelationGetRelationName(parent));
	return check_enable_rls(RelationGetRelid(parent), InvalidOid, true) != RLS_NONE;
}

/* a parsed call of page() or page_plans() */
typedef struct FeedArgs
{
	FeedQuery	q;
	bool		asc;
	bool		empty;			/* nothing can match */
	int			limit;
	uint64		qhash;
	TimestampTz pos_ts;			/* the position: after this row */
	pg_uuid_t	pos_id;
	TimestampTz since;			/* the window, DT_NOBEGIN/DT_NOEND if open */
	TimestampTz until;
	/* the values of the FK_ANY filters, sorted, for direct index scans */
	char	  **strs[FF_NUM];
	int			nstrs[FF_NUM];
	int			guc_nestlevel;	/* > 0 once force_index_seeks() ran */
	bool		rls;			/* row-level security applies to the caller */
	/*
	 * A metadata search walks each partition's feed, at most walk_budget
	 * entries (0: no limit); a walk that runs out sets walked_out, with the
	 * last entry it read (walk_ts, walk_id), and the search continues from
	 * there by the metadata index, in that partition and every later one.
	 */
	int			walk_budget;
	bool		walked_out;
	bool		rare;			/* a walk ran out: the document is rare */
	TimestampTz walk_ts;
	pg_uuid_t	walk_id;
} FeedArgs;

/*
 * Check and read the arguments of page() (page_plans() takes the same): each
 * filter as feed_filters describes it, then the rules particular to some.
 */
static void
parse_feed_args(FunctionCallInfo fcinfo, FeedArgs *fa)
{
	const PageArgPositions *pos = page_arg_positions(fcinfo);
	int			f;
	int			i;

	memset(fa, 0, sizeof(*fa));
	fa->since = DT_NOBEGIN;
	fa->until = DT_NOEND;
	memset(fa->q.nulls, 'n', sizeof(fa->q.nulls));
	fa->q.nulls[FEED_P_POS_TS] = fa->q.nulls[FEED_P_POS_ID] = fa->q.nulls[FEED_P_LIMIT] = ' ';

	/* workspace_id: NULL lists every workspace (administrators), not in 0.1 */
	if (pos->other[PA_DIRECTION] < 0 && PG_ARGISNULL(pos->filter[FF_WORKSPACE]))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("workspace_id must not be null")));

	if (PG_ARGISNULL(pos->other[PA_LIMIT]))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("limit must not be null")));
	fa->limit = PG_GETARG_INT32(pos->other[PA_LIMIT]);
	if (fa->limit < 1 || fa->limit > ACTIVITY_MAX_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("limit must be between 1 and %d, not %d", ACTIVITY_MAX_LIMIT, fa->limit)));

	if (arg_given(fcinfo, pos->filter[FF_SUBJECT_TYPE]) != arg_given(fcinfo, pos->filter[FF_SUBJECT_ID]))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("subject_type and subject_id must be given together")));
	if (arg_given(fcinfo, pos->filter[FF_MEMBER]) &&
		(arg_given(fcinfo, pos->filter[FF_INITIATOR]) || arg_given(fcinfo, pos->filter[FF_RECIPIENT])))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("member_id cannot be combined with initiator_id or recipient_id"),
				 errdetail("member_id selects the activities a member initiated or received.")));

	for (f = 0; f < FF_NUM; f++)
	{
		const FeedFilterDef *d = &feed_filters[f];
		int			arg = pos->filter[f];
		Datum		value;

		/* types and universal types select type names */
		if (f == FF_TYPES)
		{
			if (!arg_given(fcinfo, arg) && !arg_given(fcinfo, pos->other[PA_UNIVERSAL_TYPES]))
				continue;
			fa->strs[f] = selected_types(fcinfo, arg, pos->other[PA_UNIVERSAL_TYPES], &fa->nstrs[f]);
			value = strings_to_array(fa->strs[f], fa->nstrs[f]);
			fa->empty |= (fa->nstrs[f] == 0);
		}
		else if (!arg_given(fcinfo, arg))
			continue;
		else if (d->kind == FK_ANY)
		{
			fa->strs[f] = array_arg_strings(fcinfo, arg, d->arg, &fa->nstrs[f]);
			sort_unique(fa->strs[f], &fa->nstrs[f]);
			value = PG_GETARG_DATUM(arg);
			fa->empty |= (fa->nstrs[f] == 0);
		}
		else
			value = PG_GETARG_DATUM(arg);

		fa->q.shape |= FEED_HAS(f);
		fa->q.params[FEED_P(f)] = value;
		fa->q.nulls[FEED_P(f)] = ' ';
		if (d->kind == FK_SINCE)
			fa->since = DatumGetTimestampTz(value);
		else if (d->kind == FK_UNTIL)
			fa->until = DatumGetTimestampTz(value);
	}

	/* the rules of particular filters */
	for (i = 0; i < fa->nstrs[FF_ACTOR_TYPES]; i++)
		if (activity_actor_type_bit(fa->strs[FF_ACTOR_TYPES][i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid actor_type \"%s\"", fa->strs[FF_ACTOR_TYPES][i]),
					 errdetail("actor_type is one of user, agent or system.")));
	/* the time window: since inclusive, until exclusive */
	fa->empty |= (fa->since >= fa->until);

	if (pos->other[PA_DIRECTION] >= 0)
	{
		char	   *dir;

		if (PG_ARGISNULL(pos->other[PA_DIRECTION]))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("direction must not be null")));
		dir = TextDatumGetCString(PG_GETARG_DATUM(pos->other[PA_DIRECTION]));
		if (pg_strcasecmp(dir, "asc") == 0)
			fa->asc = true;
		else if (pg_strcasecmp(dir, "desc") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("direction must be 'asc' or 'desc', not \"%s\"",
							activity_clip(dir, strlen(dir), 32))));
	}
	if (fa->asc)
		fa->q.shape |= FEED_ASC;

	/* the position: the cursor's, or before the first row */
	fa->qhash = query_hash(fcinfo, pos, fa->q.shape);
	fa->pos_ts = fa->asc ? DT_NOBEGIN : DT_NOEND;
	memset(fa->pos_id.data, fa->asc ? 0x00 : 0xFF, UUID_LEN);
	if (!PG_ARGISNULL(pos->other[PA_AFTER]))
	{
		ActivityCursor c;

		activity_cursor_read(PG_GETARG_DATUM(pos->other[PA_AFTER]), &c);
		/* a cursor of format 1 carries the hash's low 32 bits */
		if (c.query_hash != (c.format_version == 1 ? (uint64) (uint32) fa->qhash : fa->qhash) ||
			((c.flags & CURSOR_FLAG_ASC) != 0) != fa->asc)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cursor does not belong to this query"),
					 errdetail("The cursor was returned by a page of another workspace, filter or direction."),
					 errhint("Start again without a cursor, or pass the same arguments as the page that returned it.")));
		fa->pos_ts = c.occurred_at;
		fa->pos_id = c.id;
	}
}

/*
 * Where partition p stands in a walk of the feed: -1 to skip it (before the
 * position or outside the window), 1 to stop there (it and all further ones
 * are past the window), 0 to read it.
 */
static int
partition_in_walk(const ActivityPartition *p, const FeedArgs *fa)
{
	if (fa->asc)
	{
		if (p->upper <= fa->pos_ts || p->upper <= fa->since)
			return -1;
		if (p->lower >= fa->until)
			return 1;
	}
	else
	{
		if (p->lower > fa->pos_ts || p->lower >= fa->until)
			return -1;
		if (p->upper <= fa->since)
			return 1;
	}
	return 0;
}


/* --- direct index scans ------------------------------------------------------ */

/*
 * A feed is read from each partition by one index scan, started and run
 * here rather than through SPI and the executor: for a page that visits many
 * partitions (a sparse feed), starting an executor per partition cost more
 * than the scans themselves. The scan is the one the cached plans run (the
 * same index, keys and order; the tests compare both); a partition without
 * the expected index (a table attached by hand) is read through its plan.
 */

/* the index a shape reads: the first (most selective) whose filters it has */
static FeedIndex
feed_index_for(uint32 shape)
{
	int			k;

	for (k = 0; k < FIDX_NUM; k++)
	{
		uint32		needs = activity_feed_index_filters(k);

		if ((shape & needs) == needs)
			return k;
	}
	elog(ERROR, "no feed index for shape %x", shape);
	return FIDX_TIME;
}

/* the key columns of an index (AC_*): its equalities, then occurred_at, id */
static int
feed_index_columns(FeedIndex kind, int *cols)
{
	int			n = 0;
	int			i;

	for (i = 0; feed_indexes[kind].eq[i] >= 0; i++)
		cols[n++] = feed_filters[feed_indexes[kind].eq[i]].column;
	cols[n++] = AC_OCCURRED_AT;
	cols[n++] = AC_ID;
	return n;
}

/*
 * Does the index have exactly the shape the direct scan of that kind needs:
 * key columns in order, each with the default btree operator class of its
 * type and a deterministic collation, occurred_at and id descending, no
 * expression, and no predicate but the one its feed always satisfies
 * ("subject_id IS NOT NULL", ..., "occurred_at > '-infinity'")? A
 * definition cannot change for an index's OID, so the answer is cached.
 */
static HTAB *shape_cache = NULL;

/* an index dropped (its OID may come back) or any relcache reset: forget */
static void
shape_cache_inval(Datum arg, Oid relid)
{
	if (shape_cache == NULL)
		return;
	if (OidIsValid(relid))
		hash_search(shape_cache, &relid, HASH_REMOVE, NULL);
	else
	{
		HASH_SEQ_STATUS seq;
		Oid		   *key;

		hash_seq_init(&seq, shape_cache);
		while ((key = hash_seq_search(&seq)) != NULL)
			hash_search(shape_cache, key, HASH_REMOVE, NULL);
	}
}

static bool
feed_index_shape_ok(Relation index, FeedIndex kind, const AttrNumber *attnums, int nkeys)
{
	HTAB	   *cache = shape_cache;
	Oid			indexoid = RelationGetRelid(index);
	bool	   *cached;
	bool		found;
	bool		ok = true;
	List	   *pred;
	int			i;
	int			cols[FEED_INDEX_MAX_EQ + 2];

	if (cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(Oid) + sizeof(bool);
		ctl.hcxt = CacheMemoryContext;
		cache = shape_cache = hash_create("activity feed index shapes", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(shape_cache_inval, (Datum) 0);
	}
	cached = (bool *) ((char *) hash_search(cache, &indexoid, HASH_FIND, &found) + sizeof(Oid));
	if (found)
		return *cached;

	if (RelationGetIndexExpressions(index) != NIL)
		ok = false;
	(void) feed_index_columns(kind, cols);
	for (i = 0; ok && i < nkeys; i++)
	{
		int			col = cols[i];
		Oid			type = index->rd_opcintype[i];
		Oid			opclass = GetDefaultOpClass(type, BTREE_AM_OID);
		bool		ordering = (col == AC_OCCURRED_AT || col == AC_ID);

		ok = OidIsValid(opclass) && get_opclass_family(opclass) == index->rd_opfamily[i] &&
			(!ordering || (index->rd_indoption[i] & INDOPTION_DESC) != 0) &&
			(!OidIsValid(index->rd_indcollation[i]) || get_collation_isdeterministic(index->rd_indcollation[i]));
	}
	pred = ok ? RelationGetIndexPredicate(index) : NIL;
	if (ok && pred != NIL)
	{
		Node	   *e = linitial(pred);

		ok = list_length(pred) == 1;
		if (ok && feed_indexes[kind].not_null >= 0)
			ok = IsA(e, NullTest) && ((NullTest *) e)->nulltesttype == IS_NOT_NULL &&
				IsA(((NullTest *) e)->arg, Var) &&
				((Var *) ((NullTest *) e)->arg)->varattno == attnums[feed_indexes[kind].not_null];
		else if (ok && feed_indexes[kind].finite)
		{
			OpExpr	   *op = (OpExpr *) e;

			ok = IsA(e, OpExpr) && op->opfuncid == F_TIMESTAMPTZ_GT && list_length(op->args) == 2 &&
				IsA(linitial(op->args), Var) &&
				((Var *) linitial(op->args))->varattno == attnums[AC_OCCURRED_AT] &&
				IsA(lsecond(op->args), Const) && !((Const *) lsecond(op->args))->constisnull &&
				DatumGetTimestampTz(((Const *) lsecond(op->args))->constvalue) == DT_NOBEGIN;
		}
		else
			ok = false;
	}
	cached = (bool *) ((char *) hash_search(cache, &indexoid, HASH_ENTER, NULL) + sizeof(Oid));
	*cached = ok;
	return ok;
}

/*
 * The index of the given kind of partition rel, opened, or NULL if it has
 * none with the expected name and exactly the expected shape (a partition
 * attached by hand may have an index of that name on other columns, in
 * another order, or partial): then the partition is read through its plan.
 */
Relation
activity_open_feed_index(Relation rel, FeedIndex kind, const AttrNumber *attnums)
{
	char		name[NAMEDATALEN * 2];
	Oid			indexoid;
	Relation	index;
	int			i;
	int			nkeys = 0;
	bool		ok;
	int			cols[FEED_INDEX_MAX_EQ + 2];

	snprintf(name, sizeof(name), "%s%s", RelationGetRelationName(rel), feed_indexes[kind].suffix);
	if (strlen(name) >= NAMEDATALEN)
		return NULL;
	indexoid = get_relname_relid(name, RelationGetNamespace(rel));
	if (!OidIsValid(indexoid))
		return NULL;
	index = index_open(indexoid, AccessShareLock);
	nkeys = feed_index_columns(kind, cols);
	ok = index->rd_index->indrelid == RelationGetRelid(rel) &&
		index->rd_rel->relam == BTREE_AM_OID &&
		index->rd_index->indisvalid && index->rd_index->indisready &&
		IndexRelationGetNumberOfKeyAttributes(index) == nkeys;
	for (i = 0; ok && i < nkeys; i++)
		ok = index->rd_index->indkey.values[i] == attnums[cols[i]] && attnums[cols[i]] != 0;
	if (ok)
		ok = feed_index_shape_ok(index, kind, attnums, nkeys);
	if (!ok)
	{
		index_close(index, AccessShareLock);
		return NULL;
	}
	return index;
}

/* does text datum d equal one of the strings (sorted, as by sort_unique)? */
static bool
text_in(Datum d, char **strs, int n)
{
	text	   *t = DatumGetTextPP(d);
	const char *p = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	int			lo = 0;
	int			hi = n - 1;

	/* strcmp order: bytes, then the shorter first */
	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		size_t		slen = strlen(strs[mid]);
		int			c = memcmp(strs[mid], p, Min(slen, len));

		if (c == 0)
			c = (slen > len) - (slen < len);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* does the row's text column equal the argument? */
static bool
text_equals_datum(Datum a, Datum b)
{
	text	   *ta = DatumGetTextPP(a);
	text	   *tb = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(ta) == VARSIZE_ANY_EXHDR(tb) &&
		memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) == 0;
}

/* does the row's value of a filter's column match the filter? */
static bool
filter_matches(const FeedArgs *fa, FeedFilterId f, Datum value, bool isnull)
{
	const FeedFilterDef *d = &feed_filters[f];

	if (isnull)
		return false;
	switch (d->kind)
	{
		case FK_EQ:
			if (activity_columns[d->column].type == UUIDOID)
				return memcmp(DatumGetUUIDP(value), DatumGetUUIDP(fa->q.params[FEED_P(f)]), UUID_LEN) == 0;
			return text_equals_datum(value, fa->q.params[FEED_P(f)]);
		case FK_ANY:
			return text_in(value, fa->strs[f], fa->nstrs[f]);
		case FK_SINCE:
			return DatumGetTimestampTz(value) >= DatumGetTimestampTz(fa->q.params[FEED_P(f)]);
		case FK_UNTIL:
			return DatumGetTimestampTz(value) < DatumGetTimestampTz(fa->q.params[FEED_P(f)]);
		case FK_MEMBER:
			return text_equals_datum(value, fa->q.params[FEED_P(f)]);
		case FK_CONTAINS:
			return DatumGetBool(DirectFunctionCall2(jsonb_contains, value, fa->q.params[FEED_P(f)]));
	}
	return false;
}

/* does a row (values/nulls, AC_* order) match filter f? */
static bool
row_matches(const FeedArgs *fa, FeedFilterId f, const Datum *values, const bool *nulls)
{
	ActivityColumn c = feed_filters[f].column;

	/* a member feed: what the member initiated or received */
	if (feed_filters[f].kind == FK_MEMBER)
		return filter_matches(fa, f, values[AC_INITIATOR], nulls[AC_INITIATOR]) ||
			filter_matches(fa, f, values[AC_RECIPIENT], nulls[AC_RECIPIENT]);
	return filter_matches(fa, f, values[c], nulls[c]);
}

/* is filter f an index condition on occurred_at (the window)? */
static inline bool
window_filter(FeedFilterId f)
{
	return feed_filters[f].kind == FK_SINCE || feed_filters[f].kind == FK_UNTIL;
}

/*
 * Append up to "want" rows of partition relid after the position, read by a
 * direct index scan, to rows[*n] (tuples of rowdesc: the columns in
 * activity_columns order). Returns false (and reads nothing) if the
 * partition lacks the index.
 */
static bool
scan_partition(Oid relid, FeedArgs *fa, TupleDesc rowdesc, int want, FeedRow *rows, int *n)
{
	FeedIndex	kind = feed_index_for(fa->q.shape);
	uint32		in_index = activity_feed_index_filters(kind);
	Relation	rel;
	Relation	index;
	AttrNumber	attnums[AC_NUM];
	ScanKeyData keys[FEED_INDEX_MAX_EQ + FF_NUM + 1];
	ScanKeyData rowkeys[2];
	int			nkeys = 0;
	int			col;
	int			f;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	uint32		shape = fa->q.shape;
	bool		asc = fa->asc;
	int			got = 0;
	int			visited = 0;

	rel = table_open(relid, AccessShareLock);
	activity_column_attnums(RelationGetDescr(rel), attnums);
	index = activity_open_feed_index(rel, kind, attnums);
	if (index == NULL)
	{
		table_close(rel, AccessShareLock);
		return false;
	}

	/* equality on the leading columns, each with its operator class's "=" */
	for (col = 0; feed_indexes[kind].eq[col] >= 0; col++)
	{
		Oid			type = index->rd_opcintype[col];
		Oid			eqop = get_opfamily_member(index->rd_opfamily[col], type, type, BTEqualStrategyNumber);

		if (!OidIsValid(eqop))
			elog(ERROR, "no equality operator for column %d of index \"%s\"", col + 1,
				 RelationGetRelationName(index));
		ScanKeyEntryInitialize(&keys[nkeys++], 0, col + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[col], get_opcode(eqop),
							   fa->q.params[FEED_P(feed_indexes[kind].eq[col])]);
	}

	/*
	 * (occurred_at, id) after the position, in the walk's direction: a row
	 * comparison, whose members are in insertion form (the 3-way comparison
	 * support functions of the index's operator classes)
	 */
	ScanKeyEntryInitialize(&rowkeys[0], SK_ROW_MEMBER, col + 1,
						   asc ? BTGreaterStrategyNumber : BTLessStrategyNumber,
						   InvalidOid, index->rd_indcollation[col],
						   F_TIMESTAMPTZ_CMP, TimestampTzGetDatum(fa->pos_ts));
	ScanKeyEntryInitialize(&rowkeys[1], SK_ROW_MEMBER | SK_ROW_END, col + 2,
						   asc ? BTGreaterStrategyNumber : BTLessStrategyNumber,
						   InvalidOid, index->rd_indcollation[col + 1],
						   F_UUID_CMP, UUIDPGetDatum(&fa->pos_id));
	memset(&keys[nkeys], 0, sizeof(ScanKeyData));
	keys[nkeys].sk_flags = SK_ROW_HEADER;
	keys[nkeys].sk_attno = col + 1;
	keys[nkeys].sk_strategy = asc ? BTGreaterStrategyNumber : BTLessStrategyNumber;
	keys[nkeys].sk_argument = PointerGetDatum(rowkeys);
	nkeys++;

	/* the window, on occurred_at */
	for (f = 0; f < FF_NUM; f++)
		if ((shape & FEED_HAS(f)) && window_filter(f))
		{
			Assert(feed_filters[f].column == AC_OCCURRED_AT);
			if (feed_filters[f].kind == FK_SINCE)
				ScanKeyEntryInitialize(&keys[nkeys++], 0, col + 1, BTGreaterEqualStrategyNumber, InvalidOid,
									   InvalidOid, F_TIMESTAMPTZ_GE, fa->q.params[FEED_P(f)]);
			else
				ScanKeyEntryInitialize(&keys[nkeys++], 0, col + 1, BTLessStrategyNumber, InvalidOid,
									   InvalidOid, F_TIMESTAMPTZ_LT, fa->q.params[FEED_P(f)]);
		}

	/* the index is DESC: forward is newest first */
	scan = activity_index_beginscan(rel, index, GetActiveSnapshot(), nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	slot = table_slot_create(rel, NULL);
	fa->walked_out = false;
	while (got < want && index_getnext_slot(scan, asc ? BackwardScanDirection : ForwardScanDirection, slot))
	{
		Datum		values[AC_NUM];
		bool		nulls[AC_NUM];
		bool		match = true;
		int			c;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		for (c = 0; c < AC_NUM; c++)
		{
			/* (a column the partition lacks, as 0.1's lack function_type, is NULL) */
			values[c] = attnums[c] ? slot->tts_values[attnums[c] - 1] : (Datum) 0;
			nulls[c] = attnums[c] ? slot->tts_isnull[attnums[c] - 1] : true;
		}
		if (fa->walk_budget > 0)
		{
			/* out of budget: the rest, from this entry on, by another way */
			if (++visited > fa->walk_budget)
			{
				fa->walked_out = true;
				break;
			}
			/* the position after the last entry read */
			fa->walk_ts = DatumGetTimestampTz(values[AC_OCCURRED_AT]);
			memcpy(fa->walk_id.data, DatumGetUUIDP(values[AC_ID])->data, UUID_LEN);
		}

		/* the filters the index does not apply */
		for (f = 0; f < FF_NUM && match; f++)
			if ((shape & FEED_HAS(f)) && !(in_index & FEED_HAS(f)) && !window_filter(f))
				match = row_matches(fa, f, values, nulls);
		if (!match)
			continue;

		rows[*n].tuple = heap_form_tuple(rowdesc, values, nulls);
		rows[*n].occurred_at = DatumGetTimestampTz(values[AC_OCCURRED_AT]);
		rows[*n].id = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));
		memcpy(rows[*n].id, DatumGetUUIDP(values[AC_ID]), sizeof(pg_uuid_t));
		(*n)++;
		got++;
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	return true;
}

/* a filter as page_plans() shows it, its argument as its parameter */
static void
describe_filter(StringInfo s, FeedFilterId f)
{
	const FeedFilterDef *d = &feed_filters[f];
	static const char *const ops[] = {"= ", "= ANY (", ">= ", "< ", "= ", "@> "};

	if (d->kind == FK_MEMBER)
		appendStringInfo(s, "((initiator_id = $%d) OR (recipient_id = $%d))", FEED_P(f) + 1, FEED_P(f) + 1);
	else
		appendStringInfo(s, "(%s %s$%d%s)", activity_columns[d->column].name, ops[d->kind],
						 FEED_P(f) + 1, d->kind == FK_ANY ? ")" : "");
}

/*
 * What scan_partition() does in partition relid, as page_plans() shows it,
 * or NULL if the partition lacks the index (page() then runs its plan).
 */
static char *
describe_scan(Oid relid, FeedArgs *fa)
{
	FeedIndex	kind = feed_index_for(fa->q.shape);
	uint32		in_index = activity_feed_index_filters(kind);
	uint32		shape = fa->q.shape;
	Relation	rel = table_open(relid, AccessShareLock);
	AttrNumber	attnums[AC_NUM];
	Relation	index;
	StringInfoData s;
	StringInfoData filter;
	int			i;
	int			f;

	activity_column_attnums(RelationGetDescr(rel), attnums);
	index = activity_open_feed_index(rel, kind, attnums);
	if (index == NULL)
	{
		table_close(rel, NoLock);
		return NULL;
	}
	initStringInfo(&s);
	initStringInfo(&filter);
	appendStringInfo(&s, "Index Scan%s using %s on %s (direct, limit $%d)\n  Index Cond: (",
					 fa->asc ? " Backward" : "", RelationGetRelationName(index), RelationGetRelationName(rel),
					 FEED_P_LIMIT + 1);
	for (i = 0; feed_indexes[kind].eq[i] >= 0; i++)
	{
		describe_filter(&s, feed_indexes[kind].eq[i]);
		appendStringInfoString(&s, " AND ");
	}
	appendStringInfo(&s, "(ROW(occurred_at, id) %s ROW($%d, $%d))", fa->asc ? ">" : "<",
					 FEED_P_POS_TS + 1, FEED_P_POS_ID + 1);
	for (f = 0; f < FF_NUM; f++)
		if ((shape & FEED_HAS(f)) && window_filter(f))
		{
			appendStringInfoString(&s, " AND ");
			describe_filter(&s, f);
		}
	appendStringInfoChar(&s, ')');
	for (f = 0; f < FF_NUM; f++)
		if ((shape & FEED_HAS(f)) && !(in_index & FEED_HAS(f)) && !window_filter(f))
		{
			if (filter.len)
				appendStringInfoString(&filter, " AND ");
			describe_filter(&filter, f);
		}
	if (filter.len)
		appendStringInfo(&s, "\n  Filter: %s", filter.data);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	return s.data;
}

/*
 * Make the feed plans ordered index seeks. A feed query is a keyset range in
 * index order with a small LIMIT, so an index scan in that order is the plan
 * that reads least, whatever the data; but a generic plan built while a
 * filter looks very selective, or a partition small, may prefer to scan and
 * sort. Plans are built (and rebuilt after ANALYZE) when they are executed,
 * so these settings hold from the first plan a walk runs to its end (a walk
 * by direct index scans alone never sets them). Returns the GUC nest level to
 * restore with AtEOXact_GUC().
 */
static int
force_index_seeks(uint32 shape)
{
	static const char *const off[] = {
		"enable_seqscan", "enable_sort", "enable_incremental_sort", "enable_bitmapscan"
	};
	static const char *const off_search[] = {"enable_seqscan", "enable_indexscan"};
	int			nestlevel = NewGUCNestLevel();
	int			i;

	/*
	 * A metadata search is a bitmap scan of the metadata index (with the
	 * workspace's) and a sort of what it found, as a GIN index has no order:
	 * a generic plan, which cannot see how selective the document is, would
	 * otherwise walk the feed index and filter, reading the whole partition
	 * for a rare document (12 ms instead of 1.5 ms on 100,000 rows).
	 */
	if (shape & FEED_HAS(FF_METADATA))
	{
		for (i = 0; i < (int) lengthof(off_search); i++)
			(void) set_config_option(off_search[i], "off", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
		return nestlevel;
	}
	for (i = 0; i < (int) lengthof(off); i++)
		(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * One stream of a member feed: its initiator feed or its recipient feed,
 * each an index seek of its own.
 */
static FeedArgs *
member_stream(const FeedArgs *fa, FeedFilterId as)
{
	FeedArgs   *s = palloc(sizeof(FeedArgs));

	*s = *fa;
	s->q.shape = (fa->q.shape & ~FEED_HAS(FF_MEMBER)) | FEED_HAS(as);
	s->q.params[FEED_P(as)] = fa->q.params[FEED_P(FF_MEMBER)];
	s->q.nulls[FEED_P(as)] = ' ';
	return s;
}

/*
 * A member feed of partition relid (what the member initiated or received):
 * the initiator and recipient feeds read by their index scans, merged in
 * feed order, a row in both (the member gave something to themself) once.
 * False (and nothing read) if the partition lacks one of the indexes.
 */
static bool
scan_member(Oid relid, FeedArgs *fa, TupleDesc rowdesc, int want, FeedRow *rows, int *n)
{
	FeedRow    *a = palloc(sizeof(FeedRow) * (want + 1));
	FeedRow    *b = palloc(sizeof(FeedRow) * (want + 1));
	int			na = 0;
	int			nb = 0;
	int			i = 0;
	int			j = 0;
	int			got = 0;

	if (!scan_partition(relid, member_stream(fa, FF_INITIATOR), rowdesc, want, a, &na) ||
		!scan_partition(relid, member_stream(fa, FF_RECIPIENT), rowdesc, want, b, &nb))
		return false;
	while (got < want && (i < na || j < nb))
	{
		if (i < na && j < nb && a[i].occurred_at == b[j].occurred_at &&
			memcmp(a[i].id->data, b[j].id->data, UUID_LEN) == 0)
		{
			rows[(*n)++] = a[i++];
			j++;
		}
		else if (j >= nb || (i < na && feed_before(&a[i], &b[j], fa->asc)))
			rows[(*n)++] = a[i++];
		else
			rows[(*n)++] = b[j++];
		got++;
	}
	return true;
}

/* page_plans()' description of scan_member() */
static char *
describe_member(Oid relid, FeedArgs *fa)
{
	char	   *i = describe_scan(relid, member_stream(fa, FF_INITIATOR));
	char	   *r = describe_scan(relid, member_stream(fa, FF_RECIPIENT));

	if (i == NULL || r == NULL)
		return NULL;
	return psprintf("Merge (occurred_at, id) of two direct index scans, each row once\n%s\n%s", i, r);
}

/*
 * Does partition relid have the GIN index of metadata a metadata search
 * reads (activity.configure(metadata_index => true))? Then the search runs
 * the partition's plan (a bitmap scan of it), not a walk of a feed index.
 */
static bool
use_metadata_index(Oid relid, const FeedArgs *fa)
{
	char	   *relname;
	char		name[NAMEDATALEN * 2];

	if (!(fa->q.shape & FEED_HAS(FF_METADATA)))
		return false;
	relname = get_rel_name(relid);
	if (relname == NULL)
		return false;
	snprintf(name, sizeof(name), "%s_metadata_idx", relname);
	return strlen(name) < NAMEDATALEN && OidIsValid(get_relname_relid(name, get_rel_namespace(relid)));
}

/*
 * Read up to "want" rows of a partition after the position: by a direct
 * index scan, or through the partition's cached plan if it has no index for
 * the shape.
 */
static void
read_partition(Oid relid, FeedArgs *fa, TupleDesc rowdesc, int want, FeedRow *rows, int *n)
{
	if (!fa->rls && activity_direct_scans)
	{
		if (fa->q.shape & FEED_HAS(FF_MEMBER))
		{
			if (scan_member(relid, fa, rowdesc, want, rows, n))
				return;
		}
		else if (use_metadata_index(relid, fa))
		{
			/*
			 * A metadata search: a document most events contain is found
			 * soonest by walking the feed; a rare one by the metadata index
			 * (a walk would read the whole partition). The walk gets a budget
			 * of entries; once one runs out, the document is taken for rare
			 * and the index serves the rest of the search.
			 */
			if (!fa->rare)
			{
				int			before = *n;

				fa->walk_budget = 100 + 4 * want;
				if (scan_partition(relid, fa, rowdesc, want, rows, n))
				{
					fa->walk_budget = 0;
					if (!fa->walked_out)
						return;
					fa->rare = true;
					want -= *n - before;
					if (fa->guc_nestlevel == 0)
						fa->guc_nestlevel = force_index_seeks(fa->q.shape);
					fetch_partition(relid, &fa->q, fa->walk_ts, &fa->walk_id, want, rows, n, fa->rls);
					return;
				}
				fa->walk_budget = 0;
			}
		}
		else if (scan_partition(relid, fa, rowdesc, want, rows, n))
			return;
	}
	if (fa->guc_nestlevel == 0)
		fa->guc_nestlevel = force_index_seeks(fa->q.shape);
	fetch_partition(relid, &fa->q, fa->pos_ts, &fa->pos_id, want, rows, n, fa->rls);
}


/*
 * The layout of a fetched row: the columns in activity_columns order (a feed
 * plan selects them so; a direct scan forms them so).
 */
static TupleDesc
feed_row_desc(void)
{
	static TupleDesc desc = NULL;

	if (desc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		TupleDesc	d = CreateTemplateTupleDesc(AC_NUM);
		int			c;

		for (c = 0; c < AC_NUM; c++)
			TupleDescInitEntry(d, c + 1, activity_columns[c].name, activity_columns[c].type, -1, 0);
		MemoryContextSwitchTo(old);
		desc = d;
	}
	return desc;
}

/*
 * What each column of page()'s result is, by name: a column of the log
 * (AC_*), OUT_CURSOR or OUT_HAS_MORE. The result type is the SQL
 * signature's, which may be an older version's during an upgrade.
 */
static int *
output_map(TupleDesc outdesc)
{
	int		   *map = palloc(sizeof(int) * (outdesc->natts + 1));
	int			a;

	for (a = 0; a < outdesc->natts; a++)
	{
		const char *name = NameStr(TupleDescAttr(outdesc, a)->attname);
		Oid			type = TupleDescAttr(outdesc, a)->atttypid;
		int			c;

		map[a] = -1;
		for (c = 0; c < AC_NUM; c++)
			if (strcmp(name, activity_columns[c].name) == 0 && type == activity_columns[c].type)
				map[a] = c;
		if (strcmp(name, "cursor") == 0)
			map[a] = OUT_CURSOR;
		else if (strcmp(name, "has_more") == 0 && type == BOOLOID)
			map[a] = OUT_HAS_MORE;
		if (map[a] < 0)
			elog(ERROR, "activity.page() has an unexpected result column \"%s\"", name);
	}
	return map;
}

/*
 * activity.page(workspace_id, after, "limit", subject_type, subject_id,
 * initiator_id, recipient_id, types, universal_types, actor_types,
 * platforms, since, until, direction)
 */
Datum
activity_page(PG_FUNCTION_ARGS)
{
	FeedArgs	fa;
	TupleDesc	outdesc;
	Tuplestorestate *store;
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
	TupleDesc	rowdesc = feed_row_desc();
	int		   *outmap;
	Datum	   *outvalues;
	bool	   *outnulls;

	store = activity_begin_set(fcinfo, "activity.page", &outdesc);
	parse_feed_args(fcinfo, &fa);

	/*
	 * Lock the parent for the whole transaction: no partition can be
	 * detached or dropped under the walk, and invalidations are processed
	 * before the partition list is read.
	 */
	parent = table_open(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false), AccessShareLock);
	fa.rls = activity_check_read_access(parent);
	parts = activity_partition_list(parent);

	want = fa.limit + 1;
	drows = palloc(sizeof(FeedRow) * want);
	prows = palloc(sizeof(FeedRow) * want);

	if (!fa.rls)
		activity_become_owner(RelationGetRelid(parent), &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	activity_forget_stale_plans(parts);

	if (!fa.empty && OidIsValid(parts->default_relid))
		read_partition(parts->default_relid, &fa, rowdesc, want, drows, &nd);

	/*
	 * Walk the range partitions from the cursor's towards older (newer, if
	 * asc) ones, inside the time window, until the page is full.
	 */
	for (i = 0; !fa.empty && i < parts->nparts && np < want; i++)
	{
		ActivityPartition *p = &parts->parts[fa.asc ? i : parts->nparts - 1 - i];
		int			where = partition_in_walk(p, &fa);

		if (where < 0)
			continue;
		if (where > 0)
			break;
		CHECK_FOR_INTERRUPTS();
		read_partition(p->relid, &fa, rowdesc, want - np, prows, &np);
	}

	/* merge the two streams and emit up to limit rows */
	di = pi = emitted = 0;
	outmap = output_map(outdesc);
	outvalues = palloc(sizeof(Datum) * (outdesc->natts + 1));
	outnulls = palloc(sizeof(bool) * (outdesc->natts + 1));
	while (emitted < fa.limit && (di < nd || pi < np))
	{
		FeedRow    *r;
		Datum		values[AC_NUM + 2];
		bool		nulls[AC_NUM + 2];
		ActivityCursor c;
		int			a;

		if (di < nd && (pi >= np || feed_before(&drows[di], &prows[pi], fa.asc)))
			r = &drows[di++];
		else
			r = &prows[pi++];

		heap_deform_tuple(r->tuple, rowdesc, values, nulls);

		c.format_version = CURSOR_FORMAT_VERSION;
		c.flags = fa.asc ? CURSOR_FLAG_ASC : 0;
		c.occurred_at = r->occurred_at;
		c.id = *r->id;
		c.query_hash = fa.qhash;
		values[OUT_CURSOR] = activity_cursor_make(&c);
		nulls[OUT_CURSOR] = false;
		values[OUT_HAS_MORE] = BoolGetDatum(nd + np > fa.limit);
		nulls[OUT_HAS_MORE] = false;

		for (a = 0; a < outdesc->natts; a++)
		{
			outvalues[a] = values[outmap[a]];
			outnulls[a] = nulls[outmap[a]];
		}
		tuplestore_putvalues(store, outdesc, outvalues, outnulls);
		emitted++;
	}

	if (fa.guc_nestlevel > 0)
		AtEOXact_GUC(true, fa.guc_nestlevel);
	SPI_finish();
	if (!fa.rls)
		activity_restore_user(&saved);
	table_close(parent, NoLock);

	return (Datum) 0;
}

/*
 * The plan of a cached SPI plan, as EXPLAIN (COSTS OFF) prints it.
 */
static char *
explain_spi_plan(SPIPlanPtr plan)
{
	CachedPlan *cplan = SPI_plan_get_cached_plan(plan);
	PlannedStmt *pstmt;
	ExplainState *es;
	QueryDesc  *qd;

	if (cplan == NULL || list_length(cplan->stmt_list) != 1)
		elog(ERROR, "unexpected feed plan");
	pstmt = linitial_node(PlannedStmt, cplan->stmt_list);
	es = NewExplainState();
	es->costs = false;
	es->format = EXPLAIN_FORMAT_TEXT;
	qd = CreateQueryDesc(pstmt, "", GetActiveSnapshot(), InvalidSnapshot,
						 None_Receiver, NULL, NULL, 0);
	ExecutorStart(qd, EXEC_FLAG_EXPLAIN_ONLY);
	ExplainPrintPlan(es, qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);
	activity_release_cached_plan(cplan);
	if (es->str->len > 0 && es->str->data[es->str->len - 1] == '\n')
		es->str->data[--es->str->len] = '\0';
	return es->str->data;
}

/*
 * activity.page_plans(<the arguments of page()>) returns table (partition
 * regclass, plan text): the cached plan page() runs in each partition it may
 * read for these arguments (the default partition first, then the range
 * partitions in the order of the walk, within the window and from the
 * cursor), as EXPLAIN prints it. For DBAs checking that every feed is an
 * index seek.
 */
Datum
activity_page_plans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	FeedArgs	fa;
	TupleDesc	outdesc;
	Tuplestorestate *store;
	MemoryContext old;
	Relation	parent;
	ActivityPartitionList *parts;
	Oid		   *relids;
	char	  **plans;
	int			n = 0;
	int			i;
	ActivityUserContext saved;

	store = activity_begin_set(fcinfo, "activity.page_plans", &outdesc);
	parse_feed_args(fcinfo, &fa);

	parent = table_open(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false), AccessShareLock);
	fa.rls = activity_check_read_access(parent);
	parts = activity_partition_list(parent);
	relids = palloc(sizeof(Oid) * (parts->nparts + 1));
	plans = palloc(sizeof(char *) * (parts->nparts + 1));

	if (!fa.rls)
		activity_become_owner(RelationGetRelid(parent), &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	activity_forget_stale_plans(parts);
	if (OidIsValid(parts->default_relid))
		relids[n++] = parts->default_relid;
	for (i = 0; i < parts->nparts; i++)
	{
		ActivityPartition *p = &parts->parts[fa.asc ? i : parts->nparts - 1 - i];
		int			where = partition_in_walk(p, &fa);

		if (where < 0)
			continue;
		if (where > 0)
			break;
		relids[n++] = p->relid;
	}
	if (fa.empty)
		n = 0;
	for (i = 0; i < n; i++)
	{
		char	   *text = NULL;

		if (activity_direct_scans && !fa.rls)
		{
			if (fa.q.shape & FEED_HAS(FF_MEMBER))
				text = describe_member(relids[i], &fa);
			else if (use_metadata_index(relids[i], &fa))
			{
				char	   *walk = describe_scan(relids[i], &fa);

				if (fa.guc_nestlevel == 0)
					fa.guc_nestlevel = force_index_seeks(fa.q.shape);
				text = explain_spi_plan(activity_feed_plan(relids[i], fa.q.shape));
				if (walk != NULL)
					text = psprintf("%s\n  (at most 100 + 4 x limit entries; past them, in this and the later partitions:)\n%s",
									walk, text);
			}
			else
				text = describe_scan(relids[i], &fa);
		}

		if (text == NULL)
		{
			if (fa.guc_nestlevel == 0)
				fa.guc_nestlevel = force_index_seeks(fa.q.shape);
			text = explain_spi_plan(activity_feed_plan(relids[i], fa.q.shape | (fa.rls ? FEED_RLS : 0)));
		}

		old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		plans[i] = pstrdup(text);
		MemoryContextSwitchTo(old);
	}
	if (fa.guc_nestlevel > 0)
		AtEOXact_GUC(true, fa.guc_nestlevel);
	SPI_finish();
	if (!fa.rls)
		activity_restore_user(&saved);
	table_close(parent, NoLock);

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = ObjectIdGetDatum(relids[i]);
		values[1] = CStringGetTextDatum(plans[i]);
		tuplestore_putvalues(store, outdesc, values, nulls);
	}
	MemoryContextSwitchTo(old);

	return (Datum) 0;
}
