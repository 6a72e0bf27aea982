#include "daemon_fixture.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "warren/sdk/fs.hpp"

namespace warren::testing {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

}  // namespace

Warrend::Warrend(TestEnv& env, std::vector<std::string> isolation, std::vector<std::string> extra)
    : env_(env) {
  socket_ = env.runtime_dir + "/warrend.sock";
  log_path_ = env.root + "/warrend.log";
  args_ = {std::string(WARREN_TEST_BIN_DIR) + "/warrend",
           "--work_dir=" + env.work_dir,
           "--runtime_dir=" + env.runtime_dir,
           "--plugin_dir=" + env.plugin_dir,
           "--init_path=" + env.init_path,
           "--isolation=" + join(isolation),
           "--log_level=debug"};
  // --delegated_cgroup picks the cgroups root itself (below its own cgroup).
  bool delegated = false;
  for (auto& e : extra) {
    delegated = delegated || e == "--delegated_cgroup";
    args_.push_back(e);
  }
  if (!delegated) args_.push_back("--cgroups_root=" + env.cgroups_root);
}

Warrend::~Warrend() {
  if (pid_ > 0) stop();
}

void Warrend::start() {
  ASSERT_EQ(pid_, -1);
  (void)fs::mkdirs(env_.root, 0755);
  pid_ = ::fork();
  ASSERT_GE(pid_, 0);
  if (pid_ == 0) {
    if (!start_in_cgroup.empty() && !fs::writeFile(start_in_cgroup + "/cgroup.procs", std::to_string(::getpid()))) {
      ::_exit(126);
    }
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  bool up = eventually(
      [&] {
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) return true;  // died: reported below
        return call(getContainers()).status == 200;
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(up && call(getContainers()).status == 200) << "warrend did not start:\n" << log();
}

void Warrend::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Warrend::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int st = 0;
  for (int i = 0; i < 1000 && ::waitpid(pid_, &st, WNOHANG) == 0; ++i) ::usleep(10000);
  if (::waitpid(pid_, &st, WNOHANG) == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

std::string Warrend::log() const {
  auto t = fs::readFile(log_path_);
  return t ? *t : "";
}

long Warrend::rssKb() const {
  std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

Reply Warrend::callRaw(const std::string& body, const std::string& content_type) const {
  auto r = daemon::callAgent(socket_, body, std::chrono::seconds(120), content_type);
  Reply out;
  out.status = r.status;
  out.body = r.body;
  if (!r.body.empty()) out.json = Json::parse(r.body, nullptr, false);
  return out;
}

Reply Warrend::call(const Json& body) const { return callRaw(body.dump()); }

void Warrend::removeAll() {
  auto r = call(getContainers());
  if (r.status != 200 || !r.json.contains("get_containers")) return;
  for (const auto& c : r.json["get_containers"].value("containers", Json::array())) {
    if (c["container_id"].contains("parent")) continue;  // removed with its parent
    std::string id = c["container_id"]["value"];
    call(killCall(id));
    call(waitCall(id));
    call(removeCall(id));
  }
}

Json cid(const std::string& dotted) {
  Json out;
  std::vector<std::string> parts;
  std::stringstream ss(dotted);
  std::string p;
  while (std::getline(ss, p, '.')) parts.push_back(p);
  Json* cur = &out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    (*cur)["value"] = *it;
    if (std::next(it) != parts.rend()) cur = &(*cur)["parent"];
  }
  return out;
}

Json launchCall(const std::string& id, const std::string& script, const std::string& rootfs,
                bool agent_api) {
  bool nested = id.find('.') != std::string::npos;
  std::string type = nested ? "LAUNCH_NESTED_CONTAINER" : "LAUNCH_CONTAINER";
  std::string field = nested ? "launch_nested_container" : "launch_container";
  Json m = {{"container_id", cid(id)}, {"command", {{"value", script}}}};
  if (!rootfs.empty() || agent_api) {
    Json w = Json::object();
    if (!rootfs.empty()) w["config"] = {{"rootfs", rootfs}};
    if (agent_api) w["agent_api"] = true;
    m["warren"] = w;
  }
  return {{"type", type}, {field, m}};
}

Json waitCall(const std::string& id) {
  bool nested = id.find('.') != std::string::npos;
  return {{"type", nested ? "WAIT_NESTED_CONTAINER" : "WAIT_CONTAINER"},
          {nested ? "wait_nested_container" : "wait_container", {{"container_id", cid(id)}}}};
}

Json killCall(const std::string& id, int signal) {
  bool nested = id.find('.') != std::string::npos;
  Json m = {{"container_id", cid(id)}};
  if (signal > 0) m["signal"] = signal;
  return {{"type", nested ? "KILL_NESTED_CONTAINER" : "KILL_CONTAINER"},
          {nested ? "kill_nested_container" : "kill_container", m}};
}

Json removeCall(const std::string& id) {
  bool nested = id.find('.') != std::string::npos;
  return {{"type", nested ? "REMOVE_NESTED_CONTAINER" : "REMOVE_CONTAINER"},
          {nested ? "remove_nested_container" : "remove_container", {{"container_id", cid(id)}}}};
}

Json getContainers() {
  return {{"type", "GET_CONTAINERS"}, {"get_containers", {{"show_nested", true}}}};
}

Json termination(const Reply& r) {
  if (!r.json.is_object()) return {};
  for (const char* k : {"wait_container", "wait_nested_container"}) {
    if (r.json.contains(k)) return r.json[k];
  }
  return {};
}

}  // namespace warren::testing
