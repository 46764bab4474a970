/*
 * activity.h
 *		Declarations shared by the activity extension's source files.
 */
#ifndef ACTIVITY_H
#define ACTIVITY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "utils/relcache.h"
#include "utils/uuid.h"
#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "access/tupdesc.h"
#include "utils/tuplestore.h"

/* Names of the extension's schemas and relations */
#define ACTIVITY_SCHEMA			"activity"
#define ACTIVITY_PART_SCHEMA	"activity_partitions"
#define ACTIVITY_TABLE			"activities"
#define ACTIVITY_TYPES_TABLE	"event_types"

/* Largest page activity.page() returns */
#define ACTIVITY_MAX_LIMIT		200

/* GUCs (activity.c) */
extern int	activity_max_metadata_bytes;
extern int	activity_max_metadata_depth;
extern bool activity_restoring;
extern int	activity_lock_timeout;
extern int	activity_max_lock_hold;
extern bool activity_drop_events;
extern bool activity_direct_scans;
extern char *activity_actor_id;
extern char *activity_actor_type;

/* ingest.c */
extern void activity_ingest_init(void);
extern void activity_feed_init(void);
extern void activity_feed_note(Datum occurred_at, Datum id);
struct EState;
struct TupleTableSlot;
struct IndexInfo;
extern void activity_insert_index_entries(Relation heap, Relation *indexes, struct IndexInfo **infos, int nindexes,
										  struct TupleTableSlot *slot, ItemPointer tid, struct EState *estate,
										  Oid no_check);
extern void activity_maintenance_init(void);

/* ids.c */
extern void activity_register_id(Datum id, Datum occurred_at);
extern bool activity_ids_available(void);

/* maintenance.c */
extern bool activity_maintenance_delete(Relation rel);
extern bool activity_redaction_update(Relation rel);
extern bool activity_redacting(void);

/* uuidv7.c */
extern void activity_uuidv7_generate(pg_uuid_t *uuid);
extern bool activity_uuidv7_timestamp(const pg_uuid_t *uuid, TimestampTz *ts);

/* registry.c: the backend-local registry of event types */
#define ACTOR_USER		0x01
#define ACTOR_AGENT		0x02
#define ACTOR_SYSTEM	0x04

typedef enum RecipientRule
{
	RECIPIENT_OPTIONAL,
	RECIPIENT_REQUIRED,
	RECIPIENT_FORBIDDEN
} RecipientRule;

struct JsonSchema;

typedef struct SchemaVersion
{
	struct JsonSchema *schema;	/* compiled, in the registry's memory */
	TimestampTz created_at;
	bool		retired;
	TimestampTz retired_at;
	struct ArrayType *properties;	/* names of its "properties", or NULL */
} SchemaVersion;

typedef struct EventType
{
	char		name[NAMEDATALEN * 3];	/* hash key; names are <= 128 bytes */
	char	   *universal_type;			/* or NULL */
	RecipientRule recipient;
	int			actor_types;		/* ACTOR_* bits */
	int			nplatforms;			/* 0: any platform */
	char	  **platforms;
	char	   *subject_type;			/* the subject every activity is about, or NULL */
	int			nuniversal_platforms;	/* 0: its universal type is on all platforms */
	char	  **universal_platforms;	/* the platforms its universal type supports */
	int			nfunctions;			/* 0: any function type, or none */
	char	  **functions;			/* the function types that may record it */
	int			ncauses;			/* 0: no cause required */
	char	  **causes;				/* a cause's type or universal type is one of these */
	bool		may_cause;			/* some type's rule names it or its universal type */
	int16		latest_version;		/* 0: no schema registered */
	int			nversions;			/* versions 1..nversions */
	SchemaVersion *versions;		/* [version - 1] */
} EventType;

extern EventType *activity_lookup_type(const char *name);
extern int	activity_platform_check(const char *name, int len);
extern EventType **activity_all_types(int *n);
extern int	activity_actor_type_bit(const char *actor_type);
extern Oid	activity_relid(const char *schema, const char *relname, bool missing_ok);
extern Oid	activity_rel_owner(Oid relid);

typedef struct ActivityUserContext
{
	Oid			userid;
	int			sec_context;
} ActivityUserContext;

extern void activity_become_owner(Oid relid, ActivityUserContext *saved);
extern void activity_restore_user(const ActivityUserContext *saved);

/* partitions.c: the partitions of activity.activities, oldest first */
typedef struct ActivityPartition
{
	Oid			relid;
	TimestampTz lower;			/* DT_NOBEGIN for MINVALUE */
	TimestampTz upper;			/* DT_NOEND for MAXVALUE */
} ActivityPartition;

typedef struct ActivityPartitionList
{
	Oid			parent;
	uint64		generation;		/* changes whenever the list is rebuilt */
	Oid			default_relid;	/* InvalidOid if none */
	int			nparts;
	ActivityPartition *parts;	/* sorted by lower bound */
} ActivityPartitionList;

