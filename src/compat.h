/*
 * compat.h
 *		Every difference between the PostgreSQL versions the extension
 *		supports (14 to 18), in one place.
 *
 * Each macro names what the code needs; its definitions per version are
 * checked against that version's headers.
 */
#ifndef ACTIVITY_COMPAT_H
#define ACTIVITY_COMPAT_H

#include "postgres.h"

#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "partitioning/partdesc.h"

#if PG_VERSION_NUM < 140000
#error "activity needs PostgreSQL 14 or later"
#endif

/* Ownership of a relation: one function per object class until 16 */
#if PG_VERSION_NUM >= 160000
#define activity_rel_ownercheck(relid, role) \
	object_ownercheck(RelationRelationId, (relid), (role))
#else
#define activity_rel_ownercheck(relid, role) pg_class_ownercheck((relid), (role))
#endif

/* Reserving the GUC prefix "activity.": 15 added MarkGUCPrefixReserved */
#if PG_VERSION_NUM >= 150000
#define activity_reserve_guc_prefix(prefix) MarkGUCPrefixReserved(prefix)
#else
#define activity_reserve_guc_prefix(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* A partitioned table's partitions, detached-pending ones included */
#define activity_partition_desc(rel) RelationGetPartitionDesc((rel), true)

/* Releasing a cached plan held by the current resource owner */
#define activity_release_cached_plan(cplan) ReleaseCachedPlan((cplan), CurrentResourceOwner)

#endif							/* ACTIVITY_COMPAT_H */
