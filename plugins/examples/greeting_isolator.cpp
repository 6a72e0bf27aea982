// An example vendor isolator: adds one environment variable, taken from its
// typed config, to every container it prepares, and logs through the host.
#include "example/isolators/example_greeting/config.pb.h"
#include "warren/sdk/plugin.hpp"

namespace example {

using example::isolators::example_greeting::Config;

class GreetingIsolator : public warren::sdk::Isolator {
 public:
  static warren::Result<std::unique_ptr<GreetingIsolator>> create(
      const warren::v1::PluginContext& ctx) {
    auto config = warren::sdk::parseConfig<Config>(ctx);
    if (!config) return warren::fail(config.error());
    if (config->env_name().empty()) config->set_env_name("GREETING");
    if (config->greeting().empty()) config->set_greeting("hello from example/greeting");
    if (config->env_name().find('=') != std::string::npos) {
      return warren::fail(warren::Code::InvalidArgument,
                          "env_name '" + config->env_name() + "' must not contain '='");
    }
    return std::make_unique<GreetingIsolator>(std::move(*config));
  }

  explicit GreetingIsolator(Config config)
      : config_(std::move(config)), log_(warren::sdk::makeLogger("example.isolator.example.greeting")) {}

  warren::Result<warren::v1::LaunchInfo> prepare(const warren::v1::PrepareRequest& req) override {
    log_->info("container_id={} gets {}={}", warren::formatId(req.container().id()),
               config_.env_name(), config_.greeting());
    warren::v1::LaunchInfo info;
    (*info.mutable_env())[config_.env_name()] = config_.greeting();
    return info;
  }

 private:
  Config config_;
  std::shared_ptr<warren::sdk::Logger> log_;
};

}  // namespace example

WARREN_ISOLATOR_PLUGIN(example::GreetingIsolator, "com.example.isolator.example.greeting",
                       "example/greeting", "1.0.0")
