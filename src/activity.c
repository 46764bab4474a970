/*
 * activity.c
 *		Module entry point: settings (GUCs) of the activity extension.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "activity.h"

PG_MODULE_MAGIC;

int			activity_max_metadata_bytes = 256 * 1024;
int			activity_max_metadata_depth = 32;
bool		activity_trust_existing_rows = false;
bool		activity_direct_scans = true;

void		_PG_init(void);

/*
 * Define the extension's settings. Nothing here needs shared_preload_libraries:
 * the library is loaded on first use in each session.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("activity.max_metadata_bytes",
							"Largest metadata payload an activity may carry.",
							"Measured as the size of the stored jsonb value.",
							&activity_max_metadata_bytes,
							256 * 1024, 64, 64 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("activity.max_metadata_depth",
							"Deepest nesting of objects and arrays allowed in activity metadata.",
							"The top-level object is depth 1.",
							&activity_max_metadata_depth,
							32, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("activity.direct_scans",
							 "Lets activity.page() read partitions by direct index scans.",
							 "Off: every partition is read through a cached plan of the same query "
							 "(for comparisons and diagnosis; slower on feeds that visit many partitions).",
							 &activity_direct_scans,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("activity.trust_existing_rows",
							 "Lets the validation constraint accept rows already in the log without checking them again.",
							 "Set by activity.maintain() while it moves rows between partitions, and by the "
							 "upgrade to 0.2 while it adds the constraint; it has effect only for the owner "
							 "of activity.activities.",
							 &activity_trust_existing_rows,
							 false,
							 PGC_USERSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("activity");
#else
	EmitWarningsOnPlaceholders("activity");
#endif
}
