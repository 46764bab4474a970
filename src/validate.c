/*
 * validate.c
 *		The JSON Schema validator: walks a jsonb value (JsonbContainer
 *		iteration, no text round trip) against a compiled activity.jsonschema,
 *		and the SQL functions is_valid() and validation_errors().
 *
 * Work is bounded by the sizes of the schema and the value; every step checks
 * for interrupts, so statement_timeout stops a pathological case, and every
 * recursion checks the stack depth.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "activity.h"
#include "jsonschema.h"

PG_FUNCTION_INFO_V1(activity_is_valid);
PG_FUNCTION_INFO_V1(activity_validation_errors);

extern bool jsonschema_check_format(JsFormat format, const char *s, int len);

/* settings (activity.c defines them as GUCs) */
int			activity_max_validation_steps = 1000000;
int			activity_max_validation_errors = 100;
int			activity_regex_cache_kb = 8192;

/*
 * Memory one validation may use besides the document and the schema: a
 * fixed allowance plus a multiple of their sizes. The walk itself needs
 * memory in proportion to the document's depth and the errors it reports;
 * the check is a backstop against any leak per step.
 */
#define VALIDATION_MEMORY_BASE		(16 * 1024 * 1024)
#define VALIDATION_MEMORY_FACTOR	4

/*
 * The cache of compiled regular expressions: each in a memory context of
 * its own, below "activity regex cache" (pg_backend_memory_contexts shows
 * both), charged its size; emptied when activity.regex_cache_size would be
 * exceeded. From PostgreSQL 16 the regex library allocates in the current
 * memory context, so an expression is compiled in its entry's context; before
 * 16 it allocates with malloc, outside any context, and an entry is charged
 * an estimate (REGEX_ESTIMATE).
 */
typedef struct RegexEntry
{
	uint64		hash;			/* key */
	char	   *pattern;
	MemoryContext cxt;
	Size		bytes;
	regex_t		re;
} RegexEntry;

#define REGEX_ESTIMATE(plen)	(2048 + 256 * (Size) (plen))

static HTAB *regex_cache = NULL;
static MemoryContext validation_cxt = NULL;
static MemoryContext regex_cache_cxt = NULL;
static Size regex_cache_bytes = 0;

/*
 * One step of the JSON pointer of the value being validated: a property name
 * (pointing into the document) or an array index. The pointer itself is only
 * built when a violation is reported.
 */
typedef struct PathStep
{
	const char *key;			/* NULL for an array index */
	int			len;			/* key length, or the index */
} PathStep;

typedef struct VCtx
{
	const JsNode *nodes;
	const uint32 *lists;
	const char *data;
	bool		all;			/* report every violation */
	int			silent;			/* > 0: inside anyOf/oneOf/not/if/contains */
	List	   *errors;
	PathStep   *path;			/* JSON pointer of the current value */
	int			depth;			/* steps in path */
	int			maxdepth;		/* steps allocated */
	uint64		steps;
	int			nerrors;
	bool		full;			/* activity.max_validation_errors reached */
	MemoryContext cxt;			/* the validation's own memory */
	Size		max_memory;
	MemoryContext result_cxt;	/* where errors are kept */
} VCtx;

static bool validate_node(VCtx *c, uint32 ni, JsonbValue *v);
static char *path_string(VCtx *c);

#define LIST_LEN(c, off)		((c)->lists[(off)])
#define LIST_AT(c, off, i)		((c)->lists[(off) + 1 + (i)])
#define DATA_STR(c, off)		((c)->data + (off))
#define DATA_NUMERIC(c, off)	((Numeric) ((c)->data + (off)))
#define DATA_JSONB(c, off)		((Jsonb *) ((c)->data + (off)))

/*
 * Record a violation (unless evaluating silently); always returns false.
 */
static bool
fail(VCtx *c, const char *keyword, const char *fmt,...)
	pg_attribute_printf(3, 4);

static bool
fail(VCtx *c, const char *keyword, const char *fmt,...)
{
	va_list		args;
	StringInfoData msg;
	JsError    *e;

	MemoryContext old;

	if (c->silent > 0 || c->full)
		return false;
	old = MemoryContextSwitchTo(c->result_cxt);
	va_start(args, fmt);
	jsonschema_vformat(&msg, fmt, args);
	va_end(args);
	e = palloc(sizeof(JsError));
	e->path = path_string(c);
	e->keyword = keyword;
	e->message = msg.data;
	c->errors = lappend(c->errors, e);
	MemoryContextSwitchTo(old);
	/* enough: the walk stops as if it had to stop at the first */
	if (++c->nerrors >= activity_max_validation_errors)
		c->full = true;
	return false;
}

