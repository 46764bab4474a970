/*
 * uuidv7.c
 *		RFC 9562 UUIDv7 generation, monotonic within a backend.
 *
 * Layout: 48-bit Unix time in milliseconds, version 7, a 12-bit counter
 * (RFC 9562 section 6.2, method 1) seeded randomly each millisecond, the
 * variant bits and 62 random bits. When the counter would overflow, or the
 * clock goes backwards, the timestamp is advanced by one millisecond instead,
 * so every id this backend returns is greater than the previous one.
 */
#include "postgres.h"

#include <sys/time.h>

#include "fmgr.h"
#include "port.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "activity.h"

PG_FUNCTION_INFO_V1(activity_uuidv7);
PG_FUNCTION_INFO_V1(activity_uuidv7_time);

static uint64 last_ms = 0;
static uint16 last_counter = 0;

/*
 * Fill *uuid with a new UUIDv7 greater than any this backend made before.
 */
void
activity_uuidv7_generate(pg_uuid_t *uuid)
{
	struct timeval tv;
	uint64		ms;
	uint16		counter;
	uint8		rnd[10];

	if (!pg_strong_random(rnd, sizeof(rnd)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes for a UUID")));

	gettimeofday(&tv, NULL);
	ms = (uint64) tv.tv_sec * 1000 + tv.tv_usec / 1000;

	if (ms > last_ms)
	{
		/* new millisecond: random counter start, top bit clear for headroom */
		counter = ((rnd[8] << 8) | rnd[9]) & 0x07FF;
	}
	else
	{
		/* same millisecond, or the clock went back: keep counting */
		ms = last_ms;
		counter = last_counter + 1;
		if (counter > 0x0FFF)
		{
			ms++;
			counter = ((rnd[8] << 8) | rnd[9]) & 0x07FF;
		}
	}
	last_ms = ms;
	last_counter = counter;

	uuid->data[0] = (uint8) (ms >> 40);
	uuid->data[1] = (uint8) (ms >> 32);
	uuid->data[2] = (uint8) (ms >> 24);
	uuid->data[3] = (uint8) (ms >> 16);
	uuid->data[4] = (uint8) (ms >> 8);
	uuid->data[5] = (uint8) ms;
	uuid->data[6] = 0x70 | (uint8) (counter >> 8);
	uuid->data[7] = (uint8) counter;
	uuid->data[8] = 0x80 | (rnd[0] & 0x3F);
	memcpy(&uuid->data[9], &rnd[1], 7);
}

/*
 * activity.uuidv7() returns uuid
 */
Datum
activity_uuidv7(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *uuid = palloc(sizeof(pg_uuid_t));

	activity_uuidv7_generate(uuid);
	PG_RETURN_UUID_P(uuid);
}

/*
 * The creation time embedded in a UUIDv7; false for other UUID versions.
 */
bool
activity_uuidv7_timestamp(const pg_uuid_t *uuid, TimestampTz *ts)
{
	uint64		ms = 0;
	int			i;

	if ((uuid->data[6] >> 4) != 7 || (uuid->data[8] & 0xC0) != 0x80)
		return false;
	for (i = 0; i < 6; i++)
		ms = (ms << 8) | uuid->data[i];
	/* Unix epoch ms -> Postgres epoch us */
	*ts = (TimestampTz) ms * 1000 -
		((TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	return true;
}

/*
 * activity.uuidv7_time(uuid) returns timestamptz: the embedded creation time,
 * or NULL when the UUID is not version 7.
 */
Datum
activity_uuidv7_time(PG_FUNCTION_ARGS)
{
	TimestampTz ts;

	if (!activity_uuidv7_timestamp(PG_GETARG_UUID_P(0), &ts))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(ts);
}
