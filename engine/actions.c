#include "lib/common.h"
#include "engine/engine.h"

#include "lib/banned.h"

const struct actions engine_actions = {
    .precheck = engine_precheck,
    .whitelist = cloud_whitelist_action,
    .schema = engine_schema,
    .full = engine_full,
    .incremental = engine_incremental,
    .verify = engine_verify,
};
