/*
 * ingest.c
 *		The one validation point of every ingestion path, activity.record(),
 *		and the append-only guard.
 *
 * Every partition carries the CHECK constraint activities_valid, calling
 * activity_valid_activity(), so record(), INSERT, INSERT ... SELECT and COPY
 * are all checked by the same code; it refuses a row with a specific SQLSTATE
 * and a message naming the field when a rule is broken, and a refused row is
 * never written. activity_complete() fills in what an omitted column means.
 *
 * Rows are judged when they are written, not again when they are restored or
 * moved (the rules may have changed since). Who may store rows as they are:
 * the owner of the log, in its own session (not through a SECURITY DEFINER
 * function another role calls), COPYing straight into a partition, as
 * pg_restore does, never through activity.activities; or with
 * activity.restoring on, for a restore that loads through the log. Their ids
 * are restored with activity.event_ids.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/genam.h"
#include "access/tableam.h"
#include "access/table.h"
#include "access/detoast.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/pquery.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/rls.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/xid8.h"

#include "activity.h"
#include "jsonschema.h"

PG_FUNCTION_INFO_V1(activity_validate);
PG_FUNCTION_INFO_V1(activity_valid_activity);
PG_FUNCTION_INFO_V1(activity_complete);
PG_FUNCTION_INFO_V1(activity_check_caused_by);
PG_FUNCTION_INFO_V1(activity_append_only);
PG_FUNCTION_INFO_V1(activity_record);
PG_FUNCTION_INFO_V1(activity_through_log);

static void check_xact_id(FullTransactionId xact_id);
static void check_row(Datum *values, bool *nulls);
static void check_cause_of_row(Datum *values, bool *nulls);
static void mark_through_log(Relation log);

/* Longest identifier (workspace, initiator, ...) an activity may carry */
#define MAX_ID_BYTES	1024
#define MAX_FUNCTION_TYPE_BYTES	128

/*
 * Longest workspace_id, subject_type and subject_id together: the three are
 * one key of the entity feed's index, and a btree entry must fit in a third
 * of a page (2,704 bytes with its other columns).
 */
#define MAX_SUBJECT_KEY_BYTES	2048

/*
 * The range of occurred_at: years 1 to 9999, so that every function
 * (counts()'s year buckets, to_char, ...) works on every accepted event.
 * Microseconds since 2000-01-01 of 0001-01-01 and 10000-01-01, UTC.
 */
#define MIN_OCCURRED_AT		INT64CONST(-63082281600000000)
#define END_OCCURRED_AT		INT64CONST(252455616000000000)

/* The columns the trigger reads or writes: activity_columns (AC_* order) */

/* attribute numbers of the columns in the last relation seen */
static Oid	attnums_relid = InvalidOid;
static AttrNumber attnums[AC_NUM];

static SPIPlanPtr record_plans[2];	/* [has function_type]: 0.1's columns, 0.2's */

/*
 * Whether a statement of the current transaction has written through
 * activity.activities (its BEFORE INSERT statement trigger sets it). Rows of
 * such a transaction are always validated.
 */
static bool wrote_through_log = false;

/* whether roles (trust_outer, trust_current) make the owner's own session */
static Oid	trust_outer = InvalidOid;
static Oid	trust_current = InvalidOid;
static bool trust_result = false;

/*
 * The activities this transaction wrote that a cause rule may name (their
 * type or universal type is in some type's caused_by: EventType.may_cause),
 * by id. A synthetic event written after its cause in the same transaction
 * (record() of the pair, a COPY carrying both) finds its cause here rather
 * than by a query. In TopTransactionContext, forgotten at the end of the
 * transaction, and as a whole when a subtransaction aborts (its rows are
 * gone). Past CAUSE_CACHE_MAX entries, causes are looked up by query.
 */
typedef struct CauseEntry
{
	pg_uuid_t	id;				/* hash key */
	char	   *workspace;
	char	   *type;
} CauseEntry;

#define CAUSE_CACHE_MAX		10000

static HTAB *cause_cache = NULL;

static void
ingest_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wrote_through_log = false;
			trust_outer = InvalidOid;
			trust_current = InvalidOid;
			cause_cache = NULL;
			break;
		default:
			break;
	}
}

static void
ingest_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		cause_cache = NULL;		/* (its memory goes with the transaction's) */
}

/*
 * Called from _PG_init: forget per-transaction state at transaction end.
 */
void
activity_ingest_init(void)
{
	RegisterXactCallback(ingest_xact_callback, NULL);
	RegisterSubXactCallback(ingest_subxact_callback, NULL);
}

/*
 * The index entries of a heap tuple just inserted (in slot, at tid), in each
 * of the table's indexes (partial ones by their predicate, expressions
 * through estate, whose per-tuple context has slot as its scan tuple).
 * Unique indexes check their key, but no_check, whose keys the caller makes
 * unique itself.
 */
void
activity_insert_index_entries(Relation heap, Relation *indexes, IndexInfo **infos, int nindexes,
							  TupleTableSlot *slot, ItemPointer tid, EState *estate, Oid no_check)
{
	ExprContext *econtext = GetPerTupleExprContext(estate);
	int			i;

	for (i = 0; i < nindexes; i++)
	{
		Datum		ivalues[INDEX_MAX_KEYS];
		bool		inulls[INDEX_MAX_KEYS];

		if (infos[i]->ii_Predicate != NIL &&
			!ExecQual(ExecPrepareQual(infos[i]->ii_Predicate, estate), econtext))
			continue;
		FormIndexDatum(infos[i], slot, estate, ivalues, inulls);
		index_insert(indexes[i], ivalues, inulls, tid, heap,
					 indexes[i]->rd_index->indisunique && RelationGetRelid(indexes[i]) != no_check ?
					 UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, infos[i]);
	}
}

/* remember an activity just validated that a cause rule may name */
static void
remember_cause(Datum id, Datum workspace, EventType *et)
{
	CauseEntry *e;
	bool		found;
	MemoryContext old;

	if (cause_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(CauseEntry);
		ctl.hcxt = TopTransactionContext;
		cause_cache = hash_create("activity causes of this transaction", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	if (hash_get_num_entries(cause_cache) >= CAUSE_CACHE_MAX)
		return;
	e = hash_search(cause_cache, DatumGetUUIDP(id), HASH_ENTER, &found);
	old = MemoryContextSwitchTo(TopTransactionContext);
	e->workspace = TextDatumGetCString(workspace);
	e->type = pstrdup(et->name);
	MemoryContextSwitchTo(old);
}

/* the activity of that id this transaction wrote, if remembered, or NULL */
static CauseEntry *
remembered_cause(Datum id)
{
	if (cause_cache == NULL)
		return NULL;
	return hash_search(cause_cache, DatumGetUUIDP(id), HASH_FIND, NULL);
}

/*
 * Does role have the privileges of the owner of activity.activities?
 */
static bool
role_owns_log(Oid role)
{
	return has_privs_of_role(role, activity_rel_owner(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false)));
}

/*
 * Is this the log owner's own session: the role that logged in (or SET
 * ROLE) and the current role both have the owner's privileges, and no
 * SECURITY DEFINER function or restricted operation is running, so that a
 * function the owner wrote for other roles cannot be used to skip
 * validation?
 */
static bool
owners_own_session(void)
{
	Oid			outer;
	Oid			current;

	if (InLocalUserIdChange() || InSecurityRestrictedOperation())
		return false;
	outer = GetOuterUserId();
	current = GetUserId();
	if (outer != trust_outer || current != trust_current)
	{
		trust_result = role_owns_log(outer) && (current == outer || role_owns_log(current));
		trust_outer = outer;
		trust_current = current;
	}
	return trust_result;
}

/*
 * May the row being written be stored as it is, without checking it again?
 * Only in the owner's own session, and only for rows that a COPY writes
 * straight into a partition, as pg_restore does (a transaction that wrote
 * through the log is never trusted), unless activity.restoring is on.
 */
static bool
row_taken_as_written(void)
{
	if (!activity_restoring &&
		(wrote_through_log || ActivePortal == NULL || ActivePortal->commandTag != CMDTAG_COPY))
		return false;
	return owners_own_session();
}

/*
 * Find our columns in rel's tuple descriptor; partitions attached from
 * tables with another column order are handled too.
 */
static void
resolve_attnums(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			c;

	if (attnums_relid == RelationGetRelid(rel))
	{
		bool		ok = true;

		for (c = 0; c < AC_NUM && ok; c++)
			ok = attnums[c] == 0 ? SPI_fnumber(desc, activity_columns[c].name) <= 0 :
				attnums[c] <= desc->natts &&
				!TupleDescAttr(desc, attnums[c] - 1)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, attnums[c] - 1)->attname), activity_columns[c].name) == 0;
		if (ok)
			return;
	}
	attnums_relid = InvalidOid;
	for (c = 0; c < AC_NUM; c++)
	{
		int			a = SPI_fnumber(desc, activity_columns[c].name);

		/* function_type: from 0.2 on; a 0.1 log has none (NULL) */
		if (a <= 0 && c == AC_FUNCTION_TYPE)
			a = 0;
		else if (a <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							activity_columns[c].name, RelationGetRelationName(rel))));
		attnums[c] = a;
	}
	attnums_relid = RelationGetRelid(rel);
}

