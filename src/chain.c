/*
 * chain.c
 *		The hash chain's digests: an activity's digest, and the link of a
 *		chain after the one before.
 *
 * An activity's digest is SHA-256 of, in order: the chain's secret key; the
 * ASCII text "activity-digest-1"; then for each of its columns but xact_id,
 * in the log's column order, either one byte 0 (NULL) or one byte 1, the
 * length of the value's bytes as a 4-byte big-endian integer, and the bytes:
 * a uuid's 16 bytes, a text's bytes (in the database encoding), a smallint
 * in decimal, a jsonb document as PostgreSQL prints it (keys sorted, one
 * space after ':' and ','), a timestamp as the decimal number of
 * microseconds since 1970-01-01 00:00:00 UTC. Nothing depends on the
 * session's settings, and the digest can be recomputed outside the database
 * from the values (README, Operations).
 *
 * A link is SHA-256 of the previous link followed by the digest.
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "funcapi.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "activity.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(activity_event_digest);
PG_FUNCTION_INFO_V1(activity_chain_step);

typedef enum DigestField
{
	DF_UUID,
	DF_TEXT,
	DF_INT2,
	DF_JSONB,
	DF_TIMESTAMPTZ
} DigestField;

/* the arguments after the key: the log's columns but xact_id, in order */
static const DigestField digest_fields[] = {
	DF_UUID,					/* id */
	DF_TEXT,					/* workspace_id */
	DF_TEXT,					/* platform */
	DF_TEXT,					/* type */
	DF_INT2,					/* version */
	DF_TEXT,					/* actor_type */
	DF_TEXT,					/* initiator_id */
	DF_TEXT,					/* recipient_id */
	DF_TEXT,					/* subject_type */
	DF_TEXT,					/* subject_id */
	DF_UUID,					/* caused_by */
	DF_JSONB,					/* metadata */
	DF_TIMESTAMPTZ,				/* occurred_at */
	DF_TIMESTAMPTZ,				/* recorded_at */
	DF_TEXT						/* function_type */
};

#define DIGEST_NFIELDS lengthof(digest_fields)

/* microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 */
#define UNIX_TO_PG_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC)

static pg_cryptohash_ctx *
sha256_begin(void)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize SHA-256");
	return ctx;
}

static void
sha256_add(pg_cryptohash_ctx *ctx, const void *data, size_t len)
{
	if (pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0)
		elog(ERROR, "could not compute SHA-256");
}

