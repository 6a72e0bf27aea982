// warren SDK shim: write an ordinary C++ Isolator or Provisioner subclass and
// export it with one macro. The shim turns the C ABI's bytes into generated
// messages, catches every exception, and gives the plugin a logger whose lines
// go to the host's C log callback (warren/sdk/log.hpp).
//
//   class MyIsolator : public warren::sdk::Isolator { ... };
//   WARREN_ISOLATOR_PLUGIN(MyIsolator, "com.vendor.isolator.foo", "foo", "1.0.0")
//
// The class needs a static factory:
//   static warren::Result<std::unique_ptr<MyIsolator>> create(
//       const warren::v1::PluginContext& ctx);
// and may declare its static surface (flags, thread_safe, config fields),
// which the host reads without creating an instance:
//   static warren::v1::PluginInfo describe();
// Events for the embedder (e.g. progress) go through emitEvent().
#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <google/protobuf/util/json_util.h>

#include "warren/sdk/abi.h"
#include "warren/sdk/ids.hpp"
#include "warren/sdk/log.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::sdk {

// The C ABI's codes are warren::Code's numbers: a plugin's error crosses the
// boundary as a plain int.
static_assert(WARREN_OK == static_cast<int>(Code::Ok));
static_assert(WARREN_INVALID_ARGUMENT == static_cast<int>(Code::InvalidArgument));
static_assert(WARREN_NOT_FOUND == static_cast<int>(Code::NotFound));
static_assert(WARREN_ALREADY_EXISTS == static_cast<int>(Code::AlreadyExists));
static_assert(WARREN_PERMISSION_DENIED == static_cast<int>(Code::PermissionDenied));
static_assert(WARREN_FAILED_PRECONDITION == static_cast<int>(Code::FailedPrecondition));
static_assert(WARREN_UNAVAILABLE == static_cast<int>(Code::Unavailable));
static_assert(WARREN_INTERNAL == static_cast<int>(Code::Internal));
static_assert(WARREN_UNIMPLEMENTED == static_cast<int>(Code::Unimplemented));

namespace detail {
// The host that last created an instance: where log lines and events go.
inline const warren_host*& hostSlot() { return logHostSlot(); }
inline void emitTo(const warren_host* h, const google::protobuf::MessageLite& ev) {
  if (h == nullptr) h = hostSlot();
  if (h == nullptr || h->struct_size < offsetof(warren_host, event) + sizeof(h->event) ||
      h->event == nullptr) {
    return;  // a host older than ABI 1.1 takes no events
  }
  std::string bytes;
  if (!ev.SerializeToString(&bytes)) return;
  h->event(h->ctx, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}
template <typename Impl>
int32_t createInstance(const warren_host*, const uint8_t*, size_t, void**, warren_sink*);
}  // namespace detail

// One event for the embedder (warren_host.event), through the host this
// plugin was last created by. No-op on hosts older than ABI 1.1.
inline void emitEvent(const v1::PluginEvent& ev) { detail::emitTo(nullptr, ev); }

// What Isolator and Provisioner share: the host that made this instance.
class PluginBase {
 public:
  virtual ~PluginBase() = default;
  // One event for the embedder, through the host that created this instance.
  void emitEvent(const v1::PluginEvent& ev) const { detail::emitTo(host_, ev); }

