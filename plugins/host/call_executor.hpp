// Runs plugin calls on one long-lived thread so each call can be bounded by a
// deadline. A call that overruns is abandoned together with its thread (the
// thread is detached and exits when the call finally returns); the next call
// gets a fresh thread. Calls are serialized: one runs at a time.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

namespace warren::plugins {

class CallExecutor {
 public:
  CallExecutor() = default;
  ~CallExecutor();
  CallExecutor(const CallExecutor&) = delete;
  CallExecutor& operator=(const CallExecutor&) = delete;

  // Runs `fn` on the executor thread and waits up to `deadline` (<= 0: no
  // limit). Returns false when the deadline passed; `fn` then still runs to
  // completion on the abandoned thread, so everything it touches must be
  // owned by `fn` itself (capture shared_ptrs, not references).
  bool run(std::function<void()> fn, std::chrono::milliseconds deadline);

  // Threads abandoned so far (for tests and diagnostics).
  int abandoned() const;

 private:
  struct State;
  std::shared_ptr<State> start();

  mutable std::mutex mu_;  // serializes run(); guards state_
  std::shared_ptr<State> state_;
  int abandoned_ = 0;
};

}  // namespace warren::plugins