static bytea *
sha256_end(pg_cryptohash_ctx *ctx)
{
	bytea	   *result = (bytea *) palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	if (pg_cryptohash_final(ctx, (uint8 *) VARDATA(result), PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	return result;
}

static void
add_value(pg_cryptohash_ctx *ctx, const char *data, uint32 len)
{
	uint8		head[5];

	head[0] = 1;
	head[1] = (uint8) (len >> 24);
	head[2] = (uint8) (len >> 16);
	head[3] = (uint8) (len >> 8);
	head[4] = (uint8) len;
	sha256_add(ctx, head, sizeof(head));
	sha256_add(ctx, data, len);
}

/*
 * activity._event_digest(key bytea, <the log's columns but xact_id>) returns
 * bytea: an activity's digest (NULL without a key).
 */
Datum
activity_event_digest(PG_FUNCTION_ARGS)
{
	pg_cryptohash_ctx *ctx;
	bytea	   *key;
	int			i;
	static const char tag[] = "activity-digest-1";

	if (PG_NARGS() != DIGEST_NFIELDS + 1)
		elog(ERROR, "activity._event_digest takes %d arguments", (int) DIGEST_NFIELDS + 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	key = PG_GETARG_BYTEA_PP(0);
	ctx = sha256_begin();
	PG_TRY();
	{
		sha256_add(ctx, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key));
		sha256_add(ctx, tag, strlen(tag));
		for (i = 0; i < (int) DIGEST_NFIELDS; i++)
		{
			char		buf[32];
			char	   *s;

			if (PG_ARGISNULL(i + 1))
			{
				uint8		null_byte = 0;

				sha256_add(ctx, &null_byte, 1);
				continue;
			}
			switch (digest_fields[i])
			{
				case DF_UUID:
					add_value(ctx, (const char *) PG_GETARG_UUID_P(i + 1)->data, UUID_LEN);
					break;
				case DF_TEXT:
					{
						text	   *t = PG_GETARG_TEXT_PP(i + 1);

						add_value(ctx, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
						break;
					}
				case DF_INT2:
					snprintf(buf, sizeof(buf), "%d", (int) PG_GETARG_INT16(i + 1));
					add_value(ctx, buf, strlen(buf));
					break;
				case DF_JSONB:
					{
						Jsonb	   *j = PG_GETARG_JSONB_P(i + 1);

						s = JsonbToCString(NULL, &j->root, VARSIZE(j));
						add_value(ctx, s, strlen(s));
						pfree(s);
						break;
					}
				case DF_TIMESTAMPTZ:
					snprintf(buf, sizeof(buf), INT64_FORMAT,
							 (int64) PG_GETARG_TIMESTAMPTZ(i + 1) + UNIX_TO_PG_USECS);
					add_value(ctx, buf, strlen(buf));
					break;
			}
		}
	}
	PG_CATCH();
	{
		pg_cryptohash_free(ctx);
		PG_RE_THROW();
	}
	PG_END_TRY();
	PG_RETURN_BYTEA_P(sha256_end(ctx));
}

/*
 * activity._chain_step(state bytea, digest bytea) returns bytea: the link
 * after "state" (strict).
 */
Datum
activity_chain_step(PG_FUNCTION_ARGS)
{
	bytea	   *state = PG_GETARG_BYTEA_PP(0);
	bytea	   *digest = PG_GETARG_BYTEA_PP(1);
	pg_cryptohash_ctx *ctx = sha256_begin();

	sha256_add(ctx, VARDATA_ANY(state), VARSIZE_ANY_EXHDR(state));
	sha256_add(ctx, VARDATA_ANY(digest), VARSIZE_ANY_EXHDR(digest));
	PG_RETURN_BYTEA_P(sha256_end(ctx));
}

/*
 * The link before a workspace's first entry: SHA-256 of "activity hash
 * chain|" and the workspace id (activity._chain_genesis() in SQL).
 */
static void
chain_genesis(const char *ws, int len, uint8 *out)
{
	static const char prefix[] = "activity hash chain|";
	pg_cryptohash_ctx *ctx = sha256_begin();
	bytea	   *d;

	sha256_add(ctx, prefix, strlen(prefix));
	sha256_add(ctx, ws, len);
	d = sha256_end(ctx);
	memcpy(out, VARDATA(d), PG_SHA256_DIGEST_LENGTH);
	pfree(d);
}

typedef struct ChainHead
{
	char	   *workspace;
	int			len;
	int64		seq;
	uint8		chain[PG_SHA256_DIGEST_LENGTH];
	struct ChainHead *next;		/* other workspaces with the same key */
} ChainHead;

typedef struct HeadSlot
{
	uint32		hash;
	ChainHead  *list;
} HeadSlot;

/*
 * The head of a workspace (made, at its genesis link, if "create" and
 * absent).
 */
static ChainHead *
find_head(HTAB *heads, text *ws, bool create)
{
	const char *s = VARDATA_ANY(ws);
	int			len = VARSIZE_ANY_EXHDR(ws);
	uint32		hash = DatumGetUInt32(hash_any((const unsigned char *) s, len));
	bool		found;
	HeadSlot   *slot = hash_search(heads, &hash, create ? HASH_ENTER : HASH_FIND, &found);
	ChainHead  *h;

	if (slot == NULL)
		return NULL;
	if (!found)
		slot->list = NULL;
	for (h = slot->list; h != NULL; h = h->next)
		if (h->len == len && memcmp(h->workspace, s, len) == 0)
			return h;
	if (!create)
		return NULL;
	h = palloc0(sizeof(ChainHead));
	h->workspace = palloc(len);
	memcpy(h->workspace, s, len);
	h->len = len;
	h->seq = 0;
	chain_genesis(s, len, h->chain);
	h->next = slot->list;
	slot->list = h;
	return h;
}

/*
 * activity._chain_links(workspaces text[], digests bytea[], head_workspaces
 * text[], head_seqs bigint[], head_chains bytea[], OUT seqs bigint[], OUT
 * chains bytea[]): the entries of a batch, in order, linked to their
 * workspaces' chains: each entry's position and link, from the last entry of
 * its workspace (the heads given; a workspace without one starts from its
 * genesis link). One pass, no sort.
 */
PG_FUNCTION_INFO_V1(activity_chain_links);
Datum
activity_chain_links(PG_FUNCTION_ARGS)
{
	Datum	   *ws,
			   *dg,
			   *hws,
			   *hseq,
			   *hch;
	bool	   *wsn,
			   *dgn,
			   *hwsn,
			   *hseqn,
			   *hchn;
	int			n,
				ndg,
				nh,
				nhs,
				nhc,
				i;
	HASHCTL		ctl;
	HTAB	   *heads;
	Datum	   *seqs;
	Datum	   *chains;
	TupleDesc	tupdesc;
	Datum		result[2];
	bool		result_null[2] = {false, false};
	int			dims[1];
	int			lbs[1] = {1};
	int16		int8len;
	bool		int8byval;
	char		int8align;

	for (i = 0; i < 5; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the arguments of activity._chain_links() must not be null")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "activity._chain_links must return a record");
	tupdesc = BlessTupleDesc(tupdesc);

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT, &ws, &wsn, &n);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), BYTEAOID, -1, false, TYPALIGN_INT, &dg, &dgn, &ndg);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, &hws, &hwsn, &nh);
	get_typlenbyvalalign(INT8OID, &int8len, &int8byval, &int8align);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), INT8OID, int8len, int8byval, int8align, &hseq, &hseqn, &nhs);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(4), BYTEAOID, -1, false, TYPALIGN_INT, &hch, &hchn, &nhc);
	if (n != ndg || nh != nhs || nh != nhc)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the arrays of activity._chain_links() must be of matching lengths")));

	/* the workspaces' heads, by the hash of their id */
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(HeadSlot);
	ctl.hcxt = CurrentMemoryContext;
	heads = hash_create("activity chain heads", Max(16, nh * 2), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

#define FIND_HEAD(txt, create) find_head(heads, (txt), (create))
	for (i = 0; i < nh; i++)
	{
		ChainHead  *h;
		bytea	   *c;

		if (hwsn[i] || hseqn[i] || hchn[i])
			elog(ERROR, "activity._chain_links: a head must not be null");
		c = DatumGetByteaPP(hch[i]);
		if (VARSIZE_ANY_EXHDR(c) != PG_SHA256_DIGEST_LENGTH)
			elog(ERROR, "activity._chain_links: a head's link must be %d bytes", PG_SHA256_DIGEST_LENGTH);
		h = FIND_HEAD(DatumGetTextPP(hws[i]), true);
		h->seq = DatumGetInt64(hseq[i]);
		memcpy(h->chain, VARDATA_ANY(c), PG_SHA256_DIGEST_LENGTH);
	}

	seqs = palloc(sizeof(Datum) * Max(n, 1));
	chains = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		ChainHead  *h;
		bytea	   *d;
		pg_cryptohash_ctx *ctx;
		bytea	   *link;

		CHECK_FOR_INTERRUPTS();
		if (wsn[i] || dgn[i])
			elog(ERROR, "activity._chain_links: an entry's workspace and digest must not be null");
		h = FIND_HEAD(DatumGetTextPP(ws[i]), true);
		d = DatumGetByteaPP(dg[i]);
		ctx = sha256_begin();
		sha256_add(ctx, h->chain, PG_SHA256_DIGEST_LENGTH);
		sha256_add(ctx, VARDATA_ANY(d), VARSIZE_ANY_EXHDR(d));
		link = sha256_end(ctx);
		memcpy(h->chain, VARDATA(link), PG_SHA256_DIGEST_LENGTH);
		h->seq++;
		seqs[i] = Int64GetDatum(h->seq);
		chains[i] = PointerGetDatum(link);
	}
#undef FIND_HEAD
	dims[0] = n;
	if (n == 0)
	{
		result[0] = PointerGetDatum(construct_empty_array(INT8OID));
		result[1] = PointerGetDatum(construct_empty_array(BYTEAOID));
	}
	else
	{
		result[0] = PointerGetDatum(construct_md_array(seqs, NULL, 1, dims, lbs, INT8OID, int8len, int8byval, int8align));
		result[1] = PointerGetDatum(construct_md_array(chains, NULL, 1, dims, lbs, BYTEAOID, -1, false, TYPALIGN_INT));
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, result_null)));
}
