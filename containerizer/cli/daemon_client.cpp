#include "daemon_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "client.hpp"
#include "progress.hpp"
#include "stream_client.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::cli {

std::string apiSocketOf(const GlobalFlags& g) {
  return g.api_socket.empty() ? g.options.runtime_dir + "/warrend.sock" : g.api_socket;
}

Result<std::optional<std::string>> chooseDaemon(const GlobalFlags& g) {
  if (g.daemon == "never") return std::optional<std::string>();
  std::string sock = apiSocketOf(g);
  if (daemon::daemonAnswers(sock)) return std::optional<std::string>(sock);
  if (g.daemon == "always") {
    return fail(Code::Unavailable, "--daemon=always: warrend does not answer on '" + sock +
                                       "' (start warrend with the same --runtime_dir, or give --api_socket)");
  }
  return std::optional<std::string>();
}

nlohmann::json agentId(const v1::ContainerID& id) {
  nlohmann::json j;
  for (int i = 0; i < id.path_size(); ++i) {
    nlohmann::json next = {{"value", id.path(i)}};
    if (i > 0) next["parent"] = j;
    j = next;
  }
  return j;
}

namespace {

using Json = nlohmann::json;


Json protoJson(const google::protobuf::Message& m) {
  std::string s;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  return Json::parse(s, nullptr, false);
}

template <class M>
Result<M> fromJson(const Json& j, const std::string& what) {
  M m;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), &m, o);
  if (!st.ok()) return fail(Code::Internal, "warrend's answer: " + what + ": " + std::string(st.message()));
  return m;
}

class DaemonContainerizer final : public Containerizer {
 public:
  DaemonContainerizer(std::string socket, std::unique_ptr<Containerizer> local, std::chrono::milliseconds grace)
      : socket_(std::move(socket)), local_(std::move(local)), grace_(grace) {}

  Result<void> recover() override {
    return fail(Code::FailedPrecondition, "warrend on '" + socket_ +
                                              "' owns these containers and recovers them when it starts "
                                              "(or use --daemon=never with warrend stopped)");
  }

  Result<v1::ContainerStatus> launch(const v1::ContainerID& id, const v1::ContainerConfig& config) override {
    bool nested = id.path_size() > 1;
    const char* field = nested ? "launch_nested_container" : "launch_container";
    Json m = {{"container_id", agentId(id)}, {"warren", {{"config", protoJson(config)}}}};
    // warrend pulls the image: its pull progress comes back as events.
    std::atomic<bool> done{false};
    std::thread watcher;
    if (!config.image().empty() && activeProgress() != nullptr) {
      std::string sub =
          Json{{"type", "SUBSCRIBE"}, {"subscribe", {{"pull_progress", true}, {"container_ids", Json::array({agentId(id)})}}}}
              .dump();
      auto s = daemon::openOutputStream(socket_, sub);
      for (int i = 0; i < 300 && s.status == 503 && s.body.find("recovering") != std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // just started: not ready yet
        s = daemon::openOutputStream(socket_, sub);
      }
      std::string rec;
      if (s.status == 200 && daemon::nextRecord(s, &rec, std::chrono::seconds(10))) {  // SUBSCRIBED
        watcher = std::thread([s, &done]() mutable {
          std::string r;
          while (true) {
            // Once the launch returned, what is already on its way still counts.
            bool ending = done;
            if (!daemon::nextRecord(s, &r, std::chrono::milliseconds(ending ? 100 : 200))) {
              if (s.error == "timeout" && !ending) continue;
              break;
            }
            Json e = Json::parse(r, nullptr, false);
            if (!e.is_object() || e.value("type", "") != "PULL_PROGRESS") continue;
            const Json& pe = e.value("plugin_event", Json::object());
            auto num = [&](const char* k) {  // uint64 is a JSON string in protobuf's mapping
              const Json& v = pe.value(k, Json());
              return v.is_string() ? std::strtoull(v.get<std::string>().c_str(), nullptr, 10)
                                   : v.is_number() ? v.get<uint64_t>() : 0;
            };
            auto* d = activeProgress();
            if (d == nullptr) continue;
            if (auto ev = progressOf(pe.value("kind", ""), pe.value("item", ""), num("done"), num("total"),
                                     pe.value("message", ""))) {
              d->onEvent(*ev);
            }
          }
          daemon::closeStream(s);
        });
      } else {
        daemon::closeStream(s);
      }
    }
    auto r = call({{"type", nested ? "LAUNCH_NESTED_CONTAINER" : "LAUNCH_CONTAINER"}, {field, m}});
    done = true;
    if (watcher.joinable()) watcher.join();
    if (!r) return fail(r.error());
    return local_->status(id);
  }

  Result<v1::Termination> wait(const v1::ContainerID& id, std::optional<std::chrono::milliseconds> timeout) override {
    return waitVia(socket_, id, timeout);
  }

