/*
 * jsonschema.c
 *		The activity.jsonschema type: input parses, meta-validates and
 *		compiles a JSON Schema (2020-12 semantics) into the flat form of
 *		jsonschema.h; output prints the schema as written.
 *
 * Every keyword the engine does not implement, every keyword whose value has
 * the wrong type, every invalid regular expression and every $ref that does
 * not resolve is an error naming the keyword and its JSON pointer: nothing is
 * silently ignored.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "compat.h"
#include "jsonschema.h"

PG_FUNCTION_INFO_V1(activity_jsonschema_in);
PG_FUNCTION_INFO_V1(activity_jsonschema_out);
PG_FUNCTION_INFO_V1(activity_jsonschema_recv);
PG_FUNCTION_INFO_V1(activity_jsonschema_send);
PG_FUNCTION_INFO_V1(activity_jsonschema_to_jsonb);

/* Largest schema the engine compiles */
#define JS_MAX_NODES	65536

#define JSON_SCHEMA_2020_12 "https://json-schema.org/draft/2020-12/schema"

typedef struct PendingRef
{
	uint32		node;
	char	   *ref;
} PendingRef;

typedef struct Builder
{
	JsNode	   *nodes;
	int			nnodes;
	int			nodes_cap;
	uint32	   *lists;
	int			nlists;
	int			lists_cap;
	StringInfoData data;
	/*
	 * Where each node is: its parent node and the JSON pointer suffix from
	 * there ("/properties/name", "/allOf/0", "/not"), escaped. Full locations
	 * are built only for an error message or a $ref, so memory stays linear
	 * in the schema's size however deep it nests.
	 */
	uint32	   *parents;
	char	  **suffixes;
	int		   *suffix_lens;
	uint32	   *by_suffix;		/* open-addressing table: (parent, suffix) -> node */
	uint32		by_suffix_mask;
	PendingRef *refs;
	int			nrefs;
	int			refs_cap;
} Builder;

/* a key and the node compiled for it, while building a table */
typedef struct NamedNode
{
	const char *name;
	uint32		name_off;
	uint32		node;
} NamedNode;

/*
 * Where a problem is, for an error message: a node, turned into a JSON
 * pointer only when reported.
 */
typedef struct JsLoc
{
	Builder    *b;
	uint32		node;
} JsLoc;

static uint32 compile_schema(Builder *b, JsonbValue *v, uint32 parent, char *suffix, int suffix_len);
static char *node_location(Builder *b, uint32 node);

#define NODE(b, i) (&(b)->nodes[(i)])

/*
 * Format a message into a new StringInfo (the psprintf idiom, for callers
 * that take their own variable arguments).
 */
void
jsonschema_vformat(StringInfo msg, const char *fmt, va_list args)
{
	initStringInfo(msg);
	for (;;)
	{
		va_list		copy;
		int			needed;

		va_copy(copy, args);
		needed = appendStringInfoVA(msg, fmt, copy);
		va_end(copy);
		if (needed == 0)
			break;
		enlargeStringInfo(msg, needed);
	}
}

/*
 * Report a problem with the schema: which keyword, where.
 */
activity_noreturn static void
schema_error(const JsLoc *loc, const char *keyword, const char *fmt,...)
	pg_attribute_printf(3, 4);

static void
schema_error(const JsLoc *loc, const char *keyword, const char *fmt,...)
{
	va_list		args;
	StringInfoData msg;
	char	   *location = node_location(loc->b, loc->node);

	va_start(args, fmt);
	jsonschema_vformat(&msg, fmt, args);
	va_end(args);
	if (keyword)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid JSON Schema: keyword \"%s\" at \"%s\" %s", keyword, location, msg.data)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid JSON Schema: the schema at \"%s\" %s", location, msg.data)));
}

static const char *
json_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvBool:
			return "a boolean";
		case jbvNumeric:
			return "a number";
		case jbvString:
			return "a string";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "an object" : "an array";
		default:
			return "a value";
	}
}

/*
 * Append "/" and a JSON pointer token, escaped per RFC 6901 (~0, ~1).
 */
void
jsonschema_append_pointer_token(StringInfo s, const char *token, int len)
{
	int			i;

	appendStringInfoChar(s, '/');
	for (i = 0; i < len; i++)
	{
		if (token[i] == '~')
			appendStringInfoString(s, "~0");
		else if (token[i] == '/')
			appendStringInfoString(s, "~1");
		else
			appendStringInfoChar(s, token[i]);
	}
}

/* the suffix "/kw" or "/kw/token" (token escaped) of a child node */
static char *
suffix_of(const char *kw, const char *token, int len, int *out_len)
{
	StringInfoData s;

	char	   *result;

	initStringInfo(&s);
	jsonschema_append_pointer_token(&s, kw, strlen(kw));
	if (token)
		jsonschema_append_pointer_token(&s, token, len);
	*out_len = s.len;
	/* kept for every node: exactly its size, not StringInfo's 1 kB */
	result = pnstrdup(s.data, s.len);
	pfree(s.data);
	return result;
}

static char *
suffix_index(const char *kw, int i, int *out_len)
{
	char	   *s = psprintf("/%s/%d", kw, i);

	*out_len = strlen(s);
	return s;
}

/*
 * The JSON pointer ("#/properties/a/items") of a node.
 */
