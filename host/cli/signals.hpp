// SIGINT and SIGTERM turn into a stop request that running jobs poll between tiles.
#pragma once

#include <atomic>

namespace hetero::cli {

/// Installs the handlers (idempotent). The first signal sets stop_flag(); a second one ends the
/// process at once, after removing the temporary files of unfinished outputs.
void install_stop_handlers();
const std::atomic<bool>& stop_flag();
/// The signal that set the flag, or 0.
int stop_signal();

}  // namespace hetero::cli