  Result<UniqueFd> waitFd(const v1::ContainerID& id) override {
    // Readable once warrend has the record: a WAIT on a thread of its own.
    UniqueFd ev(::eventfd(0, EFD_CLOEXEC));
    if (!ev) return failErrno("eventfd");
    int dup = ::fcntl(ev.get(), F_DUPFD_CLOEXEC, 3);
    if (dup < 0) return failErrno("dup");
    std::thread([sock = socket_, id, dup] {
      (void)waitVia(sock, id, std::nullopt);
      uint64_t one = 1;
      (void)!::write(dup, &one, sizeof one);
      ::close(dup);
    }).detach();
    return ev;
  }

  void waitAsync(const v1::ContainerID& id, std::function<void(Result<v1::Termination>)> cb) override {
    std::thread([sock = socket_, id, cb = std::move(cb)] { cb(waitVia(sock, id, std::nullopt)); }).detach();
  }

  Result<void> start(const v1::ContainerID& id) override {
    return fail(Code::Unimplemented, "start '" + formatId(id) + "': held containers (OCI create/start) are "
                                         "warren-oci's; warrend does not launch any");
  }

  Result<void> kill(const v1::ContainerID& id, int signal) override {
    // As the embedded path answers (the API accepts a kill of an ended container).
    WARREN_ASSIGN_OR_RETURN(auto st, local_->status(id));
    if (st.state() != v1::RUNNING) {
      return fail(Code::FailedPrecondition, "container '" + formatId(id) + "' is not running");
    }
    return killVia(id, signal, false);
  }
  Result<void> forwardSignal(const v1::ContainerID& id, int signal) override { return killVia(id, signal, true); }

  Result<v1::Termination> destroy(const v1::ContainerID& id,
                                  std::optional<std::chrono::milliseconds> grace) override {
    // As the core's destroy: SIGTERM, SIGKILL after the grace; then remove.
    WARREN_ASSIGN_OR_RETURN(auto st, local_->status(id));
    if (st.state() == v1::RUNNING) {
      auto g = grace.value_or(grace_);
      if (g.count() > 0) {
        (void)kill(id, SIGTERM);
        auto t = wait(id, g);
        if (!t && t.error().code() != Code::Unavailable) return fail(t.error());
      }
      (void)kill(id, SIGKILL);
    }
    WARREN_ASSIGN_OR_RETURN(auto t, wait(id, std::nullopt));
    bool nested = id.path_size() > 1;
    WARREN_TRY(call({{"type", nested ? "REMOVE_NESTED_CONTAINER" : "REMOVE_CONTAINER"},
                     {nested ? "remove_nested_container" : "remove_container", {{"container_id", agentId(id)}}}}));
    return t;
  }

  Result<void> update(const v1::ContainerID& id, const v1::Resources& r) override {
    WARREN_TRY(call({{"type", "UPDATE_CONTAINER"},
                     {"update_container", {{"container_id", agentId(id)}, {"limits", protoJson(r)}}}}));
    return {};
  }

  Result<v1::ResourceStatistics> usage(const v1::ContainerID& id) override { return local_->usage(id); }
  Result<v1::ContainerStatus> status(const v1::ContainerID& id) override { return local_->status(id); }
  Result<std::vector<ContainerInfo>> containers() override { return local_->containers(); }

