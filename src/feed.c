/*
 * The change feed's pointers: which rows each transaction wrote.
 *
 * The validation constraint's function (src/ingest.c), which every row
 * written into a partition passes through (INSERT, COPY, record(), a
 * restore, logical replication's apply), hands each new row's
 * (occurred_at, id) to activity_feed_note(). They are kept in memory for the
 * transaction, those of a subtransaction dropped if it rolls back, and
 * written FEED_BATCH_MAX at a time, and at PRE_COMMIT, as rows of
 * activity.feed_batches (xact_id, batch, occurred_at[], ids[]): committed
 * with the rows they point to, or not at all. The change feed reads a
 * committed transaction's batches in order and fetches each row by its
 * pointer (sql/, activity._changes_chunk()).
 *
 * One heap row and one key per FEED_BATCH_MAX rows instead of one index
 * entry per row: a bulk COPY pays ~1% for the feed instead of 5-6.5% (design
 * notes in README.md, bench/RESULTS.md). Memory: at most FEED_BATCH_MAX
 * pointers per open subtransaction level.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "utils/array.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "activity.h"
#include "compat.h"

/* pointers per row of activity.feed_batches: ~1.6 kB, under the TOAST threshold */
#define FEED_BATCH_MAX 64

typedef struct FeedEntry
{
	TimestampTz occurred_at;
	pg_uuid_t	id;
} FeedEntry;

/*
 * The pointers not yet written, in TopTransactionContext; those of the
 * innermost open subtransaction are the ones from marks[n_marks - 1] on
 * (the count when it began), so that a rollback to it drops them, and a
 * batch written in it holds only them (a batch written in a subtransaction
 * goes if it rolls back).
 */
typedef struct FeedMark
{
	SubTransactionId subid;
	int			n_entries;		/* the count when it began */
} FeedMark;

static FeedEntry *entries = NULL;
static int	n_entries = 0;
static int	cap_entries = 0;
static FeedMark *marks = NULL;
static int	n_marks = 0;
static int	cap_marks = 0;
static int32 batch_no = 0;		/* the last batch number this transaction used */

/* activity.feed_batches, looked up once per backend (again if it changes) */
static Oid	fb_relid = InvalidOid;
static bool fb_valid = false;
static bool fb_callback = false;

static void
fb_inval(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == fb_relid)
		fb_valid = false;
}

/* false if activity.feed_batches does not exist (the extension being dropped) */
static bool
fb_lookup(void)
{
	if (fb_valid)
		return OidIsValid(fb_relid);
	if (!fb_callback)
	{
		CacheRegisterRelcacheCallback(fb_inval, (Datum) 0);
		fb_callback = true;
	}
	/* an invalidation arriving from here on makes the next call look again */
	fb_valid = true;
	fb_relid = activity_relid(ACTIVITY_SCHEMA, "feed_batches", true);
	return OidIsValid(fb_relid);
}

/*
 * Write the pointers from "from" on as rows of activity.feed_batches (as
 * activity.event_ids is written: no permission of the caller's needed, the
 * rows are the log's), with an entry in each of its indexes (its primary
 * key, and any an administrator added).
 */