static char *
node_location(Builder *b, uint32 node)
{
	StringInfoData s;
	int			depth = 0;
	uint32		n;
	uint32	   *chain;
	int			i;

	for (n = node; n != JS_NONE; n = b->parents[n])
		depth++;
	chain = palloc(sizeof(uint32) * depth);
	i = depth;
	for (n = node; n != JS_NONE; n = b->parents[n])
		chain[--i] = n;
	initStringInfo(&s);
	appendStringInfoChar(&s, '#');
	for (i = 0; i < depth; i++)
		appendBinaryStringInfo(&s, b->suffixes[chain[i]], b->suffix_lens[chain[i]]);
	pfree(chain);
	return s.data;
}

/* --- pools --- */

static uint32
new_node(Builder *b, uint32 parent, char *suffix, int suffix_len)
{
	JsNode	   *n;

	if (b->nnodes >= JS_MAX_NODES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("JSON Schema is too large"),
				 errdetail("A schema may contain at most %d subschemas.", JS_MAX_NODES)));
	if (b->nnodes == b->nodes_cap)
	{
		b->nodes_cap *= 2;
		b->nodes = repalloc(b->nodes, sizeof(JsNode) * b->nodes_cap);
		b->parents = repalloc(b->parents, sizeof(uint32) * b->nodes_cap);
		b->suffixes = repalloc(b->suffixes, sizeof(char *) * b->nodes_cap);
		b->suffix_lens = repalloc(b->suffix_lens, sizeof(int) * b->nodes_cap);
	}
	n = &b->nodes[b->nnodes];
	memset(n, 0, sizeof(JsNode));
	n->kind = JN_SCHEMA;
	n->minimum = n->maximum = n->ex_minimum = n->ex_maximum = n->multiple_of = JS_NONE;
	n->pattern = n->enum_values = n->const_value = JS_NONE;
	n->properties = n->pattern_props = n->required = n->dep_required = n->dep_schemas = JS_NONE;
	n->prefix_items = n->all_of = n->any_of = n->one_of = JS_NONE;
	n->add_props = n->prop_names = n->items = n->contains = n->not_ = JS_NONE;
	n->if_ = n->then_ = n->else_ = n->ref = JS_NONE;
	n->min_contains = 1;
	n->max_contains = -1;
	b->parents[b->nnodes] = parent;
	b->suffixes[b->nnodes] = suffix;
	b->suffix_lens[b->nnodes] = suffix_len;
	return (uint32) b->nnodes++;
}

static uint32
list_reserve(Builder *b, int n)
{
	uint32		off;

	while (b->nlists + n > b->lists_cap)
	{
		b->lists_cap *= 2;
		b->lists = repalloc(b->lists, sizeof(uint32) * b->lists_cap);
	}
	off = b->nlists;
	b->nlists += n;
	return off;
}

/* append bytes to the data pool at an 8-byte boundary */
static uint32
data_add(Builder *b, const void *bytes, int len)
{
	uint32		off;

	while (b->data.len % 8 != 0)
		appendStringInfoChar(&b->data, '\0');
	off = b->data.len;
	appendBinaryStringInfo(&b->data, bytes, len);
	return off;
}

static uint32
data_add_string(Builder *b, const char *s, int len)
{
	uint32		off = b->data.len;

	appendBinaryStringInfo(&b->data, s, len);
	appendStringInfoChar(&b->data, '\0');
	return off;
}

/* store a JSON value as a one-element jsonb array (a container of its own) */
static uint32
data_add_wrapped(Builder *b, JsonbValue *v)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	Jsonb	   *jb;

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	pushJsonbValue(&state, WJB_ELEM, v);
	res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	jb = JsonbValueToJsonb(res);
	return data_add(b, jb, VARSIZE(jb));
}

/* --- value readers --- */

static int32
get_count(JsonbValue *v, const JsLoc *location, const char *kw)
{
	Numeric		one;
	int32		n;
	bool		have_error = false;

	if (v->type != jbvNumeric)
		schema_error(location, kw, "must be a non-negative integer, not %s", json_type_name(v));
	one = v->val.numeric;
	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(one),
										  DirectFunctionCall2(numeric_trunc, NumericGetDatum(one),
															  Int32GetDatum(0)))))
		schema_error(location, kw, "must be a non-negative integer, not %s",
					 numeric_normalize(one));
	if (numeric_signum(one) < 0)
		schema_error(location, kw, "must be a non-negative integer, not %s", numeric_normalize(one));
	n = numeric_int4_opt_error(one, &have_error);
	/* counts beyond int32 can never be reached by a jsonb value */
	return have_error ? PG_INT32_MAX : n;
}

static uint32
get_number(Builder *b, JsonbValue *v, const JsLoc *location, const char *kw)
{
	if (v->type != jbvNumeric)
		schema_error(location, kw, "must be a number, not %s", json_type_name(v));
	return data_add(b, v->val.numeric, VARSIZE(v->val.numeric));
}

static bool
get_bool(JsonbValue *v, const JsLoc *location, const char *kw)
{
	if (v->type != jbvBool)
		schema_error(location, kw, "must be a boolean, not %s", json_type_name(v));
	return v->val.boolean;
}

static void
check_string(JsonbValue *v, const JsLoc *location, const char *kw)
{
	if (v->type != jbvString)
		schema_error(location, kw, "must be a string, not %s", json_type_name(v));
}