  Result<std::vector<v1::ContainerStatus>> launchGroup(const v1::ContainerID& parent,
                                                       const v1::TaskGroup& group) override {
    WARREN_ASSIGN_OR_RETURN(
        auto r, call({{"type", "LAUNCH_GROUP"},
                      {"launch_group", {{"parent", agentId(parent)}, {"task_group", protoJson(group)}}}}));
    std::vector<v1::ContainerStatus> out;
    for (const auto& m : r["launch_group"].value("members", Json::array())) {
      WARREN_ASSIGN_OR_RETURN(auto s, fromJson<v1::ContainerStatus>(m.value("status", Json::object()), "status"));
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<MemberTermination>> waitGroup(const v1::ContainerID& parent, const std::string& name,
                                                   std::optional<std::chrono::milliseconds> timeout) override {
    WARREN_ASSIGN_OR_RETURN(auto r, call({{"type", "WAIT_GROUP"},
                                          {"wait_group", {{"parent", agentId(parent)}, {"name", name}}}},
                                         timeout));
    std::vector<MemberTermination> out;
    for (const auto& m : r["wait_group"].value("members", Json::array())) {
      MemberTermination mt;
      const auto& path = m["container_id"];
      std::vector<std::string> names;
      for (Json p = path; p.is_object(); p = p.value("parent", Json())) names.insert(names.begin(), p.value("value", ""));
      for (const auto& n : names) mt.id.add_path(n);
      WARREN_ASSIGN_OR_RETURN(mt.termination, fromJson<v1::Termination>(m["termination"].value("termination", Json::object()),
                                                                         "termination"));
      out.push_back(std::move(mt));
    }
    return out;
  }

  Result<void> killGroup(const v1::ContainerID& parent, const std::string& name, int signal) override {
    WARREN_TRY(call({{"type", "KILL_GROUP"},
                     {"kill_group", {{"parent", agentId(parent)}, {"name", name}, {"signal", signal}}}}));
    return {};
  }

  Result<std::vector<MemberTermination>> destroyGroup(const v1::ContainerID& parent,
                                                      const std::string& name) override {
    WARREN_ASSIGN_OR_RETURN(auto all, local_->containers());
    std::vector<MemberTermination> out;
    for (const auto& ci : all) {
      if (ci.checkpoint.group() != name || ci.id.path_size() != parent.path_size() + 1) continue;
      if (formatId(parentOf(ci.id)) != formatId(parent)) continue;
      WARREN_ASSIGN_OR_RETURN(auto t, destroy(ci.id, std::nullopt));
      out.push_back({ci.id, t});
    }
    if (out.empty()) {
      return fail(Code::NotFound, "unknown task group '" + name + "' under '" + formatId(parent) + "'");
    }
    return out;
  }

  Result<v1::ImageList> images() override { return local_->images(); }
  Result<v1::ImageInfo> pullImage(const std::string& reference) override { return local_->pullImage(reference); }
  Result<v1::PruneResponse> pruneImages() override { return local_->pruneImages(); }
  std::vector<PluginListing> plugins() const override { return local_->plugins(); }
  std::vector<std::string> pluginErrors() const override { return local_->pluginErrors(); }

 private:
  // One call; the answer's JSON (empty object for an empty 200/202), or the
  // error warrend gave, as one line.
  static Result<Json> callVia(const std::string& sock, const Json& body,
                              std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    auto r = daemon::callAgent(sock, body.dump(), timeout.value_or(std::chrono::hours(24 * 365)));
    // Just started: warrend answers 503 until it has recovered. Wait for it (up to 30 s).
    for (int i = 0; i < 300 && r.status == 503 && r.body.find("recovering") != std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      r = daemon::callAgent(sock, body.dump(), timeout.value_or(std::chrono::hours(24 * 365)));
    }
    if (r.status == 0) {
      if (timeout) return fail(Code::Unavailable, "timed out waiting for warrend on '" + sock + "'");
      return fail(Code::Unavailable, "warrend on '" + sock + "' did not answer: " + r.error);
    }
    Json j = r.body.empty() ? Json::object() : Json::parse(r.body, nullptr, false);
    if (r.status == 200 || r.status == 202) return j.is_discarded() ? Json::object() : j;
    std::string msg = j.is_object() && j.contains("error") ? j["error"].get<std::string>() : r.body;
    Code code = r.status == 400   ? Code::InvalidArgument
                : r.status == 403 ? Code::PermissionDenied
                : r.status == 404 ? Code::NotFound
                : r.status == 409 ? Code::FailedPrecondition
                : r.status == 503 ? Code::Unavailable
                                  : Code::Internal;
    return fail(code, msg);
  }
  Result<Json> call(const Json& body, std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    return callVia(socket_, body, timeout);
  }

  static Result<v1::Termination> waitVia(const std::string& sock, const v1::ContainerID& id,
                                         std::optional<std::chrono::milliseconds> timeout) {
    bool nested = id.path_size() > 1;
    const char* field = nested ? "wait_nested_container" : "wait_container";
    auto r = callVia(sock, {{"type", nested ? "WAIT_NESTED_CONTAINER" : "WAIT_CONTAINER"},
                            {field, {{"container_id", agentId(id)}}}},
                     timeout);
    if (!r) {
      if (timeout && r.error().code() == Code::Unavailable) {
        return fail(Code::Unavailable, "timed out waiting for container '" + formatId(id) + "'");
      }
      return fail(r.error());
    }
    return fromJson<v1::Termination>((*r)[field].value("termination", Json::object()), "termination");
  }

  Result<void> killVia(const v1::ContainerID& id, int signal, bool forwarded) {
    bool nested = id.path_size() > 1;
    Json m = {{"container_id", agentId(id)}, {"signal", signal}};
    if (forwarded) m["forwarded"] = true;
    WARREN_TRY(call({{"type", nested ? "KILL_NESTED_CONTAINER" : "KILL_CONTAINER"},
                     {nested ? "kill_nested_container" : "kill_container", m}}));
    return {};
  }

  std::string socket_;
  std::unique_ptr<Containerizer> local_;
  std::chrono::milliseconds grace_;
};

}  // namespace

std::unique_ptr<Containerizer> daemonContainerizer(std::string socket, std::unique_ptr<Containerizer> local,
                                                   std::chrono::milliseconds grace) {
  return std::make_unique<DaemonContainerizer>(std::move(socket), std::move(local), grace);
}

}  // namespace warren::cli
