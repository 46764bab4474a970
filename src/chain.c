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
#include "utils/builtins.h"
#include "utils/jsonb.h"
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
