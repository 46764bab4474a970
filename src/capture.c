/*
 * capture.c
 *		What activity.track()'s trigger records of a row: the changed fields
 *		of an update, the named fields of an insert or delete.
 *
 * The trigger (activity._capture(), PL/pgSQL) turns OLD and NEW into jsonb
 * with to_jsonb(); these two functions pick from them without a query per
 * row, so that every step of the trigger is a simple expression.
 */
#include "postgres.h"

#include "fmgr.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "activity.h"

PG_FUNCTION_INFO_V1(activity_row_changes);
PG_FUNCTION_INFO_V1(activity_row_fields);

/* the value of key in a jsonb object, or NULL */
static JsonbValue *
object_field(Jsonb *obj, const char *key, int keylen)
{
	return getKeyJsonValueFromContainer(&obj->root, key, keylen, NULL);
}

/* the elements of a text[] as C strings; NULL elements are skipped */
static char **
text_array_elements(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	char	  **out;
	int			i;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
	out = palloc(sizeof(char *) * Max(nelems, 1));
	*n = 0;
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			out[(*n)++] = TextDatumGetCString(elems[i]);
	return out;
}

/* every top-level key of a jsonb object */
static char **
object_keys(Jsonb *obj, int *n)
{
	JsonbIterator *it = JsonbIteratorInit(&obj->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	  **out = palloc(sizeof(char *) * Max(JsonContainerSize(&obj->root), 1));

	*n = 0;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY)
			out[(*n)++] = pnstrdup(v.val.string.val, v.val.string.len);
	return out;
}

/* are two jsonb values (either may be missing: NULL) the same? */
static bool
same_value(JsonbValue *a, JsonbValue *b)
{
	Jsonb	   *ja;
	Jsonb	   *jb;

	if (a == NULL || b == NULL)
		return a == b;
	ja = JsonbValueToJsonb(a);
	jb = JsonbValueToJsonb(b);
	return compareJsonbContainers(&ja->root, &jb->root) == 0;
}

static void
push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);
}

static void
push_value(JsonbParseState **state, JsonbValue *v)
{
	JsonbValue	null;

	if (v == NULL)
	{
		null.type = jbvNull;
		v = &null;
	}
	pushJsonbValue(state, WJB_VALUE, v);
}

/*
 * activity._row_changes(old jsonb, new jsonb, columns text[]) returns jsonb:
 * {"<column>": {"old": ..., "new": ...}} for each column (each key of new if
 * columns is empty) whose value differs between old and new; NULL if none.
 */
Datum
activity_row_changes(PG_FUNCTION_ARGS)
{
	Jsonb	   *old = PG_GETARG_JSONB_P(0);
	Jsonb	   *new = PG_GETARG_JSONB_P(1);
	ArrayType  *columns = PG_GETARG_ARRAYTYPE_P(2);
	char	  **keys;
	int			nkeys;
	JsonbParseState *state = NULL;
	JsonbValue *result;
	int			nchanged = 0;
	int			i;

	if (!JB_ROOT_IS_OBJECT(old) || !JB_ROOT_IS_OBJECT(new))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the rows compared must be jsonb objects")));
	keys = text_array_elements(columns, &nkeys);
	if (nkeys == 0)
		keys = object_keys(new, &nkeys);

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < nkeys; i++)
	{
		JsonbValue *ov = object_field(old, keys[i], strlen(keys[i]));
		JsonbValue *nv = object_field(new, keys[i], strlen(keys[i]));

		if (same_value(ov, nv))
			continue;
		push_key(&state, keys[i]);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_key(&state, "old");
		push_value(&state, ov);
		push_key(&state, "new");
		push_value(&state, nv);
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
		nchanged++;
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	if (nchanged == 0)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(JsonbValueToJsonb(result));
}

/*
 * activity._row_fields(row jsonb, keys text[], skip text[]) returns jsonb:
 * the fields of row named in keys (every field but those in skip, if keys
 * is NULL), leaving out missing and null ones.
 */
Datum
activity_row_fields(PG_FUNCTION_ARGS)
{
	Jsonb	   *row = PG_GETARG_JSONB_P(0);
	char	  **keys;
	int			nkeys;
	char	  **skip = NULL;
	int			nskip = 0;
	JsonbParseState *state = NULL;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!JB_ROOT_IS_OBJECT(row))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the row must be a jsonb object")));
	if (PG_ARGISNULL(1))
	{
		keys = object_keys(row, &nkeys);
		if (!PG_ARGISNULL(2))
			skip = text_array_elements(PG_GETARG_ARRAYTYPE_P(2), &nskip);
	}
	else
		keys = text_array_elements(PG_GETARG_ARRAYTYPE_P(1), &nkeys);

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < nkeys; i++)
	{
		JsonbValue *v = object_field(row, keys[i], strlen(keys[i]));
		bool		skipped = false;
		int			j;

		for (j = 0; j < nskip && !skipped; j++)
			skipped = strcmp(keys[i], skip[j]) == 0;
		if (skipped || v == NULL || v->type == jbvNull)
			continue;
		push_key(&state, keys[i]);
		pushJsonbValue(&state, WJB_VALUE, v);
	}
	PG_RETURN_JSONB_P(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
}
