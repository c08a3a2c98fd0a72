// SignalWatcher: turns SIGTERM/SIGINT into a callback (e.g. a loop's RequestStop()). The
// signals are blocked in every thread created after it and taken by sigtimedwait on its own
// thread, so nothing runs in a signal handler and there is no global state. Create it before
// any other thread; the callback runs on the watcher's thread.
#ifndef OWSYNC_CLI_SIGNAL_WATCHER_H_
#define OWSYNC_CLI_SIGNAL_WATCHER_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace owsync::cli {

class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int signal)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  sigset_t set_;
  sigset_t old_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace owsync::cli

#endif  // OWSYNC_CLI_SIGNAL_WATCHER_H_