static inline void
check_not_null(bool isnull, const char *field)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("%s of an activity must not be null", field)));
}

/*
 * A text identifier: not empty, not longer than MAX_ID_BYTES. Returns it
 * (detoasted only if it was toasted, not copied).
 */
static inline text *
check_identifier(Datum d, const char *field)
{
	text	   *t = DatumGetTextPP(d);
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s of an activity must not be empty", field)));
	if (len > MAX_ID_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s of an activity is too long", field),
				 errdetail("It is %d bytes long; the limit is %d bytes.", len, MAX_ID_BYTES)));
	return t;
}

/* does text t equal the C string s? */
static inline bool
text_equals(const text *t, const char *s)
{
	size_t		len = VARSIZE_ANY_EXHDR(t);

	return strlen(s) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/*
 * A text value as a C string in buf (of size bufsize) when it fits, else
 * palloc'd: the registry's keys are C strings, and most rows need no copy.
 */
static inline char *
text_to_buf(Datum d, char *buf, size_t bufsize)
{
	text	   *t = DatumGetTextPP(d);
	size_t		len = VARSIZE_ANY_EXHDR(t);

	if (len >= bufsize)
		return text_to_cstring(t);
	memcpy(buf, VARDATA_ANY(t), len);
	buf[len] = '\0';
	return buf;
}

/*
 * Name the JSON type of a non-object metadata root, for error messages.
 */
static const char *
jsonb_root_kind(Jsonb *jb)
{
	if (JB_ROOT_IS_OBJECT(jb))
		return "object";
	if (JB_ROOT_IS_ARRAY(jb) && !JB_ROOT_IS_SCALAR(jb))
		return "array";
	{
		JsonbValue	v;

		if (JsonbExtractScalar(&jb->root, &v))
		{
			switch (v.type)
			{
				case jbvNull:
					return "null";
				case jbvString:
					return "string";
				case jbvNumeric:
					return "number";
				case jbvBool:
					return "boolean";
				default:
					break;
			}
		}
	}
	return "scalar";
}

/*
 * Nesting depth of a jsonb container (1 for a flat one), read straight from
 * its JEntries without an iterator; stops descending once past limit.
 */
static int
container_depth(const JsonbContainer *jc, int limit)
{
	uint32		count = JsonContainerSize(jc);
	uint32		nentries = JsonContainerIsArray(jc) ? count : count * 2;
	const char *base = (const char *) &jc->children[nentries];
	uint32		offset = 0;
	int			deepest = 0;
	uint32		i;

	check_stack_depth();
	for (i = 0; i < nentries; i++)
	{
		JEntry		je = jc->children[i];
		uint32		start = offset;

		JBE_ADVANCE_OFFSET(offset, je);
		if (JBE_ISCONTAINER(je))
		{
			int			d;

			if (limit <= 1)
				return 2;		/* one level too many: enough to know */
			d = container_depth((const JsonbContainer *) (base + INTALIGN(start)), limit - 1);
			deepest = Max(deepest, d);
			if (deepest >= limit)
				return deepest + 1;
		}
	}
	return deepest + 1;
}

/*
 * metadata: a JSON object within the size and nesting limits.
 */
static void
check_metadata(Datum d)
{
	Size		rawsize = toast_raw_datum_size(d);
	Jsonb	   *jb;

	if (rawsize > (Size) activity_max_metadata_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("metadata of an activity is too large"),
				 errdetail("It takes %zu bytes; activity.max_metadata_bytes allows %d.",
						   rawsize, activity_max_metadata_bytes)));

	jb = DatumGetJsonbP(d);
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("metadata of an activity must be a JSON object, not %s",
						jsonb_root_kind(jb))));

	if (container_depth(&jb->root, activity_max_metadata_depth) > activity_max_metadata_depth)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("metadata of an activity is nested too deeply"),
				 errdetail("It nests deeper than activity.max_metadata_depth (%d) levels of objects and arrays.",
						   activity_max_metadata_depth)));
}

/*
 * Where an activity looked up by id is.
 */
typedef enum EventPlace
{
	EVENT_ABSENT,				/* not in the log */
	EVENT_ELSEWHERE,			/* in the log, of another workspace */
	EVENT_FOUND,				/* in the log, of that workspace and type */
	EVENT_OTHER_TYPE			/* in the log, of that workspace, another type */
} EventPlace;

/*
 * Look for activity id in partition relid with the plan of that kind
 * (FIND_AT: occurred_at known, of the workspace only).
 */
static EventPlace
probe_partition(Oid relid, PartPlanKind kind, Datum *args, text *type, char **found_type)
{
	EventPlace	place = EVENT_ABSENT;
	int			ret;

	ret = SPI_execute_plan(activity_partition_plan(relid, kind), args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		text	   *t = DatumGetTextPP(SPI_getbinval(tup, desc, 1, &isnull));

		if (!DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)))
			place = EVENT_ELSEWHERE;
		else if (type == NULL ||
				 (VARSIZE_ANY_EXHDR(t) == VARSIZE_ANY_EXHDR(type) &&
				  memcmp(VARDATA_ANY(t), VARDATA_ANY(type), VARSIZE_ANY_EXHDR(t)) == 0))
			place = EVENT_FOUND;
		else
			place = EVENT_OTHER_TYPE;
		/* (in the caller's context: SPI_palloc's survives SPI_finish) */
		if (found_type != NULL && place != EVENT_ELSEWHERE)
		{
			*found_type = SPI_palloc(VARSIZE_ANY_EXHDR(t) + 1);
			memcpy(*found_type, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			(*found_type)[VARSIZE_ANY_EXHDR(t)] = '\0';
		}
	}
	SPI_freetuptable(SPI_tuptable);
	return place;
}

/* a plan prepared once per backend */
static SPIPlanPtr
kept_plan(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	return plan;
}

/* the better of two answers: of the workspace over another's over none */
static EventPlace
better_place(EventPlace a, EventPlace b)
{
	return (a == EVENT_FOUND || a == EVENT_OTHER_TYPE || (a == EVENT_ELSEWHERE && b == EVENT_ABSENT)) ? a : b;
}

#define PLACE_DECIDED(p) ((p) == EVENT_FOUND || (p) == EVENT_OTHER_TYPE)

/*
 * Find activity id in workspace (and of that type, if type is not NULL).
 * Connected to SPI, as the owner. activity.event_ids gives the id's
 * occurred_at, hence its partition, where the workspace feed index finds it:
 * partitions need no index on id. Partitions of a log upgraded from 0.1
 * whose ids are not registered yet (activity.pending_ids) are probed by the
 * primary key they keep from 0.1; so is every partition of a log still at
 * 0.1 (no event_ids), newest first, the one the UUIDv7 time names first.
 */
