/*
 * cursor.c
 *		The activity.cursor type: an opaque, checksummed keyset position.
 *
 * A cursor is 38 bytes: format version, flags (direction), the row's
 * occurred_at and id, a 64-bit hash of the query it belongs to, and a CRC-32C
 * of all of that. Its text form is the unpadded URL-safe base64 of those
 * bytes (51 characters). The CRC catches truncated, corrupted and hand-edited
 * cursors; it is not a signature: a cursor only says where to resume, and
 * every page still applies the caller's own workspace and filters. The hash
 * makes a cursor of another feed (another workspace, filter or direction)
 * refused: 64 bits, as colliding 32-bit hashes of workspace names are easy
 * to find.
 *
 * Format 1 (extension 0.1 and the first 0.2 builds) had a 32-bit hash in 34
 * bytes (46 characters); such cursors are still accepted, checked against
 * the low 32 bits of the same hash.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "port/pg_crc32c.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "activity.h"

PG_FUNCTION_INFO_V1(activity_cursor_in);
PG_FUNCTION_INFO_V1(activity_cursor_out);
PG_FUNCTION_INFO_V1(activity_cursor_recv);
PG_FUNCTION_INFO_V1(activity_cursor_send);
PG_FUNCTION_INFO_V1(activity_cursor_eq);
PG_FUNCTION_INFO_V1(activity_cursor_info);

#define CURSOR_PAYLOAD_BYTES	34
#define CURSOR_BYTES			(CURSOR_PAYLOAD_BYTES + 4)
#define CURSOR_TEXT_LEN			51	/* unpadded base64 of 38 bytes */
#define CURSOR_V1_PAYLOAD_BYTES	30
#define CURSOR_V1_BYTES			(CURSOR_V1_PAYLOAD_BYTES + 4)
#define CURSOR_V1_TEXT_LEN		46	/* unpadded base64 of 34 bytes */

static const char b64url[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * The CRC-32C of the payload, as stored in the last four bytes.
 */
static uint32
cursor_crc(const uint8 *bytes, int payload)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, bytes, payload);
	FIN_CRC32C(crc);
	return (uint32) crc;
}

static void
put_be(uint8 *dst, uint64 v, int nbytes)
{
	int			i;

	for (i = nbytes - 1; i >= 0; i--)
	{
		dst[i] = (uint8) v;
		v >>= 8;
	}
}

static uint64
get_be(const uint8 *src, int nbytes)
{
	uint64		v = 0;
	int			i;

	for (i = 0; i < nbytes; i++)
		v = (v << 8) | src[i];
	return v;
}

/*
 * Build the on-disk (varlena) form of a cursor.
 */
Datum
activity_cursor_make(const ActivityCursor *c)
{
	bytea	   *result = palloc(VARHDRSZ + CURSOR_BYTES);
	uint8	   *b = (uint8 *) VARDATA(result);

	SET_VARSIZE(result, VARHDRSZ + CURSOR_BYTES);
	b[0] = c->format_version;
	b[1] = c->flags;
	put_be(b + 2, (uint64) c->occurred_at, 8);
	memcpy(b + 10, c->id.data, UUID_LEN);
	put_be(b + 26, c->query_hash, 8);
	put_be(b + 34, cursor_crc(b, CURSOR_PAYLOAD_BYTES), 4);
	return PointerGetDatum(result);
}

/*
 * Check the bytes of a cursor; returns NULL if they are good, else the reason.
 */
static const char *
cursor_bytes_problem(const uint8 *b, int len)
{
	int			payload;

	if (len == CURSOR_BYTES)
		payload = CURSOR_PAYLOAD_BYTES;
	else if (len == CURSOR_V1_BYTES)
		payload = CURSOR_V1_PAYLOAD_BYTES;
	else
		return "The cursor has the wrong length.";
	if (get_be(b + payload, 4) != cursor_crc(b, payload))
		return "The cursor's checksum does not match: it was truncated, corrupted or edited.";
	if (b[0] != (len == CURSOR_BYTES ? CURSOR_FORMAT_VERSION : 1))
		return psprintf("Cursor format version %d is not supported by this version of the extension.", b[0]);
	if ((b[1] & ~CURSOR_FLAG_ASC) != 0)
		return "The cursor has unknown flags set.";
	/* a row's occurred_at: a valid, finite timestamp */
	if (!IS_VALID_TIMESTAMP((Timestamp) get_be(b + 2, 8)))
		return "The cursor's position is not a valid time.";
	return NULL;
}

/*
 * Read a stored cursor into *c. Stored cursors were checked on input.
 */