/* --- the instance pointer --- */

static int
path_push_step(VCtx *c, const char *key, int len)
{
	if (c->depth == c->maxdepth)
	{
		c->maxdepth = Max(16, c->maxdepth * 2);
		c->path = c->path ? repalloc(c->path, sizeof(PathStep) * c->maxdepth) :
			palloc(sizeof(PathStep) * c->maxdepth);
	}
	c->path[c->depth].key = key;
	c->path[c->depth].len = len;
	return c->depth++;
}

static int
path_push(VCtx *c, const char *token, int len)
{
	return path_push_step(c, token, len);
}

static int
path_push_index(VCtx *c, int i)
{
	return path_push_step(c, NULL, i);
}

static void
path_pop(VCtx *c, int saved)
{
	c->depth = saved;
}

/* the JSON pointer of the current value, "" for the root */
static char *
path_string(VCtx *c)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < c->depth; i++)
	{
		if (c->path[i].key)
			jsonschema_append_pointer_token(&s, c->path[i].key, c->path[i].len);
		else
			appendStringInfo(&s, "/%d", c->path[i].len);
	}
	return s.data;
}

/* --- values --- */

static bool
is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
numeric_is_integral(Numeric n)
{
	return DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(n),
											DirectFunctionCall2(numeric_trunc, NumericGetDatum(n),
																Int32GetDatum(0))));
}

static int
numcmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

static const char *
type_of(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvBool:
			return "boolean";
		case jbvNumeric:
			return numeric_is_integral(v->val.numeric) ? "integer" : "number";
		case jbvString:
			return "string";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "object" : "array";
		default:
			return "value";
	}
}

/*
 * JSON equality: numbers by value (1 = 1.0), objects regardless of key order.
 */
static bool
json_equal(JsonbValue *a, JsonbValue *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type)
	{
		case jbvNull:
			return true;
		case jbvBool:
			return a->val.boolean == b->val.boolean;
		case jbvNumeric:
			return numcmp(a->val.numeric, b->val.numeric) == 0;
		case jbvString:
			return a->val.string.len == b->val.string.len &&
				memcmp(a->val.string.val, b->val.string.val, a->val.string.len) == 0;
		case jbvBinary:
			if (JsonContainerIsObject(a->val.binary.data) != JsonContainerIsObject(b->val.binary.data))
				return false;
			return compareJsonbContainers(a->val.binary.data, b->val.binary.data) == 0;
		default:
			return false;
	}
}

/*
 * A total order of JSON values whose ties are exactly json_equal(): by kind,
 * then by value (numbers numerically, containers as jsonb compares them).
 */
static int
json_kind_rank(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return 0;
		case jbvBool:
			return 1;
		case jbvNumeric:
			return 2;
		case jbvString:
			return 3;
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? 4 : 5;
		default:
			return 6;
	}
}

static int
json_cmp(JsonbValue *a, JsonbValue *b)
{
	int			ra = json_kind_rank(a);
	int			rb = json_kind_rank(b);
	int			c;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->type)
	{
		case jbvBool:
			return (int) a->val.boolean - (int) b->val.boolean;
		case jbvNumeric:
			return numcmp(a->val.numeric, b->val.numeric);
		case jbvString:
			c = memcmp(a->val.string.val, b->val.string.val, Min(a->val.string.len, b->val.string.len));
			return c != 0 ? c : (a->val.string.len > b->val.string.len) - (a->val.string.len < b->val.string.len);
		case jbvBinary:
			return compareJsonbContainers(a->val.binary.data, b->val.binary.data);
		default:
			return 0;
	}
}

typedef struct SortedItem
{
	JsonbValue *v;
	int			index;
} SortedItem;

static int
sorted_item_cmp(const void *a, const void *b)
{
	const SortedItem *x = a;
	const SortedItem *y = b;
	int			c;

	CHECK_FOR_INTERRUPTS();
	c = json_cmp(x->v, y->v);
	return c != 0 ? c : x->index - y->index;
}