static EventPlace
find_event(ActivityPartitionList *parts, Datum id, Datum workspace, text *type, char **found_type)
{
	static SPIPlanPtr ids_plan = NULL;
	static SPIPlanPtr pending_plan = NULL;
	EventPlace	place = EVENT_ABSENT;
	Datum		args[3] = {id, workspace, (Datum) 0};
	int			ret;
	uint64		i;

	if (!activity_ids_available())
	{
		ActivityPartition *guess = NULL;
		TimestampTz ts;
		int			j;

		if (activity_uuidv7_timestamp(DatumGetUUIDP(id), &ts))
			guess = activity_partition_for(parts, ts);
		if (guess)
			place = probe_partition(guess->relid, PART_PLAN_FIND_ID, args, type, found_type);
		if (!PLACE_DECIDED(place) && OidIsValid(parts->default_relid))
			place = better_place(probe_partition(parts->default_relid, PART_PLAN_FIND_ID, args, type, found_type), place);
		for (j = parts->nparts - 1; j >= 0 && !PLACE_DECIDED(place); j--)
		{
			CHECK_FOR_INTERRUPTS();
			if (&parts->parts[j] != guess)
				place = better_place(probe_partition(parts->parts[j].relid, PART_PLAN_FIND_ID, args, type, found_type), place);
		}
		return place;
	}

	if (ids_plan == NULL)
	{
		Oid			types[1] = {UUIDOID};

		ids_plan = kept_plan("SELECT occurred_at FROM activity.event_ids WHERE id OPERATOR(pg_catalog.=) $1",
							 1, types);
	}
	ret = SPI_execute_plan(ids_plan, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		bool		isnull;
		TimestampTz ts = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		ActivityPartition *part = activity_partition_for(parts, ts);
		Oid			relid = part ? part->relid : parts->default_relid;

		SPI_freetuptable(SPI_tuptable);
		args[2] = TimestampTzGetDatum(ts);
		if (OidIsValid(relid))
			place = probe_partition(relid, PART_PLAN_FIND_AT, args, type, found_type);
		return place == EVENT_ABSENT ? EVENT_ELSEWHERE : place;
	}
	SPI_freetuptable(SPI_tuptable);

	/* not registered: in a partition whose ids are still to register? */
	if (pending_plan == NULL)
		pending_plan = kept_plan("SELECT pg_catalog.to_regclass(partition)::pg_catalog.oid "
								 "FROM activity.pending_ids ORDER BY partition DESC", 0, NULL);
	ret = SPI_execute_plan(pending_plan, NULL, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		SPITupleTable *pending = SPI_tuptable;
		uint64		n = SPI_processed;

		for (i = 0; i < n && !PLACE_DECIDED(place); i++)
		{
			bool		isnull;
			Datum		relid = SPI_getbinval(pending->vals[i], pending->tupdesc, 1, &isnull);

			CHECK_FOR_INTERRUPTS();
			if (!isnull)
				place = better_place(probe_partition(DatumGetObjectId(relid), PART_PLAN_FIND_ID, args, type, found_type), place);
		}
		SPI_freetuptable(pending);
	}
	return place;
}

static char *join_strings(char **strs, int n);

/*
 * A type with a cause rule (event_types.caused_by) takes a cause whose type,
 * or that type's universal type, is one the rule names.
 */
static void
check_cause_type(EventType *et, const char *cause_type, Datum caused_by)
{
	EventType  *ct = cause_type ? activity_lookup_type(cause_type) : NULL;
	int			i;

	for (i = 0; i < et->ncauses && cause_type; i++)
		if (strcmp(et->causes[i], cause_type) == 0 ||
			(ct && ct->universal_type && strcmp(et->causes[i], ct->universal_type) == 0))
			return;
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("an activity of type \"%s\" must be caused by an activity of type %s",
					et->name, join_strings(et->causes, et->ncauses)),
			 errdetail("Its cause %s is of type \"%s\"%s%s%s.",
					   DatumGetCString(DirectFunctionCall1(uuid_out, caused_by)),
					   cause_type ? cause_type : "?",
					   ct && ct->universal_type ? " (universal type \"" : "",
					   ct && ct->universal_type ? ct->universal_type : "",
					   ct && ct->universal_type ? "\")" : "")));
}

static void
cause_not_found(Datum caused_by, text *ws)
{
	ereport(ERROR,
			(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
			 errmsg("caused_by %s is not an activity of workspace \"%s\"",
					DatumGetCString(DirectFunctionCall1(uuid_out, caused_by)),
					text_to_cstring(ws)),
			 errdetail("A synthetic event must point at an existing activity of its own workspace.")));
}

/*
 * caused_by must name an activity of the same workspace: the cause is
 * looked up by id within the workspace, so that another workspace's activity
 * never stands in for it nor hides it.
 */
static void
check_caused_by(Datum caused_by, Datum workspace, Datum type)
{
	text	   *ws = DatumGetTextPP(workspace);
	Relation	parent;
	ActivityPartitionList *parts;
	EventPlace	place;
	ActivityUserContext saved;
	char		type_buf[NAMEDATALEN * 3];
	EventType  *et = activity_lookup_type(text_to_buf(type, type_buf, sizeof(type_buf)));
	char	   *cause_type = NULL;
	CauseEntry *cached = remembered_cause(caused_by);

	/* written by this transaction: no query (ids are unique in the log) */
	if (cached != NULL)
	{
		if (!text_equals(ws, cached->workspace))
			cause_not_found(caused_by, ws);
		if (et != NULL && et->ncauses > 0)
			check_cause_type(et, cached->type, caused_by);
		return;
	}

	parent = table_open(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false), AccessShareLock);
	parts = activity_partition_list(parent);
	activity_become_owner(RelationGetRelid(parent), &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	activity_forget_stale_plans(parts);
	place = find_event(parts, caused_by, workspace, NULL, et && et->ncauses > 0 ? &cause_type : NULL);
	SPI_finish();
	activity_restore_user(&saved);
	table_close(parent, NoLock);

	if (place != EVENT_FOUND)
		cause_not_found(caused_by, ws);
	if (et != NULL && et->ncauses > 0)
		check_cause_type(et, cause_type, caused_by);
}

/*
 * A comma-separated list of the actor types in a bit set.
 */
static char *
actor_list(int bits)
{
	StringInfoData s;

	initStringInfo(&s);
	if (bits & ACTOR_USER)
		appendStringInfoString(&s, "user");
	if (bits & ACTOR_AGENT)
		appendStringInfo(&s, "%sagent", s.len ? ", " : "");
	if (bits & ACTOR_SYSTEM)
		appendStringInfo(&s, "%ssystem", s.len ? ", " : "");
	return s.data;
}

/*
 * The registered type of that name, or the error for an unknown type.
 */
static EventType *
lookup_type_or_error(const char *type_name)
{
	EventType  *et = activity_lookup_type(type_name);

	if (et == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("unknown activity type \"%s\"",
						activity_clip(type_name, strlen(type_name), 128)),
				 errhint("Register the type first with activity.register_type().")));
	return et;
}

/*
 * The version an activity gets when it names none: the latest version that
 * is not retired, or 0 when the type has no schema.
 */
static int
default_version(EventType *et)
{
	int			v;

	for (v = et->nversions; v >= 1; v--)
		if (et->versions[v - 1].schema != NULL && !et->versions[v - 1].retired)
			return v;
	if (et->nversions > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("every schema version of activity type \"%s\" is retired", et->name),
				 errhint("Register a new version with activity.register_schema().")));
	return 0;
}

/*
 * An explicit version must be registered and not retired; version 0 means
 * "no schema", for types that have none. (Rows restored or moved keep their
 * version without being judged again: see row_taken_as_written().)
 */
