// starling: the XMPP server. Runs in the foreground and logs to stderr.
#include <CLI/CLI.hpp>
#include <iostream>

#include "base/log.hpp"
#include "server/config/config.hpp"
#include "server/features.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Starling XMPP server"};
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 "TOML configuration file (default: built-in defaults)");
  bool version = false;
  app.add_flag("--version", version, "Print the version and exit");
  bool features = false;
  app.add_flag("--features-markdown", features, "Print docs/features.md and exit");
  bool doap = false;
  app.add_flag("--doap", doap, "Print docs/doap.xml and exit");
  CLI11_PARSE(app, argc, argv);
  if (doap) {
    std::cout << starling::server::doap_xml();
    return 0;
  }
  if (features) {
    std::cout << starling::server::features_markdown();
    return 0;
  }
  if (version) {
    std::cout << "starling " << STARLING_VERSION << "\n";
    return 0;
  }
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  starling::config::Config cfg = starling::config::defaults();
  if (!config_path.empty()) {
    auto loaded = starling::config::load_file(config_path);
    if (!loaded) {
      std::cerr << "starling: " << loaded.error().message << "\n";
      return 2;
    }
    cfg = std::move(*loaded);
  }
  if (!starling::log::set_level(cfg.log.level)) {
    std::cerr << "starling: unknown log level " << cfg.log.level << "\n";
    return 2;
  }
  auto server = starling::server::Server::create(std::move(cfg));
  if (!server) {
    std::cerr << "starling: " << server.error().message << "\n";
    return 1;
  }
  return (*server)->run();
}
