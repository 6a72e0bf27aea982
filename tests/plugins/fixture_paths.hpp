// Paths of the fixture plugins and a host configured for tests.
#pragma once

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>

#include "host/plugin_host.hpp"

namespace warren::plugins::testing {

inline std::string fixtureDir() { return WARREN_FIXTURE_PLUGIN_DIR; }
inline std::string fixture(const std::string& stem) { return fixtureDir() + "/" + stem + ".so"; }

// A logger whose lines ("<logger>|<level>|<text>") land in `out`.
inline std::shared_ptr<spdlog::logger> captureLogger(std::ostringstream& out) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%n|%l|%v");
  auto log = std::make_shared<spdlog::logger>("warren.test", sink);
  log->set_level(spdlog::level::debug);
  return log;
}

inline v1::PrepareRequest prepareRequest(const std::string& id) {
  v1::PrepareRequest req;
  req.mutable_container()->mutable_id()->add_path(id);
  return req;
}

}  // namespace warren::plugins::testing