static int
check_version(EventType *et, int version)
{
	SchemaVersion *sv;

	if (version == 0 && et->latest_version == 0)
		return 0;
	if (version == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("activity type \"%s\" has a schema: version 0 is not allowed", et->name),
				 errdetail("Version 0 is for types without a schema; the latest version of type \"%s\" is %d.",
						   et->name, et->latest_version),
				 errhint("Omit the version to record the latest one.")));
	if (version < 1 || version > et->nversions || et->versions[version - 1].schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("activity type \"%s\" has no schema version %d", et->name, version),
				 et->latest_version == 0 ?
				 errdetail("No schema is registered for type \"%s\"; its activities have version 0.", et->name) :
				 errdetail("The latest version of type \"%s\" is %d.", et->name, et->latest_version)));
	sv = &et->versions[version - 1];
	if (sv->retired)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("schema version %d of activity type \"%s\" is retired", version, et->name),
				 errdetail("It was retired at %s.", timestamptz_to_str(sv->retired_at)),
				 errhint("Record the activity with a newer version.")));
	return version;
}

/*
 * metadata must satisfy the schema of its version. The error names type and
 * version, and its detail the first violation: where and which rule.
 */
static void
check_schema(EventType *et, int version, Datum metadata)
{
	JsonSchema *js = (JsonSchema *) et->versions[version - 1].schema;
	List	   *errors = NIL;

	if (!jsonschema_validate(js, DatumGetJsonbP(metadata), false, &errors))
	{
		JsError    *e = errors ? linitial(errors) : NULL;

		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("metadata does not match schema version %d of activity type \"%s\"",
						version, et->name),
				 e ? errdetail("At \"%s\": %s (keyword \"%s\").", e->path[0] ? e->path : "/",
							   e->message, e->keyword) : 0,
				 errhint("activity.validation_errors(metadata, schema) lists every violation.")));
	}
}

/*
 * The strings joined with ", ".
 */
static char *
join_strings(char **strs, int n)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < n; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", strs[i]);
	return s.data;
}

/*
 * The row rules every activity obeys, once its row is complete (version and
 * metadata filled in): who and where, when, the version and the schema. The
 * caused_by rule is checked apart (check_caused_by): it needs other rows.
 */
static EventType *
validate_row(const Datum *values, const bool *nulls)
{
	char		type_buf[NAMEDATALEN * 3];
	char		actor_buf[16];
	char	   *actor;
	int			actor_bit;
	EventType  *et;
	TimestampTz occurred_at;
	int			version;
	int			c;

	/* who and where */
	check_not_null(nulls[AC_WORKSPACE], "workspace_id");
	check_identifier(values[AC_WORKSPACE], "workspace_id");

	check_not_null(nulls[AC_TYPE], "type");
	et = lookup_type_or_error(text_to_buf(values[AC_TYPE], type_buf, sizeof(type_buf)));

	check_not_null(nulls[AC_ACTOR_TYPE], "actor_type");
	actor = text_to_buf(values[AC_ACTOR_TYPE], actor_buf, sizeof(actor_buf));
	actor_bit = activity_actor_type_bit(actor);
	if (actor_bit == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("invalid actor_type \"%s\"",
						activity_clip(actor, strlen(actor), 64)),
				 errdetail("actor_type is one of user, agent or system.")));
	if ((et->actor_types & actor_bit) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("actor_type \"%s\" may not record activity type \"%s\"", actor, et->name),
				 errdetail("Type \"%s\" allows these actor types: %s.", et->name, actor_list(et->actor_types))));

	if (nulls[AC_INITIATOR])
	{
		if (actor_bit != ACTOR_SYSTEM)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("initiator_id of an activity must not be null"),
					 errdetail("Only activities with actor_type system may have no initiator.")));
	}
	else
		check_identifier(values[AC_INITIATOR], "initiator_id");

	if (nulls[AC_RECIPIENT])
	{
		if (et->recipient == RECIPIENT_REQUIRED)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("activity type \"%s\" requires a recipient_id", et->name)));
	}
	else
	{
		check_identifier(values[AC_RECIPIENT], "recipient_id");
		if (et->recipient == RECIPIENT_FORBIDDEN)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("activity type \"%s\" does not take a recipient_id", et->name)));
	}

	if (!nulls[AC_PLATFORM])
	{
		text	   *platform = check_identifier(values[AC_PLATFORM], "platform");
		bool		ok = et->nplatforms == 0;

		if (activity_platform_check(VARDATA_ANY(platform), VARSIZE_ANY_EXHDR(platform)) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("unknown platform \"%s\"",
							activity_clip(VARDATA_ANY(platform), VARSIZE_ANY_EXHDR(platform), 64)),
					 errhint("Register it first with activity.register_platform().")));

		for (c = 0; c < et->nplatforms && !ok; c++)
			ok = text_equals(platform, et->platforms[c]);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("platform \"%s\" does not support activity type \"%s\"",
							text_to_cstring(platform), et->name),
					 errdetail("Type \"%s\" is registered for these platforms: %s.", et->name,
							   join_strings(et->platforms, et->nplatforms))));
		/* (register_type() keeps a type's platforms within its universal type's) */
		ok = false;
		for (c = 0; c < et->nuniversal_platforms && !ok; c++)
			ok = text_equals(platform, et->universal_platforms[c]);
		if (et->nuniversal_platforms > 0 && !ok)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("platform \"%s\" does not support universal type \"%s\" of activity type \"%s\"",
							text_to_cstring(platform), et->universal_type, et->name),
					 errdetail("Universal type \"%s\" is supported on: %s.", et->universal_type,
							   join_strings(et->universal_platforms, et->nuniversal_platforms))));
	}
	else if (et->nplatforms > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("platform of an activity of type \"%s\" must not be null", et->name),
				 errdetail("Type \"%s\" is registered for specific platforms.", et->name)));

	/* the function that recorded it */
	if (!nulls[AC_FUNCTION_TYPE])
	{
		text	   *fn = check_identifier(values[AC_FUNCTION_TYPE], "function_type");
		bool		ok = et->nfunctions == 0;

		if (VARSIZE_ANY_EXHDR(fn) > MAX_FUNCTION_TYPE_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
					 errmsg("function_type of an activity is too long"),
					 errdetail("It is %d bytes long; the limit is %d bytes.",
							   (int) VARSIZE_ANY_EXHDR(fn), MAX_FUNCTION_TYPE_BYTES)));
		for (c = 0; c < et->nfunctions && !ok; c++)
			ok = text_equals(fn, et->functions[c]);
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("function type \"%s\" may not record activity type \"%s\"",
							activity_clip(VARDATA_ANY(fn), VARSIZE_ANY_EXHDR(fn), 128), et->name),
					 errdetail("Type \"%s\" is recorded by these function types: %s.", et->name,
							   join_strings(et->functions, et->nfunctions))));
	}
	else if (et->nfunctions > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("function_type of an activity of type \"%s\" must not be null", et->name),
				 errdetail("Type \"%s\" is recorded by these function types: %s.", et->name,
						   join_strings(et->functions, et->nfunctions))));

	/* a synthetic event names its cause (checked once the cause can be seen) */
	if (nulls[AC_CAUSED_BY] && et->ncauses > 0)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("an activity of type \"%s\" must have a caused_by", et->name),
				 errdetail("Type \"%s\" is a synthetic event caused by an activity of type %s.",
						   et->name, join_strings(et->causes, et->ncauses)),
				 errhint("Record its cause first and pass the cause's id as caused_by.")));

	if (nulls[AC_SUBJECT_TYPE] != nulls[AC_SUBJECT_ID])
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("subject_type and subject_id of an activity must be given together")));
	if (et->subject_type != NULL &&
		(nulls[AC_SUBJECT_TYPE] || !text_equals(DatumGetTextPP(values[AC_SUBJECT_TYPE]), et->subject_type)))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("an activity of type \"%s\" must be about a subject of type \"%s\"",
						et->name, et->subject_type),
				 nulls[AC_SUBJECT_TYPE]
				 ? errdetail("It has no subject_type and subject_id.")
				 : errdetail("Its subject_type is \"%s\".",
							 activity_clip(VARDATA_ANY(DatumGetTextPP(values[AC_SUBJECT_TYPE])),
										   VARSIZE_ANY_EXHDR(DatumGetTextPP(values[AC_SUBJECT_TYPE])), 64)),
				 errhint("Record it with subject_type => '%s' and the subject's id as subject_id.",
						 et->subject_type)));
	if (!nulls[AC_SUBJECT_TYPE])
	{
		int			key = VARSIZE_ANY_EXHDR(check_identifier(values[AC_WORKSPACE], "workspace_id")) +
			VARSIZE_ANY_EXHDR(check_identifier(values[AC_SUBJECT_TYPE], "subject_type")) +
			VARSIZE_ANY_EXHDR(check_identifier(values[AC_SUBJECT_ID], "subject_id"));

		if (key > MAX_SUBJECT_KEY_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
					 errmsg("workspace_id, subject_type and subject_id of an activity are too long together"),
					 errdetail("They are %d bytes long together; the limit is %d bytes (one key of the entity feed's index).",
							   key, MAX_SUBJECT_KEY_BYTES)));
	}

	/* when */
	check_not_null(nulls[AC_OCCURRED_AT], "occurred_at");
	occurred_at = DatumGetTimestampTz(values[AC_OCCURRED_AT]);
	if (TIMESTAMP_NOT_FINITE(occurred_at))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("occurred_at of an activity must be a finite timestamp")));
	if (occurred_at < MIN_OCCURRED_AT || occurred_at >= END_OCCURRED_AT)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("occurred_at of an activity must be in the years 1 to 9999, not %s",
						timestamptz_to_str(occurred_at))));

	/* which version, and what */
	check_not_null(nulls[AC_RECORDED_AT], "recorded_at");
	check_not_null(nulls[AC_VERSION], "version");
	version = check_version(et, DatumGetInt16(values[AC_VERSION]));
	check_not_null(nulls[AC_METADATA], "metadata");
	check_metadata(values[AC_METADATA]);
	if (version > 0)
		check_schema(et, version, values[AC_METADATA]);
	return et;
}

