// warren-plugin-host: runs one plugin outside the process that uses it.
//
//   warren-plugin-host --describe PLUGIN.so
//       Loads the plugin, checks its descriptor and prints a serialized
//       warren.v1.PluginDescriptor on stdout (exit 0), or one error line
//       (exit 2). warren reads descriptors this way, so a plugin whose
//       initializers crash never takes warren down.
//   warren-plugin-host --serve PLUGIN.so FD
//       Serves the plugin's create/call/destroy over the socket FD (frames:
//       plugins/host/wire.hpp). Exits when the socket closes.
//
// Calls run on one worker thread, one at a time, unless the plugin declares
// thread_safe (static describe or INFO): then each call gets its own thread.
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include <google/protobuf/stubs/logging.h>

#include "host/loader.hpp"
#include "host/wire.hpp"
#include "warren/sdk/abi.h"
#include "warren/v1/plugin.pb.h"

namespace {

using namespace warren;
using namespace warren::plugins;

// Loading a plugin that embeds a proto file already registered (SDK protos
// compiled into it) makes protobuf log "File already exists in database: X"
// and abort inside dlopen: turn that into the loader's one-line error.
std::string g_path;
void onProtobufLog(google::protobuf::LogLevel, const char*, int, const std::string& msg) {
  const std::string marker = "File already exists in database: ";
  auto at = msg.find(marker);
  if (at == std::string::npos) return;
  std::string out = "plugin '" + g_path + "': defines proto file '" + msg.substr(at + marker.size()) +
                    "', which is already loaded (the same plugin installed twice, or SDK protos "
                    "compiled into the plugin)\n";
  (void)!::write(1, out.data(), out.size());
  ::_exit(2);
}

void appendToString(void* ctx, const uint8_t* data, size_t len) {
  if (data != nullptr && len > 0) {
    static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(data), len);
  }
}

int describe(const std::string& path) {
  auto lib = loadLibrary(path, nullptr, /*check_protos=*/false);
  if (!lib) {
    std::cout << lib.error().message() << "\n" << std::flush;
    return 2;
  }
  const Descriptor& d = lib->descriptor;
  v1::PluginDescriptor out;
  out.set_name(d.name);
  out.set_short_name(d.short_name);
  out.set_version(d.version);
  out.set_kind(static_cast<uint32_t>(d.kind));
  out.set_abi_major(d.abi_major);
  out.set_abi_minor(d.abi_minor);
  *out.mutable_info() = d.static_info;
  for (const auto& f : d.proto_files) out.add_proto_files(f);
  std::string bytes;
  if (!out.SerializeToString(&bytes)) {
    std::cout << "plugin '" << path << "': could not serialize its descriptor\n" << std::flush;
    return 2;
  }
  std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  std::cout.flush();
  return 0;
}

class Server {
 public:
  Server(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    host_.struct_size = sizeof(warren_host);
    host_.ctx = this;
    host_.log = &Server::logCb;
    host_.event = &Server::eventCb;
  }

  int run() {
    auto lib = loadLibrary(path_, nullptr, /*check_protos=*/false);
    if (lib) {
      raw_ = lib->raw;
      thread_safe_ = lib->descriptor.static_info.thread_safe();
    } else {
      load_error_ = lib.error().message();
    }
    worker_ = std::thread([this] { workerLoop(); });
    for (;;) {
      auto f = wire::readFrame(fd_);
      if (!f) ::_exit(0);  // warren closed the socket (or died): nothing left to serve
      switch (f->h.type) {
        case wire::kCreate: handleCreate(*f); break;
        case wire::kCall: handleCall(std::move(*f)); break;
        case wire::kDestroy:
          handleDestroy(*f);
          ::_exit(0);
        default:
          reply(f->h.id, WARREN_INTERNAL,
                "unknown frame type " + std::to_string(f->h.type) + " from warren");
      }
    }
  }

 private:
  static void logCb(void* ctx, int32_t level, const char*, const char* msg, size_t len) {
    if (msg == nullptr) return;
    static_cast<Server*>(ctx)->send(wire::kLog, 0, level, std::string(msg, len));
  }
  static void eventCb(void* ctx, const uint8_t* data, size_t len) {
    if (data == nullptr && len > 0) return;
    static_cast<Server*>(ctx)->send(wire::kEvent, 0, 0,
                                    std::string(reinterpret_cast<const char*>(data), len));
  }

  void send(uint32_t type, uint64_t id, int32_t arg, const std::string& payload) {
    std::lock_guard lock(write_mu_);
    if (!wire::writeFrame(fd_, type, id, arg, payload)) ::_exit(0);  // warren is gone
  }
  void reply(uint64_t id, int32_t rc, const std::string& out) { send(wire::kResult, id, rc, out); }

  void handleCreate(const wire::Frame& f) {
    if (raw_ == nullptr) return reply(f.h.id, WARREN_FAILED_PRECONDITION, load_error_);
    std::string out;
    warren_sink sink{&out, &appendToString};
    void* inst = nullptr;
    int32_t rc = raw_->create(&host_, reinterpret_cast<const uint8_t*>(f.payload.data()),
                              f.payload.size(), &inst, &sink);
    if (rc == WARREN_OK && inst == nullptr) {
      rc = WARREN_INTERNAL;
      out = "create returned no instance";
    }
    instance_ = inst;
    reply(f.h.id, rc, out);
  }

  void runCall(const wire::Frame& f) {
    std::string out;
    warren_sink sink{&out, &appendToString};
    int32_t rc = raw_->call(instance_, static_cast<uint32_t>(f.h.arg),
                            reinterpret_cast<const uint8_t*>(f.payload.data()), f.payload.size(),
                            &sink);
    if (rc == WARREN_OK && f.h.arg == v1::INFO) {
      v1::PluginInfo info;
      if (info.ParseFromString(out) && info.thread_safe()) thread_safe_ = true;
    }
    reply(f.h.id, rc, out);
  }

  void handleCall(wire::Frame f) {
    if (instance_ == nullptr) {
      return reply(f.h.id, WARREN_FAILED_PRECONDITION, "called before a successful create");
    }
    if (thread_safe_.load()) {
      std::thread([this, f = std::move(f)] { runCall(f); }).detach();
      return;
    }
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(f));
    cv_.notify_one();
  }

  void workerLoop() {
    for (;;) {
      wire::Frame f;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty(); });
        f = std::move(queue_.front());
        queue_.pop_front();
      }
      runCall(f);
    }
  }

  void handleDestroy(const wire::Frame& f) {
    if (raw_ != nullptr && instance_ != nullptr) raw_->destroy(instance_);
    reply(f.h.id, WARREN_OK, "");
  }

  int fd_;
  std::string path_;
  warren_host host_{};
  const warren_plugin_descriptor* raw_ = nullptr;
  std::string load_error_;
  void* instance_ = nullptr;
  std::atomic<bool> thread_safe_{false};
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<wire::Frame> queue_;
  std::thread worker_;
};

int usage() {
  std::cerr << "usage: warren-plugin-host --describe PLUGIN.so | --serve PLUGIN.so FD\n";
  return 64;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3) g_path = argv[2];
  google::protobuf::SetLogHandler(&onProtobufLog);
  if (argc == 3 && std::strcmp(argv[1], "--describe") == 0) return describe(argv[2]);
  if (argc == 4 && std::strcmp(argv[1], "--serve") == 0) {
    char* end = nullptr;
    long fd = std::strtol(argv[3], &end, 10);
    if (end == argv[3] || *end != '\0' || fd < 3) return usage();
    Server s(static_cast<int>(fd), argv[2]);
    return s.run();
  }
  return usage();
}
