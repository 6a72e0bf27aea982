// warren SDK logging: a plugin's log lines go through the host's C callback
// (warren_host.log) and nothing else - no spdlog or fmt type, symbol or
// library crosses the plugin boundary, so a plugin works with whatever
// logging library (and version) the host was built with.
//
//   auto log = warren::sdk::makeLogger("org.warren.isolator.pid");
//   log->info("container_id={} pid namespace: {}", id, mode);
//
// Header-only. The format string takes `{}` placeholders (and `{{` / `}}` for
// literal braces), checked against the argument count at compile time.
// Arguments: strings, characters, bools, integers, floating point, and any
// type with an `operator<<` for std::ostream. The format must be a literal; a message
// built at run time is logged as `log->info("{}", text)`.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "warren/sdk/abi.h"

namespace warren::sdk {

namespace detail {

// Called (not constexpr) from a consteval constructor when the format string
// and the arguments disagree: the compile error names this function.
inline void format_string_placeholders_do_not_match_arguments() {}

// The number of `{}` in `f`, or -1 when `f` has a lone brace or a `{...}` spec.
constexpr int countPlaceholders(std::string_view f) {
  int n = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '{') {
      if (i + 1 < f.size() && f[i + 1] == '{') { ++i; continue; }
      if (i + 1 < f.size() && f[i + 1] == '}') { ++n; ++i; continue; }
      return -1;
    }
    if (f[i] == '}') {
      if (i + 1 < f.size() && f[i + 1] == '}') { ++i; continue; }
      return -1;
    }
  }
  return n;
}

inline const warren_host*& logHostSlot() {
  static const warren_host* host = nullptr;
  return host;
}

template <typename T>
void appendArg(std::string& out, const T& v) {
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_same_v<D, char>) {
    out += v;
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out += std::string_view(v);
  } else if constexpr (std::is_integral_v<D>) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  } else if constexpr (std::is_enum_v<D>) {
    appendArg(out, static_cast<std::underlying_type_t<D>>(v));
  } else {
    std::ostringstream s;  // floating point (shortest form) and operator<< types
    s << v;
    out += s.str();
  }
}

}  // namespace detail

// A format string checked at compile time: as many `{}` as arguments.
template <typename... Args>
struct FormatString {
  template <typename S>
    requires std::is_convertible_v<const S&, std::string_view>
  consteval FormatString(const S& s) : str(s) {  // NOLINT: implicit on purpose
    if (detail::countPlaceholders(str) != static_cast<int>(sizeof...(Args))) {
      detail::format_string_placeholders_do_not_match_arguments();
    }
  }
  std::string_view str;
};

// `{}` placeholders replaced by the arguments, in order.
template <typename... Args>
std::string format(FormatString<std::type_identity_t<Args>...> f, const Args&... args) {
  std::string out;
  out.reserve(f.str.size() + 16 * sizeof...(Args));
  std::string_view s = f.str;
  auto literalUntilPlaceholder = [&] {
    while (!s.empty()) {
      char c = s.front();
      if ((c == '{' || c == '}') && s.size() > 1 && s[1] == c) {
        out += c;
        s.remove_prefix(2);
      } else if (c == '{') {
        s.remove_prefix(2);  // "{}"
        return;
      } else {
        out += c;
        s.remove_prefix(1);
      }
    }
  };
  literalUntilPlaceholder();
  ((detail::appendArg(out, args), literalUntilPlaceholder()), ...);
  return out;
}

enum class LogLevel : int32_t {
  Trace = WARREN_LOG_TRACE,
  Debug = WARREN_LOG_DEBUG,
  Info = WARREN_LOG_INFO,
  Warn = WARREN_LOG_WARN,
  Error = WARREN_LOG_ERROR,
};

// One component's logger. By default its lines go to the log callback of the
// host that loaded the plugin; a test (or a tool using plugin code outside a
// host) can give it its own sink.
class Logger {
 public:
  using Sink = std::function<void(LogLevel, std::string_view logger, std::string_view msg)>;

  explicit Logger(std::string name, Sink sink = nullptr) : name_(std::move(name)), sink_(std::move(sink)) {}

  const std::string& name() const { return name_; }

  void log(LogLevel level, std::string_view msg) const {
    if (sink_) {
      sink_(level, name_, msg);
      return;
    }
    const warren_host* h = detail::logHostSlot();
    if (h != nullptr && h->log != nullptr) {
      h->log(h->ctx, static_cast<int32_t>(level), name_.c_str(), msg.data(), msg.size());
    }
  }

  template <typename... A>
  void trace(FormatString<std::type_identity_t<A>...> f, const A&... a) const {
    log(LogLevel::Trace, format<A...>(f, a...));
  }
  template <typename... A>
  void debug(FormatString<std::type_identity_t<A>...> f, const A&... a) const {
    log(LogLevel::Debug, format<A...>(f, a...));
  }
  template <typename... A>
  void info(FormatString<std::type_identity_t<A>...> f, const A&... a) const {
    log(LogLevel::Info, format<A...>(f, a...));
  }
  template <typename... A>
  void warn(FormatString<std::type_identity_t<A>...> f, const A&... a) const {
    log(LogLevel::Warn, format<A...>(f, a...));
  }
  template <typename... A>
  void error(FormatString<std::type_identity_t<A>...> f, const A&... a) const {
    log(LogLevel::Error, format<A...>(f, a...));
  }

 private:
  std::string name_;
  Sink sink_;
};

inline std::string_view logLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::Trace: return "trace";
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warning";
    case LogLevel::Error: return "error";
  }
  return "?";
}

// A sink writing "[logger] [level] msg" lines to a stream (tests, tools).
inline Logger::Sink streamLogSink(std::ostream& os) {
  auto mu = std::make_shared<std::mutex>();
  return [&os, mu](LogLevel l, std::string_view logger, std::string_view msg) {
    std::lock_guard<std::mutex> lk(*mu);
    os << '[' << logger << "] [" << logLevelName(l) << "] " << msg << '\n';
  };
}

// A logger whose lines go through the host's log callback.
inline std::shared_ptr<Logger> makeLogger(std::string name) {
  return std::make_shared<Logger>(std::move(name));
}

}  // namespace warren::sdk
