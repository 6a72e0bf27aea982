#include "events.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "daemon_client.hpp"
#include "output.hpp"
#include "stream_client.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::cli {
namespace {

using Json = nlohmann::json;


std::string dotted(const Json& id) {
  if (!id.is_object()) return "";
  std::string s = id.value("value", "");
  for (Json p = id; p.contains("parent"); p = p["parent"]) s = p["parent"].value("value", "") + "." + s;
  return s;
}

template <class M>
bool parse(const Json& j, M* m) {
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(j.dump(), m, o).ok();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string isoTime(double t) {
  time_t secs = static_cast<time_t>(t);
  tm tmv{};
  gmtime_r(&secs, &tmv);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tmv);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>((t - static_cast<double>(secs)) * 1000));
  return out;
}

// One event as the CLI prints it; false for events it does not print.
bool show(const Json& e, bool json) {
  std::string type = e.value("type", "");
  if (type == "HEARTBEAT" || (type == "SUBSCRIBED" && !json)) return false;
  std::string id = dotted(e.value("container_id", Json()));
  double when = e.value("timestamp", 0.0);
  Json out = {{"type", lower(type)}, {"id", id.empty() ? Json(nullptr) : Json(id)}, {"time", when}};
  std::string detail;
  if (type == "RUNNING") {
    out["pid"] = e.value("pid", 0);
    detail = "pid " + std::to_string(e.value("pid", 0));
  }
  if (type == "LIMITATION") {
    v1::Limitation l;
    if (parse(e.value("limitation", Json::object()), &l)) {
      out["limitation"] = toJson(l);
      detail = v1::Limitation::Reason_Name(l.reason()) + (l.message().empty() ? "" : ": " + l.message());
    }
  }
  if (type == "TERMINATED") {
    v1::Termination t;
    if (parse(e.value("termination", Json::object()), &t)) {
      out["termination"] = toJson(t);
      out["exit_code"] = exitCodeOf(t);
      detail = t.message() + " (" + v1::Termination::Reason_Name(t.reason()) + ", exit code " +
               std::to_string(exitCodeOf(t)) + ")";
    }
  }
  if (json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%s %s %s%s%s\n", isoTime(when).c_str(), id.c_str(), lower(type).c_str(), detail.empty() ? "" : " ",
                detail.c_str());
  }
  std::fflush(stdout);
  return true;
}

}  // namespace

int eventsCommand(const std::string& socket, const po::variables_map& vm) {
  auto& out = Output::get();
  Json sub = Json::object();
  if (vm.count("id")) {
    Json ids = Json::array();
    for (const auto& s : splitList(vm["id"].as<std::vector<std::string>>())) {
      auto id = parseId(s);
      if (!id) return out.fail(Error(Code::InvalidArgument, "invalid --id: " + id.error().message()));
      ids.push_back(agentId(*id));
    }
    sub["container_ids"] = ids;
  }
  if (vm.count("parent")) {
    auto p = parseId(vm["parent"].as<std::string>());
    if (!p) return out.fail(Error(Code::InvalidArgument, "invalid --parent: " + p.error().message()));
    sub["parent"] = agentId(*p);
  }
  // SIGINT/SIGTERM/SIGHUP end the stream cleanly (blocked by main before any thread).
  sigset_t stop;
  sigemptyset(&stop);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop, s);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  UniqueFd sfd(::signalfd(-1, &stop, SFD_CLOEXEC));
  if (!sfd) return out.fail(Error(Code::Internal, std::string("signalfd: ") + std::strerror(errno)));
  auto s = daemon::openOutputStream(socket, Json{{"type", "SUBSCRIBE"}, {"subscribe", sub}}.dump());
  if (s.status == 0) {
    return out.fail(Error(Code::Unavailable, "warrend on '" + socket + "' did not answer: " + s.error));
  }
  if (s.status != 200) {
    Json b = Json::parse(s.body, nullptr, false);
    std::string msg = b.is_object() && b.contains("error") ? b["error"].get<std::string>() : s.body;
    return out.fail(Error(s.status == 403 ? Code::PermissionDenied : Code::InvalidArgument, "warren events: " + msg));
  }
  std::string rec;
  while (true) {
    // Whatever is buffered first, then wait for more or a signal.
    while (daemon::nextRecord(s, &rec, std::chrono::milliseconds(0))) {
      Json e = Json::parse(rec, nullptr, false);
      if (!e.is_discarded()) show(e, out.json());
    }
    if (s.ended || s.fd < 0 || s.error != "timeout") {
      daemon::closeStream(s);
      return out.fail(Error(Code::Unavailable, "warrend on '" + socket + "' ended the event stream"));
    }
    pollfd p[2] = {{s.fd, POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
  }
  daemon::closeStream(s);
  return 0;
}

}  // namespace warren::cli
