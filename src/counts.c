/*
 * counts.c
 *		Counts of a workspace's activities per time bucket and type, read from
 *		the workspace feed index of each partition alone, for counts() and
 *		bursts() (SQL, in the install script, cuts the buckets and falls back
 *		to plain SQL where these cannot serve: see _index_counts_possible()).
 *
 * The feed index holds (workspace_id, occurred_at, id) and, in its INCLUDE
 * column, the type: an index-only scan of one workspace's range gives every
 * row's time and type. Going through the executor and grouping in SQL cost
 * most of a counts() call (50 ms for a year of 100,000 events); here each
 * entry is placed in its bucket by a binary search over the bounds (usually
 * the bucket of the entry before) and counted under its type's number in a
 * dictionary of the types seen (a few dozen).
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/itup.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "activity.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(activity_bucket_counts);
PG_FUNCTION_INFO_V1(activity_bucket_bursts);
PG_FUNCTION_INFO_V1(activity_index_counts_possible);

/* the types seen, each with its number */
#define DICT_SLOTS	256			/* hash table of the numbers; grows past half full */

typedef struct TypeDict
{
	int			n;
	int			size;
	text	  **types;			/* copies */
	int			last;			/* the number found last */
	int			nslots;
	int		   *slots;			/* type number + 1, 0 empty; by hash of the type */
} TypeDict;

/* the counts of one bucket: per type number */
typedef struct Bucket
{
	int			n;				/* entries */
	int			size;
	int		   *ids;			/* type numbers, in the order first seen */
	int64	   *counts;
} Bucket;

static inline bool
type_is(const text *a, const char *data, int len)
{
	return (int) VARSIZE_ANY_EXHDR(a) == len && memcmp(VARDATA_ANY(a), data, len) == 0;
}

