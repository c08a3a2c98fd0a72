#include "cli/signal_watcher.h"

namespace owsync::cli {

SignalWatcher::SignalWatcher(std::function<void(int signal)> on_signal) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  thread_ = std::thread([this, cb = std::move(on_signal)] {
    // Idle means idle: the destructor wakes this thread with a signal of its own.
    const timespec timeout{60, 0};
    while (!done_.load()) {
      int sig = sigtimedwait(&set_, nullptr, &timeout);
      if (sig > 0 && !done_.load()) cb(sig);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_.store(true);
  pthread_kill(thread_.native_handle(), SIGTERM);  // blocked here: taken by sigtimedwait
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace owsync::cli