static JsonbContainer *
get_object(JsonbValue *v, const JsLoc *location, const char *kw)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		schema_error(location, kw, "must be an object, not %s", json_type_name(v));
	return v->val.binary.data;
}

static JsonbContainer *
get_array(JsonbValue *v, const JsLoc *location, const char *kw, bool nonempty)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		schema_error(location, kw, "must be an array, not %s", json_type_name(v));
	if (nonempty && JsonContainerSize(v->val.binary.data) == 0)
		schema_error(location, kw, "must be a non-empty array");
	return v->val.binary.data;
}

/*
 * Check that a regular expression compiles; the validator compiles it again
 * (and caches it) on first use.
 */
static void
check_regex(const char *pattern, int len, const JsLoc *location, const char *kw)
{
	pg_wchar   *wide = palloc(sizeof(pg_wchar) * (len + 1));
	int			wlen = pg_mb2wchar_with_len(pattern, wide, len);
	regex_t		re;
	int			rc = pg_regcomp(&re, wide, wlen, REG_ADVANCED, C_COLLATION_OID);

	if (rc != REG_OKAY)
	{
		char		msg[256];

		/* a cancel or timeout stops the regex compiler: report that */
		CHECK_FOR_INTERRUPTS();
		pg_regerror(rc, &re, msg, sizeof(msg));
		schema_error(location, kw, "is not a valid regular expression: %s (\"%s\")", msg, activity_clip(pattern, len, 200));
	}
	if (re.re_info & REG_UBACKREF)
	{
		pg_regfree(&re);
		schema_error(location, kw, "uses a back-reference, which this engine does not support "
					 "(matching one can take exponential time): \"%s\"", activity_clip(pattern, len, 200));
	}
	pg_regfree(&re);
	pfree(wide);
}

/* --- tables --- */

static int
named_cmp(const void *a, const void *b)
{
	return strcmp(((const NamedNode *) a)->name, ((const NamedNode *) b)->name);
}

/*
 * Compile an object of subschemas ("properties", "patternProperties",
 * "dependentSchemas", "$defs") into a [n, (name, node)...] list, sorted by
 * name. For patternProperties each name must be a valid regex.
 */
static uint32
compile_schema_map(Builder *b, JsonbValue *v, const JsLoc *location, const char *kw, bool patterns)
{
	JsonbContainer *obj = get_object(v, location, kw);
	int			n = JsonContainerSize(obj);
	NamedNode  *entries = palloc(sizeof(NamedNode) * Max(n, 1));
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	key;
	JsonbValue	val;
	JsonbIteratorToken tok;
	int			i = 0;
	uint32		off;

	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		char	   *name;
		char	   *suffix;
		int			suffix_len;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		name = pnstrdup(key.val.string.val, key.val.string.len);
		if (patterns)
			check_regex(key.val.string.val, key.val.string.len, location, kw);
		entries[i].name = name;
		entries[i].name_off = data_add_string(b, key.val.string.val, key.val.string.len);
		suffix = suffix_of(kw, key.val.string.val, key.val.string.len, &suffix_len);
		entries[i].node = compile_schema(b, &val, location->node, suffix, suffix_len);
		i++;
	}
	n = i;
	qsort(entries, n, sizeof(NamedNode), named_cmp);
	off = list_reserve(b, 1 + 2 * n);
	b->lists[off] = n;
	for (i = 0; i < n; i++)
	{
		b->lists[off + 1 + 2 * i] = entries[i].name_off;
		b->lists[off + 2 + 2 * i] = entries[i].node;
	}
	return off;
}

/*
 * Compile a non-empty array of subschemas into a [n, node...] list.
 */
static uint32
compile_schema_list(Builder *b, JsonbValue *v, const JsLoc *location, const char *kw)
{
	JsonbContainer *arr = get_array(v, location, kw, true);
	int			n = JsonContainerSize(arr);
	uint32	   *nodes = palloc(sizeof(uint32) * n);
	JsonbIterator *it = JsonbIteratorInit(arr);
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			i = 0;
	uint32		off;

	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		int			suffix_len;
		char	   *suffix;

		if (tok != WJB_ELEM)
			continue;
		suffix = suffix_index(kw, i, &suffix_len);
		nodes[i] = compile_schema(b, &elem, location->node, suffix, suffix_len);
		i++;
	}
	off = list_reserve(b, 1 + n);
	b->lists[off] = n;
	memcpy(&b->lists[off + 1], nodes, sizeof(uint32) * n);
	return off;
}

/* a string of a list being checked for repeats */
typedef struct ListString
{
	const char *s;
	int			len;
} ListString;

