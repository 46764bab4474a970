/*
 * columns.c
 *		The one description of an activity's columns, of the feed filters and
 *		of the indexes that serve them (see activity.h), and the functions
 *		that show it to SQL so that a test can hold the install script to it.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "activity.h"

PG_FUNCTION_INFO_V1(activity_columns_sql);
PG_FUNCTION_INFO_V1(activity_feed_filters_sql);
PG_FUNCTION_INFO_V1(activity_feed_indexes_sql);

#define ACTIVITY_COLUMN_DEF(e, name, type) {name, type},
const ActivityColumnDef activity_columns[AC_NUM] = {
	ACTIVITY_COLUMNS(ACTIVITY_COLUMN_DEF)
};
#undef ACTIVITY_COLUMN_DEF

#define FEED_FILTER_DEF(e, arg, col, kind, type, tag) {arg, col, kind, type, tag},
const FeedFilterDef feed_filters[FF_NUM] = {
	FEED_FILTERS(FEED_FILTER_DEF)
};
#undef FEED_FILTER_DEF

/*
 * The feed indexes of a partition, in the order page() prefers them: the
 * first whose filters a feed has all of serves it. Each leads with the
 * columns of those filters (equalities) and ends with (occurred_at DESC,
 * id DESC). activity._index_definitions() (SQL) makes its statements from
 * activity._feed_indexes(), so adding one here is all it takes: maintain()
 * builds it on every partition that lacks it.
 */
const FeedIndexDef feed_indexes[FIDX_NUM] = {
	/* from a cause to the synthetic events it caused (only those have one) */
	[FIDX_CAUSE] = {"_caused_by_idx", false, {FF_WORKSPACE, FF_CAUSED_BY, -1}, -1, AC_CAUSED_BY, false},
	[FIDX_SUBJECT] = {"_subject_idx", false, {FF_WORKSPACE, FF_SUBJECT_TYPE, FF_SUBJECT_ID, -1}, -1, AC_SUBJECT_ID, false},
	[FIDX_RECIPIENT] = {"_recipient_idx", false, {FF_WORKSPACE, FF_RECIPIENT, -1}, -1, AC_RECIPIENT, false},
	[FIDX_INITIATOR] = {"_initiator_idx", false, {FF_WORKSPACE, FF_INITIATOR, -1}, -1, AC_INITIATOR, false},
	/* unique (ids are): the replica identity, and finds an id whose occurred_at is known */
	[FIDX_FEED] = {"_feed_idx", true, {FF_WORKSPACE, -1}, AC_TYPE, -1, false},
	/* feeds across workspaces; -infinity is left out (the planner proves the predicate from any since) */
	[FIDX_TIME] = {"_time_idx", false, {-1}, -1, -1, true},
};

/* the filters an index applies as its leading equalities */
uint32
activity_feed_index_filters(FeedIndex kind)
{
	uint32		shape = 0;
	int			i;

	for (i = 0; feed_indexes[kind].eq[i] >= 0; i++)
		shape |= FEED_HAS(feed_indexes[kind].eq[i]);
	return shape;
}

/* "id, workspace_id, ...", made once */
const char *
activity_column_list(void)
{
	static char *list = NULL;

	if (list == NULL)
	{
		StringInfoData s;
		int			c;

		initStringInfo(&s);
		for (c = 0; c < AC_NUM; c++)
			appendStringInfo(&s, "%s%s", c ? ", " : "", activity_columns[c].name);
		list = MemoryContextStrdup(TopMemoryContext, s.data);
		pfree(s.data);
	}
	return list;
}

/*
 * Attribute numbers (0 if missing) of the columns in a relation's tuple
 * descriptor: a partition made by PARTITION OF has the parent's order, one
 * attached by hand may have another.
 */
void
activity_column_attnums(TupleDesc desc, AttrNumber *attnums)
{
	int			c;
	int			a;

	for (c = 0; c < AC_NUM; c++)
	{
		attnums[c] = 0;
		if (c < desc->natts && !TupleDescAttr(desc, c)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, c)->attname), activity_columns[c].name) == 0)
		{
			attnums[c] = c + 1;
			continue;
		}
		for (a = 0; a < desc->natts; a++)
			if (!TupleDescAttr(desc, a)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, a)->attname), activity_columns[c].name) == 0)
				attnums[c] = a + 1;
	}
}

/*
 * Start a materialized set result for a set-returning function named fname:
 * its tuple descriptor in *desc and the store to put rows in, both in the
 * per-query context.
 */
