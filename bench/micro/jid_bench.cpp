// JID preparation (RFC 7622): the router parses 'from' and 'to' of every stanza it routes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "support.hpp"
#include "xmpp/jid.hpp"

namespace starling::microbench {
namespace {

void BM_JidParse(benchmark::State& state, std::string_view s) {
  if (!xmpp::Jid::parse(s)) {
    state.SkipWithError("not a valid JID");
    return;
  }
  for (auto _ : state) {
    auto j = xmpp::Jid::parse(s);
    benchmark::DoNotOptimize(j);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(s.size()) * state.iterations());
}

// Typical ASCII JIDs: the PRECIS and domain fast paths.
BENCHMARK_CAPTURE(BM_JidParse, ascii_full, std::string_view("romeo@example.com/orchard"))
    ->Apply(fixed_iterations);
BENCHMARK_CAPTURE(BM_JidParse, ascii_bare, std::string_view("juliet@example.com"))
    ->Apply(fixed_iterations);
BENCHMARK_CAPTURE(BM_JidParse, ascii_domain, std::string_view("example.com"))
    ->Apply(fixed_iterations);
BENCHMARK_CAPTURE(BM_JidParse, ascii_upper, std::string_view("Romeo@Example.COM/Orchard-7F3A9C2B"))
    ->Apply(fixed_iterations);
// A client-generated resource as Conversations and Gajim make them.
BENCHMARK_CAPTURE(BM_JidParse, ascii_long_resource,
                  std::string_view("romeo@example.com/Conversations.Xk3pQ9zLm2Vw"))
    ->Apply(fixed_iterations);
// Non-ASCII local- and resourceparts: PRECIS with ICU (UsernameCaseMapped, OpaqueString).
BENCHMARK_CAPTURE(BM_JidParse, precis_local_latin,
                  std::string_view("m\xc3\xbcller@example.com/orchard"))
    ->Apply(fixed_iterations);
BENCHMARK_CAPTURE(
    BM_JidParse, precis_local_greek,
    std::string_view("\xce\xa3\xcf\x89\xce\xba\xcf\x81\xce\xac\xcf\x84\xce\xb7\xcf\x82"
                     "@example.com/orchard"))
    ->Apply(fixed_iterations);
BENCHMARK_CAPTURE(BM_JidParse, precis_resource,
                  std::string_view("romeo@example.com/t\xc3\xa9l\xc3\xa9phone"))
    ->Apply(fixed_iterations);
// Domains through IDNA2008 (libidn2): a U-label, and an A-label that is decoded.
BENCHMARK_CAPTURE(BM_JidParse, idna_ulabel,
                  std::string_view("romeo@b\xc3\xbc"
                                   "cher.example/orchard"))
    ->Apply(fixed_iterations);
BENCHMARK_CAPTURE(BM_JidParse, idna_alabel, std::string_view("romeo@xn--bcher-kva.example/orchard"))
    ->Apply(fixed_iterations);

// Jid::str() and bare_str(): the router builds them several times per stanza.
void BM_JidStr(benchmark::State& state) {
  const auto j = xmpp::Jid::parse("romeo@example.com/orchard");
  for (auto _ : state) {
    std::string s = j->str();
    benchmark::DoNotOptimize(s.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JidStr)->Apply(fixed_iterations);

void BM_JidBare(benchmark::State& state) {
  const auto j = xmpp::Jid::parse("romeo@example.com/orchard");
  for (auto _ : state) {
    xmpp::Jid b = j->bare();
    benchmark::DoNotOptimize(b);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JidBare)->Apply(fixed_iterations);

}  // namespace
}  // namespace starling::microbench