static void
flush_from(int from)
{
	Relation	rel;
	List	   *index_oids;
	ListCell   *lc;
	int			nidx;
	int			i;
	Relation   *irels;
	IndexInfo **infos;
	EState	   *estate;
	ExprContext *econtext;
	TupleTableSlot *slot;
	Oid			pkey;

	if (from >= n_entries || !fb_lookup())
		return;
	rel = table_open(fb_relid, RowExclusiveLock);
	pkey = activity_primary_key_index(rel);
	index_oids = RelationGetIndexList(rel);
	nidx = list_length(index_oids);
	irels = palloc(sizeof(Relation) * Max(nidx, 1));
	infos = palloc(sizeof(IndexInfo *) * Max(nidx, 1));
	i = 0;
	foreach(lc, index_oids)
	{
		irels[i] = index_open(lfirst_oid(lc), RowExclusiveLock);
		infos[i] = BuildIndexInfo(irels[i]);
		i++;
	}
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	econtext->ecxt_scantuple = slot;

	while (from < n_entries)
	{
		int			n = Min(FEED_BATCH_MAX, n_entries - from);
		Datum	   *ts = palloc(sizeof(Datum) * n);
		Datum	   *ids = palloc(sizeof(Datum) * n);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		HeapTuple	tup;

		for (i = 0; i < n; i++)
		{
			ts[i] = TimestampTzGetDatum(entries[from + i].occurred_at);
			ids[i] = UUIDPGetDatum(&entries[from + i].id);
		}
		values[0] = FullTransactionIdGetDatum(GetTopFullTransactionId());
		values[1] = Int32GetDatum(++batch_no);
		values[2] = PointerGetDatum(construct_array(ts, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[3] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
		tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		simple_heap_insert(rel, tup);
		ExecStoreHeapTuple(tup, slot, false);
		/* (the key is unique by construction: this transaction's numbers) */
		activity_insert_index_entries(rel, irels, infos, nidx, slot, &tup->t_self, estate, pkey);
		ExecClearTuple(slot);
		ResetPerTupleExprContext(estate);
		heap_freetuple(tup);
		pfree(ts);
		pfree(ids);
		from += n;
	}
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	for (i = 0; i < nidx; i++)
		index_close(irels[i], RowExclusiveLock);
	list_free(index_oids);
	table_close(rel, RowExclusiveLock);
}

/*
 * Keep the pointer of a row this transaction writes into the log.
 */
void
activity_feed_note(Datum occurred_at, Datum id)
{
	int			mark = n_marks > 0 ? marks[n_marks - 1].n_entries : 0;

	if (entries == NULL)
	{
		cap_entries = FEED_BATCH_MAX * 2;
		entries = MemoryContextAlloc(TopTransactionContext, sizeof(FeedEntry) * cap_entries);
	}
	else if (n_entries == cap_entries)
	{
		cap_entries *= 2;
		entries = repalloc(entries, sizeof(FeedEntry) * cap_entries);
	}
	entries[n_entries].occurred_at = DatumGetTimestampTz(occurred_at);
	memcpy(&entries[n_entries].id, DatumGetUUIDP(id), UUID_LEN);
	n_entries++;
	if (n_entries - mark >= FEED_BATCH_MAX)
	{
		flush_from(mark);
		n_entries = mark;
	}
}

/*
 * The rest is written before the transaction commits (or is prepared);
 * everything is forgotten when it ends.
 */
static void
feed_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			flush_from(0);
			n_entries = 0;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			entries = NULL;
			n_entries = cap_entries = 0;
			marks = NULL;
			n_marks = cap_marks = 0;
			batch_no = 0;
			break;
		default:
			break;
	}
}

/*
 * Subtransactions: the pointers kept from the one that begins on are its
 * own; if it rolls back they go. One that began before this library was
 * loaded (its first use in the transaction was inside it) is not on the
 * stack: everything kept since is inside it.
 */
static void
feed_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			if (marks == NULL)
			{
				cap_marks = 8;
				marks = MemoryContextAlloc(TopTransactionContext, sizeof(FeedMark) * cap_marks);
			}
			else if (n_marks == cap_marks)
			{
				cap_marks *= 2;
				marks = repalloc(marks, sizeof(FeedMark) * cap_marks);
			}
			marks[n_marks].subid = mySubid;
			marks[n_marks].n_entries = n_entries;
			n_marks++;
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			/* (its pointers are its parent's now) */
			if (n_marks > 0 && marks[n_marks - 1].subid == mySubid)
				n_marks--;
			break;
		case SUBXACT_EVENT_ABORT_SUB:
			if (n_marks > 0 && marks[n_marks - 1].subid == mySubid)
				n_entries = marks[--n_marks].n_entries;
			else
			{
				n_entries = 0;
				n_marks = 0;
			}
			break;
		default:
			break;
	}
}

/* Called from _PG_init */
void
activity_feed_init(void)
{
	RegisterXactCallback(feed_xact_callback, NULL);
	RegisterSubXactCallback(feed_subxact_callback, NULL);
}
