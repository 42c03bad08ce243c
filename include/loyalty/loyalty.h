// The umbrella header: everything an application needs to embed the engine.
//
//   #include "loyalty/loyalty.h"
//   auto store = loyalty::OpenSqliteStore("journal.db");
//   auto engine = loyalty::Engine::Open(*std::move(store), clock, program);
#ifndef LOYALTY_LOYALTY_H_
#define LOYALTY_LOYALTY_H_

#include "loyalty/accrual.h"
#include "loyalty/audit.h"
#include "loyalty/command.h"
#include "loyalty/distribution.h"
#include "loyalty/engine.h"
#include "loyalty/io.h"
#include "loyalty/ledger.h"
#include "loyalty/profiles.h"
#include "loyalty/partner.h"
#include "loyalty/program.h"
#include "loyalty/redemption.h"
#include "loyalty/shard_map.h"
#include "loyalty/sharded_engine.h"
#include "loyalty/report_html.h"
#include "loyalty/store.h"
#include "loyalty/tiers.h"
#include "loyalty/time.h"
#include "loyalty/value.h"

#endif  // LOYALTY_LOYALTY_H_
