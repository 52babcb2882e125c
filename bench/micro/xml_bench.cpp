// The XML stream parser (expat), the writer and the element operations of the per-stanza path.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "stanzas.hpp"
#include "support.hpp"
#include "xml/stream_parser.hpp"
#include "xml/writer.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::microbench {

xml::Element parse_stanza(std::string_view stanza) {
  xml::StreamParser parser;
  std::vector<xml::StreamEvent> events;
  if (parser.feed(kStreamHeader, events) != xml::ParseError::kNone ||
      parser.feed(stanza, events) != xml::ParseError::kNone || events.size() != 2 ||
      !std::holds_alternative<xml::Element>(events[1])) {
    std::fprintf(stderr, "microbench: cannot parse %.*s\n", static_cast<int>(stanza.size()),
                 stanza.data());
    std::abort();
  }
  return std::get<xml::Element>(std::move(events[1]));
}

void fixed_iterations(benchmark::internal::Benchmark* b) {
  if (const char* n = std::getenv("STARLING_MICROBENCH_ITERATIONS")) {
    if (const long long count = std::atoll(n); count > 0) {
      b->Iterations(static_cast<benchmark::IterationCount>(count));
    }
  }
}

namespace {

// A stream of `stanza` repeated back to back, as a busy client sends it, given to the parser
// the way the c2s reader does: state.range(0) bytes per feed() (a 16 KiB read under load, a
// 1460-byte TCP segment), or 0 for one whole stanza per feed() (an idle client's single
// stanza per read). The stream header is parsed once, outside the measurement.
void parse_stream(benchmark::State& state, const std::string& stanza) {
  const auto chunk = static_cast<std::size_t>(state.range(0));
  const std::size_t copies = std::max<std::size_t>(1, 16384 / stanza.size());
  std::string buf;
  for (std::size_t i = 0; i < copies; ++i) {
    buf += stanza;
  }
  xml::StreamParser parser;
  std::vector<xml::StreamEvent> events;
  if (parser.feed(kStreamHeader, events) != xml::ParseError::kNone) {
    state.SkipWithError("stream header refused");
    return;
  }
  std::size_t stanzas = 0;
  bool ok = true;
  for (auto _ : state) {
    if (chunk == 0) {
      for (std::size_t i = 0; i < copies; ++i) {
        events.clear();
        ok &= parser.feed(stanza, events) == xml::ParseError::kNone;
        stanzas += events.size();
      }
    } else {
      for (std::size_t off = 0; off < buf.size(); off += chunk) {
        events.clear();
        ok &=
            parser.feed(std::string_view(buf).substr(off, chunk), events) == xml::ParseError::kNone;
        stanzas += events.size();
      }
    }
    benchmark::DoNotOptimize(events.data());
  }
  if (!ok || stanzas != copies * static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("parse error or lost stanzas");
    return;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(buf.size()) * state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(stanzas));
  state.counters["stanza_bytes"] = static_cast<double>(stanza.size());
}

void BM_ParseMessage(benchmark::State& state) { parse_stream(state, chat_message()); }
void BM_ParsePresence(benchmark::State& state) { parse_stream(state, caps_presence()); }
void BM_ParseRoster100(benchmark::State& state) { parse_stream(state, roster_result(100)); }
BENCHMARK(BM_ParseMessage)->Arg(0)->Arg(1460)->Arg(16384)->Apply(fixed_iterations);
BENCHMARK(BM_ParsePresence)->Arg(0)->Arg(1460)->Arg(16384)->Apply(fixed_iterations);
BENCHMARK(BM_ParseRoster100)->Arg(0)->Arg(1460)->Arg(16384)->Apply(fixed_iterations);

// The element as the server delivers it: 'from' stamped by the sender's stream.
xml::Element delivered(const std::string& stanza) {
  xml::Element e = parse_stanza(stanza);
  if (!e.attr("from")) {
    e.set_attr("from", "romeo@example.com/orchard");
  }
  return e;
}

// xml::to_string as C2sStream::deliver and send call it: a fresh string per stanza.
void write_to_string(benchmark::State& state, const std::string& stanza) {
  const xml::Element e = delivered(stanza);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string out = xml::to_string(e, ns::kClient);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}

// xml::write into a reused buffer: the writer alone, without the allocations of a new string.
void write_reused(benchmark::State& state, const std::string& stanza) {
  const xml::Element e = delivered(stanza);
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    xml::write(e, out, ns::kClient);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.SetItemsProcessed(state.iterations());
}

void BM_WriteMessage(benchmark::State& state) { write_to_string(state, chat_message()); }
void BM_WritePresence(benchmark::State& state) { write_to_string(state, caps_presence()); }
void BM_WriteRoster100(benchmark::State& state) { write_to_string(state, roster_result(100)); }
void BM_WriteReusedMessage(benchmark::State& state) { write_reused(state, chat_message()); }
void BM_WriteReusedRoster100(benchmark::State& state) { write_reused(state, roster_result(100)); }
BENCHMARK(BM_WriteMessage)->Apply(fixed_iterations);
BENCHMARK(BM_WritePresence)->Apply(fixed_iterations);
BENCHMARK(BM_WriteRoster100)->Apply(fixed_iterations);
BENCHMARK(BM_WriteReusedMessage)->Apply(fixed_iterations);
BENCHMARK(BM_WriteReusedRoster100)->Apply(fixed_iterations);

// C2sStream::handle_stanza: e.set_attr("from", jid_.str()) on every stanza from the client
// (after the first iteration it replaces the stamp, as it replaces a forged 'from').
void BM_StampFrom(benchmark::State& state) {
  xml::Element e = parse_stanza(chat_message());
  const auto jid = xmpp::Jid::parse("romeo@example.com/orchard");
  for (auto _ : state) {
    e.set_attr("from", jid->str());
    benchmark::DoNotOptimize(e.attrs().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StampFrom)->Apply(fixed_iterations);

// The StanzaPtr the stream hands to the router: make_shared of the moved element (and the move
// back, so each iteration starts from the same element).
void BM_MakeStanzaPtr(benchmark::State& state) {
  xml::Element e = parse_stanza(chat_message());
  for (auto _ : state) {
    auto p = std::make_shared<xml::Element>(std::move(e));
    benchmark::DoNotOptimize(p.get());
    e = std::move(*p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MakeStanzaPtr)->Apply(fixed_iterations);

// A deep copy: what a module pays to rewrite a routed (immutable) stanza.
void BM_CopyMessage(benchmark::State& state) {
  const xml::Element e = parse_stanza(chat_message());
  for (auto _ : state) {
    xml::Element copy = e;
    benchmark::DoNotOptimize(copy.nodes().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CopyMessage)->Apply(fixed_iterations);

}  // namespace
}  // namespace starling::microbench