 private:
  template <typename Impl>
  friend int32_t detail::createInstance(const warren_host*, const uint8_t*, size_t, void**,
                                        warren_sink*);
  const warren_host* host_ = nullptr;
};

// ---------------------------------------------------------------- interfaces

class Isolator : public PluginBase {
 public:
  virtual ~Isolator() = default;
  virtual v1::PluginInfo info() const {
    v1::PluginInfo i;
    i.set_supports_nesting(true);
    i.set_supports_standalone(true);
    return i;
  }
  virtual Result<void> recover(const v1::RecoverRequest&) { return {}; }
  virtual Result<v1::LaunchInfo> prepare(const v1::PrepareRequest&) { return v1::LaunchInfo{}; }
  virtual Result<void> isolate(const v1::IsolateRequest&) { return {}; }
  virtual Result<v1::WatchResponse> watch(const v1::WatchRequest&) { return v1::WatchResponse{}; }
  virtual Result<void> update(const v1::UpdateRequest&) { return {}; }
  virtual Result<v1::ResourceStatistics> usage(const v1::ContainerRequest&) {
    return v1::ResourceStatistics{};
  }
  virtual Result<v1::ContainerStatus> status(const v1::ContainerRequest&) {
    return v1::ContainerStatus{};
  }
  // Idempotent; accepts containers it never saw.
  virtual Result<void> cleanup(const v1::ContainerRequest&) { return {}; }
};

class Provisioner : public PluginBase {
 public:
  virtual ~Provisioner() = default;
  virtual v1::PluginInfo info() const = 0;  // must list schemes
  virtual Result<void> recover(const v1::RecoverRequest&) { return {}; }
  virtual Result<v1::ProvisionResponse> provision(const v1::ProvisionRequest&) = 0;
  virtual Result<void> destroy(const v1::ContainerRequest&) = 0;
  virtual Result<v1::ImageInfo> pull(const v1::ImageRequest&) {
    return fail(Code::Unimplemented, "pull is not supported");
  }
  virtual Result<v1::ImageList> listImages(const v1::Empty&) { return v1::ImageList{}; }
  virtual Result<v1::PruneResponse> prune(const v1::Empty&) { return v1::PruneResponse{}; }
};

// Parse the plugin's JSON config into its own proto (empty JSON = defaults).
template <typename Config>
Result<Config> parseConfig(const v1::PluginContext& ctx) {
  Config cfg;
  if (ctx.config_json().empty()) return cfg;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(ctx.config_json(), &cfg, opts);
  if (!st.ok()) {
    return fail(Code::InvalidArgument, "invalid config: " + std::string(st.message()));
  }
  return cfg;
}

// ---------------------------------------------------------------- logging
// makeLogger(name) and Logger are in warren/sdk/log.hpp: lines go through the
// host's C log callback only (no spdlog/fmt across the boundary).

// ---------------------------------------------------------------- trampolines

namespace detail {

inline void writeString(warren_sink* out, const std::string& s) {
  if (out != nullptr && out->write != nullptr) {
    out->write(out->ctx, reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
}

inline int32_t writeError(warren_sink* out, const Error& e) {
  writeString(out, e.message());
  int32_t code = static_cast<int32_t>(e.code());
  return code == 0 ? WARREN_INTERNAL : code;
}

inline int32_t writeMessage(warren_sink* out, const google::protobuf::MessageLite& m) {
  std::string bytes;
  if (!m.SerializeToString(&bytes)) {
    return writeError(out, Error(Code::Internal, "could not serialize response"));
  }
  writeString(out, bytes);
  return WARREN_OK;
}

template <typename Req>
Result<Req> parse(const uint8_t* data, size_t len) {
  Req r;
  if (!r.ParseFromArray(data, static_cast<int>(len))) {
    return fail(Code::InvalidArgument, "malformed request " + r.GetTypeName());
  }
  return r;
}

// Dispatch one call: parse, invoke, serialize. F returns Result<Resp|void>.
template <typename Req, typename F>
int32_t dispatch(const uint8_t* data, size_t len, warren_sink* out, F&& f) {
  auto req = parse<Req>(data, len);
  if (!req) return writeError(out, req.error());
  auto res = f(*req);
  if (!res) return writeError(out, res.error());
  if constexpr (std::is_same_v<decltype(res), Result<void>>) {
    return writeMessage(out, v1::Empty{});
  } else {
    return writeMessage(out, *res);
  }
}

template <typename Impl>
int32_t createInstance(const warren_host* host, const uint8_t* context, size_t len,
                       void** instance, warren_sink* out) {
  try {
    if (host != nullptr) hostSlot() = host;
    auto ctx = parse<v1::PluginContext>(context, len);
    if (!ctx) return writeError(out, ctx.error());
    auto made = Impl::create(*ctx);
    if (!made) return writeError(out, made.error());
    static_cast<PluginBase*>(made->get())->host_ = host;
    *instance = made->release();
    return WARREN_OK;
  } catch (const std::exception& e) {
    return writeError(out, Error(Code::Internal, std::string("create threw: ") + e.what()));
  } catch (...) {
    return writeError(out, Error(Code::Internal, "create threw an unknown exception"));
  }
}

// Impl::describe() when the class declares it, else an empty PluginInfo.
template <typename Impl>
int32_t describePlugin(warren_sink* out) {
  try {
    if constexpr (requires { { Impl::describe() } -> std::convertible_to<v1::PluginInfo>; }) {
      return writeMessage(out, v1::PluginInfo(Impl::describe()));
    } else {
      return writeMessage(out, v1::PluginInfo{});
    }
  } catch (const std::exception& e) {
    return writeError(out, Error(Code::Internal, std::string("describe threw: ") + e.what()));
  } catch (...) {
    return writeError(out, Error(Code::Internal, "describe threw an unknown exception"));
  }
}

template <typename Impl>
void destroyInstance(void* instance) {
  try {
    delete static_cast<Impl*>(instance);
  } catch (...) {
  }
}

template <typename Impl>
int32_t isolatorCall(void* instance, uint32_t method, const uint8_t* d, size_t n,
                     warren_sink* out) {
  auto* self = static_cast<Impl*>(instance);
  try {
    switch (method) {
      case v1::INFO: return writeMessage(out, self->info());
      case v1::RECOVER:
        return dispatch<v1::RecoverRequest>(d, n, out, [&](auto& r) { return self->recover(r); });
      case v1::PREPARE:
        return dispatch<v1::PrepareRequest>(d, n, out, [&](auto& r) -> Result<v1::PrepareResponse> {
          auto li = self->prepare(r);
          if (!li) return fail(li.error());
          v1::PrepareResponse resp;
          *resp.mutable_launch_info() = std::move(*li);
          return resp;
        });
      case v1::ISOLATE:
        return dispatch<v1::IsolateRequest>(d, n, out, [&](auto& r) { return self->isolate(r); });
      case v1::WATCH:
        return dispatch<v1::WatchRequest>(d, n, out, [&](auto& r) { return self->watch(r); });
      case v1::UPDATE:
        return dispatch<v1::UpdateRequest>(d, n, out, [&](auto& r) { return self->update(r); });
      case v1::USAGE:
        return dispatch<v1::ContainerRequest>(d, n, out, [&](auto& r) { return self->usage(r); });
      case v1::STATUS:
        return dispatch<v1::ContainerRequest>(d, n, out, [&](auto& r) { return self->status(r); });
      case v1::CLEANUP:
        return dispatch<v1::ContainerRequest>(d, n, out, [&](auto& r) { return self->cleanup(r); });
      default:
        return writeError(out, Error(Code::Unimplemented,
                                     "method " + std::to_string(method) + " is not an isolator method"));
    }
  } catch (const std::exception& e) {
    return writeError(out, Error(Code::Internal, std::string("threw: ") + e.what()));
  } catch (...) {
    return writeError(out, Error(Code::Internal, "threw an unknown exception"));
  }
}

template <typename Impl>
int32_t provisionerCall(void* instance, uint32_t method, const uint8_t* d, size_t n,
                        warren_sink* out) {
  auto* self = static_cast<Impl*>(instance);
  try {
    switch (method) {
      case v1::INFO: return writeMessage(out, self->info());
      case v1::RECOVER:
        return dispatch<v1::RecoverRequest>(d, n, out, [&](auto& r) { return self->recover(r); });
      case v1::PROVISION:
        return dispatch<v1::ProvisionRequest>(d, n, out, [&](auto& r) { return self->provision(r); });
      case v1::DESTROY:
        return dispatch<v1::ContainerRequest>(d, n, out, [&](auto& r) { return self->destroy(r); });
      case v1::PULL:
        return dispatch<v1::ImageRequest>(d, n, out, [&](auto& r) { return self->pull(r); });
      case v1::LIST_IMAGES:
        return dispatch<v1::Empty>(d, n, out, [&](auto& r) { return self->listImages(r); });
      case v1::PRUNE:
        return dispatch<v1::Empty>(d, n, out, [&](auto& r) { return self->prune(r); });
      default:
        return writeError(out, Error(Code::Unimplemented,
                                     "method " + std::to_string(method) + " is not a provisioner method"));
    }
  } catch (const std::exception& e) {
    return writeError(out, Error(Code::Internal, std::string("threw: ") + e.what()));
  } catch (...) {
    return writeError(out, Error(Code::Internal, "threw an unknown exception"));
  }
}

}  // namespace detail
}  // namespace warren::sdk

#define WARREN_PLUGIN_EXPORT_ extern "C" __attribute__((visibility("default")))

// The plugin's embedded proto files, generated by warren_add_plugin() from
// its PROTOS (ABI 1.2). Weak: a plugin built some other way lists none.
extern "C" __attribute__((weak, visibility("hidden"))) const char* const
    warren_plugin_proto_files_[];

// One identity per plugin: built with warren_add_plugin(NAME ...), the names
// in the descriptor must be the ones derived from the short name (see
// WarrenPlugin.cmake); a mismatch is a compile error naming the expected one.
#ifdef WARREN_PLUGIN_EXPECTED_NAME
#define WARREN_CHECK_IDENTITY_(Kind, Name, ShortName)                                            \
  static_assert(std::string_view(Name) == WARREN_PLUGIN_EXPECTED_NAME,                             \
                "plugin name must be " WARREN_PLUGIN_EXPECTED_NAME " (derived from the short name)"); \
  static_assert(std::string_view(ShortName) == WARREN_PLUGIN_EXPECTED_SHORT_NAME,                  \
                "short name must be " WARREN_PLUGIN_EXPECTED_SHORT_NAME " (warren_add_plugin NAME)");   \
  static_assert((Kind) == WARREN_PLUGIN_EXPECTED_KIND, "plugin kind differs from warren_add_plugin KIND");
#else
#define WARREN_CHECK_IDENTITY_(Kind, Name, ShortName)
#endif

#define WARREN_DEFINE_PLUGIN_(Class, Kind, CallFn, Name, ShortName, Version)      \
  WARREN_CHECK_IDENTITY_(Kind, Name, ShortName)                                  \
  WARREN_PLUGIN_EXPORT_ const warren_plugin_descriptor warren_plugin = {         \
      sizeof(warren_plugin_descriptor),                                                  \
      WARREN_ABI_MAJOR,                                                          \
      WARREN_ABI_MINOR,                                                          \
      Kind,                                                                      \
      Name,                                                                      \
      ShortName,                                                                 \
      Version,                                                                   \
      &::warren::sdk::detail::createInstance<Class>,                             \
      &::warren::sdk::detail::destroyInstance<Class>,                            \
      &::warren::sdk::detail::CallFn<Class>,                                     \
      &::warren::sdk::detail::describePlugin<Class>,                             \
      warren_plugin_proto_files_,                                                \
  };

#define WARREN_ISOLATOR_PLUGIN(Class, Name, ShortName, Version) \
  WARREN_DEFINE_PLUGIN_(Class, WARREN_KIND_ISOLATOR, isolatorCall, Name, ShortName, Version)

#define WARREN_PROVISIONER_PLUGIN(Class, Name, ShortName, Version) \
  WARREN_DEFINE_PLUGIN_(Class, WARREN_KIND_PROVISIONER, provisionerCall, Name, ShortName, Version)
