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
extern void activity_maintenance_init(void);

/* ids.c */
extern void activity_register_id(Datum id, Datum occurred_at);
extern bool activity_ids_available(void);

/* maintenance.c */
extern bool activity_maintenance_delete(Relation rel);

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
	int16		latest_version;		/* 0: no schema registered */
	int			nversions;			/* versions 1..nversions */
	SchemaVersion *versions;		/* [version - 1] */
} EventType;

extern EventType *activity_lookup_type(const char *name);
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
 * The shape of a feed query (activity.page()): which filters it has and its
 * direction. Each shape of each partition has its own cached plan.
 */
#define FEED_WORKSPACE		0x0001
#define FEED_SUBJECT		0x0002
#define FEED_INITIATOR		0x0004
#define FEED_RECIPIENT		0x0008
#define FEED_TYPES			0x0010
#define FEED_ACTOR_TYPES	0x0020
#define FEED_PLATFORMS		0x0040
#define FEED_SINCE			0x0080
#define FEED_UNTIL			0x0100
#define FEED_ASC			0x0200
#define FEED_RLS			0x0400	/* through the parent, as the caller, under its row-level security */

/* parameters of a feed plan, always all of them, in this order */
enum
{
	FEED_P_WORKSPACE, FEED_P_SUBJECT_TYPE, FEED_P_SUBJECT_ID, FEED_P_INITIATOR,
	FEED_P_RECIPIENT, FEED_P_TYPES, FEED_P_ACTOR_TYPES, FEED_P_PLATFORMS,
	FEED_P_SINCE, FEED_P_UNTIL, FEED_P_POS_TS, FEED_P_POS_ID, FEED_P_LIMIT,
	FEED_NPARAMS
};

#define FEED_COLUMNS \
	"id, workspace_id, platform, type, version, actor_type, initiator_id, " \
	"recipient_id, subject_type, subject_id, caused_by, metadata, occurred_at, recorded_at"

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