/* does any element of the jsonb array equal v? */
static bool
jsonb_array_contains(Jsonb *arr, JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;

	/* a scalar: PostgreSQL's own lookup, no iterator (numbers by value) */
	if (v->type != jbvBinary)
	{
		JsonbValue *found = findJsonbValueFromContainer(&arr->root, JB_FARRAY, v);

		if (found)
			pfree(found);
		return found != NULL;
	}

	it = JsonbIteratorInit(&arr->root);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		if (tok == WJB_ELEM && json_equal(&elem, v))
		{
			pfree(it);
			return true;
		}
	return false;
}

static char *
value_text(JsonbValue *v)
{
	StringInfoData s;
	JsonbValue	copy = *v;
	Jsonb	   *jb;

	if (v->type == jbvBinary)
		return pstrdup(is_object(v) ? "object" : "array");
	jb = JsonbValueToJsonb(&copy);
	initStringInfo(&s);
	JsonbToCString(&s, &jb->root, VARSIZE(jb));
	if (s.len > 60)
		return activity_clip(s.data, s.len, 57);
	return s.data;
}

/* --- regular expressions --- */

/*
 * Does the string match the pattern (unanchored search, as in ECMA-262)?
 * Compiled expressions are cached per backend.
 */
static void
regex_cache_reset(void)
{
	HASH_SEQ_STATUS seq;
	RegexEntry *e;

	hash_seq_init(&seq, regex_cache);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		pg_regfree(&e->re);
		MemoryContextDelete(e->cxt);
		hash_search(regex_cache, &e->hash, HASH_REMOVE, NULL);
	}
	regex_cache_bytes = 0;
}

/* report a regex failure; a cancel or timeout that stopped it, as such */
static void
regex_error(int rc, regex_t *re, const char *what)
{
	char		msg[256];

	CHECK_FOR_INTERRUPTS();
	pg_regerror(rc, re, msg, sizeof(msg));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
			 errmsg("%s: %s", what, msg)));
}

