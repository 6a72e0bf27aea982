// Result<T> and Error: how everything in warren reports failure.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace warren {

enum class Code : int {
  Ok = 0,
  InvalidArgument = 1,
  NotFound = 2,
  AlreadyExists = 3,
  PermissionDenied = 4,
  FailedPrecondition = 5,
  Unavailable = 6,
  Internal = 7,
  Unimplemented = 8,
};

inline const char* codeName(Code c) {
  switch (c) {
    case Code::Ok: return "ok";
    case Code::InvalidArgument: return "invalid argument";
    case Code::NotFound: return "not found";
    case Code::AlreadyExists: return "already exists";
    case Code::PermissionDenied: return "permission denied";
    case Code::FailedPrecondition: return "failed precondition";
    case Code::Unavailable: return "unavailable";
    case Code::Internal: return "internal";
    case Code::Unimplemented: return "unimplemented";
  }
  return "unknown";
}

class Error {
 public:
  Error() = default;
  Error(Code code, std::string message, int err = 0)
      : code_(code), errno_(err), message_(std::move(message)) {}

  // An error from a failed system call: "what: strerror(err)".
  static Error sys(int err, std::string_view what) {
    std::string m(what);
    m += ": ";
    m += std::strerror(err);
    Code c = Code::Internal;
    switch (err) {
      case ENOENT: c = Code::NotFound; break;
      case EEXIST: c = Code::AlreadyExists; break;
      case EPERM:
      case EACCES: c = Code::PermissionDenied; break;
      case EINVAL: c = Code::InvalidArgument; break;
      case EBUSY:
      case EAGAIN: c = Code::Unavailable; break;
      default: break;
    }
    return Error(c, std::move(m), err);
  }
  static Error errnoNow(std::string_view what) { return sys(errno, what); }

  Code code() const { return code_; }
  int err() const { return errno_; }
  const std::string& message() const { return message_; }

  // Adds context on the way up: "ctx: message".
  Error& context(std::string_view ctx) & {
    message_ = std::string(ctx) + ": " + message_;
    return *this;
  }
  Error&& context(std::string_view ctx) && {
    message_ = std::string(ctx) + ": " + message_;
    return std::move(*this);
  }

 private:
  Code code_ = Code::Internal;
  int errno_ = 0;
  std::string message_;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Code code, std::string message, int err = 0) {
  return tl::make_unexpected(Error(code, std::move(message), err));
}
inline tl::unexpected<Error> fail(Error e) { return tl::make_unexpected(std::move(e)); }
inline tl::unexpected<Error> failErrno(std::string_view what) {
  return tl::make_unexpected(Error::errnoNow(what));
}

}  // namespace warren

// Propagate an error from a Result-returning expression, adding nothing.
#define WARREN_TRY(expr)                                       \
  do {                                                         \
    auto warren_try_r_ = (expr);                               \
    if (!warren_try_r_) return tl::make_unexpected(std::move(warren_try_r_.error())); \
  } while (0)

// Assign the value of a Result or return its error.
#define WARREN_CONCAT_INNER_(a, b) a##b
#define WARREN_CONCAT_(a, b) WARREN_CONCAT_INNER_(a, b)
#define WARREN_ASSIGN_OR_RETURN(lhs, expr)                                     \
  auto WARREN_CONCAT_(warren_r_, __LINE__) = (expr);                           \
  if (!WARREN_CONCAT_(warren_r_, __LINE__))                                    \
    return tl::make_unexpected(std::move(WARREN_CONCAT_(warren_r_, __LINE__).error())); \
  lhs = std::move(*WARREN_CONCAT_(warren_r_, __LINE__))