static void
dict_insert_slot(TypeDict *d, int id)
{
	text	   *t = d->types[id];
	uint32		h = hash_bytes((const unsigned char *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	int			s = h & (d->nslots - 1);

	while (d->slots[s] != 0)
		s = (s + 1) & (d->nslots - 1);
	d->slots[s] = id + 1;
}

/* the number of type t, entered if new */
static int
dict_id(TypeDict *d, Datum type)
{
	text	   *t = DatumGetTextPP(type);
	const char *data = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			s;
	int			i;

	/* (consecutive rows are often of one type: the last one first) */
	if (d->last < d->n && type_is(d->types[d->last], data, len))
		return d->last;
	if (d->slots == NULL)
	{
		d->nslots = DICT_SLOTS;
		d->slots = palloc0(sizeof(int) * d->nslots);
	}
	for (s = hash_bytes((const unsigned char *) data, len) & (d->nslots - 1); d->slots[s] != 0;
		 s = (s + 1) & (d->nslots - 1))
		if (type_is(d->types[d->slots[s] - 1], data, len))
			return d->last = d->slots[s] - 1;
	if (d->n == d->size)
	{
		d->size = d->size ? d->size * 2 : 16;
		d->types = d->types ? repalloc(d->types, sizeof(text *) * d->size) : palloc(sizeof(text *) * d->size);
	}
	d->types[d->n] = (text *) PG_DETOAST_DATUM_COPY(type);
	if ((d->n + 1) * 2 > d->nslots)
	{
		/* past half full: twice the slots, every number again */
		pfree(d->slots);
		d->nslots *= 2;
		d->slots = palloc0(sizeof(int) * d->nslots);
		for (i = 0; i < d->n; i++)
			dict_insert_slot(d, i);
	}
	dict_insert_slot(d, d->n);
	return d->last = d->n++;
}

static void
bucket_add(Bucket *b, int id, int64 n)
{
	int			i;

	for (i = b->n - 1; i >= 0; i--)
		if (b->ids[i] == id)
		{
			b->counts[i] += n;
			return;
		}
	if (b->n == b->size)
	{
		b->size = b->size ? b->size * 2 : 4;
		b->ids = b->ids ? repalloc(b->ids, sizeof(int) * b->size) : palloc(sizeof(int) * b->size);
		b->counts = b->counts ? repalloc(b->counts, sizeof(int64) * b->size) : palloc(sizeof(int64) * b->size);
	}
	b->ids[b->n] = id;
	b->counts[b->n++] = n;
}

static int64
bucket_count(const Bucket *b, int id)
{
	int			i;

	for (i = 0; i < b->n; i++)
		if (b->ids[i] == id)
			return b->counts[i];
	return 0;
}

/* a bucket's entries in rank order (insertion sort: a few entries) */
static void
sort_bucket(Bucket *b, const int *rank)
{
	int			i;
	int			j;

	for (i = 1; i < b->n; i++)
	{
		int			id = b->ids[i];
		int64		count = b->counts[i];

		for (j = i - 1; j >= 0 && rank[b->ids[j]] > rank[id]; j--)
		{
			b->ids[j + 1] = b->ids[j];
			b->counts[j + 1] = b->counts[j];
		}
		b->ids[j + 1] = id;
		b->counts[j + 1] = count;
	}
}

/* the bucket of ts among bounds[0..nb] (ascending), or -1 */
static inline int
bucket_of(TimestampTz ts, const TimestampTz *bounds, int nb)
{
	int			lo = 0;
	int			hi = nb - 1;

	if (ts < bounds[0] || ts >= bounds[nb])
		return -1;
	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (bounds[mid] <= ts)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/*
 * The workspace feed index of partition rel, opened, if it can be counted
 * from: the expected definition, the type in its INCLUDE column (*type_att),
 * a deterministic collation; else NULL.
 */
static Relation
open_count_index(Relation rel, int *type_att)
{
	AttrNumber	attnums[AC_NUM];
	Relation	index;

	activity_column_attnums(RelationGetDescr(rel), attnums);
	index = activity_open_feed_index(rel, FIDX_FEED, attnums);
	if (index == NULL)
		return NULL;
	*type_att = IndexRelationGetNumberOfKeyAttributes(index) + 1;
	if (IndexRelationGetNumberOfAttributes(index) < *type_att ||
		index->rd_index->indkey.values[*type_att - 1] != attnums[AC_TYPE] ||
		(OidIsValid(index->rd_indcollation[0]) && !get_collation_isdeterministic(index->rd_indcollation[0])))
	{
		index_close(index, AccessShareLock);
		return NULL;
	}
	return index;
}

/*
 * Count the rows of the workspace in [since, until) of partition relid
 * (whose range is [lower, upper)) into buckets, by an index-only scan of its
 * workspace feed index: the heap is visited only for pages the visibility
 * map does not know all-visible. False if the partition lacks the index.
 */
static bool
count_partition(Oid relid, TimestampTz lower, TimestampTz upper, Datum ws, TimestampTz since,
				TimestampTz until, const TimestampTz *bounds, int nb, TypeDict *dict, Bucket *buckets)
{
	Relation	rel;
	Relation	index;
	ScanKeyData keys[3];
	int			nkeys = 0;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Buffer		vmbuf = InvalidBuffer;
	ItemPointer tid;
	int			type_att;
	int			b = -1;
	Datum		ivalues[INDEX_MAX_KEYS];
	bool		inulls[INDEX_MAX_KEYS];
	bool		serializable = IsolationIsSerializable();
	BlockNumber locked = InvalidBlockNumber;

	rel = table_open(relid, AccessShareLock);
	index = open_count_index(rel, &type_att);
	if (index == NULL)
	{
		table_close(rel, AccessShareLock);
		return false;
	}

	/*
	 * The workspace (equality under a deterministic collation, which
	 * open_count_index() checked, is byte equality: the C collation's spares
	 * texteq a locale lookup per row) and the window, unless the partition
	 * lies within it.
	 */
	ScanKeyEntryInitialize(&keys[nkeys++], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   C_COLLATION_OID, F_TEXTEQ, ws);
	if (lower < since)
		ScanKeyEntryInitialize(&keys[nkeys++], 0, 2, BTGreaterEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_TIMESTAMPTZ_GE, TimestampTzGetDatum(since));
	if (upper > until)
		ScanKeyEntryInitialize(&keys[nkeys++], 0, 2, BTLessStrategyNumber, InvalidOid,
							   InvalidOid, F_TIMESTAMPTZ_LT, TimestampTzGetDatum(until));
	scan = activity_index_beginscan(rel, index, GetActiveSnapshot(), nkeys, 0);
	scan->xs_want_itup = true;
	index_rescan(scan, keys, nkeys, NULL, 0);
	slot = table_slot_create(rel, NULL);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		TimestampTz ts;
		BlockNumber blk = ItemPointerGetBlockNumber(tid);

		CHECK_FOR_INTERRUPTS();
		/* as an index-only scan does: the heap only where not all-visible */
		if (!VM_ALL_VISIBLE(rel, blk, &vmbuf))
		{
			if (!index_fetch_heap(scan, slot))
				continue;
			ExecClearTuple(slot);
		}
		else if (serializable && blk != locked)
		{
			PredicateLockPage(rel, blk, GetActiveSnapshot());
			locked = blk;
		}
		/* (one pass over the entry: its first column is of variable length) */
		index_deform_tuple(scan->xs_itup, scan->xs_itupdesc, ivalues, inulls);
		ts = DatumGetTimestampTz(ivalues[1]);
		/* rows come newest first: mostly the bucket of the row before */
		if (b < 0 || ts < bounds[b] || ts >= bounds[b + 1])
			b = bucket_of(ts, bounds, nb);
		if (b >= 0 && !inulls[type_att - 1])
			bucket_add(&buckets[b], dict_id(dict, ivalues[type_att - 1]), 1);
	}
	if (vmbuf != InvalidBuffer)
		ReleaseBuffer(vmbuf);
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	return true;
}

/*
 * Count the workspace's rows of [since, until) into the buckets of
 * bounds[0..nbounds-1]: every partition that overlaps the window, and the
 * default one. Errors if row-level security applies to the caller or a
 * partition lacks its index (SQL checks _index_counts_possible() first).
 */
static Bucket *
count_buckets(Datum ws, TimestampTz since, TimestampTz until, const TimestampTz *bounds, int nbounds,
			  TypeDict *dict)
{
	Relation	parent;
	ActivityPartitionList *parts;
	Bucket	   *buckets = palloc0(sizeof(Bucket) * Max(nbounds - 1, 1));
	bool		ok = true;
	int			i;

	parent = table_open(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false), AccessShareLock);
	if (activity_check_read_access(parent))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("counting from the feed indexes does not apply row-level security"),
				 errhint("Count in SQL when activity._index_counts_possible() is false.")));
	parts = activity_partition_list(parent);
	if (OidIsValid(parts->default_relid))
		ok = count_partition(parts->default_relid, DT_NOBEGIN, DT_NOEND, ws, since, until,
							 bounds, nbounds - 1, dict, buckets);
	for (i = 0; i < parts->nparts && ok; i++)
	{
		ActivityPartition *p = &parts->parts[i];

		if (p->upper <= since || p->lower >= until)
			continue;
		ok = count_partition(p->relid, p->lower, p->upper, ws, since, until,
							 bounds, nbounds - 1, dict, buckets);
	}
	table_close(parent, NoLock);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a partition of activity.activities lacks the workspace feed index"),
				 errhint("Count in SQL when activity._index_counts_possible() is false.")));
	return buckets;
}

