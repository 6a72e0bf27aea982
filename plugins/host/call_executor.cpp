#include "host/call_executor.hpp"

#include <condition_variable>
#include <thread>

namespace warren::plugins {

// Shared between the caller and the executor thread; the thread holds a
// reference, so an abandoned thread never touches freed memory.
struct CallExecutor::State {
  std::mutex mu;
  std::condition_variable work_cv;
  std::condition_variable done_cv;
  std::function<void()> job;
  bool has_job = false;
  uint64_t finished = 0;  // jobs completed so far
  bool stop = false;
  std::thread thread;
};

std::shared_ptr<CallExecutor::State> CallExecutor::start() {
  auto s = std::make_shared<State>();
  s->thread = std::thread([s]() {
    std::unique_lock lock(s->mu);
    for (;;) {
      s->work_cv.wait(lock, [&] { return s->stop || s->has_job; });
      if (!s->has_job) return;  // stopped and idle
      auto job = std::move(s->job);
      lock.unlock();
      job();
      job = nullptr;  // release what the job owns outside the lock
      lock.lock();
      s->has_job = false;
      ++s->finished;
      s->done_cv.notify_all();
      if (s->stop) return;
    }
  });
  return s;
}

bool CallExecutor::run(std::function<void()> fn, std::chrono::milliseconds deadline) {
  std::lock_guard guard(mu_);
  if (!state_) state_ = start();
  auto s = state_;
  std::unique_lock lock(s->mu);
  uint64_t ticket = s->finished + 1;
  s->job = std::move(fn);
  s->has_job = true;
  s->work_cv.notify_one();
  auto done = [&] { return s->finished >= ticket; };
  if (deadline.count() <= 0) {
    s->done_cv.wait(lock, done);
    return true;
  }
  if (s->done_cv.wait_for(lock, deadline, done)) return true;
  // Overran: abandon this thread; it exits once the job returns.
  s->stop = true;
  lock.unlock();
  s->thread.detach();
  state_.reset();
  ++abandoned_;
  return false;
}

int CallExecutor::abandoned() const {
  std::lock_guard guard(mu_);
  return abandoned_;
}

CallExecutor::~CallExecutor() {
  std::lock_guard guard(mu_);
  if (!state_) return;
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
    state_->work_cv.notify_one();
  }
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace warren::plugins
