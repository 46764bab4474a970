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

#include "access/genam.h"
#include "catalog/pg_class.h"
#include "commands/explain.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/relcache.h"
#include "partitioning/partdesc.h"

#if PG_VERSION_NUM < 140000
#error "activity needs PostgreSQL 14 or later"
#endif
#if PG_VERSION_NUM >= 190000
#error "activity supports PostgreSQL 14 to 18 (check every difference in compat.h before adding a version)"
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

/*
 * A partitioned table's partitions as a query sees them: one being detached
 * concurrently is left out once the detach is visible to the active snapshot
 * (omit_detached = true, what the executor passes for ordinary queries)
 */
#define activity_partition_desc(rel) RelationGetPartitionDesc((rel), true)

/* Releasing a cached plan held by the current resource owner */
#define activity_release_cached_plan(cplan) ReleaseCachedPlan((cplan), CurrentResourceOwner)

/* Starting an index scan: 18 added an IndexScanInstrumentation argument (NULL: none) */
#if PG_VERSION_NUM >= 180000
#define activity_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define activity_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

/*
 * A table's primary key index, InvalidOid if it has none or only a deferrable
 * one: 18 added deferrable_ok (false keeps what 14-17 return)
 */
#if PG_VERSION_NUM >= 180000
#define activity_primary_key_index(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define activity_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#endif

/* ExplainState and NewExplainState(): 18 moved them from explain.h to explain_state.h */
#if PG_VERSION_NUM >= 180000
#include "commands/explain_state.h"
#endif

/*
 * Marks a function that never returns, written before its declaration
 * ("activity_noreturn static void f(...);"): 18 replaced pg_attribute_noreturn(),
 * written after the declarator, by pg_noreturn, written before it. (GCC and
 * clang accept the older attribute in front too.)
 */
#if PG_VERSION_NUM >= 180000
#define activity_noreturn pg_noreturn
#else
#define activity_noreturn pg_attribute_noreturn()
#endif

#endif							/* ACTIVITY_COMPAT_H */