extern ActivityPartitionList *activity_partition_list(Relation parent);
extern ActivityPartition *activity_partition_for(ActivityPartitionList *list, TimestampTz ts);
extern void activity_check_partitions_validated(Relation parent);

/* the queries run on single partitions, each cached as one plan per partition */
typedef enum PartPlanKind
{
	PART_PLAN_FIND_ID,			/* an activity's type and whether it is of the
								 * workspace, by id (0.1's primary key) */
	PART_PLAN_FIND_AT			/* the same, by id, workspace and occurred_at */
} PartPlanKind;

/*
 * The columns of an activity, described once: the log's table has them (in
 * this order, as made by the install script), page() returns them in this
 * order, every feed query selects them so, the validation constraint passes
 * them so to activity._valid_activity(). activity._columns() shows this list
 * to SQL, and the test "descriptions" checks the SQL objects against it.
 * X(enum suffix, column name, type OID)
 */
#define ACTIVITY_COLUMNS(X) \
	X(ID, "id", UUIDOID) \
	X(WORKSPACE, "workspace_id", TEXTOID) \
	X(PLATFORM, "platform", TEXTOID) \
	X(TYPE, "type", TEXTOID) \
	X(VERSION, "version", INT2OID) \
	X(ACTOR_TYPE, "actor_type", TEXTOID) \
	X(INITIATOR, "initiator_id", TEXTOID) \
	X(RECIPIENT, "recipient_id", TEXTOID) \
	X(SUBJECT_TYPE, "subject_type", TEXTOID) \
	X(SUBJECT_ID, "subject_id", TEXTOID) \
	X(CAUSED_BY, "caused_by", UUIDOID) \
	X(METADATA, "metadata", JSONBOID) \
	X(OCCURRED_AT, "occurred_at", TIMESTAMPTZOID) \
	X(RECORDED_AT, "recorded_at", TIMESTAMPTZOID) \
	X(FUNCTION_TYPE, "function_type", TEXTOID)

#define ACTIVITY_COLUMN_ENUM(e, name, type) AC_##e,
typedef enum ActivityColumn
{
	ACTIVITY_COLUMNS(ACTIVITY_COLUMN_ENUM)
	AC_NUM
} ActivityColumn;
#undef ACTIVITY_COLUMN_ENUM

typedef struct ActivityColumnDef
{
	const char *name;
	Oid			type;
} ActivityColumnDef;

extern const ActivityColumnDef activity_columns[AC_NUM];
extern const char *activity_column_list(void);	/* "id, workspace_id, ..." */
extern Tuplestorestate *activity_begin_set(FunctionCallInfo fcinfo, const char *fname, TupleDesc *desc);
extern void activity_column_attnums(TupleDesc desc, AttrNumber *attnums);

/*
 * The filters of a feed (activity.page(), page_plans()), described once:
 * each is an argument of page() (found by name in its signature), a
 * condition on a column, and a bit of a query's shape. The SQL of a feed
 * plan, the direct index scan, its description in page_plans() and the
 * cursor's query hash are all made from this list; an index serves the
 * filters whose columns it leads with (FeedIndexDef in page.c). Adding a
 * filter is one line here (at the end: the hash tag keeps older cursors
 * valid) plus, if it is to be an index seek, its index.
 * X(enum suffix, page() argument, column, kind, argument type, hash tag)
 */
typedef enum FeedFilterKind
{
	FK_EQ,						/* column = the argument */
	FK_ANY,						/* column = ANY (the argument, a text[]) */
	FK_SINCE,					/* column >= the argument */
	FK_UNTIL,					/* column < the argument */
	FK_MEMBER,					/* initiator_id or recipient_id = the argument */
	FK_CONTAINS					/* column @> the argument (jsonb) */
} FeedFilterKind;

#define FEED_FILTERS(X) \
	X(WORKSPACE, "workspace_id", AC_WORKSPACE, FK_EQ, TEXTOID, 'w') \
	X(SUBJECT_TYPE, "subject_type", AC_SUBJECT_TYPE, FK_EQ, TEXTOID, 's') \
	X(SUBJECT_ID, "subject_id", AC_SUBJECT_ID, FK_EQ, TEXTOID, 'S') \
	X(INITIATOR, "initiator_id", AC_INITIATOR, FK_EQ, TEXTOID, 'i') \
	X(RECIPIENT, "recipient_id", AC_RECIPIENT, FK_EQ, TEXTOID, 'r') \
	X(TYPES, "types", AC_TYPE, FK_ANY, TEXTARRAYOID, 't') \
	X(ACTOR_TYPES, "actor_types", AC_ACTOR_TYPE, FK_ANY, TEXTARRAYOID, 'a') \
	X(PLATFORMS, "platforms", AC_PLATFORM, FK_ANY, TEXTARRAYOID, 'p') \
	X(SINCE, "since", AC_OCCURRED_AT, FK_SINCE, TIMESTAMPTZOID, '>') \
	X(UNTIL, "until", AC_OCCURRED_AT, FK_UNTIL, TIMESTAMPTZOID, '<') \
	X(FUNCTION_TYPES, "function_types", AC_FUNCTION_TYPE, FK_ANY, TEXTARRAYOID, 'f') \
	X(CAUSED_BY, "caused_by", AC_CAUSED_BY, FK_EQ, UUIDOID, 'c') \
	X(MEMBER, "member_id", AC_INITIATOR, FK_MEMBER, TEXTOID, 'm') \
	X(METADATA, "metadata", AC_METADATA, FK_CONTAINS, JSONBOID, 'j')