/*
 * Complete a row in values/nulls: the NULLs that have a meaning are filled in
 * (version: the type's latest; metadata: {}; id: a new UUIDv7; recorded_at:
 * the transaction's start), the others refused with a message naming the
 * field. Returns the number of columns changed, listed in changed[].
 */
static int
complete_row(Datum *values, bool *nulls, int *changed)
{
	int			n = 0;

	check_not_null(nulls[AC_WORKSPACE], "workspace_id");
	check_not_null(nulls[AC_TYPE], "type");
	check_not_null(nulls[AC_ACTOR_TYPE], "actor_type");
	check_not_null(nulls[AC_OCCURRED_AT], "occurred_at");

	if (nulls[AC_VERSION])
	{
		EventType  *et = lookup_type_or_error(TextDatumGetCString(values[AC_TYPE]));

		values[AC_VERSION] = Int16GetDatum(default_version(et));
		nulls[AC_VERSION] = false;
		changed[n++] = AC_VERSION;
	}
	if (nulls[AC_METADATA])
	{
		values[AC_METADATA] = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		nulls[AC_METADATA] = false;
		changed[n++] = AC_METADATA;
	}
	if (nulls[AC_ID])
	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		activity_uuidv7_generate(id);
		values[AC_ID] = UUIDPGetDatum(id);
		nulls[AC_ID] = false;
		changed[n++] = AC_ID;
	}
	if (nulls[AC_RECORDED_AT])
	{
		values[AC_RECORDED_AT] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		nulls[AC_RECORDED_AT] = false;
		changed[n++] = AC_RECORDED_AT;
	}
	return n;
}

/*
 * The row of a row trigger: our columns in values/nulls (COL_* order); the
 * slot holds every column of the row (already deformed for the executor).
 */
static TupleTableSlot *
trigger_row(TriggerData *trigdata, Datum *values, bool *nulls)
{
	TupleTableSlot *slot = trigdata->tg_trigslot;
	int			c;

	resolve_attnums(trigdata->tg_relation);
	slot_getallattrs(slot);
	for (c = 0; c < AC_NUM; c++)
	{
		values[c] = attnums[c] ? slot->tts_values[attnums[c] - 1] : (Datum) 0;
		nulls[c] = attnums[c] ? slot->tts_isnull[attnums[c] - 1] : true;
	}
	return slot;
}

/*
 * The trigger's row with the completed columns replaced. Always a new tuple:
 * on a partitioned table PostgreSQL 15 hands the trigger a copy of the row
 * and frees it only when the trigger returns a different tuple; returning the
 * same one leaks that copy until the end of the statement (~400 bytes a row
 * in a COPY). Ours is made in the per-tuple context, reset for every row.
 */
static HeapTuple
completed_tuple(TriggerData *trigdata, TupleTableSlot *slot,
				const Datum *values, const bool *nulls, const int *changed, int nchanged,
				AttrNumber xact_att, Datum xact_id)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	Datum	   *all_values;
	bool	   *all_nulls;
	int			i;

	if (nchanged == 0 && xact_att == 0)
		return heap_copytuple(trigdata->tg_trigtuple);
	all_values = palloc(sizeof(Datum) * desc->natts);
	all_nulls = palloc(sizeof(bool) * desc->natts);
	memcpy(all_values, slot->tts_values, sizeof(Datum) * desc->natts);
	memcpy(all_nulls, slot->tts_isnull, sizeof(bool) * desc->natts);
	for (i = 0; i < nchanged; i++)
	{
		all_values[attnums[changed[i]] - 1] = values[changed[i]];
		all_nulls[attnums[changed[i]] - 1] = nulls[changed[i]];
	}
	if (xact_att > 0)
	{
		all_values[xact_att - 1] = xact_id;
		all_nulls[xact_att - 1] = false;
	}
	return heap_form_tuple(desc, all_values, all_nulls);
}

static void
check_trigger_call(FunctionCallInfo fcinfo, const char *name, bool before)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		(before ? !TRIGGER_FIRED_BEFORE(trigdata->tg_event) : !TRIGGER_FIRED_AFTER(trigdata->tg_event)) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "%s must be an %s INSERT FOR EACH ROW trigger", name, before ? "BEFORE" : "AFTER");
}

/*
 * The validation constraint registers each row's id; called on its own, it
 * must not let a role that may not insert into the log write ids there.
 * (Checked once per statement and role.)
 */
static void
check_may_insert(void)
{
	static Oid	user = InvalidOid;
	static TimestampTz xact_start = 0;
	static CommandId cid = InvalidCommandId;
	Oid			log;

	if (user == GetUserId() && xact_start == GetCurrentTransactionStartTimestamp() &&
		cid == GetCurrentCommandId(false))
		return;
	log = activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false);
	if (pg_class_aclcheck(log, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to record activities"),
				 errdetail("Validating an activity registers its id; that needs INSERT on activity.activities.")));
	user = GetUserId();
	xact_start = GetCurrentTransactionStartTimestamp();
	cid = GetCurrentCommandId(false);
}

/*
 * activity._valid_activity(<every column, in activity_columns order>,
 * xact_id): the CHECK constraint of activity.activities. Returns true or
 * raises the error of the first rule the row breaks. A CHECK constraint,
 * unlike a BEFORE ROW trigger, lets COPY insert in batches and costs no copy
 * of the row.
 */
