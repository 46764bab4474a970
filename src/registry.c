/*
 * registry.c
 *		Backend-local cache of the event type registry.
 *
 * The whole registry (a few hundred types at most) is loaded with one query on
 * first use and kept until a registry table changes. Changes reach every
 * session through relcache invalidations: a statement trigger on the registry
 * tables calls CacheInvalidateRelcache(), and our callback turns the message
 * into a reload.
 *
 * Like PostgreSQL's own catalog caches, the registry is read with a fresh
 * snapshot, never the transaction's: a REPEATABLE READ transaction, or a long
 * statement that takes in invalidations halfway, must not load a stale copy
 * and keep it as current. Every lookup first takes in pending invalidations
 * (a test of one shared flag when there are none), so that a row is checked
 * against the registry committed before it was written, even halfway through
 * a long COPY.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "access/htup_details.h"

#include "activity.h"

PG_FUNCTION_INFO_V1(activity_registry_changed);

static MemoryContext registry_cxt = NULL;
static HTAB *type_cache = NULL;
static bool registry_valid = false;
static bool callback_registered = false;
static Oid	types_relid = InvalidOid;
static Oid	schemas_relid = InvalidOid;
static Oid	platforms_relid = InvalidOid;
static Oid	universal_relid = InvalidOid;

/* the registered platforms, sorted; absent (have_platforms false) at 0.1 */
static bool have_platforms = false;
static char **platform_names = NULL;
static int	nplatform_names = 0;

/*
 * Relcache callback: forget the registry when a registry table changed, or
 * when the whole relcache is reset.
 */
static void
registry_inval_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == types_relid || relid == schemas_relid ||
		relid == platforms_relid || relid == universal_relid)
	{
		registry_valid = false;
		types_relid = InvalidOid;
		schemas_relid = InvalidOid;
		platforms_relid = InvalidOid;
		universal_relid = InvalidOid;
	}
}

/*
 * OID of schema.relname, or InvalidOid when missing_ok and it does not exist.
 */
Oid
activity_relid(const char *schema, const char *relname, bool missing_ok)
{
	Oid			nsp = get_namespace_oid(schema, missing_ok);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", schema, relname),
				 errhint("Is the activity extension installed in this database?")));
	return relid;
}

/*
 * The owner of relation relid.
 */
Oid
activity_rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Run the extension's internal queries (registry, partitions) as the owner of
 * relid, the way PostgreSQL runs foreign-key checks as the table owner: the
 * caller's privileges were checked on the object it named (the log, or the
 * row it inserted), and it needs none on the extension's internals. Restore
 * with activity_restore_user(); an error restores it on abort.
 */