static int
list_string_cmp(const void *a, const void *b)
{
	const ListString *x = a;
	const ListString *y = b;
	int			c = memcmp(x->s, y->s, Min(x->len, y->len));

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/*
 * An array of distinct strings ("required", dependentRequired's entries) as
 * a [n, name...] list. Repeats are found by sorting: n log n.
 */
static uint32
compile_string_list(Builder *b, JsonbValue *v, const JsLoc *location, const char *kw)
{
	JsonbContainer *arr = get_array(v, location, kw, false);
	int			n = JsonContainerSize(arr);
	JsonbIterator *it = JsonbIteratorInit(arr);
	JsonbValue	elem;
	JsonbIteratorToken tok;
	uint32		off = list_reserve(b, 1 + n);
	ListString *seen = palloc(sizeof(ListString) * Max(n, 1));
	int			i = 0;

	b->lists[off] = n;
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if ((i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		if (elem.type != jbvString)
			schema_error(location, kw, "must be an array of strings, and element %d is %s", i,
						 json_type_name(&elem));
		seen[i].s = elem.val.string.val;
		seen[i].len = elem.val.string.len;
		b->lists[off + 1 + i] = data_add_string(b, elem.val.string.val, elem.val.string.len);
		i++;
	}
	qsort(seen, i, sizeof(ListString), list_string_cmp);
	for (n = 1; n < i; n++)
		if (list_string_cmp(&seen[n - 1], &seen[n]) == 0)
			schema_error(location, kw, "must not repeat \"%s\"", activity_clip(seen[n].s, seen[n].len, 200));
	pfree(seen);
	return off;
}

static uint8
type_bit(const char *name, int len, const JsLoc *location)
{
	static const struct
	{
		const char *name;
		uint8		bit;
	}			types[] = {
		{"null", JT_NULL}, {"boolean", JT_BOOLEAN}, {"object", JT_OBJECT},
		{"array", JT_ARRAY}, {"number", JT_NUMBER}, {"string", JT_STRING},
		{"integer", JT_INTEGER}
	};
	int			i;

	for (i = 0; i < (int) lengthof(types); i++)
		if ((int) strlen(types[i].name) == len && memcmp(types[i].name, name, len) == 0)
			return types[i].bit;
	schema_error(location, "type", "names an unknown type \"%s\"", activity_clip(name, len, 64));
}

static uint8
compile_types(JsonbValue *v, const JsLoc *location)
{
	uint8		bits = 0;

	if (v->type == jbvString)
		return type_bit(v->val.string.val, v->val.string.len, location);
	if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	elem;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		{
			uint8		bit;

			if (tok != WJB_ELEM)
				continue;
			if (elem.type != jbvString)
				schema_error(location, "type", "must be a type name or an array of type names");
			bit = type_bit(elem.val.string.val, elem.val.string.len, location);
			if (bits & bit)
				schema_error(location, "type", "must not repeat \"%.*s\"",
							 elem.val.string.len, elem.val.string.val);
			bits |= bit;
		}
		if (bits == 0)
			schema_error(location, "type", "must not be an empty array");
		return bits;
	}
	schema_error(location, "type", "must be a type name or an array of type names, not %s",
				 json_type_name(v));
}

static uint8
compile_format(JsonbValue *v, const JsLoc *location)
{
	static const struct
	{
		const char *name;
		JsFormat	format;
	}			formats[] = {
		{"date-time", JF_DATE_TIME}, {"date", JF_DATE}, {"time", JF_TIME},
		{"uuid", JF_UUID}, {"email", JF_EMAIL}, {"uri", JF_URI},
		{"ipv4", JF_IPV4}, {"ipv6", JF_IPV6}
	};
	int			i;

	check_string(v, location, "format");
	for (i = 0; i < (int) lengthof(formats); i++)
		if ((int) strlen(formats[i].name) == v->val.string.len &&
			memcmp(formats[i].name, v->val.string.val, v->val.string.len) == 0)
			return formats[i].format;
	schema_error(location, "format", "names a format this engine does not check: \"%s\"",
				 activity_clip(v->val.string.val, v->val.string.len, 64));
}

static bool
key_is(JsonbValue *key, const char *name)
{
	return key->val.string.len == (int) strlen(name) &&
		memcmp(key->val.string.val, name, key->val.string.len) == 0;
}

/*
 * Compile one schema (an object or a boolean) at location; returns its node.
 */
static uint32
compile_schema(Builder *b, JsonbValue *v, uint32 parent, char *suffix, int suffix_len)
{
	uint32		ni;
	JsonbIterator *it;
	JsonbValue	key;
	JsonbValue	val;
	JsonbIteratorToken tok;
	bool		root = parent == JS_NONE;
	JsLoc		loc;
	const JsLoc *location = &loc;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	ni = new_node(b, parent, suffix, suffix_len);
	loc.b = b;
	loc.node = ni;
	if (v->type == jbvBool)
	{
		NODE(b, ni)->kind = v->val.boolean ? JN_TRUE : JN_FALSE;
		return ni;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		schema_error(location, NULL, "must be an object or a boolean, not %s", json_type_name(v));

	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		const char *kw;
		uint64		bit = 0;
		uint32		u;
		char	   *sub_suffix;
		int			sub_len;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		kw = pnstrdup(key.val.string.val, key.val.string.len);

#define SUB(name) (sub_suffix = suffix_of(name, NULL, 0, &sub_len), compile_schema(b, &val, ni, sub_suffix, sub_len))
		if (key_is(&key, "type"))
		{
			NODE(b, ni)->types = compile_types(&val, location);
			bit = KW_TYPE;
		}
		else if (key_is(&key, "enum"))
		{
			get_array(&val, location, kw, false);
			u = data_add(b, JsonbValueToJsonb(&val), VARSIZE(JsonbValueToJsonb(&val)));
			NODE(b, ni)->enum_values = u;
			bit = KW_ENUM;
		}
		else if (key_is(&key, "const"))
		{
			u = data_add_wrapped(b, &val);
			NODE(b, ni)->const_value = u;
			bit = KW_CONST;
		}
		else if (key_is(&key, "minLength"))
			NODE(b, ni)->min_length = get_count(&val, location, kw), bit = KW_MINLENGTH;
		else if (key_is(&key, "maxLength"))
			NODE(b, ni)->max_length = get_count(&val, location, kw), bit = KW_MAXLENGTH;
		else if (key_is(&key, "minItems"))
			NODE(b, ni)->min_items = get_count(&val, location, kw), bit = KW_MINITEMS;
		else if (key_is(&key, "maxItems"))
			NODE(b, ni)->max_items = get_count(&val, location, kw), bit = KW_MAXITEMS;
		else if (key_is(&key, "minProperties"))
			NODE(b, ni)->min_props = get_count(&val, location, kw), bit = KW_MINPROPS;
		else if (key_is(&key, "maxProperties"))
			NODE(b, ni)->max_props = get_count(&val, location, kw), bit = KW_MAXPROPS;
		else if (key_is(&key, "minContains"))
			NODE(b, ni)->min_contains = get_count(&val, location, kw), bit = KW_MINCONTAINS;
		else if (key_is(&key, "maxContains"))
			NODE(b, ni)->max_contains = get_count(&val, location, kw), bit = KW_MAXCONTAINS;
		else if (key_is(&key, "pattern"))
		{
			check_string(&val, location, kw);
			check_regex(val.val.string.val, val.val.string.len, location, kw);
			u = data_add_string(b, val.val.string.val, val.val.string.len);
			NODE(b, ni)->pattern = u;
			bit = KW_PATTERN;
		}
		else if (key_is(&key, "format"))
			NODE(b, ni)->format = compile_format(&val, location), bit = KW_FORMAT;
		else if (key_is(&key, "minimum"))
			u = get_number(b, &val, location, kw), NODE(b, ni)->minimum = u, bit = KW_MINIMUM;
		else if (key_is(&key, "maximum"))
			u = get_number(b, &val, location, kw), NODE(b, ni)->maximum = u, bit = KW_MAXIMUM;
		else if (key_is(&key, "exclusiveMinimum"))
			u = get_number(b, &val, location, kw), NODE(b, ni)->ex_minimum = u, bit = KW_EXMINIMUM;
		else if (key_is(&key, "exclusiveMaximum"))
			u = get_number(b, &val, location, kw), NODE(b, ni)->ex_maximum = u, bit = KW_EXMAXIMUM;
		else if (key_is(&key, "multipleOf"))
		{
			if (val.type != jbvNumeric ||
				numeric_signum(val.val.numeric) <= 0)
				schema_error(location, kw, "must be a number greater than 0");
			u = get_number(b, &val, location, kw);
			NODE(b, ni)->multiple_of = u;
			bit = KW_MULTIPLEOF;
		}
		else if (key_is(&key, "uniqueItems"))
			NODE(b, ni)->unique = get_bool(&val, location, kw), bit = KW_UNIQUEITEMS;
		else if (key_is(&key, "properties"))
			u = compile_schema_map(b, &val, location, kw, false), NODE(b, ni)->properties = u, bit = KW_PROPERTIES;
		else if (key_is(&key, "patternProperties"))
			u = compile_schema_map(b, &val, location, kw, true), NODE(b, ni)->pattern_props = u, bit = KW_PATTERNPROPS;
		else if (key_is(&key, "dependentSchemas"))
			u = compile_schema_map(b, &val, location, kw, false), NODE(b, ni)->dep_schemas = u, bit = KW_DEPSCHEMAS;
		else if (key_is(&key, "additionalProperties"))
			u = SUB("additionalProperties"), NODE(b, ni)->add_props = u, bit = KW_ADDPROPS;
		else if (key_is(&key, "propertyNames"))
			u = SUB("propertyNames"), NODE(b, ni)->prop_names = u, bit = KW_PROPNAMES;
		else if (key_is(&key, "items"))
			u = SUB("items"), NODE(b, ni)->items = u, bit = KW_ITEMS;
		else if (key_is(&key, "contains"))
			u = SUB("contains"), NODE(b, ni)->contains = u, bit = KW_CONTAINS;
		else if (key_is(&key, "not"))
			u = SUB("not"), NODE(b, ni)->not_ = u, bit = KW_NOT;
		else if (key_is(&key, "if"))
			u = SUB("if"), NODE(b, ni)->if_ = u, bit = KW_IF;
		else if (key_is(&key, "then"))
			u = SUB("then"), NODE(b, ni)->then_ = u, bit = KW_THEN;
		else if (key_is(&key, "else"))
			u = SUB("else"), NODE(b, ni)->else_ = u, bit = KW_ELSE;
		else if (key_is(&key, "prefixItems"))
			u = compile_schema_list(b, &val, location, kw), NODE(b, ni)->prefix_items = u, bit = KW_PREFIXITEMS;
		else if (key_is(&key, "allOf"))
			u = compile_schema_list(b, &val, location, kw), NODE(b, ni)->all_of = u, bit = KW_ALLOF;
		else if (key_is(&key, "anyOf"))
			u = compile_schema_list(b, &val, location, kw), NODE(b, ni)->any_of = u, bit = KW_ANYOF;
		else if (key_is(&key, "oneOf"))
			u = compile_schema_list(b, &val, location, kw), NODE(b, ni)->one_of = u, bit = KW_ONEOF;
		else if (key_is(&key, "required"))
			u = compile_string_list(b, &val, location, kw), NODE(b, ni)->required = u, bit = KW_REQUIRED;
		else if (key_is(&key, "dependentRequired"))
		{
			JsonbContainer *obj = get_object(&val, location, kw);
			int			n = JsonContainerSize(obj);
			JsonbIterator *dit = JsonbIteratorInit(obj);
			JsonbValue	dkey;
			JsonbValue	dval;
			NamedNode  *entries = palloc(sizeof(NamedNode) * Max(n, 1));
			int			i = 0;

			while ((tok = JsonbIteratorNext(&dit, &dkey, true)) != WJB_DONE)
			{
				if (tok != WJB_KEY)
					continue;
				tok = JsonbIteratorNext(&dit, &dval, true);
				entries[i].name = pnstrdup(dkey.val.string.val, dkey.val.string.len);
				entries[i].name_off = data_add_string(b, dkey.val.string.val, dkey.val.string.len);
				entries[i].node = compile_string_list(b, &dval, location, kw);
				i++;
			}
			n = i;
			u = list_reserve(b, 1 + 2 * n);
			b->lists[u] = n;
			for (i = 0; i < n; i++)
			{
				b->lists[u + 1 + 2 * i] = entries[i].name_off;
				b->lists[u + 2 + 2 * i] = entries[i].node;
			}
			NODE(b, ni)->dep_required = u;
			bit = KW_DEPREQUIRED;
		}
		else if (key_is(&key, "$ref"))
		{
			check_string(&val, location, kw);
			if (b->nrefs == b->refs_cap)
			{
				b->refs_cap *= 2;
				b->refs = repalloc(b->refs, sizeof(PendingRef) * b->refs_cap);
			}
			b->refs[b->nrefs].node = ni;
			b->refs[b->nrefs].ref = pnstrdup(val.val.string.val, val.val.string.len);
			b->nrefs++;
			bit = KW_REF;
		}
		else if (key_is(&key, "$defs"))
			(void) compile_schema_map(b, &val, location, kw, false);
		else if (key_is(&key, "$schema"))
		{
			check_string(&val, location, kw);
			if (!root)
				schema_error(location, kw, "is only allowed at the root of a schema");
			if (!key_is(&val, JSON_SCHEMA_2020_12) && !key_is(&val, JSON_SCHEMA_2020_12 "#"))
				schema_error(location, kw, "names a dialect this engine does not implement: \"%s\"",
							 activity_clip(val.val.string.val, val.val.string.len, 200));
		}
		else if (key_is(&key, "$id"))
		{
			check_string(&val, location, kw);
			if (!root)
				schema_error(location, kw, "is only supported at the root of a schema");
		}
		else if (key_is(&key, "title") || key_is(&key, "description") || key_is(&key, "$comment"))
			check_string(&val, location, kw);
		else if (key_is(&key, "deprecated") || key_is(&key, "readOnly") || key_is(&key, "writeOnly"))
			(void) get_bool(&val, location, kw);
		else if (key_is(&key, "examples"))
			(void) get_array(&val, location, kw, false);
		else if (key_is(&key, "default"))
			 /* any value */ ;
		else if (key_is(&key, "x-personal"))
			/* an annotation of this extension: activity.redact() removes the property */
			(void) get_bool(&val, location, kw);
		else
			schema_error(location, kw, "is not supported by this JSON Schema engine");
#undef SUB
		NODE(b, ni)->present |= bit;
	}
	return ni;
}

/*
 * Decode a "#..." reference into a JSON pointer comparable with the node
 * suffixes (percent-decoding; the pointer's own ~0/~1 escapes are kept, as
 * suffixes are stored escaped). NULL if it decodes to a NUL byte, which no
 * name in a jsonb document can contain.
 */
static char *
decode_ref(const char *ref, int *len)
{
	char	   *out = palloc(strlen(ref) + 1);
	int			n = 0;
	const char *p;

	for (p = ref; *p; p++)
	{
		if (*p == '%' && isxdigit((unsigned char) p[1]) && isxdigit((unsigned char) p[2]))
		{
			char		hex[3] = {p[1], p[2], '\0'};
			char		c = (char) strtol(hex, NULL, 16);

			if (c == '\0')
			{
				pfree(out);
				return NULL;
			}
			out[n++] = c;
			p += 2;
		}
		else
			out[n++] = *p;
	}
	out[n] = '\0';
	*len = n;
	return out;
}

static uint64
suffix_hash(uint32 parent, const char *suffix, int len)
{
	return hash_bytes_extended((const unsigned char *) suffix, len, parent);
}

/* the node at suffix below parent, or JS_NONE */
static uint32
child_at(Builder *b, uint32 parent, const char *suffix, int len)
{
	uint32		h = (uint32) suffix_hash(parent, suffix, len) & b->by_suffix_mask;

	for (;;)
	{
		uint32		n = b->by_suffix[h];

		if (n == JS_NONE)
			return JS_NONE;
		if (b->parents[n] == parent && b->suffix_lens[n] == len &&
			memcmp(b->suffixes[n], suffix, len) == 0)
			return n;
		h = (h + 1) & b->by_suffix_mask;
	}
}

/*
 * Every $ref names a node by its JSON pointer: walked from the root one
 * node at a time, each step a one-token suffix ("/not", "/items") or a
 * two-token one ("/properties/a", "/allOf/0", "/$defs/x"), looked up in a
 * hash table: linear in the references' length.
 */
static void
resolve_refs(Builder *b)
{
	uint32		size = 16;
	int			r;
	uint32		i;

	if (b->nrefs == 0)
		return;
	while (size < (uint32) b->nnodes * 2)
		size *= 2;
	b->by_suffix = palloc(sizeof(uint32) * size);
	memset(b->by_suffix, 0xFF, sizeof(uint32) * size);
	b->by_suffix_mask = size - 1;
	for (i = 1; i < (uint32) b->nnodes; i++)
	{
		uint32		h = (uint32) suffix_hash(b->parents[i], b->suffixes[i], b->suffix_lens[i]) & b->by_suffix_mask;

		while (b->by_suffix[h] != JS_NONE)
			h = (h + 1) & b->by_suffix_mask;
		b->by_suffix[h] = i;
	}

	for (r = 0; r < b->nrefs; r++)
	{
		PendingRef *pr = &b->refs[r];
		JsLoc		loc = {b, pr->node};
		char	   *target;
		int			len;
		int			pos;
		uint32		found = 0;	/* the root */

		CHECK_FOR_INTERRUPTS();
		if (pr->ref[0] != '#')
			schema_error(&loc, "$ref",
						 "refers to \"%s\": only references within the schema (\"#\", \"#/$defs/...\") are supported",
						 activity_clip(pr->ref, strlen(pr->ref), 200));
		target = decode_ref(pr->ref, &len);
		/* "#" and "#/" name the root */
		pos = 1;
		if (target == NULL)
			found = JS_NONE;
		else if (len == 2 && target[1] == '/')
			pos = len;
		while (found != JS_NONE && pos < len)
		{
			int			end1;
			int			end2;
			uint32		child = JS_NONE;

			if (target[pos] != '/')
			{
				found = JS_NONE;
				break;
			}
			for (end1 = pos + 1; end1 < len && target[end1] != '/'; end1++)
				;
			child = child_at(b, found, target + pos, end1 - pos);
			if (child == JS_NONE && end1 < len)
			{
				for (end2 = end1 + 1; end2 < len && target[end2] != '/'; end2++)
					;
				child = child_at(b, found, target + pos, end2 - pos);
				end1 = end2;
			}
			found = child;
			pos = end1;
		}
		if (target)
			pfree(target);
		if (found == JS_NONE)
			schema_error(&loc, "$ref", "refers to \"%s\", which is not a schema in this document",
						 activity_clip(pr->ref, strlen(pr->ref), 200));
		NODE(b, pr->node)->ref = found;
	}
}

/*
 * Reject cycles of subschemas applied to the same value ($ref, allOf, anyOf,
 * oneOf, not, if/then/else, dependentSchemas): they would never terminate.
 * Cycles through properties or items are fine: each step descends into the
 * value.
 */
static void
check_inplace_cycles(Builder *b)
{
	uint8	   *state = palloc0(b->nnodes);	/* 0 new, 1 on stack, 2 done */
	uint32	   *stack = palloc(sizeof(uint32) * b->nnodes * 2);
	int		   *next = palloc(sizeof(int) * b->nnodes);
	uint32		start;

	for (start = 0; start < (uint32) b->nnodes; start++)
	{
		int			sp = 0;

		if (state[start])
			continue;
		stack[sp++] = start;
		state[start] = 1;
		next[start] = 0;
		while (sp > 0)
		{
			uint32		n = stack[sp - 1];
			JsNode	   *node = NODE(b, n);
			uint32		succ[8];
			int			nsucc = 0;
			uint32		child = JS_NONE;
			int			k = next[n]++;

			succ[nsucc++] = node->ref;
			succ[nsucc++] = node->not_;
			succ[nsucc++] = node->if_;
			succ[nsucc++] = node->then_;
			succ[nsucc++] = node->else_;
			if (k < nsucc)
				child = succ[k];
			else
			{
				/* list-valued applicators */
				uint32		lists[3] = {node->all_of, node->any_of, node->one_of};
				int			base = nsucc;
				int			l;

				for (l = 0; l < 3 && child == JS_NONE; l++)
				{
					int			len = lists[l] == JS_NONE ? 0 : b->lists[lists[l]];

					if (k < base + len)
					{
						child = b->lists[lists[l] + 1 + (k - base)];
						break;
					}
					base += len;
				}
				if (child == JS_NONE && node->dep_schemas != JS_NONE)
				{
					int			len = b->lists[node->dep_schemas];

					if (k < base + len)
						child = b->lists[node->dep_schemas + 2 + 2 * (k - base)];
					base += len;
				}
				if (child == JS_NONE && k >= base)
				{
					state[n] = 2;
					sp--;
					continue;
				}
			}
			if (child == JS_NONE)
				continue;
			if (state[child] == 1)
			{
				JsLoc		loc = {b, n};

				schema_error(&loc, NULL,
							 "applies itself to the same value through \"%s\" without end ($ref cycle)",
							 node_location(b, child));
			}
			if (state[child] == 0)
			{
				state[child] = 1;
				next[child] = 0;
				stack[sp++] = child;
			}
		}
	}
}

/*
 * Compile a schema (already parsed as jsonb) into its stored form.
 */
JsonSchema *
jsonschema_compile(Jsonb *schema)
{
	Builder		b;
	JsonbValue	root;
	JsonSchema *js;
	Size		header;
	Size		nodes_sz;
	Size		lists_sz;
	Size		total;
	char	   *p;

	memset(&b, 0, sizeof(b));
	b.nodes_cap = 16;
	b.nodes = palloc(sizeof(JsNode) * b.nodes_cap);
	b.parents = palloc(sizeof(uint32) * b.nodes_cap);
	b.suffixes = palloc(sizeof(char *) * b.nodes_cap);
	b.suffix_lens = palloc(sizeof(int) * b.nodes_cap);
	b.lists_cap = 64;
	b.lists = palloc(sizeof(uint32) * b.lists_cap);
	b.refs_cap = 8;
	b.refs = palloc(sizeof(PendingRef) * b.refs_cap);
	initStringInfo(&b.data);

	if (JB_ROOT_IS_SCALAR(schema))
		JsonbExtractScalar(&schema->root, &root);
	else
	{
		root.type = jbvBinary;
		root.val.binary.data = &schema->root;
		root.val.binary.len = VARSIZE(schema) - VARHDRSZ;
	}
	(void) compile_schema(&b, &root, JS_NONE, "", 0);
	resolve_refs(&b);
	check_inplace_cycles(&b);

	header = MAXALIGN(sizeof(JsonSchema));
	nodes_sz = MAXALIGN(sizeof(JsNode) * b.nnodes);
	lists_sz = MAXALIGN(sizeof(uint32) * b.nlists);
	total = add_size(add_size(add_size(header, nodes_sz), add_size(lists_sz, MAXALIGN(b.data.len))),
					 VARSIZE(schema));
	if (total > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("compiled JSON Schema is too large")));

	js = palloc0(total);
	SET_VARSIZE(js, total);
	js->format_version = JS_FORMAT_VERSION;
	js->nnodes = b.nnodes;
	js->nodes_off = header;
	js->lists_off = header + nodes_sz;
	js->data_off = header + nodes_sz + lists_sz;
	js->source_off = js->data_off + MAXALIGN(b.data.len);
	js->source_len = VARSIZE(schema);
	p = (char *) js;
	memcpy(p + js->nodes_off, b.nodes, sizeof(JsNode) * b.nnodes);
	memcpy(p + js->lists_off, b.lists, sizeof(uint32) * b.nlists);
	memcpy(p + js->data_off, b.data.data, b.data.len);
	memcpy(p + js->source_off, schema, VARSIZE(schema));
	return js;
}