static bool
regex_matches(const char *pattern, const char *s, int len)
{
	int			plen = strlen(pattern);
	uint64		hash = hash_bytes_extended((const unsigned char *) pattern, plen, 0);
	RegexEntry *entry = NULL;
	regex_t    *re;
	pg_wchar   *wide;
	int			wlen;
	int			rc;

	if (regex_cache == NULL)
	{
		HASHCTL		ctl;

		regex_cache_cxt = AllocSetContextCreate(TopMemoryContext, "activity regex cache", ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(RegexEntry);
		ctl.hcxt = regex_cache_cxt;
		regex_cache = hash_create("activity JSON Schema regexes", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(regex_cache, &hash, HASH_FIND, NULL);
	if (entry != NULL && strcmp(entry->pattern, pattern) != 0)
	{
		/* a hash collision: the newer pattern takes the slot */
		regex_cache_bytes -= entry->bytes;
		pg_regfree(&entry->re);
		MemoryContextDelete(entry->cxt);
		hash_search(regex_cache, &hash, HASH_REMOVE, NULL);
		entry = NULL;
	}
	if (entry == NULL)
	{
		MemoryContext cxt = AllocSetContextCreate(regex_cache_cxt, "activity regex", ALLOCSET_SMALL_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		pg_wchar   *wpat = palloc(sizeof(pg_wchar) * (plen + 1));
		int			wplen = pg_mb2wchar_with_len(pattern, wpat, plen);
		regex_t		compiled;
		Size		bytes;
		bool		found;

		PG_TRY();
		{
			/* (from PostgreSQL 16 the regex library allocates in cxt) */
			rc = pg_regcomp(&compiled, wpat, wplen, REG_ADVANCED, C_COLLATION_OID);
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(old);
			MemoryContextDelete(cxt);
			PG_RE_THROW();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		if (rc != REG_OKAY)
		{
			MemoryContextDelete(cxt);
			regex_error(rc, &compiled, "invalid regular expression in JSON Schema");
		}
		pfree(wpat);
#if PG_VERSION_NUM >= 160000
		bytes = MemoryContextMemAllocated(cxt, false);
#else
		bytes = REGEX_ESTIMATE(plen);
#endif
		if (regex_cache_bytes + bytes > (Size) activity_regex_cache_kb * 1024)
			regex_cache_reset();
		entry = hash_search(regex_cache, &hash, HASH_ENTER, &found);
		Assert(!found);
		entry->cxt = cxt;
		entry->bytes = bytes;
		entry->re = compiled;
		entry->pattern = MemoryContextStrdup(cxt, pattern);
		regex_cache_bytes += bytes;
	}
	re = &entry->re;

	wide = palloc(sizeof(pg_wchar) * (len + 1));
	wlen = pg_mb2wchar_with_len(s, wide, len);
	rc = pg_regexec(re, wide, wlen, 0, NULL, 0, NULL, 0);
	pfree(wide);
	if (rc != REG_OKAY && rc != REG_NOMATCH)
		regex_error(rc, re, "regular expression failed");
	return rc == REG_OKAY;
}

/* --- keyword groups --- */

static bool
check_type(VCtx *c, const JsNode *n, JsonbValue *v)
{
	uint8		t = n->types;
	bool		ok;

	switch (v->type)
	{
		case jbvNull:
			ok = t & JT_NULL;
			break;
		case jbvBool:
			ok = t & JT_BOOLEAN;
			break;
		case jbvNumeric:
			ok = (t & JT_NUMBER) || ((t & JT_INTEGER) && numeric_is_integral(v->val.numeric));
			break;
		case jbvString:
			ok = t & JT_STRING;
			break;
		default:
			ok = is_object(v) ? (t & JT_OBJECT) : (t & JT_ARRAY);
			break;
	}
	if (ok)
		return true;
	{
		StringInfoData s;
		static const char *const names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
		int			i;

		initStringInfo(&s);
		for (i = 0; i < 7; i++)
			if (t & (1 << i))
				appendStringInfo(&s, "%s%s", s.len ? " or " : "", names[i]);
		return fail(c, "type", "expected %s, not %s", s.data, type_of(v));
	}
}

static bool
validate_string(VCtx *c, const JsNode *n, JsonbValue *v, bool stop)
{
	bool		ok = true;
	const char *s = v->val.string.val;
	int			len = v->val.string.len;

	/*
	 * Lengths count code points; bytes bound them (a code point takes 1 to
	 * pg_database_encoding_max_length() bytes), so most strings need no
	 * counting.
	 */
	if ((n->present & (KW_MINLENGTH | KW_MAXLENGTH)) &&
		(((n->present & KW_MAXLENGTH) && len > n->max_length) ||
		 ((n->present & KW_MINLENGTH) && len < (int64) n->min_length * pg_database_encoding_max_length())))
	{
		int			chars = pg_mbstrlen_with_len(s, len);

		if ((n->present & KW_MINLENGTH) && chars < n->min_length)
		{
			ok = fail(c, "minLength", "string is %d characters long, shorter than %d", chars, n->min_length);
			if (stop)
				return false;
		}
		if ((n->present & KW_MAXLENGTH) && chars > n->max_length)
		{
			ok = fail(c, "maxLength", "string is %d characters long, longer than %d", chars, n->max_length);
			if (stop)
				return false;
		}
	}
	if ((n->present & KW_PATTERN) && !regex_matches(DATA_STR(c, n->pattern), s, len))
	{
		ok = fail(c, "pattern", "string does not match pattern \"%s\"", DATA_STR(c, n->pattern));
		if (stop)
			return false;
	}
	if ((n->present & KW_FORMAT) && !jsonschema_check_format(n->format, s, len))
	{
		static const char *const names[] = {"", "date-time", "date", "time", "uuid", "email", "uri", "ipv4", "ipv6"};

		ok = fail(c, "format", "string is not a valid %s", names[n->format]);
	}
	return ok;
}

static bool
validate_number(VCtx *c, const JsNode *n, Numeric num, bool stop)
{
	bool		ok = true;

#define NUMCHECK(kwbit, field, cond, kw, what) \
	if ((n->present & kwbit) && !(cond(numcmp(num, DATA_NUMERIC(c, n->field))))) \
	{ \
		ok = fail(c, kw, "%s is " what " %s", numeric_normalize(num), \
				  numeric_normalize(DATA_NUMERIC(c, n->field))); \
		if (stop) \
			return false; \
	}
#define GE(x) ((x) >= 0)
#define LE(x) ((x) <= 0)
#define GT(x) ((x) > 0)
#define LT(x) ((x) < 0)
	NUMCHECK(KW_MINIMUM, minimum, GE, "minimum", "less than the minimum");
	NUMCHECK(KW_MAXIMUM, maximum, LE, "maximum", "greater than the maximum");
	NUMCHECK(KW_EXMINIMUM, ex_minimum, GT, "exclusiveMinimum", "not greater than");
	NUMCHECK(KW_EXMAXIMUM, ex_maximum, LT, "exclusiveMaximum", "not less than");
#undef NUMCHECK
	if (n->present & KW_MULTIPLEOF)
	{
		Numeric		m = DATA_NUMERIC(c, n->multiple_of);
		Numeric		rem = DatumGetNumeric(DirectFunctionCall2(numeric_mod, NumericGetDatum(num),
															  NumericGetDatum(m)));

		if (numeric_signum(rem) != 0)
			ok = fail(c, "multipleOf", "%s is not a multiple of %s", numeric_normalize(num),
					  numeric_normalize(m));
	}
	return ok;
}

/* the node of property key in a sorted [n, (name, node)...] table, or JS_NONE */
static uint32
property_node(VCtx *c, uint32 table, const char *key, int keylen)
{
	int			lo = 0;
	int			hi = (int) LIST_LEN(c, table) - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		const char *name = DATA_STR(c, c->lists[table + 1 + 2 * mid]);
		int			namelen = strlen(name);
		int			cmp = memcmp(name, key, Min(namelen, keylen));

		if (cmp == 0)
			cmp = namelen - keylen;
		if (cmp == 0)
			return c->lists[table + 2 + 2 * mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return JS_NONE;
}

static bool
has_property(JsonbContainer *obj, const char *name)
{
	JsonbValue	res;

	return getKeyJsonValueFromContainer(obj, name, strlen(name), &res) != NULL;
}

static bool
validate_object(VCtx *c, const JsNode *n, JsonbValue *v, bool stop)
{
	JsonbContainer *obj = v->val.binary.data;
	int			size = JsonContainerSize(obj);
	bool		ok = true;
	int			i;

#define STEP(expr) do { if (!(expr)) { ok = false; if (stop) return false; } } while (0)
	if ((n->present & KW_MINPROPS) && size < n->min_props)
		STEP(fail(c, "minProperties", "object has %d properties, fewer than %d", size, n->min_props));
	if ((n->present & KW_MAXPROPS) && size > n->max_props)
		STEP(fail(c, "maxProperties", "object has %d properties, more than %d", size, n->max_props));
	if (n->present & KW_REQUIRED)
	{
		for (i = 0; i < (int) LIST_LEN(c, n->required); i++)
		{
			const char *name = DATA_STR(c, LIST_AT(c, n->required, i));

			if (!has_property(obj, name))
				STEP(fail(c, "required", "required property \"%s\" is missing", name));
		}
	}
	if (n->present & KW_DEPREQUIRED)
	{
		for (i = 0; i < (int) LIST_LEN(c, n->dep_required); i++)
		{
			const char *name = DATA_STR(c, c->lists[n->dep_required + 1 + 2 * i]);
			uint32		deps = c->lists[n->dep_required + 2 + 2 * i];
			int			j;

			if (!has_property(obj, name))
				continue;
			for (j = 0; j < (int) LIST_LEN(c, deps); j++)
			{
				const char *dep = DATA_STR(c, LIST_AT(c, deps, j));

				if (!has_property(obj, dep))
					STEP(fail(c, "dependentRequired", "property \"%s\" requires property \"%s\"", name, dep));
			}
		}
	}
	if (n->present & KW_DEPSCHEMAS)
	{
		for (i = 0; i < (int) LIST_LEN(c, n->dep_schemas); i++)
		{
			const char *name = DATA_STR(c, c->lists[n->dep_schemas + 1 + 2 * i]);

			if (has_property(obj, name))
				STEP(validate_node(c, c->lists[n->dep_schemas + 2 + 2 * i], v));
		}
	}
	if (n->present & (KW_PROPERTIES | KW_PATTERNPROPS | KW_ADDPROPS | KW_PROPNAMES))
	{
		JsonbIterator *it = JsonbIteratorInit(obj);
		JsonbValue	key;
		JsonbValue	val;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
		{
			bool		matched = false;
			int			saved;
			char	   *keystr = NULL;

			if (tok != WJB_KEY)
				continue;
			tok = JsonbIteratorNext(&it, &val, true);
			saved = path_push(c, key.val.string.val, key.val.string.len);

			if (n->present & KW_PROPERTIES)
			{
				uint32		sub = property_node(c, n->properties, key.val.string.val, key.val.string.len);

				if (sub != JS_NONE)
				{
					matched = true;
					if (!validate_node(c, sub, &val))
					{
						ok = false;
						if (stop)
						{
							path_pop(c, saved);
							pfree(it);
							return false;
						}
					}
				}
			}
			if (n->present & KW_PATTERNPROPS)
			{
				keystr = pnstrdup(key.val.string.val, key.val.string.len);
				for (i = 0; i < (int) LIST_LEN(c, n->pattern_props); i++)
				{
					const char *pat = DATA_STR(c, c->lists[n->pattern_props + 1 + 2 * i]);

					if (!regex_matches(pat, key.val.string.val, key.val.string.len))
						continue;
					matched = true;
					if (!validate_node(c, c->lists[n->pattern_props + 2 + 2 * i], &val))
					{
						ok = false;
						if (stop)
						{
							path_pop(c, saved);
							pfree(it);
							return false;
						}
					}
				}
			}
			if (!matched && (n->present & KW_ADDPROPS))
			{
				bool		sub_ok;

				if (c->nodes[n->add_props].kind == JN_FALSE)
					sub_ok = fail(c, "additionalProperties", "property \"%s\" is not allowed",
								  activity_clip(key.val.string.val, key.val.string.len, 200));
				else
					sub_ok = validate_node(c, n->add_props, &val);
				if (!sub_ok)
				{
					ok = false;
					if (stop)
					{
						path_pop(c, saved);
						pfree(it);
						return false;
					}
				}
			}
			if (n->present & KW_PROPNAMES)
			{
				JsonbValue	name = key;

				if (!validate_node(c, n->prop_names, &name))
				{
					ok = false;
					if (stop)
					{
						path_pop(c, saved);
						pfree(it);
						return false;
					}
				}
			}
			path_pop(c, saved);
			if (keystr)
				pfree(keystr);
		}
	}
	return ok;
}

static bool
validate_array(VCtx *c, const JsNode *n, JsonbValue *v, bool stop)
{
	JsonbContainer *arr = v->val.binary.data;
	int			size = JsonContainerSize(arr);
	int			nprefix = (n->present & KW_PREFIXITEMS) ? (int) LIST_LEN(c, n->prefix_items) : 0;
	int			matches = 0;
	bool		ok = true;
	JsonbValue *elems = NULL;

	if ((n->present & KW_MINITEMS) && size < n->min_items)
		STEP(fail(c, "minItems", "array has %d items, fewer than %d", size, n->min_items));
	if ((n->present & KW_MAXITEMS) && size > n->max_items)
		STEP(fail(c, "maxItems", "array has %d items, more than %d", size, n->max_items));

	if (n->unique && size > 1)
		elems = palloc(sizeof(JsonbValue) * size);

	if (nprefix > 0 || (n->present & (KW_ITEMS | KW_CONTAINS)) || elems)
	{
		JsonbIterator *it = JsonbIteratorInit(arr);
		JsonbValue	elem;
		JsonbIteratorToken tok;
		int			i = 0;

		while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		{
			int			saved;
			bool		sub_ok = true;

			if (tok != WJB_ELEM)
				continue;
			if (elems)
				elems[i] = elem;
			saved = path_push_index(c, i);
			if (i < nprefix)
				sub_ok = validate_node(c, LIST_AT(c, n->prefix_items, i), &elem);
			else if (n->present & KW_ITEMS)
			{
				if (c->nodes[n->items].kind == JN_FALSE)
					sub_ok = fail(c, "items", "array may have at most %d items", nprefix);
				else
					sub_ok = validate_node(c, n->items, &elem);
			}
			if (n->present & KW_CONTAINS)
			{
				c->silent++;
				if (validate_node(c, n->contains, &elem))
					matches++;
				c->silent--;
			}
			path_pop(c, saved);
			if (!sub_ok)
			{
				ok = false;
				if (stop)
				{
					pfree(it);
					return false;
				}
			}
			i++;
		}
	}
	if (n->present & KW_CONTAINS)
	{
		int			min = (n->present & KW_MINCONTAINS) ? n->min_contains : 1;

		if (matches < min)
			STEP(min == 1 ?
				 fail(c, "contains", "array contains no item that matches") :
				 fail(c, "minContains", "array contains %d matching items, fewer than %d", matches, min));
		if ((n->present & KW_MAXCONTAINS) && matches > n->max_contains)
			STEP(fail(c, "maxContains", "array contains %d matching items, more than %d", matches, n->max_contains));
	}
	if (elems)
	{
		SortedItem *items = palloc(sizeof(SortedItem) * size);
		int			first_i = -1;
		int			first_j = -1;
		int			i;

		/* sorted by a total order whose ties are JSON equality: n log n */
		for (i = 0; i < size; i++)
		{
			items[i].v = &elems[i];
			items[i].index = i;
		}
		qsort(items, size, sizeof(SortedItem), sorted_item_cmp);
		/* the pair a pairwise scan would find first: the least i, then j */
		for (i = 1; i < size; i++)
			if (json_cmp(items[i - 1].v, items[i].v) == 0 &&
				(i < 2 || json_cmp(items[i - 2].v, items[i - 1].v) != 0) &&
				(first_i < 0 || items[i - 1].index < first_i))
			{
				first_i = items[i - 1].index;
				first_j = items[i].index;
			}
		pfree(items);
		pfree(elems);
		if (first_i >= 0)
			return fail(c, "uniqueItems", "items %d and %d are equal", first_i, first_j) && ok;
	}
	return ok;
}

/*
 * Validate v against node ni; records violations in c unless silent.
 */
static bool
validate_node(VCtx *c, uint32 ni, JsonbValue *v)
{
	const JsNode *n = &c->nodes[ni];
	bool		ok = true;
	bool		stop = !c->all || c->silent > 0 || c->full;
	int			i;

	check_stack_depth();
	if ((++c->steps & 255) == 0)
	{
		CHECK_FOR_INTERRUPTS();
		if (MemoryContextMemAllocated(c->cxt, true) > c->max_memory)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("JSON Schema validation needs more than %zu kB of memory", c->max_memory / 1024)));
	}
	if (c->steps > (uint64) activity_max_validation_steps)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("JSON Schema validation takes more than %d steps", activity_max_validation_steps),
				 errdetail("The schema applies its subschemas to the document's values too many times "
						   "(each subschema applied to a value is a step)."),
				 errhint("Simplify the schema (a $ref or allOf applied to the same value again and again), "
						 "or raise activity.max_validation_steps.")));
	if (c->full)
		return false;

	if (n->kind == JN_TRUE)
		return true;
	if (n->kind == JN_FALSE)
		return fail(c, "false", "no value is allowed here");

	if (n->present & KW_REF)
		STEP(validate_node(c, n->ref, v));
	if (n->present & KW_TYPE)
		STEP(check_type(c, n, v));
	if ((n->present & KW_CONST) && !jsonb_array_contains(DATA_JSONB(c, n->const_value), v))
		STEP(fail(c, "const", "value %s is not the constant", value_text(v)));
	if ((n->present & KW_ENUM) && !jsonb_array_contains(DATA_JSONB(c, n->enum_values), v))
		STEP(fail(c, "enum", "value %s is not one of the allowed values", value_text(v)));

	switch (v->type)
	{
		case jbvString:
			if (n->present & (KW_MINLENGTH | KW_MAXLENGTH | KW_PATTERN | KW_FORMAT))
				STEP(validate_string(c, n, v, stop));
			break;
		case jbvNumeric:
			if (n->present & (KW_MINIMUM | KW_MAXIMUM | KW_EXMINIMUM | KW_EXMAXIMUM | KW_MULTIPLEOF))
				STEP(validate_number(c, n, v->val.numeric, stop));
			break;
		case jbvBinary:
			if (is_object(v))
				STEP(validate_object(c, n, v, stop));
			else
				STEP(validate_array(c, n, v, stop));
			break;
		default:
			break;
	}

	if (n->present & KW_ALLOF)
		for (i = 0; i < (int) LIST_LEN(c, n->all_of); i++)
			STEP(validate_node(c, LIST_AT(c, n->all_of, i), v));
	if (n->present & KW_ANYOF)
	{
		bool		any = false;

		c->silent++;
		for (i = 0; i < (int) LIST_LEN(c, n->any_of) && !any; i++)
			any = validate_node(c, LIST_AT(c, n->any_of, i), v);
		c->silent--;
		if (!any)
			STEP(fail(c, "anyOf", "value matches none of the %d schemas", (int) LIST_LEN(c, n->any_of)));
	}
	if (n->present & KW_ONEOF)
	{
		int			count = 0;

		c->silent++;
		for (i = 0; i < (int) LIST_LEN(c, n->one_of) && count < 2; i++)
			if (validate_node(c, LIST_AT(c, n->one_of, i), v))
				count++;
		c->silent--;
		if (count != 1)
			STEP(fail(c, "oneOf", count == 0 ? "value matches none of the %d schemas" :
					  "value matches more than one of the %d schemas", (int) LIST_LEN(c, n->one_of)));
	}
	if (n->present & KW_NOT)
	{
		bool		matched;

		c->silent++;
		matched = validate_node(c, n->not_, v);
		c->silent--;
		if (matched)
			STEP(fail(c, "not", "value matches a schema it must not match"));
	}
	if (n->present & KW_IF)
	{
		bool		cond;

		c->silent++;
		cond = validate_node(c, n->if_, v);
		c->silent--;
		if (cond && (n->present & KW_THEN))
			STEP(validate_node(c, n->then_, v));
		else if (!cond && (n->present & KW_ELSE))
			STEP(validate_node(c, n->else_, v));
	}
	return ok;
}

/*
 * Validate doc against js. With all, every violation is collected into
 * *errors; otherwise validation stops at the first, which is the only one
 * reported.
 */
bool
jsonschema_validate(const JsonSchema *js, Jsonb *doc, bool all, List **errors)
{
	VCtx		c;
	JsonbValue	root;
	bool		ok;

	MemoryContext old;

	memset(&c, 0, sizeof(c));
	c.nodes = JS_NODES(js);
	c.lists = JS_LISTS(js);
	c.data = JS_DATA(js);
	c.all = all;
	c.result_cxt = CurrentMemoryContext;
	/*
	 * One context for the backend's validations, emptied before and after
	 * each (before: an error may have left the previous one's memory):
	 * validation runs for every row written, and creating a context per row
	 * would cost on that path. Validation never runs inside another.
	 */
	if (validation_cxt == NULL)
		validation_cxt = AllocSetContextCreate(TopMemoryContext, "activity JSON Schema validation",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(validation_cxt);
	c.cxt = validation_cxt;
	c.max_memory = VALIDATION_MEMORY_BASE +
		VALIDATION_MEMORY_FACTOR * ((Size) VARSIZE(doc) + (Size) VARSIZE(js));
	old = MemoryContextSwitchTo(c.cxt);

	if (JB_ROOT_IS_SCALAR(doc))
		JsonbExtractScalar(&doc->root, &root);
	else
	{
		root.type = jbvBinary;
		root.val.binary.data = &doc->root;
		root.val.binary.len = VARSIZE(doc) - VARHDRSZ;
	}
	ok = validate_node(&c, 0, &root);
	MemoryContextSwitchTo(old);
	MemoryContextReset(c.cxt);
	if (errors)
		*errors = c.errors;
	return ok;
}

/*
 * activity.is_valid(jsonb, activity.jsonschema) returns boolean
 */
Datum
activity_is_valid(PG_FUNCTION_ARGS)
{
	Jsonb	   *doc = PG_GETARG_JSONB_P(0);
	JsonSchema *js = DatumGetJsonSchemaP(PG_GETARG_DATUM(1));

	PG_RETURN_BOOL(jsonschema_validate(js, doc, false, NULL));
}

/*
 * activity.validation_errors(jsonb, activity.jsonschema)
 *		returns table (path text, keyword text, message text)
 */
Datum
activity_validation_errors(PG_FUNCTION_ARGS)
{
	Jsonb	   *doc = PG_GETARG_JSONB_P(0);
	JsonSchema *js = DatumGetJsonSchemaP(PG_GETARG_DATUM(1));
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	List	   *errors = NIL;
	ListCell   *lc;

	store = activity_begin_set(fcinfo, "activity.validation_errors", &tupdesc);

	jsonschema_validate(js, doc, true, &errors);
	foreach(lc, errors)
	{
		JsError    *e = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(e->path);
		values[1] = CStringGetTextDatum(e->keyword);
		values[2] = CStringGetTextDatum(e->message);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}

	return (Datum) 0;
}
