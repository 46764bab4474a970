/*
 * jsonschema.h
 *		The compiled form of activity.jsonschema and its validator.
 *
 * A compiled schema is one varlena: a header, an array of nodes (one per
 * schema object or boolean schema), a pool of uint32 lists (property tables,
 * subschema lists) and a byte pool (strings, numerics, jsonb constants),
 * followed by the original schema as jsonb for output. Every reference is an
 * offset or an index, so the validator runs directly on the stored bytes:
 * nothing is parsed or rebuilt at validation time.
 */
#ifndef ACTIVITY_JSONSCHEMA_H
#define ACTIVITY_JSONSCHEMA_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#define JS_FORMAT_VERSION	1
#define JS_NONE				0xFFFFFFFF	/* no node / no offset */

/* instance types, as a bit set */
#define JT_NULL		0x01
#define JT_BOOLEAN	0x02
#define JT_OBJECT	0x04
#define JT_ARRAY	0x08
#define JT_NUMBER	0x10
#define JT_STRING	0x20
#define JT_INTEGER	0x40

/* formats asserted by "format" */
typedef enum JsFormat
{
	JF_NONE = 0,
	JF_DATE_TIME,
	JF_DATE,
	JF_TIME,
	JF_UUID,
	JF_EMAIL,
	JF_URI,
	JF_IPV4,
	JF_IPV6
} JsFormat;

/* keyword presence bits of a node */
#define KW_TYPE			(UINT64CONST(1) << 0)
#define KW_ENUM			(UINT64CONST(1) << 1)
#define KW_CONST		(UINT64CONST(1) << 2)
#define KW_MINLENGTH	(UINT64CONST(1) << 3)
#define KW_MAXLENGTH	(UINT64CONST(1) << 4)
#define KW_PATTERN		(UINT64CONST(1) << 5)
#define KW_FORMAT		(UINT64CONST(1) << 6)
#define KW_MINIMUM		(UINT64CONST(1) << 7)
#define KW_MAXIMUM		(UINT64CONST(1) << 8)
#define KW_EXMINIMUM	(UINT64CONST(1) << 9)
#define KW_EXMAXIMUM	(UINT64CONST(1) << 10)
#define KW_MULTIPLEOF	(UINT64CONST(1) << 11)
#define KW_PROPERTIES	(UINT64CONST(1) << 12)
#define KW_PATTERNPROPS	(UINT64CONST(1) << 13)
#define KW_ADDPROPS		(UINT64CONST(1) << 14)
#define KW_PROPNAMES	(UINT64CONST(1) << 15)
#define KW_REQUIRED		(UINT64CONST(1) << 16)
#define KW_MINPROPS		(UINT64CONST(1) << 17)
#define KW_MAXPROPS		(UINT64CONST(1) << 18)
#define KW_DEPREQUIRED	(UINT64CONST(1) << 19)
#define KW_DEPSCHEMAS	(UINT64CONST(1) << 20)
#define KW_ITEMS		(UINT64CONST(1) << 21)
#define KW_PREFIXITEMS	(UINT64CONST(1) << 22)
#define KW_CONTAINS		(UINT64CONST(1) << 23)
#define KW_MINCONTAINS	(UINT64CONST(1) << 24)
#define KW_MAXCONTAINS	(UINT64CONST(1) << 25)
#define KW_MINITEMS		(UINT64CONST(1) << 26)
#define KW_MAXITEMS		(UINT64CONST(1) << 27)
#define KW_UNIQUEITEMS	(UINT64CONST(1) << 28)
#define KW_ALLOF		(UINT64CONST(1) << 29)
#define KW_ANYOF		(UINT64CONST(1) << 30)
#define KW_ONEOF		(UINT64CONST(1) << 31)
#define KW_NOT			(UINT64CONST(1) << 32)
#define KW_IF			(UINT64CONST(1) << 33)
#define KW_THEN			(UINT64CONST(1) << 34)
#define KW_ELSE			(UINT64CONST(1) << 35)
#define KW_REF			(UINT64CONST(1) << 36)