Datum
activity_valid_activity(PG_FUNCTION_ARGS)
{
	Datum		values[AC_NUM] = {0};
	bool		nulls[AC_NUM];
	int			i;

	/* (the last argument, xact_id, is no column of the row check) */
	if (PG_NARGS() != AC_NUM + 1)
		elog(ERROR, "activity._valid_activity takes %d arguments", AC_NUM + 1);

	/*
	 * a restore: rows judged when they were first written; an erasure
	 * (activity.redact()) rewriting one
	 */
	if (activity_redacting())
		PG_RETURN_BOOL(true);
	if (row_taken_as_written())
	{
		/*
		 * a restored row is new to this database's change feed, whatever
		 * xact_id it carries (the restoring transaction's, or with triggers
		 * off the source's): its pointer is this transaction's. (Rows
		 * maintain() moves between partitions do not come here: they keep
		 * the pointer they have.)
		 */
		if (!PG_ARGISNULL(AC_ID) && !PG_ARGISNULL(AC_OCCURRED_AT))
			activity_feed_note(PG_GETARG_DATUM(AC_OCCURRED_AT), PG_GETARG_DATUM(AC_ID));
		PG_RETURN_BOOL(true);
	}
	check_xact_id(PG_ARGISNULL(AC_NUM) ? InvalidFullTransactionId : PG_GETARG_FULLTRANSACTIONID(AC_NUM));
	for (i = 0; i < AC_NUM; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		if (!nulls[i])
			values[i] = PG_GETARG_DATUM(i);
	}
	check_row(values, nulls);
	PG_RETURN_BOOL(true);
}

/*
 * What the validation constraint does with a row it judges (after the
 * checks of a restore and of xact_id): validate it, register its id, keep
 * its pointer for the change feed, remember it as a possible cause.
 */
static void
check_row(Datum *values, bool *nulls)
{
	EventType  *et = validate_row(values, nulls);

	check_not_null(nulls[AC_ID], "id");
	check_may_insert();
	activity_register_id(values[AC_ID], values[AC_OCCURRED_AT]);
	activity_feed_note(values[AC_OCCURRED_AT], values[AC_ID]);
	if (et->may_cause)
		remember_cause(values[AC_ID], values[AC_WORKSPACE], et);
}

/*
 * xact_id is the transaction that wrote the row (its column default,
 * pg_current_xact_id()): the change feed finds rows by it, so a row that
 * claimed another transaction's would be skipped by every consumer. Only the
 * default is accepted, except from logical replication's apply workers
 * (session_replication_role = replica, which only a superuser sets), whose
 * rows keep the publisher's.
 */
static void
check_xact_id(FullTransactionId xact_id)
{
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return;
	if (!FullTransactionIdIsValid(xact_id) ||
		!FullTransactionIdEquals(xact_id, GetTopFullTransactionId()))
		ereport(ERROR,
				(errcode(ERRCODE_GENERATED_ALWAYS),
				 errmsg("column \"xact_id\" of activity.activities can only be set to DEFAULT"),
				 errdetail("xact_id is the transaction that writes the row; the change feed finds new activities by it."),
				 errhint("Leave xact_id out of the column list.")));
}

/*
 * BEFORE INSERT row trigger, fired only for rows with a NULL in a column that
 * needs completing (its WHEN clause): fills them in, or refuses the row.
 */
Datum
activity_complete(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Datum		values[AC_NUM];
	bool		nulls[AC_NUM];
	int			changed[AC_NUM];
	TupleTableSlot *slot;
	int			n;

	check_trigger_call(fcinfo, "activity_complete", true);
	slot = trigger_row(trigdata, values, nulls);
	n = complete_row(values, nulls, changed);

	/*
	 * A row restored, or written by 0.1, carries another transaction's
	 * xact_id (its own cluster's, or none): it is this transaction's now, as
	 * for every row it writes, so that each change feed consumer gets it
	 * once, when this transaction commits, and a consumer started from
	 * the beginning gets it with the rest of the log. (Any other row with
	 * another xact_id is refused by the validation constraint.)
	 */
	if (row_taken_as_written())
	{
		AttrNumber	xact_att = SPI_fnumber(RelationGetDescr(trigdata->tg_relation), "xact_id");
		FullTransactionId me = GetTopFullTransactionId();

		if (xact_att > 0 &&
			(slot->tts_isnull[xact_att - 1] ||
			 !FullTransactionIdEquals(DatumGetFullTransactionId(slot->tts_values[xact_att - 1]), me)))
			return PointerGetDatum(completed_tuple(trigdata, slot, values, nulls, changed, n,
												   xact_att, FullTransactionIdGetDatum(me)));
	}
	return PointerGetDatum(completed_tuple(trigdata, slot, values, nulls, changed, n, 0, (Datum) 0));
}

/*
 * AFTER INSERT row trigger, fired only for rows with a caused_by: the cause
 * must be an activity of the same workspace. Running after the statement's
 * rows are in place, it accepts a cause inserted by the same statement (a
 * COPY of a log with its synthetic events), as a foreign key would.
 */
Datum
activity_check_caused_by(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Datum		values[AC_NUM];
	bool		nulls[AC_NUM];

	check_trigger_call(fcinfo, "activity_check_caused_by", false);
	trigger_row(trigdata, values, nulls);
	check_cause_of_row(values, nulls);
	PG_RETURN_POINTER(NULL);
}

/* The cause check of a row written (the AFTER trigger's) */
static void
check_cause_of_row(Datum *values, bool *nulls)
{
	if (nulls[AC_CAUSED_BY] || row_taken_as_written())
		return;
	if (!nulls[AC_ID] &&
		memcmp(DatumGetUUIDP(values[AC_ID]), DatumGetUUIDP(values[AC_CAUSED_BY]), UUID_LEN) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("activity %s cannot be caused by itself",
						DatumGetCString(DirectFunctionCall1(uuid_out, values[AC_ID])))));
	check_caused_by(values[AC_CAUSED_BY], values[AC_WORKSPACE], values[AC_TYPE]);
}

/*
 * BEFORE INSERT statement trigger on activity.activities (statement triggers
 * are not cloned to partitions): this transaction writes through the log, so
 * each of its rows is validated, whoever writes it.
 */
Datum
activity_through_log(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		elog(ERROR, "activity_through_log must be a BEFORE ... FOR EACH STATEMENT trigger");
	mark_through_log(trigdata->tg_relation);
	PG_RETURN_POINTER(NULL);
}

/* This transaction writes through the log (the statement trigger's work) */
static void
mark_through_log(Relation log)
{
	wrote_through_log = true;
	/* (a restore through the log comes before the partitions' constraints) */
	if (!(activity_restoring && owners_own_session()))
		activity_check_partitions_validated(log);
}

/*
 * activity 0.1's BEFORE INSERT trigger, which did all of the above in one:
 * kept for databases still at 0.1 (and for installing 0.1, which the upgrade
 * to 0.2 then replaces by the constraint and the two triggers above).
 */
Datum
activity_validate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Datum		values[AC_NUM];
	bool		nulls[AC_NUM];
	int			changed[AC_NUM];
	TupleTableSlot *slot;
	int			n;

	check_trigger_call(fcinfo, "activity_validate", true);
	slot = trigger_row(trigdata, values, nulls);
	n = complete_row(values, nulls, changed);
	validate_row(values, nulls);
	if (!nulls[AC_CAUSED_BY])
		check_caused_by(values[AC_CAUSED_BY], values[AC_WORKSPACE], values[AC_TYPE]);
	return PointerGetDatum(completed_tuple(trigdata, slot, values, nulls, changed, n, 0, (Datum) 0));
}

/*
 * UPDATE, DELETE and TRUNCATE trigger: the log is append-only.
 */
Datum
activity_append_only(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	const char *op;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "activity_append_only: not called by trigger manager");

	/* maintenance moving or expiring rows of the default partition */
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) && TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		activity_maintenance_delete(trigdata->tg_relation))
		return PointerGetDatum(trigdata->tg_trigtuple);
	/* activity.redact() erasing a member's identity */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) && TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		activity_redaction_update(trigdata->tg_relation))
		return PointerGetDatum(trigdata->tg_newtuple);

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		op = "UPDATE";
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		op = "DELETE";
	else
		op = "TRUNCATE";

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s is not allowed on the activity log", op),
			 errdetail("Relation \"%s\" is part of activity.activities, which is append-only.",
					   RelationGetRelationName(trigdata->tg_relation)),
			 errhint("Record a new activity instead; old activities leave only through retention (activity.configure, activity.add_retention, activity.maintain), and a member's identity only through activity.redact().")));
	PG_RETURN_NULL();
}