/*
 * Check the layout of a stored schema, so that a corrupted value (or binary
 * input) cannot send the validator outside it.
 */
static void
check_layout(JsonSchema *js, Size size)
{
	if (size < sizeof(JsonSchema) || js->format_version != JS_FORMAT_VERSION ||
		js->nodes_off > size || js->lists_off > size || js->data_off > size ||
		js->source_off > size || js->source_len > size - js->source_off ||
		(Size) js->nnodes * sizeof(JsNode) > js->lists_off - js->nodes_off)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid stored activity.jsonschema value")));
}

/*
 * activity.jsonschema input: parse as JSON, meta-validate and compile.
 */
Datum
activity_jsonschema_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	Jsonb	   *schema = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(str)));

	PG_RETURN_POINTER(jsonschema_compile(schema));
}

/*
 * activity.jsonschema output: the schema as written (normalized as jsonb).
 */
Datum
activity_jsonschema_out(PG_FUNCTION_ARGS)
{
	JsonSchema *js = DatumGetJsonSchemaP(PG_GETARG_DATUM(0));

	check_layout(js, VARSIZE(js));
	PG_RETURN_CSTRING(JsonbToCString(NULL, &JS_SOURCE(js)->root, js->source_len));
}

/*
 * Binary input: the schema text, compiled like text input (a compiled form
 * is never accepted from a client).
 */
