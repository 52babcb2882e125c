// starling-bench: the XMPP load generator (docs/performance.md). Standard XMPP only, loopback only,
// every run bounded; one JSON line per result on stdout, progress on stderr.
#include <CLI/CLI.hpp>
#include <iostream>

#include "bench/options.hpp"
#include "bench/runner.hpp"

int main(int argc, char** argv) {
  using namespace starling::bench;
  Options opt;
  CLI::App app{"starling-bench " STARLING_VERSION ": XMPP load generator (loopback only)"};
  add_options(app, opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (std::string err = validate(opt); !err.empty()) {
    std::cerr << "starling-bench: " << err << std::endl;
    return kExitRefused;
  }
  return run(opt, std::cout, std::cerr);
}