/*
 * Re-throw the current error without the "SQL statement" context line of
 * record()'s internal INSERT: the caller called record(), not that INSERT.
 */
static void
strip_insert_context(MemoryContext cxt)
{
	ErrorData  *edata;
	const char *prefix = "SQL statement \"INSERT INTO activity.activities";

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	if (edata->context && strncmp(edata->context, prefix, strlen(prefix)) == 0)
	{
		char	   *nl = strchr(edata->context, '\n');

		edata->context = nl ? pstrdup(nl + 1) : NULL;
	}
	ReThrowError(edata);
}

/*
 * Is activity id recorded already? True if it is, of that workspace and
 * type (a retry); an error if it is another activity; false if it is not in
 * the log. Read as the owner: the caller needs no privilege on event_ids.
 */
static bool
recorded_already(Datum id, text *workspace, text *type)
{
	ActivityUserContext saved;
	Relation	log;
	ActivityPartitionList *parts;
	EventPlace	place;

	log = table_open(activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, false), AccessShareLock);
	parts = activity_partition_list(log);
	activity_become_owner(RelationGetRelid(log), &saved);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	activity_forget_stale_plans(parts);
	place = find_event(parts, id, PointerGetDatum(workspace), type, NULL);
	SPI_finish();
	activity_restore_user(&saved);
	table_close(log, NoLock);
	if (place == EVENT_ELSEWHERE || place == EVENT_OTHER_TYPE)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("activity %s is already in the log, of another workspace or type",
						DatumGetCString(DirectFunctionCall1(uuid_out, id))),
				 errdetail("A retry must carry the workspace_id and type of the activity it repeats.")));
	return place == EVENT_FOUND;
}

/*
 * record()'s own insert. An INSERT through the log, run by the executor,
 * builds the statement's state anew at every execution: routing to the
 * partition, its indexes opened, and the validation constraint (a call with
 * every column as an argument) and the triggers' WHEN conditions read back
 * from their node strings. For one row that is most of what record() costs
 * beyond the row itself (bench/analytics.sh, README: Design notes). So when
 * the log is as the extension made it, record() does what that INSERT would
 * do, in the same order of effects, itself:
 *
 *   the statement trigger's mark (this transaction writes through the log);
 *   the partition the row's occurred_at falls in, else the default one;
 *   the validation constraint's work (check_row: validate, register the id,
 *   remember a possible cause); the heap tuple and an entry in each index
 *   (partial ones by their predicate); the AFTER trigger's cause check.
 *
 * The completion trigger would not fire (every column it fills is given).
 * Anything the extension did not make, or that changes what an INSERT does,
 * sends record() down the executor's path instead: another trigger, a
 * disabled one or session_replication_role not origin, another CHECK
 * constraint, a generated or another column, a NULL the executor would
 * refuse, row-level security on the log, an INSERT privilege held only on
 * columns, a partition that is not a plain table or has no room for the
 * row, an exclusion or deferrable unique index.
 */
static const char *const own_triggers[] = {
	"activities_through_log", "activities_no_truncate", "activities_complete",
	"activities_caused_by", "activities_append_only"
};

/* only the extension's triggers, each enabled as it made it */
static bool
own_triggers_only(Relation rel, Oid schema)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;
	int			j;

	for (i = 0; td != NULL && i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];
		bool		known = false;

		for (j = 0; j < (int) lengthof(own_triggers) && !known; j++)
			known = strcmp(t->tgname, own_triggers[j]) == 0;
		if (!known || t->tgenabled != TRIGGER_FIRES_ON_ORIGIN ||
			get_func_namespace(t->tgfoid) != schema)
			return false;
	}
	return true;
}

/*
 * Inserts the row and returns true, or returns false having done nothing
 * (the executor's path is to be taken). values/nulls: the activity's
 * columns, every one given but function_type possibly NULL.
 */
static bool
record_directly(Datum *values, bool *nulls)
{
	Oid			schema = get_namespace_oid(ACTIVITY_SCHEMA, true);
	Oid			logid = activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TABLE, true);
	Relation	log;
	Relation	part;
	ActivityPartitionList *parts;
	ActivityPartition *p;
	Oid			relid;
	TupleDesc	desc;
	TupleConstr *constr;
	AttrNumber	xact_att;
	List	   *index_oids;
	ListCell   *lc;
	int			nindexes;
	Relation   *indexes;
	IndexInfo **infos;
	int			i;
	int			natts = 0;
	bool		ok;
	TupleTableSlot *slot;
	EState	   *estate;
	ExprContext *econtext;

	if (!OidIsValid(schema) || !OidIsValid(logid) ||
		SessionReplicationRole != SESSION_REPLICATION_ROLE_ORIGIN ||
		!activity_ids_available() || activity_redacting())
		return false;
	for (i = 0; i < AC_NUM; i++)
		if (nulls[i] && i != AC_FUNCTION_TYPE && i != AC_INITIATOR && i != AC_RECIPIENT &&
			i != AC_PLATFORM && i != AC_SUBJECT_TYPE && i != AC_SUBJECT_ID && i != AC_CAUSED_BY)
			return false;		/* the completion trigger or the executor's error */

	log = table_open(logid, RowExclusiveLock);
	if (pg_class_aclcheck(logid, GetUserId(), ACL_INSERT) != ACLCHECK_OK ||
		check_enable_rls(logid, InvalidOid, true) == RLS_ENABLED ||
		!own_triggers_only(log, schema))
	{
		table_close(log, NoLock);
		return false;
	}
	parts = activity_partition_list(log);
	p = activity_partition_for(parts, DatumGetTimestampTz(values[AC_OCCURRED_AT]));
	relid = p ? p->relid : parts->default_relid;
	if (!OidIsValid(relid))
	{
		table_close(log, NoLock);
		return false;			/* the executor's "no partition" error */
	}
	part = table_open(relid, RowExclusiveLock);
	desc = RelationGetDescr(part);
	constr = desc->constr;
	xact_att = SPI_fnumber(desc, "xact_id");
	ok = part->rd_rel->relkind == RELKIND_RELATION && own_triggers_only(part, schema) &&
		constr != NULL && !constr->has_generated_stored && constr->num_check == 1 &&
		strcmp(constr->check[0].ccname, "activities_valid") == 0 && xact_att > 0;
	if (ok)
	{
		resolve_attnums(part);
		for (i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped)
				natts++;
		ok = natts == AC_NUM + 1 && attnums[AC_FUNCTION_TYPE] > 0;
		for (i = 0; i < AC_NUM && ok; i++)
			ok = !(nulls[i] && TupleDescAttr(desc, attnums[i] - 1)->attnotnull);
	}

	/* its indexes: none that checks at the end of the statement or later */
	index_oids = ok ? RelationGetIndexList(part) : NIL;
	nindexes = list_length(index_oids);
	indexes = palloc(sizeof(Relation) * Max(nindexes, 1));
	infos = palloc(sizeof(IndexInfo *) * Max(nindexes, 1));
	i = 0;
	foreach(lc, index_oids)
	{
		indexes[i] = index_open(lfirst_oid(lc), RowExclusiveLock);
		infos[i] = BuildIndexInfo(indexes[i]);
		if (infos[i]->ii_ExclusionOps != NULL ||
			(indexes[i]->rd_index->indisunique && !indexes[i]->rd_index->indimmediate) ||
			!indexes[i]->rd_index->indisready)
			ok = false;
		i++;
	}
	if (!ok)
	{
		for (i = 0; i < nindexes; i++)
			index_close(indexes[i], NoLock);
		table_close(part, NoLock);
		table_close(log, NoLock);
		return false;
	}

	/* the statement trigger, the validation constraint */
	mark_through_log(log);
	if (!row_taken_as_written())
		check_row(values, nulls);

	/* the row */
	slot = MakeSingleTupleTableSlot(desc, table_slot_callbacks(part));
	ExecClearTuple(slot);
	for (i = 0; i < desc->natts; i++)
		slot->tts_isnull[i] = true;
	for (i = 0; i < AC_NUM; i++)
	{
		slot->tts_values[attnums[i] - 1] = values[i];
		slot->tts_isnull[attnums[i] - 1] = nulls[i];
	}
	slot->tts_values[xact_att - 1] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	slot->tts_isnull[xact_att - 1] = false;
	ExecStoreVirtualTuple(slot);
	table_tuple_insert(part, slot, GetCurrentCommandId(true), 0, NULL);

	/* its index entries */
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	econtext->ecxt_scantuple = slot;
	activity_insert_index_entries(part, indexes, infos, nindexes, slot, &slot->tts_tid, estate, InvalidOid);
	for (i = 0; i < nindexes; i++)
		index_close(indexes[i], NoLock);
	FreeExecutorState(estate);
	ExecDropSingleTupleTableSlot(slot);
	table_close(part, NoLock);
	table_close(log, NoLock);

	/* the AFTER trigger */
	check_cause_of_row(values, nulls);
	/* later commands see the row, as after the executor's INSERT */
	CommandCounterIncrement();
	return true;
}