#define FEED_FILTER_ENUM(e, arg, col, kind, type, tag) FF_##e,
typedef enum FeedFilterId
{
	FEED_FILTERS(FEED_FILTER_ENUM)
	FF_NUM
} FeedFilterId;
#undef FEED_FILTER_ENUM

typedef struct FeedFilterDef
{
	const char *arg;
	ActivityColumn column;
	FeedFilterKind kind;
	Oid			argtype;
	char		hash_tag;
} FeedFilterDef;

extern const FeedFilterDef feed_filters[FF_NUM];

/*
 * The indexes of each partition that feeds are read by, in the order page()
 * prefers them (columns.c describes them).
 */
typedef enum FeedIndex
{
	FIDX_CAUSE,					/* (workspace_id, caused_by, ...) */
	FIDX_SUBJECT,				/* (workspace_id, subject_type, subject_id, ...) */
	FIDX_RECIPIENT,				/* (workspace_id, recipient_id, ...) */
	FIDX_INITIATOR,				/* (workspace_id, initiator_id, ...) */
	FIDX_FEED,					/* (workspace_id, occurred_at DESC, id DESC) */
	FIDX_TIME,					/* (occurred_at DESC, id DESC) */
	FIDX_NUM
} FeedIndex;

#define FEED_INDEX_MAX_EQ	4

typedef struct FeedIndexDef
{
	const char *suffix;			/* of its name: partition name + suffix */
	bool		unique;			/* UNIQUE (the replica identity) */
	int			eq[FEED_INDEX_MAX_EQ + 1];	/* its leading columns, as filters
											 * (FF_*); -1 ends */
	int			include;		/* INCLUDE (this column, AC_*); -1: none */
	int			not_null;		/* partial: WHERE this column (AC_*) IS NOT
								 * NULL; -1: none */
	bool		finite;			/* partial: WHERE occurred_at > '-infinity' */
} FeedIndexDef;

extern const FeedIndexDef feed_indexes[FIDX_NUM];
extern uint32 activity_feed_index_filters(FeedIndex kind);
extern Relation activity_open_feed_index(Relation rel, FeedIndex kind, const AttrNumber *attnums);
extern bool activity_check_read_access(Relation parent);
extern char *activity_feed_condition(FeedFilterId f);

/*
 * The shape of a feed query: the filters it has (bit 1 << FF_x each) and
 * its direction. Each shape of each partition has its own cached plan.
 */
#define FEED_HAS(f)			((uint32) 1 << (f))
#define FEED_WORKSPACE		FEED_HAS(FF_WORKSPACE)
#define FEED_ASC			((uint32) 1 << 29)
#define FEED_RLS			((uint32) 1 << 30)	/* through the parent, as the caller, under its row-level security */
StaticAssertDecl(FF_NUM < 29, "too many feed filters for a shape");

/*
 * Parameters of a feed plan, always all of them: the position and the
 * limit, then one per filter ($4 onwards), in FEED_FILTERS order.
 */
enum
{
	FEED_P_POS_TS, FEED_P_POS_ID, FEED_P_LIMIT, FEED_P_FILTERS
};
#define FEED_P(f)			(FEED_P_FILTERS + (f))
#define FEED_NPARAMS		(FEED_P_FILTERS + FF_NUM)

extern SPIPlanPtr activity_partition_plan(Oid relid, PartPlanKind kind);
extern SPIPlanPtr activity_feed_plan(Oid relid, uint32 shape);
extern void activity_forget_stale_plans(ActivityPartitionList *list);

/* cursor.c */
#define CURSOR_FORMAT_VERSION	2
#define CURSOR_FLAG_ASC			0x01

typedef struct ActivityCursor
{
	uint8		format_version;
	uint8		flags;
	TimestampTz occurred_at;
	pg_uuid_t	id;
	uint64		query_hash;		/* format 1: 32 bits */
} ActivityCursor;

extern Datum activity_cursor_make(const ActivityCursor *c);
extern void activity_cursor_read(Datum d, ActivityCursor *c);

#endif							/* ACTIVITY_H */