void
activity_cursor_read(Datum d, ActivityCursor *c)
{
	bytea	   *v = DatumGetByteaPP(d);
	const uint8 *b = (const uint8 *) VARDATA_ANY(v);

	int			len = VARSIZE_ANY_EXHDR(v);

	if (len != CURSOR_BYTES && len != CURSOR_V1_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored activity cursor has the wrong length")));
	c->format_version = b[0];
	c->flags = b[1];
	c->occurred_at = (TimestampTz) get_be(b + 2, 8);
	memcpy(c->id.data, b + 10, UUID_LEN);
	c->query_hash = get_be(b + 26, len == CURSOR_BYTES ? 8 : 4);
}

/*
 * Short, printable rendering of arbitrary user input for error messages.
 */
static char *
shorten(const char *s)
{
	size_t		len = strlen(s);

	if (len <= 64)
		return pstrdup(s);
	return psprintf("%.*s...", pg_mbcliplen(s, len, 60), s);
}

/*
 * activity.cursor input: URL-safe base64, checked for length, alphabet,
 * checksum and format version.
 */
Datum
activity_cursor_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	size_t		len = strlen(str);
	uint8		bytes[CURSOR_BYTES + 2];
	int			nbytes = 0;
	uint32		acc = 0;
	int			bits = 0;
	const char *problem;
	bytea	   *result;
	size_t		i;

	if (len != CURSOR_TEXT_LEN && len != CURSOR_V1_TEXT_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid activity cursor: \"%s\"", shorten(str)),
				 errdetail("A cursor is %d characters long (%d for cursors of format 1), not %zu.",
						   CURSOR_TEXT_LEN, CURSOR_V1_TEXT_LEN, len),
				 errhint("Pass back the cursor column of a row returned by activity.page() unchanged.")));

	for (i = 0; i < len; i++)
	{
		const char *p = strchr(b64url, str[i]);

		if (str[i] == '\0' || p == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid activity cursor: \"%s\"", shorten(str)),
					 errdetail("A cursor contains only letters, digits, \"-\" and \"_\".")));
		acc = (acc << 6) | (uint32) (p - b64url);
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			bytes[nbytes++] = (uint8) (acc >> bits);
		}
	}
	/* 51 characters carry 306 bits: 38 bytes and 2 spare bits, which are 0 (46: 34 bytes and 4) */
	if ((acc & ((1u << bits) - 1)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid activity cursor: \"%s\"", str),
				 errdetail("The cursor's checksum does not match: it was truncated, corrupted or edited.")));

	problem = cursor_bytes_problem(bytes, nbytes);
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid activity cursor: \"%s\"", str),
				 errdetail_internal("%s", problem)));

	result = palloc(VARHDRSZ + nbytes);
	SET_VARSIZE(result, VARHDRSZ + nbytes);
	memcpy(VARDATA(result), bytes, nbytes);
	PG_RETURN_BYTEA_P(result);
}

/*
 * activity.cursor output: unpadded URL-safe base64.
 */
Datum
activity_cursor_out(PG_FUNCTION_ARGS)
{
	bytea	   *v = PG_GETARG_BYTEA_PP(0);
	const uint8 *b = (const uint8 *) VARDATA_ANY(v);
	int			len = VARSIZE_ANY_EXHDR(v);
	char	   *out = palloc(len * 4 / 3 + 4);
	char	   *o = out;
	uint32		acc = 0;
	int			bits = 0;
	int			i;

	for (i = 0; i < len; i++)
	{
		acc = (acc << 8) | b[i];
		bits += 8;
		while (bits >= 6)
		{
			bits -= 6;
			*o++ = b64url[(acc >> bits) & 0x3F];
		}
	}
	if (bits > 0)
		*o++ = b64url[(acc << (6 - bits)) & 0x3F];
	*o = '\0';
	PG_RETURN_CSTRING(out);
}

/*
 * A cursor from its raw bytes (binary input, or a bytea), checked.
 */
static Datum
cursor_from_bytes(const uint8 *b, int len)
{
	const char *problem = cursor_bytes_problem(b, len);
	bytea	   *result;

	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid activity cursor in binary input"),
				 errdetail_internal("%s", problem)));
	result = palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), b, len);
	return PointerGetDatum(result);
}

/*
 * activity.cursor binary input: the 38 raw bytes (34 of format 1), checked
 * like text input.
 */
Datum
activity_cursor_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	Datum		result = cursor_from_bytes((const uint8 *) buf->data + buf->cursor, len);

	buf->cursor += len;
	PG_RETURN_DATUM(result);
}

PG_FUNCTION_INFO_V1(activity_cursor_from_bytea);

/*
 * bytea -> activity.cursor: the raw bytes of a cursor (what binary output
 * sends), checked like binary input.
 */
Datum
activity_cursor_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *in = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_DATUM(cursor_from_bytes((const uint8 *) VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in)));
}

/*
 * activity.cursor binary output: the raw bytes.
 */
Datum
activity_cursor_send(PG_FUNCTION_ARGS)
{
	bytea	   *v = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * activity.cursor = activity.cursor
 */
Datum
activity_cursor_eq(PG_FUNCTION_ARGS)
{
	bytea	   *a = PG_GETARG_BYTEA_PP(0);
	bytea	   *b = PG_GETARG_BYTEA_PP(1);

	PG_RETURN_BOOL(VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
				   memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0);
}

/*
 * activity.cursor_info(cursor): what a cursor holds, for debugging.
 */
Datum
activity_cursor_info(PG_FUNCTION_ARGS)
{
	ActivityCursor c;
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	activity_cursor_read(PG_GETARG_DATUM(0), &c);
	*id = c.id;
	values[0] = Int32GetDatum(c.format_version);
	values[1] = CStringGetTextDatum((c.flags & CURSOR_FLAG_ASC) ? "asc" : "desc");
	values[2] = TimestampTzGetDatum(c.occurred_at);
	values[3] = UUIDPGetDatum(id);
	values[4] = Int64GetDatum((int64) c.query_hash);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