Datum
activity_jsonschema_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgint(buf, 1);
	char	   *str;
	int			nbytes;

	if (version != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported activity.jsonschema binary format version %d", version)));
	str = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	PG_RETURN_POINTER(jsonschema_compile(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																			 CStringGetDatum(str)))));
}

/*
 * Binary output: a version byte and the schema text, like jsonb's.
 */
Datum
activity_jsonschema_send(PG_FUNCTION_ARGS)
{
	JsonSchema *js = DatumGetJsonSchemaP(PG_GETARG_DATUM(0));
	StringInfoData buf;
	char	   *text;

	check_layout(js, VARSIZE(js));
	text = JsonbToCString(NULL, &JS_SOURCE(js)->root, js->source_len);
	pq_begintypsend(&buf);
	pq_sendint8(&buf, 1);
	pq_sendtext(&buf, text, strlen(text));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * activity.jsonschema -> jsonb
 */
Datum
activity_jsonschema_to_jsonb(PG_FUNCTION_ARGS)
{
	JsonSchema *js = DatumGetJsonSchemaP(PG_GETARG_DATUM(0));
	Jsonb	   *copy;

	check_layout(js, VARSIZE(js));
	copy = palloc(js->source_len);
	memcpy(copy, JS_SOURCE(js), js->source_len);
	PG_RETURN_JSONB_P(copy);
}