/* node kinds */
#define JN_SCHEMA	0
#define JN_TRUE		1
#define JN_FALSE	2

typedef struct JsNode
{
	uint64		present;		/* KW_* bits */
	uint8		kind;			/* JN_* */
	uint8		types;			/* JT_* bits, with KW_TYPE */
	uint8		format;			/* JsFormat, with KW_FORMAT */
	uint8		unique;			/* uniqueItems: true */
	int32		min_length;
	int32		max_length;
	int32		min_items;
	int32		max_items;
	int32		min_props;
	int32		max_props;
	int32		min_contains;
	int32		max_contains;
	/* byte-pool offsets of Numeric values */
	uint32		minimum;
	uint32		maximum;
	uint32		ex_minimum;
	uint32		ex_maximum;
	uint32		multiple_of;
	uint32		pattern;		/* byte-pool offset of the pattern string */
	uint32		enum_values;	/* byte-pool offset of a jsonb array */
	uint32		const_value;	/* byte-pool offset of a one-element jsonb array */
	/* list-pool offsets: [n, entries...] */
	uint32		properties;		/* n, (name, node) sorted by name */
	uint32		pattern_props;	/* n, (pattern, node) */
	uint32		required;		/* n, name... */
	uint32		dep_required;	/* n, (name, list of names)... */
	uint32		dep_schemas;	/* n, (name, node)... */
	uint32		prefix_items;	/* n, node... */
	uint32		all_of;
	uint32		any_of;
	uint32		one_of;
	/* node indexes */
	uint32		add_props;
	uint32		prop_names;
	uint32		items;
	uint32		contains;
	uint32		not_;
	uint32		if_;
	uint32		then_;
	uint32		else_;
	uint32		ref;
	uint32		location;		/* byte-pool offset: schema pointer, e.g. "#/properties/a" */
} JsNode;

typedef struct JsonSchema
{
	int32		vl_len_;
	uint16		format_version;
	uint16		flags;
	uint32		nnodes;
	uint32		nodes_off;		/* from the start of the struct */
	uint32		lists_off;
	uint32		data_off;
	uint32		source_off;		/* the schema as written, a Jsonb */
	uint32		source_len;
} JsonSchema;

#define JS_NODES(js)	((const JsNode *) ((const char *) (js) + (js)->nodes_off))
#define JS_LISTS(js)	((const uint32 *) ((const char *) (js) + (js)->lists_off))
#define JS_DATA(js)		((const char *) (js) + (js)->data_off)
#define JS_SOURCE(js)	((Jsonb *) ((char *) (js) + (js)->source_off))

#define DatumGetJsonSchemaP(d)	((JsonSchema *) PG_DETOAST_DATUM(d))

/* one violation, as reported by activity.validation_errors() */
typedef struct JsError
{
	char	   *path;			/* JSON pointer into the instance */
	const char *keyword;
	char	   *message;
} JsError;

extern JsonSchema *jsonschema_compile(Jsonb *schema);

/*
 * s (len bytes) for an error message: at most max bytes, cut at a character
 * boundary, "..." when cut.
 */
static inline char *
activity_clip(const char *s, int len, int max)
{
	if (len <= max)
		return pnstrdup(s, len);
	return psprintf("%.*s...", pg_mbcliplen(s, len, max), s);
}
extern void jsonschema_append_pointer_token(StringInfo s, const char *token, int len);
extern void jsonschema_vformat(StringInfo msg, const char *fmt, va_list args) pg_attribute_printf(2, 0);

/* -1, 0 or 1 as n is negative, zero or positive */
static inline int
numeric_signum(Numeric n)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(n),
											 NumericGetDatum(int64_to_numeric(0))));
}
extern bool jsonschema_validate(const JsonSchema *js, Jsonb *doc, bool all, List **errors);

/* settings of the validator (GUCs, defined in activity.c) */
extern int	activity_max_validation_steps;
extern int	activity_max_validation_errors;
extern int	activity_regex_cache_kb;

#endif							/* ACTIVITY_JSONSCHEMA_H */