Tuplestorestate *
activity_begin_set(FunctionCallInfo fcinfo, const char *fname, TupleDesc *desc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *store;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s() must be called in a context that accepts a set", fname)));
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	*desc = CreateTupleDescCopy(*desc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = *desc;
	return store;
}

/* activity._columns() returns table (ord int, name text, type regtype) */
Datum
activity_columns_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *store = activity_begin_set(fcinfo, "activity._columns", &desc);
	int			c;

	for (c = 0; c < AC_NUM; c++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int32GetDatum(c + 1);
		values[1] = CStringGetTextDatum(activity_columns[c].name);
		values[2] = ObjectIdGetDatum(activity_columns[c].type);
		tuplestore_putvalues(store, desc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * activity._feed_filters() returns table (ord int, argument text, "column"
 * text, kind text, type regtype, param int, condition text)
 */
Datum
activity_feed_filters_sql(PG_FUNCTION_ARGS)
{
	static const char *const kinds[] = {"=", "= ANY", ">=", "<", "member", "@>"};
	TupleDesc	desc;
	Tuplestorestate *store = activity_begin_set(fcinfo, "activity._feed_filters", &desc);
	int			f;

	for (f = 0; f < FF_NUM; f++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		const FeedFilterDef *d = &feed_filters[f];

		values[0] = Int32GetDatum(f + 1);
		values[1] = CStringGetTextDatum(d->arg);
		values[2] = CStringGetTextDatum(activity_columns[d->column].name);
		values[3] = CStringGetTextDatum(kinds[d->kind]);
		values[4] = ObjectIdGetDatum(d->argtype);
		values[5] = Int32GetDatum(FEED_P(f) + 1);
		values[6] = CStringGetTextDatum(activity_feed_condition(f));
		tuplestore_putvalues(store, desc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * activity._feed_indexes() returns table (suffix text, "unique" boolean,
 * columns text[], body text): body is what follows "ON partition" in its
 * CREATE INDEX statement.
 */
Datum
activity_feed_indexes_sql(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *store = activity_begin_set(fcinfo, "activity._feed_indexes", &desc);
	int			k;

	for (k = 0; k < FIDX_NUM; k++)
	{
		const FeedIndexDef *ix = &feed_indexes[k];
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		Datum		cols[FEED_INDEX_MAX_EQ + 2];
		StringInfoData body;
		int			n = 0;
		int			i;

		initStringInfo(&body);
		appendStringInfoChar(&body, '(');
		for (i = 0; ix->eq[i] >= 0; i++)
		{
			const char *col = activity_columns[feed_filters[ix->eq[i]].column].name;

			cols[n++] = CStringGetTextDatum(col);
			appendStringInfo(&body, "%s, ", quote_identifier(col));
		}
		cols[n++] = CStringGetTextDatum("occurred_at");
		cols[n++] = CStringGetTextDatum("id");
		appendStringInfoString(&body, "occurred_at DESC, id DESC)");
		if (ix->include >= 0)
			appendStringInfo(&body, " INCLUDE (%s)", quote_identifier(activity_columns[ix->include].name));
		if (ix->not_null >= 0)
			appendStringInfo(&body, " WHERE %s IS NOT NULL", quote_identifier(activity_columns[ix->not_null].name));
		else if (ix->finite)
			appendStringInfoString(&body, " WHERE occurred_at > '-infinity'::timestamptz");
		values[0] = CStringGetTextDatum(ix->suffix);
		values[1] = BoolGetDatum(ix->unique);
		values[2] = PointerGetDatum(construct_array(cols, n, TEXTOID, -1, false, TYPALIGN_INT));
		values[3] = CStringGetTextDatum(body.data);
		tuplestore_putvalues(store, desc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The SQL condition of filter f, its argument as its parameter ($n), every
 * operator schema-qualified (feed plans run as the table owner).
 */
char *
activity_feed_condition(FeedFilterId f)
{
	const FeedFilterDef *d = &feed_filters[f];
	const char *col = activity_columns[d->column].name;
	int			param = FEED_P(f) + 1;

	switch (d->kind)
	{
		case FK_EQ:
			return psprintf("%s OPERATOR(pg_catalog.=) $%d", col, param);
		case FK_ANY:
			return psprintf("%s OPERATOR(pg_catalog.=) ANY ($%d)", col, param);
		case FK_SINCE:
			return psprintf("%s OPERATOR(pg_catalog.>=) $%d", col, param);
		case FK_UNTIL:
			return psprintf("%s OPERATOR(pg_catalog.<) $%d", col, param);
		case FK_MEMBER:
			return psprintf("(initiator_id OPERATOR(pg_catalog.=) $%d OR recipient_id OPERATOR(pg_catalog.=) $%d)",
							param, param);
		case FK_CONTAINS:
			return psprintf("%s OPERATOR(pg_catalog.@>) $%d", col, param);
	}
	elog(ERROR, "unknown feed filter kind %d", (int) d->kind);
	return NULL;
}