/*
 * activity.record(...) returns uuid: insert one activity, judged by the same
 * code as a plain INSERT (the validation constraint's): written by
 * record_directly(), or by that INSERT where the log is not as the extension
 * made it.
 */
Datum
activity_record(PG_FUNCTION_ARGS)
{
	/* argument order of activity.record() */
	enum
	{
		A_WORKSPACE, A_TYPE, A_INITIATOR, A_METADATA, A_RECIPIENT, A_ACTOR_TYPE,
		A_VERSION, A_OCCURRED_AT, A_PLATFORM, A_SUBJECT_TYPE, A_SUBJECT_ID,
		A_CAUSED_BY, NUM_ARGS,
		A_ID = NUM_ARGS,		/* not an insert argument; absent at 0.1 */
		A_FUNCTION_TYPE			/* the insert's last argument; absent at 0.1 */
	};
	Datum		args[NUM_ARGS + 2];
	char		nulls[NUM_ARGS + 2];
	bool		with_function = PG_NARGS() > A_FUNCTION_TYPE;
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));
	MemoryContext caller_cxt = CurrentMemoryContext;
	int			ret = 0;
	int			i;

	/* a client-chosen id: a retry of an event already recorded returns it */
	if (PG_NARGS() > A_ID && !PG_ARGISNULL(A_ID))
	{
		if (PG_ARGISNULL(A_WORKSPACE) || PG_ARGISNULL(A_TYPE))
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("workspace_id and type of an activity must not be null")));
		if (recorded_already(PG_GETARG_DATUM(A_ID), PG_GETARG_TEXT_PP(A_WORKSPACE), PG_GETARG_TEXT_PP(A_TYPE)))
			PG_RETURN_DATUM(PG_GETARG_DATUM(A_ID));
		memcpy(id, PG_GETARG_UUID_P(A_ID), sizeof(pg_uuid_t));
	}
	else
		activity_uuidv7_generate(id);
	args[0] = UUIDPGetDatum(id);
	nulls[0] = ' ';
	for (i = 0; i < NUM_ARGS; i++)
	{
		args[i + 1] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i + 1] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (with_function)
	{
		args[NUM_ARGS + 1] = PG_ARGISNULL(A_FUNCTION_TYPE) ? (Datum) 0 : PG_GETARG_DATUM(A_FUNCTION_TYPE);
		nulls[NUM_ARGS + 1] = PG_ARGISNULL(A_FUNCTION_TYPE) ? 'n' : ' ';
	}
	if (PG_ARGISNULL(A_OCCURRED_AT))
	{
		args[A_OCCURRED_AT + 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		nulls[A_OCCURRED_AT + 1] = ' ';
	}
	if (!PG_ARGISNULL(A_VERSION) &&
		(PG_GETARG_INT32(A_VERSION) < 0 || PG_GETARG_INT32(A_VERSION) > PG_INT16_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("version %d is out of range", PG_GETARG_INT32(A_VERSION)),
				 errdetail("Schema versions are between 0 and %d.", PG_INT16_MAX)));

	/*
	 * Complete what can be completed here, so that the row does not need the
	 * completion trigger (a trigger call and a copy of the row): the type's
	 * latest version and empty metadata. An unknown type is left to the
	 * trigger, which refuses it with the same message as for an INSERT.
	 */
	if (PG_ARGISNULL(A_VERSION) && !PG_ARGISNULL(A_TYPE))
	{
		char		type_buf[NAMEDATALEN * 3];
		EventType  *et;

		/*
		 * A version registered by another session since this statement
		 * began must count, as it does for the INSERT (whose locks bring the
		 * invalidation in): take it in now, before looking the type up.
		 */
		AcceptInvalidationMessages();
		et = activity_lookup_type(text_to_buf(PG_GETARG_DATUM(A_TYPE), type_buf, sizeof(type_buf)));

		if (et != NULL)
		{
			args[A_VERSION + 1] = Int32GetDatum(default_version(et));
			nulls[A_VERSION + 1] = ' ';
		}
	}
	if (PG_ARGISNULL(A_METADATA))
	{
		args[A_METADATA + 1] = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		nulls[A_METADATA + 1] = ' ';
	}

	if (with_function)
	{
		Datum		values[AC_NUM];
		bool		vnulls[AC_NUM];
		/* the INSERT's column of each argument, in args order */
		static const ActivityColumn cols[NUM_ARGS + 2] = {
			AC_ID, AC_WORKSPACE, AC_TYPE, AC_INITIATOR, AC_METADATA, AC_RECIPIENT,
			AC_ACTOR_TYPE, AC_VERSION, AC_OCCURRED_AT, AC_PLATFORM, AC_SUBJECT_TYPE,
			AC_SUBJECT_ID, AC_CAUSED_BY, AC_FUNCTION_TYPE
		};

		for (i = 0; i < NUM_ARGS + 2; i++)
		{
			values[cols[i]] = args[i];
			vnulls[cols[i]] = nulls[i] == 'n';
		}
		if (!vnulls[AC_VERSION])
			values[AC_VERSION] = Int16GetDatum((int16) DatumGetInt32(values[AC_VERSION]));
		values[AC_RECORDED_AT] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		vnulls[AC_RECORDED_AT] = false;
		if (record_directly(values, vnulls))
			PG_RETURN_UUID_P(id);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (record_plans[with_function] == NULL)
	{
		Oid			types[NUM_ARGS + 2] = {
			UUIDOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID,
			INT4OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, TEXTOID
		};
		SPIPlanPtr	plan;

		plan = SPI_prepare(with_function ?
						   "INSERT INTO activity.activities (id, workspace_id, type, initiator_id, "
						   "metadata, recipient_id, actor_type, version, occurred_at, platform, "
						   "subject_type, subject_id, caused_by, function_type) "
						   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int2, $9, $10, $11, $12, $13, $14)" :
						   "INSERT INTO activity.activities (id, workspace_id, type, initiator_id, "
						   "metadata, recipient_id, actor_type, version, occurred_at, platform, "
						   "subject_type, subject_id, caused_by) "
						   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::int2, $9, $10, $11, $12, $13)",
						   NUM_ARGS + 1 + with_function, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		record_plans[with_function] = plan;
	}
	PG_TRY();
	{
		ret = SPI_execute_plan(record_plans[with_function], args, nulls, false, 0);
	}
	PG_CATCH();
	{
		strip_insert_context(caller_cxt);
	}
	PG_END_TRY();
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	SPI_finish();

	PG_RETURN_UUID_P(id);
}