/* at most this many bucket bounds (100,000 buckets, as SQL allows) */
#define MAX_BOUNDS	100001

/*
 * The elements of a timestamp or timestamptz array argument (both int64),
 * ascending and not null; at most MAX_BOUNDS of them.
 */
static int64 *
times_arg(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *enulls;
	int64	   *times;
	int			i;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), sizeof(int64), true, TYPALIGN_DOUBLE, &elems, &enulls, n);
	if (*n > MAX_BOUNDS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("at most %d bucket bounds, not %d", MAX_BOUNDS, *n)));
	times = palloc(sizeof(int64) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		if (enulls[i] || (i > 0 && DatumGetInt64(elems[i]) <= times[i - 1]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bucket bounds must be ascending and not null")));
		times[i] = DatumGetInt64(elems[i]);
	}
	return times;
}

/*
 * The keys counted: each type its own (by type) or its universal type (the
 * types of one summed; those mapping to none under the NULL key), the types
 * whose universal type is not in filter (if not NULL) left out. The buckets
 * are re-keyed where that changes them; returns the keys (NULL: the NULL
 * key), sets *nkeys.
 */
static char **
bucket_keys(TypeDict *dict, Bucket *buckets, int nb, bool by_universal, ArrayType *filter, int *nkeys)
{
	int		   *key_of = palloc(sizeof(int) * Max(dict->n, 1));
	char	  **keys = palloc(sizeof(char *) * Max(dict->n, 1));
	Datum	   *elems = NULL;
	bool	   *enulls = NULL;
	int			nfilter = 0;
	int			i;
	int			j;

	if (filter)
		deconstruct_array(filter, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &nfilter);
	*nkeys = 0;
	for (i = 0; i < dict->n; i++)
	{
		char	   *type = text_to_cstring(dict->types[i]);
		EventType  *et = activity_lookup_type(type);
		char	   *universal = et && et->universal_type ? pstrdup(et->universal_type) : NULL;
		char	   *key = by_universal ? universal : type;
		bool		kept = filter == NULL;

		for (j = 0; j < nfilter && !kept; j++)
			kept = !enulls[j] && universal != NULL && strcmp(TextDatumGetCString(elems[j]), universal) == 0;
		key_of[i] = -1;
		if (!kept)
			continue;
		for (j = 0; j < *nkeys && key_of[i] < 0; j++)
			if ((keys[j] == NULL && key == NULL) || (keys[j] && key && strcmp(keys[j], key) == 0))
				key_of[i] = j;
		if (key_of[i] < 0)
		{
			keys[*nkeys] = key;
			key_of[i] = (*nkeys)++;
		}
	}
	/* by type, unfiltered: each type is its own key, numbered alike */
	if (by_universal || filter)
		for (i = 0; i < nb; i++)
		{
			Bucket		rekeyed = {0};

			CHECK_FOR_INTERRUPTS();
			for (j = 0; j < buckets[i].n; j++)
				if (key_of[buckets[i].ids[j]] >= 0)
					bucket_add(&rekeyed, key_of[buckets[i].ids[j]], buckets[i].counts[j]);
			buckets[i] = rekeyed;
		}
	return keys;
}

/* the rank of each key in the default collation's order, the NULL key last */
static int
key_cmp(const void *a, const void *b)
{
	const char *ka = **(char *const *const *) a;
	const char *kb = **(char *const *const *) b;

	if (ka == NULL || kb == NULL)
		return (ka == NULL) - (kb == NULL);
	return varstr_cmp(ka, strlen(ka), kb, strlen(kb), DEFAULT_COLLATION_OID);
}

static int *
key_ranks(char **keys, int n)
{
	char	 ***order = palloc(sizeof(char **) * Max(n, 1));
	int		   *rank = palloc(sizeof(int) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		order[i] = &keys[i];
	qsort(order, n, sizeof(char **), key_cmp);
	for (i = 0; i < n; i++)
		rank[order[i] - keys] = i;
	return rank;
}

/*
 * activity._bucket_counts(ws text, since timestamptz, until timestamptz,
 * bounds timestamptz[], by_universal boolean) returns table (bucket int,
 * type text, n bigint): the activities of a workspace in [since, until)
 * counted per type (or universal type) and bucket, bucket i (from 1) being
 * [bounds[i], bounds[i + 1]), in bucket and key order.
 */
Datum
activity_bucket_counts(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *store = activity_begin_set(fcinfo, "activity._bucket_counts", &desc);
	TypeDict	dict = {0};
	TimestampTz *bounds;
	Bucket	   *buckets;
	char	  **keys;
	int		   *rank;
	int			nbounds;
	int			nkeys;
	int			i;
	int			j;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		return (Datum) 0;
	bounds = times_arg(PG_GETARG_ARRAYTYPE_P(3), &nbounds);
	if (nbounds < 2)
		return (Datum) 0;
	buckets = count_buckets(PG_GETARG_DATUM(0), PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_TIMESTAMPTZ(2),
							bounds, nbounds, &dict);
	keys = bucket_keys(&dict, buckets, nbounds - 1, PG_NARGS() > 4 && !PG_ARGISNULL(4) && PG_GETARG_BOOL(4),
					   NULL, &nkeys);

	/*
	 * Each bucket's keys in the order of the collation (NULL last), so that
	 * the caller's ORDER BY finds its input sorted (a linear check)
	 */
	rank = key_ranks(keys, nkeys);
	for (i = 0; i < nbounds - 1; i++)
	{
		sort_bucket(&buckets[i], rank);
		for (j = 0; j < buckets[i].n; j++)
		{
			Datum		values[3];
			bool		nulls[3] = {false, false, false};
			char	   *key = keys[buckets[i].ids[j]];

			values[0] = Int32GetDatum(i + 1);
			if (key)
				values[1] = CStringGetTextDatum(key);
			else
				nulls[1] = true;
			values[2] = Int64GetDatum(buckets[i].counts[j]);
			tuplestore_putvalues(store, desc, values, nulls);
		}
	}
	return (Datum) 0;
}

/*
 * activity._bucket_bursts(ws text, since timestamptz, until timestamptz,
 * bounds timestamptz[], labels timestamp[], window_start timestamp,
 * period interval, baseline int, min_count int, min_score float8,
 * by_universal boolean, universal_types text[]) returns table (bucket int,
 * key text, n bigint, expected float8, score float8): bursts() by type (or
 * by universal type) over the buckets of bounds (labelled by their local
 * start, labels), as its SQL computes them: for each bucket labelled from
 * window_start on and each key with at least min_count events, the counts
 * of the same key in the buckets labelled label - k * period (k = 1 ..
 * baseline; a missing one is 0), m their mean and s2 their variance,
 * score = (n - m) / sqrt(s2 + m + 1); the rows with score >= min_score.
 * universal_types, if not NULL, keeps the types that map to one of them.
 */
Datum
activity_bucket_bursts(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Tuplestorestate *store = activity_begin_set(fcinfo, "activity._bucket_bursts", &desc);
	TypeDict	dict = {0};
	TimestampTz *bounds;
	Timestamp  *labels;
	Bucket	   *buckets;
	int			nbounds;
	int			nlabels;
	Timestamp	window_start;
	Interval   *period;
	int			baseline;
	int64		min_count;
	float8		min_score;
	char	  **keys;
	int			nkeys;
	int			i;
	int			j;
	int			k;

	for (i = 0; i < 11; i++)
		if (PG_ARGISNULL(i))
			return (Datum) 0;
	bounds = times_arg(PG_GETARG_ARRAYTYPE_P(3), &nbounds);
	labels = times_arg(PG_GETARG_ARRAYTYPE_P(4), &nlabels);
	if (nbounds < 2 || nlabels != nbounds)
		return (Datum) 0;
	window_start = PG_GETARG_TIMESTAMP(5);
	period = PG_GETARG_INTERVAL_P(6);
	baseline = PG_GETARG_INT32(7);
	min_count = PG_GETARG_INT32(8);
	min_score = PG_GETARG_FLOAT8(9);
	if (baseline < 1)
		return (Datum) 0;

	buckets = count_buckets(PG_GETARG_DATUM(0), PG_GETARG_TIMESTAMPTZ(1), PG_GETARG_TIMESTAMPTZ(2),
							bounds, nbounds, &dict);
	keys = bucket_keys(&dict, buckets, nbounds - 1, PG_GETARG_BOOL(10),
					   PG_ARGISNULL(11) ? NULL : PG_GETARG_ARRAYTYPE_P(11), &nkeys);

	for (i = 0; i < nbounds - 1; i++)
	{
		int			hist[52];

		CHECK_FOR_INTERRUPTS();
		if (labels[i] < window_start)
			continue;
		/* the buckets of the same slot in the previous periods, or -1 */
		for (k = 1; k <= baseline && k <= 52; k++)
		{
			Timestamp	back = labels[i];
			int			h;

			for (h = 0; h < k; h++)
				back = DatumGetTimestamp(DirectFunctionCall2(timestamp_mi_interval, TimestampGetDatum(back),
															 PointerGetDatum(period)));
			hist[k - 1] = -1;
			{
				int			lo = 0;
				int			hi = i - 1;

				while (lo <= hi)
				{
					int			mid = (lo + hi) / 2;

					if (labels[mid] == back)
					{
						hist[k - 1] = mid;
						break;
					}
					if (labels[mid] < back)
						lo = mid + 1;
					else
						hi = mid - 1;
				}
			}
		}
		for (j = 0; j < buckets[i].n; j++)
		{
			int64		n = buckets[i].counts[j];
			float8		s = 0;
			float8		s2 = 0;
			float8		m;
			float8		var;
			float8		score;

			if (n < min_count)
				continue;
			for (k = 0; k < baseline && k < 52; k++)
				if (hist[k] >= 0)
				{
					float8		c = (float8) bucket_count(&buckets[hist[k]], buckets[i].ids[j]);

					s += c;
					s2 += c * c;
				}
			m = s / baseline;
			var = s2 / baseline - m * m;
			score = ((float8) n - m) / sqrt((var > 0 ? var : 0) + m + 1);
			if (score >= min_score)
			{
				Datum		values[5];
				bool		nulls[5] = {false, false, false, false, false};
				char	   *key = keys[buckets[i].ids[j]];

				values[0] = Int32GetDatum(i + 1);
				if (key)
					values[1] = CStringGetTextDatum(key);
				else
					nulls[1] = true;
				values[2] = Int64GetDatum(n);
				values[3] = Float8GetDatum(m);
				values[4] = Float8GetDatum(score);
				tuplestore_putvalues(store, desc, values, nulls);
			}
		}
	}
	return (Datum) 0;
}

/*
 * Whether every partition has the index _bucket_counts() reads, as last
 * found: valid for that list of partitions until any relation's relcache
 * entry is invalidated (an index made or dropped among them)
 */
static bool possible_valid = false;
static bool possible_callback = false;
static uint64 possible_generation = 0;
static Oid	possible_parent = InvalidOid;

static void
possible_inval_callback(Datum arg, Oid relid)
{
	possible_valid = false;
}

/*
 * activity._index_counts_possible() returns boolean: can the functions above
 * count for the caller (no row-level security applies to it, every
 * partition has its workspace feed index)? Raises the error of a SELECT
 * for a role that may not read the log.
 */
Datum
activity_index_counts_possible(PG_FUNCTION_ARGS)
{
	Relation	parent;
	ActivityPartitionList *parts;
	bool		ok;
	int			i;

	if (!possible_callback)
	{
		CacheRegisterRelcacheCallback(possible_inval_callback, (Datum) 0);
		possible_callback = true;
	}
	parent = table_open(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false), AccessShareLock);
	ok = !activity_check_read_access(parent);
	parts = ok ? activity_partition_list(parent) : NULL;
	/* every partition has the index: known since the list and the relcache last changed */
	if (ok && possible_valid && possible_generation == parts->generation && possible_parent == parts->parent)
	{
		table_close(parent, NoLock);
		PG_RETURN_BOOL(true);
	}
	for (i = -1; ok && i < parts->nparts; i++)
	{
		Oid			relid = i < 0 ? parts->default_relid : parts->parts[i].relid;
		Relation	rel;
		Relation	index;
		int			type_att;

		if (!OidIsValid(relid))
			continue;
		rel = table_open(relid, AccessShareLock);
		index = open_count_index(rel, &type_att);
		ok = index != NULL;
		if (index)
			index_close(index, NoLock);
		table_close(rel, NoLock);
	}
	if (ok)
	{
		possible_valid = true;
		possible_generation = parts->generation;
		possible_parent = parts->parent;
	}
	table_close(parent, NoLock);
	PG_RETURN_BOOL(ok);
}
