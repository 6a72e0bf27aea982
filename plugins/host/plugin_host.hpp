// The plugin host: finds plugin files in --plugin_dir, loads them with
// Boost.DLL, checks each descriptor before calling anything, makes instances
// on demand and calls them through the C ABI with a deadline.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/message_lite.h>
#include <spdlog/logger.h>

#include "warren/sdk/abi.h"
#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::plugins {

enum class Kind { Isolator = WARREN_KIND_ISOLATOR, Provisioner = WARREN_KIND_PROVISIONER };

// Where a plugin's instance runs: in this process (calls are function calls
// on a per-plugin executor), or in its own warren-plugin-host process over a
// socketpair (a crash, exit or hang there fails the calls in flight and the
// plugin restarts; this process never dies with it).
enum class Isolation { InProcess, Process };

// Receives plugin events (warren_host.event, ABI 1.1): the plugin's short
// name and the event. Called on the thread of the plugin call that emitted
// it (possibly several at once); never after the PluginHost is destroyed.
using EventSink = std::function<void(const std::string& plugin, const v1::PluginEvent& event)>;

struct HostOptions {
  std::vector<std::string> plugin_dirs;
  std::string work_dir;       // plugin work dirs go under <work_dir>/plugins/<short>
  std::string runtime_dir;    // plugin runtime dirs under <runtime_dir>/plugins/<short>
  std::string cgroups_root;
  // Handed to every plugin in PluginContext.flags, keyed by the flag name a
  // plugin declares in its FlagSpec (e.g. "network_bridge"); a declared flag
  // missing here gets its default_value.
  std::map<std::string, std::string> flags;
  std::map<std::string, std::string> configs;  // short name -> JSON config
  std::chrono::milliseconds call_deadline{std::chrono::seconds(60)};
  // When set, checked descriptors are cached here and unchanged files are
  // listed without dlopen; each library is loaded when first instantiated.
  std::string descriptor_cache;
  // Where plugin events go (none: dropped).
  EventSink event_sink;
  // --plugin_isolation: per short name ("*": every plugin not named).
  std::map<std::string, Isolation> isolation;
  // Plugins not named above: first-party ones (reverse-DNS name under
  // org.warren.) and the rest. Why first-party defaults to in-process: the
  // measured per-call cost in README.md ("Plugin isolation").
  Isolation first_party_isolation = Isolation::InProcess;
  Isolation third_party_isolation = Isolation::Process;
  // warren-plugin-host; "" = the one of this install or build tree, found
  // relative to the binary (host/install_layout.hpp).
  std::string plugin_host_path;
};

// A loaded, checked library (not yet instantiated).
struct Descriptor {
  std::string path;
  std::string name;        // reverse-DNS
  std::string short_name;
  std::string version;
  Kind kind;
  uint16_t abi_major, abi_minor;
  v1::PluginInfo static_info;  // from describe (ABI >= 1.1); empty for 1.0 plugins
  std::vector<std::string> proto_files;  // embedded proto files (ABI 1.2 list, else scanned)
};

// A discovered plugin's static surface (no instance made).
struct PluginDescription {
  std::string short_name;
  Kind kind;
  v1::PluginInfo info;
};

class PluginHost;

// One instance of a plugin. Calls are serialized per instance.
class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual const Descriptor& descriptor() const = 0;
  virtual const v1::PluginInfo& info() const = 0;
  const std::string& shortName() const { return descriptor().short_name; }
  virtual Isolation isolation() const = 0;

  // Raw call: serialized request in, serialized response out. Errors read
  // "plugin 'pid' (/path/pid.so): prepare: <message>".
  virtual Result<std::string> callRaw(v1::Method method, const std::string& request) = 0;

  template <typename Resp>
  Result<Resp> call(v1::Method method, const google::protobuf::MessageLite& req) {
    std::string bytes;
    if (!req.SerializeToString(&bytes)) return fail(Code::Internal, "could not serialize request");
    auto raw = callRaw(method, bytes);
    if (!raw) return fail(raw.error());
    Resp r;
    if (!r.ParseFromString(*raw)) {
      return fail(Code::Internal, "plugin '" + shortName() + "' (" + descriptor().path +
                                      "): malformed response to method " +
                                      std::to_string(static_cast<int>(method)));
    }
    return r;
  }
};

class PluginHost {
 public:
  static std::unique_ptr<PluginHost> create(HostOptions opts, std::shared_ptr<spdlog::logger> log);
  virtual ~PluginHost() = default;

  // Scan every plugin dir (non-recursive, files ending in .so). Files that
  // fail to load are recorded in errors() and skipped; the host never
  // crashes on a broken file.
  virtual void scan() = 0;
  // Load one file (again: the same descriptor); the error names the file, e.g.
  //   "plugin '/p/bad.so': ABI major 2 does not match the host's 1"
  // (all messages: plugins/host/README.md)
  virtual Result<const Descriptor*> loadFile(const std::string& path) = 0;

  virtual const std::vector<Error>& errors() const = 0;
  virtual std::vector<const Descriptor*> available(Kind kind) const = 0;

  // A discovered plugin's static PluginInfo (flags, thread_safe, config
  // fields), read through describe without creating an instance; cached
  // with the descriptor. Unknown: "unknown plugin 'foo' (available: ...)".
  virtual Result<PluginDescription> describe(const std::string& short_name) const = 0;
  // Every discovered plugin, sorted by short name.
  virtual std::vector<PluginDescription> describeAll() const = 0;

  // The instance of a plugin by short name, created on first use. Unknown:
  //   "unknown isolator 'foo' (available: cgroups, network, pid)"
  virtual Result<Plugin*> instance(Kind kind, const std::string& short_name) = 0;

  // Instances for --isolation, ordered so every isolator comes after the
  // ones it declares as dependencies (stable w.r.t. the given order); a
  // missing dependency or a cycle is an error naming the isolators.
  virtual Result<std::vector<Plugin*>> isolators(const std::vector<std::string>& names) = 0;

  // Where a plugin's instance runs (HostOptions.isolation and defaults).
  virtual Isolation isolationOf(const Descriptor& d) const = 0;
};

// True for warren's own plugins (reverse-DNS name under org.warren.).
bool isFirstParty(const Descriptor& d);

// Where warren-plugin-host is: `configured` when set, else next to the
// executable, ../libexec/warren/ from it, then the build tree. "" = none.
std::string findPluginHostBinary(const std::string& configured);

}  // namespace warren::plugins