void
activity_become_owner(Oid relid, ActivityUserContext *saved)
{
	Oid			owner = activity_rel_owner(relid);

	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(owner, saved->sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
}

void
activity_restore_user(const ActivityUserContext *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

/*
 * Bit for an actor type name, 0 when it is not one.
 */
int
activity_actor_type_bit(const char *actor_type)
{
	if (strcmp(actor_type, "user") == 0)
		return ACTOR_USER;
	if (strcmp(actor_type, "agent") == 0)
		return ACTOR_AGENT;
	if (strcmp(actor_type, "system") == 0)
		return ACTOR_SYSTEM;
	return 0;
}

/*
 * Copy a text[] of the current SPI row into the registry context.
 */
static char **
text_array_to_cstrings(Datum d, int *n)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	char	  **result;
	int			i;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	result = MemoryContextAlloc(registry_cxt, sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		result[i] = nulls[i] ? MemoryContextStrdup(registry_cxt, "") :
			MemoryContextStrdup(registry_cxt, TextDatumGetCString(elems[i]));
	return result;
}

static void registry_fill(void);

/*
 * Run a read-only query of the registry with the latest snapshot (not the
 * transaction's), as the catalog caches do.
 */
static void
registry_query(const char *sql, const char *what)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	int			ret;

	if (plan == NULL)
		elog(ERROR, "could not prepare the query of %s: %s", what, SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read %s: %s", what, SPI_result_code_string(ret));
}

/*
 * Load every registered type into a fresh hash table.
 */
static void
registry_load(void)
{
	HASHCTL		ctl;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(registry_inval_callback, (Datum) 0);
		callback_registered = true;
	}
	if (registry_cxt == NULL)
		registry_cxt = AllocSetContextCreate(CacheMemoryContext,
											 "activity registry",
											 ALLOCSET_SMALL_SIZES);
	MemoryContextReset(registry_cxt);
	type_cache = NULL;

	types_relid = activity_relid(ACTIVITY_SCHEMA, ACTIVITY_TYPES_TABLE, false);
	/* absent while the extension is still at version 0.1 */
	schemas_relid = activity_relid(ACTIVITY_SCHEMA, "schemas", true);
	platforms_relid = activity_relid(ACTIVITY_SCHEMA, "platforms", true);
	universal_relid = activity_relid(ACTIVITY_SCHEMA, "universal_types", true);
	have_platforms = OidIsValid(platforms_relid) && OidIsValid(universal_relid);
	platform_names = NULL;
	nplatform_names = 0;
	/* an invalidation arriving from here on makes the next lookup reload */
	registry_valid = true;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(((EventType *) NULL)->name);
	ctl.entrysize = sizeof(EventType);
	ctl.hcxt = registry_cxt;
	type_cache = hash_create("activity event types", 256, &ctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	PG_TRY();
	{
		ActivityUserContext saved;

		activity_become_owner(types_relid, &saved);
		registry_fill();
		activity_restore_user(&saved);
	}
	PG_CATCH();
	{
		registry_valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Read activity.event_types into type_cache.
 */
static void
registry_fill(void)
{
	uint64		i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the rules added by 0.2 (the library also runs under 0.1's objects) */
	registry_query(have_platforms
				   ? "SELECT t.name, t.universal_type, t.recipient, t.actor_types, t.platforms, t.subject_type, "
				   "u.platforms, t.function_types, t.caused_by, "
				   "EXISTS (SELECT FROM activity.event_types e "
				   "WHERE t.name = ANY (e.caused_by) OR t.universal_type = ANY (e.caused_by)) "
				   "FROM activity.event_types t LEFT JOIN activity.universal_types u ON u.name = t.universal_type"
				   : "SELECT name, universal_type, recipient, actor_types, platforms, NULL::text, "
				   "NULL::text[], NULL::text[], NULL::text[], false "
				   "FROM activity.event_types", "activity.event_types");

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = SPI_getvalue(tup, desc, 1);
		char	   *rule;
		EventType  *et;
		bool		found;
		Datum		d;
		char	  **actors;
		int			nactors;
		int			j;

		if (name == NULL || strlen(name) >= sizeof(et->name))
			continue;			/* cannot be looked up anyway */
		et = hash_search(type_cache, name, HASH_ENTER, &found);
		et->universal_type = NULL;
		if (SPI_getvalue(tup, desc, 2) != NULL)
			et->universal_type = MemoryContextStrdup(registry_cxt, SPI_getvalue(tup, desc, 2));
		rule = SPI_getvalue(tup, desc, 3);
		et->recipient = strcmp(rule, "required") == 0 ? RECIPIENT_REQUIRED :
			strcmp(rule, "forbidden") == 0 ? RECIPIENT_FORBIDDEN : RECIPIENT_OPTIONAL;

		et->actor_types = 0;
		d = SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
		{
			actors = text_array_to_cstrings(d, &nactors);
			for (j = 0; j < nactors; j++)
				et->actor_types |= activity_actor_type_bit(actors[j]);
		}

		et->nplatforms = 0;
		et->platforms = NULL;
		d = SPI_getbinval(tup, desc, 5, &isnull);
		if (!isnull)
			et->platforms = text_array_to_cstrings(d, &et->nplatforms);

		et->subject_type = NULL;
		if (SPI_getvalue(tup, desc, 6) != NULL)
			et->subject_type = MemoryContextStrdup(registry_cxt, SPI_getvalue(tup, desc, 6));

		et->nuniversal_platforms = 0;
		et->universal_platforms = NULL;
		d = SPI_getbinval(tup, desc, 7, &isnull);
		if (!isnull)
			et->universal_platforms = text_array_to_cstrings(d, &et->nuniversal_platforms);
		et->nfunctions = 0;
		et->functions = NULL;
		d = SPI_getbinval(tup, desc, 8, &isnull);
		if (!isnull)
			et->functions = text_array_to_cstrings(d, &et->nfunctions);
		et->ncauses = 0;
		et->causes = NULL;
		d = SPI_getbinval(tup, desc, 9, &isnull);
		if (!isnull)
			et->causes = text_array_to_cstrings(d, &et->ncauses);
		d = SPI_getbinval(tup, desc, 10, &isnull);
		et->may_cause = !isnull && DatumGetBool(d);

		et->latest_version = 0;
		et->nversions = 0;
		et->versions = NULL;
	}

	if (have_platforms)
	{
		registry_query("SELECT name FROM activity.platforms ORDER BY name COLLATE \"C\"", "activity.platforms");
		platform_names = MemoryContextAlloc(registry_cxt, sizeof(char *) * (SPI_processed + 1));
		for (i = 0; i < SPI_processed; i++)
			platform_names[nplatform_names++] =
				MemoryContextStrdup(registry_cxt, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	}

	if (OidIsValid(schemas_relid))
	{
		registry_query("SELECT type, version, schema, retired_at, created_at, "
					   "CASE WHEN jsonb_typeof(schema::jsonb -> 'properties') = 'object' "
					   "THEN ARRAY(SELECT jsonb_object_keys(schema::jsonb -> 'properties')) END "
					   "FROM activity.schemas ORDER BY type, version", "activity.schemas");
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *type = SPI_getvalue(tup, desc, 1);
			int			version = DatumGetInt16(SPI_getbinval(tup, desc, 2, &isnull));
			Datum		schema = SPI_getbinval(tup, desc, 3, &isnull);
			Datum		retired = SPI_getbinval(tup, desc, 4, &isnull);
			Datum		d;
			EventType  *et = hash_search(type_cache, type, HASH_FIND, NULL);
			MemoryContext old;
			SchemaVersion *sv;

			if (et == NULL || version < 1)
				continue;
			if (version > et->nversions)
			{
				int			n = version;

				old = MemoryContextSwitchTo(registry_cxt);
				et->versions = et->versions ? repalloc(et->versions, sizeof(SchemaVersion) * n)
					: palloc(sizeof(SchemaVersion) * n);
				memset(et->versions + et->nversions, 0, sizeof(SchemaVersion) * (n - et->nversions));
				et->nversions = n;
				MemoryContextSwitchTo(old);
			}
			sv = &et->versions[version - 1];
			old = MemoryContextSwitchTo(registry_cxt);
			sv->schema = (struct JsonSchema *) PG_DETOAST_DATUM_COPY(schema);
			MemoryContextSwitchTo(old);
			sv->retired = !isnull;
			sv->retired_at = isnull ? 0 : DatumGetTimestampTz(retired);
			sv->created_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
			d = SPI_getbinval(tup, desc, 6, &isnull);
			old = MemoryContextSwitchTo(registry_cxt);
			sv->properties = isnull ? NULL : DatumGetArrayTypePCopy(d);
			MemoryContextSwitchTo(old);
			et->latest_version = version;
		}
	}
	SPI_finish();
}

/*
 * The registered type called name, or NULL.
 */
EventType *
activity_lookup_type(const char *name)
{
	if (strlen(name) >= sizeof(((EventType *) NULL)->name))
		return NULL;
	AcceptInvalidationMessages();
	if (!registry_valid || type_cache == NULL)
		registry_load();
	return (EventType *) hash_search(type_cache, name, HASH_FIND, NULL);
}

/*
 * Is the platform called name (len bytes, not terminated) registered? 1 if
 * it is, 0 if not, -1 if the registry has no platforms (0.1's objects).
 * Called for a row right after its type was looked up, which took in the
 * pending invalidations: the registry is not reloaded from here but once.
 */
int
activity_platform_check(const char *name, int len)
{
	int			lo = 0;
	int			hi;

	if (!registry_valid || type_cache == NULL)
		registry_load();
	if (!have_platforms)
		return -1;
	hi = nplatform_names - 1;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			cmp = strncmp(platform_names[mid], name, len);

		if (cmp == 0)
			cmp = platform_names[mid][len] == '\0' ? 0 : 1;
		if (cmp == 0)
			return 1;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/*
 * Statement trigger on the registry tables: tell every session, this one
 * included, that its registry cache is stale.
 */
Datum
activity_registry_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "activity_registry_changed: not called by trigger manager");

	CacheInvalidateRelcache(trigdata->tg_relation);
	PG_RETURN_POINTER(NULL);
}

PG_FUNCTION_INFO_V1(activity_universal_type);

/*
 * activity.universal_type(type text) returns text: the universal type a
 * registered event type maps to (seed 003: USER_JOIN across platforms), NULL
 * when it maps to none or is not registered. Read from the session's registry
 * cache, so a view can show it for every row without a join (and without the
 * caller needing privileges on the registry).
 */
Datum
activity_universal_type(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	char	   *name = text_to_cstring(t);
	EventType  *et = activity_lookup_type(name);

	if (et == NULL || et->universal_type == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(et->universal_type));
}

/*
 * Every registered type, in a palloc'd array of *n pointers into the
 * registry (valid until the registry is next reloaded).
 */
EventType **
activity_all_types(int *n)
{
	HASH_SEQ_STATUS seq;
	EventType  *et;
	EventType **all;
	int			i = 0;

	AcceptInvalidationMessages();
	if (!registry_valid || type_cache == NULL)
		registry_load();
	all = palloc(sizeof(EventType *) * (hash_get_num_entries(type_cache) + 1));
	hash_seq_init(&seq, type_cache);
	while ((et = hash_seq_search(&seq)) != NULL)
		all[i++] = et;
	*n = i;
	return all;
}

PG_FUNCTION_INFO_V1(activity_schema_properties);

/*
 * activity._schema_properties(type text) returns text[]: the names of the
 * "properties" of the latest schema version of a type (the one an activity
 * recorded without a version gets), NULL if it has none. From the registry
 * cache: the caller (a captured write, activity.track()) needs no privilege
 * on activity.schemas, and no query runs per row.
 */
Datum
activity_schema_properties(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	EventType  *et = activity_lookup_type(name);
	int			v;

	if (et == NULL)
		PG_RETURN_NULL();
	for (v = et->nversions; v >= 1; v--)
	{
		SchemaVersion *sv = &et->versions[v - 1];

		if (sv->schema != NULL && !sv->retired)
		{
			if (sv->properties == NULL)
				PG_RETURN_NULL();
			PG_RETURN_ARRAYTYPE_P(DatumGetArrayTypePCopy(PointerGetDatum(sv->properties)));
		}
	}
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(activity_type_subject);

/*
 * activity._type_subject(type text) returns text: the subject_type rule of a
 * registered type, '' if it has none, NULL if the type is not registered.
 */
Datum
activity_type_subject(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	EventType  *et = activity_lookup_type(name);

	if (et == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(et->subject_type ? et->subject_type : ""));
}
