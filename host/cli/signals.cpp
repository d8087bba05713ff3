// Signal handlers for prompt, clean interruption.
#include "signals.hpp"

#include <unistd.h>
#include <csignal>

#include "hetero/output.hpp"

namespace hetero::cli {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signal) {
  if (g_stop.exchange(true)) {  // second signal: leave now, taking no partial file along
    remove_unfinished_outputs();
    _exit(128 + signal);
  }
  g_signal.store(signal);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

const std::atomic<bool>& stop_flag() {
  return g_stop;
}
int stop_signal() {
  return g_signal.load();
}

}  // namespace hetero::cli
