// S2sIn: an incoming server-to-server stream (RFC 6120 §4–§6, XEP-0220, XEP-0178).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "base/random.hpp"
#include "net/shards.hpp"
#include "net/tls.hpp"
#include "net/transport.hpp"
#include "server/config/config.hpp"
#include "stream/s2s/dialback.hpp"
#include "stream/s2s/s2s.hpp"
#include "stream/s2s/wire.hpp"
#include "xml/writer.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::stream::s2s {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string peer_name(const tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

S2sIn::S2sIn(S2sManager& manager, std::size_t shard, tcp::socket socket, bool direct_tls)
    : S2sStream(manager, shard, "s2s-in " + peer_name(socket)),
      direct_tls_(direct_tls),
      watchdog_timer_(manager.shards().executor(shard)) {
  attach(std::move(socket));
  started_at_ = Clock::now();
}

void S2sIn::start() {
  manager_.add_stream(shard_, shared_from_this());
  ++manager_.incoming;
  auto self = std::static_pointer_cast<S2sIn>(shared_from_this());
  asio::co_spawn(manager_.shards().executor(shard_), run(), [self](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("{}: stream failed: {}", self->name_, ex.what());
      }
      self->hard_close();
    }
  });
}

void S2sIn::closed() {
  watchdog_timer_.cancel();
  --manager_.incoming;
  manager_.remove_stream(shard_, this);
}

asio::awaitable<void> S2sIn::run() {
  auto self = shared_from_this();
  asio::co_spawn(manager_.shards().executor(shard_), watchdog(), asio::detached);
  if (manager_.incoming > config_.s2s.max_links) {
    log::warn("{}: refused, {} incoming s2s streams already", name_, config_.s2s.max_links);
    hard_close();
    co_return;
  }
  if (direct_tls_) {
    auto op = tls_accept(true);
    if (!co_await std::move(op)) {
      hard_close();
      co_return;
    }
  }
  xml::StreamEvent ev;
  while (!closing_) {
    auto op = next(ev);
    if (!co_await std::move(op)) {
      break;
    }
    if (auto* h = std::get_if<xml::StreamHeader>(&ev)) {
      auto hop = handle_header(*h);
      if (!co_await std::move(hop)) {
        break;
      }
    } else if (auto* e = std::get_if<xml::Element>(&ev)) {
      auto eop = handle_element(*e);
      if (!co_await std::move(eop)) {
        break;
      }
    } else {
      break;  // the peer's </stream:stream>
    }
  }
  auto fop = finish();
  co_await std::move(fop);
}

asio::awaitable<void> S2sIn::watchdog() {
  auto self = shared_from_this();
  while (!dead_) {
    auto now = Clock::now();
    Clock::time_point due;
    if (authenticated_.empty()) {
      due = started_at_ + std::chrono::seconds(config_.s2s.connect_timeout);
      if (now >= due) {
        log::info("{}: not authenticated within {} s", name_, config_.s2s.connect_timeout);
        begin_close("connection-timeout", "Authentication took too long");
        co_return;
      }
    } else {
      due = last_activity_ + std::chrono::seconds(config_.s2s.idle_timeout);
      if (now >= due) {
        log::info("{}: idle for {} s, closing", name_, config_.s2s.idle_timeout);
        begin_close(std::nullopt);
        co_return;
      }
    }
    watchdog_timer_.expires_at(due);
    co_await watchdog_timer_.async_wait(use_tuple);
  }
}

void S2sIn::send_header() {
  stream_id_ = random_id(20);
  send_raw(stream_header(local_, remote_, stream_id_));
  header_sent_ = true;
}

asio::awaitable<bool> S2sIn::handle_header(const xml::StreamHeader& h) {
  const std::string* to = h.attr("to");
  const std::string* from = h.attr("from");
  std::optional<std::string> local;
  if (to != nullptr) {
    local = xmpp::prep_domainpart(*to);
  }
  if (local_.empty() && local) {
    local_ = *local;
  }
  // RFC 6120 §4.9.1.2: the error comes in a stream of our own, from a domain we serve.
  if (local_.empty() || !manager_.router().is_served_domain(local_)) {
    std::string asked = local_;
    if (manager_.router().domains().empty()) {
      co_return false;
    }
    local_ = manager_.router().domains().front();
    send_header();
    log::info("{}: stream to {} which is not served here", name_, asked);
    begin_close("host-unknown", "This server does not serve that domain");  // §4.9.3.6
    co_return false;
  }
  if (from != nullptr) {
    auto prepared = xmpp::prep_domainpart(*from);
    if (!prepared) {
      send_header();
      begin_close("invalid-from", "The 'from' of the stream is not a domain");  // §4.9.3.9
      co_return false;
    }
    remote_ = *prepared;
  }
  send_header();
  if (h.name != "stream" || h.xmlns != ns::kStream) {
    begin_close("invalid-namespace", "Expected a stream in http://etherx.jabber.org/streams");
    co_return false;
  }
  if (h.default_ns != ns::kServer) {
    begin_close("invalid-namespace", "Server-to-server streams are in jabber:server");
    co_return false;
  }
  const std::string* version = h.attr("version");
  if (version == nullptr || *version != "1.0") {
    // RFC 6120 §4.7.5: without version 1.0 there are no stream features, so no STARTTLS;
    // we require TLS (unless configured otherwise), so we cannot talk to such a peer.
    if (!config_.s2s.allow_unencrypted) {
      begin_close("unsupported-version", "XMPP 1.0 with TLS is required");
      co_return false;
    }
    co_return true;  // dialback without features (XEP-0220 §2.3)
  }
  if (!remote_.empty() && !config_.s2s.allowed(remote_)) {
    log::info("{}: federation with {} is not allowed", name_, remote_);
    begin_close("policy-violation", "Federation with this domain is not allowed");
    co_return false;
  }
  send_features();
  co_return true;
}

void S2sIn::send_features() {
  xml::Element features("features", std::string(ns::kStream));
  if (!tls_active_) {
    auto& tls = features.add_child("starttls", std::string(ns::kTls));
    if (!config_.s2s.allow_unencrypted) {
      tls.add_child("required", std::string(ns::kTls));  // RFC 6120 §5.3.1
    } else {
      features.add_child(dialback_feature());
    }
  } else {
    if (!authenticated_by_sasl_ && !remote_.empty()) {
      // XEP-0178 §3: EXTERNAL only when the certificate authenticates the peer's domain.
      auto cert = net::peer_certificate(transport_->native_handle());
      if (net::authenticates(cert, remote_)) {
        features.add_child("mechanisms", std::string(ns::kSasl))
            .add_child("mechanism", std::string(ns::kSasl))
            .add_text("EXTERNAL");
      } else if (cert.presented) {
        log::debug("{}: certificate does not authenticate {}: {}", name_, remote_,
                   cert.chain_valid ? "no matching name" : cert.chain_error);
      }
    }
    // XEP-0220 §2.4.1: dialback with error handling (also for further domain pairs after SASL).
    features.add_child(dialback_feature());
  }
  send(features);
}

asio::awaitable<bool> S2sIn::handle_element(xml::Element& e) {
  const std::string& ns = e.xmlns();
  if (ns == ns::kTls && e.name() == "starttls") {
    if (tls_active_) {
      begin_close("policy-violation", "TLS is already active");
      co_return false;
    }
    send(xml::Element("proceed", std::string(ns::kTls)));
    auto fop = flush();
    co_await std::move(fop);
    auto op = tls_accept(false);
    if (!co_await std::move(op)) {
      hard_close();  // RFC 6120 §5.4.3.2: no stream error after a failed handshake
      co_return false;
    }
    restart();  // §5.4.3.3
    co_return true;
  }
  if (!tls_active_ && !config_.s2s.allow_unencrypted) {
    // RFC 6120 §5.3.1: TLS is mandatory-to-negotiate here.
    begin_close("policy-violation", "STARTTLS is required");
    co_return false;
  }
  if (ns == ns::kSasl && e.name() == "auth") {
    sasl_external(e);
    co_return !closing_;
  }
  if (ns == kDialbackNs && e.name() == "result") {
    dialback_result(e);
    co_return !closing_;
  }
  if (ns == kDialbackNs && e.name() == "verify") {
    dialback_verify(e);
    co_return !closing_;
  }
  if (ns == ns::kServer &&
      (e.name() == "message" || e.name() == "presence" || e.name() == "iq")) {
    stanza(e);
    co_return !closing_;
  }
  if (ns == ns::kStream && e.name() == "error") {
    // RFC 6120 §4.9: the peer ends the stream with an error; we close ours in return.
    std::string condition = "undefined-condition";
    for (const xml::Element* c : e.elements()) {
      if (c->xmlns() == ns::kStreams && c->name() != "text") {
        condition = c->name();
      }
    }
    log::info("{}: stream error from peer: {}", name_, condition);
    co_return false;
  }
  log::info("{}: unsupported element <{} xmlns='{}'>", name_, e.name(), ns);
  begin_close("unsupported-stanza-type");  // RFC 6120 §4.9.3.21
  co_return false;
}

bool S2sIn::sasl_external(const xml::Element& auth) {
  auto fail = [this](std::string_view condition) {
    xml::Element f("failure", std::string(ns::kSasl));
    f.add_child(std::string(condition), std::string(ns::kSasl));
    send(f);
    return false;
  };
  if (authenticated_by_sasl_) {
    begin_close("policy-violation", "Already authenticated");  // RFC 6120 §6.4.? no second SASL
    return false;
  }
  if (auth.attr_or("mechanism") != "EXTERNAL") {
    return fail("invalid-mechanism");
  }
  std::string authzid;
  std::string text = auth.text();
  if (!text.empty() && text != "=") {
    if (!base64_decode(text, authzid)) {
      return fail("incorrect-encoding");  // RFC 6120 §6.5.5
    }
  }
  std::string domain = remote_;
  if (!authzid.empty()) {
    auto prepared = xmpp::prep_domainpart(authzid);
    // XEP-0178 §3 (step 5): the authorization identity, when given, is the stream's 'from'.
    if (!prepared || (!remote_.empty() && *prepared != remote_)) {
      return fail("invalid-authzid");
    }
    domain = *prepared;
  }
  if (domain.empty() || !config_.s2s.allowed(domain) ||
      manager_.router().is_served_domain(domain)) {
    return fail("not-authorized");  // (a peer never speaks for one of our own domains)
  }
  auto cert = net::peer_certificate(transport_->native_handle());
  if (!net::authenticates(cert, domain)) {
    log::info("{}: SASL EXTERNAL for {} refused: {}", name_, domain,
              !cert.presented ? "no certificate"
              : cert.chain_valid ? "certificate names another domain"
                                 : cert.chain_error);
    return fail("not-authorized");
  }
  send(xml::Element("success", std::string(ns::kSasl)));
  authenticated_by_sasl_ = true;
  remote_ = domain;
  authenticated_.insert(domain);
  log::info("{}: {} authenticated (SASL EXTERNAL, certificate)", name_, domain);
  restart();  // RFC 6120 §6.4.6
  return true;
}

void S2sIn::dialback_error(std::string_view from, std::string_view to, std::string condition,
                           std::string_view type) {
  send_raw(dialback_element("result", from, to, "error", {}, {}, condition, type));
}

void S2sIn::dialback_result(const xml::Element& e) {
  const std::string* from_attr = e.attr("from");
  const std::string* to_attr = e.attr("to");
  if (from_attr == nullptr || to_attr == nullptr) {
    begin_close("improper-addressing", "db:result needs 'from' and 'to'");
    return;
  }
  auto to = xmpp::prep_domainpart(*to_attr);
  if (!to || !manager_.router().is_served_domain(*to)) {
    dialback_error(*to_attr, *from_attr, "item-not-found");  // XEP-0220 §2.4
    return;
  }
  auto from = xmpp::prep_domainpart(*from_attr);
  if (!from || manager_.router().is_served_domain(*from)) {
    // Not a domain, or one of ours: no one else can be its originating server.
    dialback_error(*to, *from_attr, "not-acceptable");
    return;
  }
  if (!config_.s2s.allowed(*from)) {
    log::info("{}: dialback for {} refused by policy", name_, *from);
    dialback_error(*to, *from, "policy-violation");
    return;
  }
  if (authenticated_.contains(*from)) {
    send_raw(dialback_element("result", *to, *from, "valid"));
    return;
  }
  auto cert = net::peer_certificate(transport_->native_handle());
  if (tls_active_ && net::authenticates(cert, *from)) {
    // The certificate already proves the domain (XEP-0344 §2.4): no need to dial back.
    authenticated_.insert(*from);
    log::info("{}: {} authenticated (dialback request, valid certificate)", name_, *from);
    send_raw(dialback_element("result", *to, *from, "valid"));
    return;
  }
  if (config_.s2s.require_valid_certificates) {
    // XEP-0220 §2.4: proof by certificate is required here.
    log::info("{}: dialback for {} refused: a valid certificate is required ({})", name_, *from,
              !cert.presented ? "none presented"
              : cert.chain_valid ? "it names another domain"
                                 : cert.chain_error);
    dialback_error(*to, *from, "not-authorized");
    return;
  }
  if (!verifying_.insert({*from, *to}).second) {
    return;  // already asked; one answer serves both
  }
  log::debug("{}: verifying dialback key for {} -> {}", name_, *from, *to);
  manager_.verify(*to, *from, stream_id_, e.text(), shard_,
                  std::static_pointer_cast<S2sIn>(shared_from_this()));
}

void S2sIn::verified(std::string originating, std::string receiving, int outcome,
                     std::string condition) {
  if (dead_ || closing_) {
    return;
  }
  verifying_.erase({originating, receiving});
  switch (static_cast<VerifyOutcome>(outcome)) {
    case VerifyOutcome::kValid:
      authenticated_.insert(originating);
      log::info("{}: {} authenticated (dialback)", name_, originating);
      send_raw(dialback_element("result", receiving, originating, "valid"));
      return;
    case VerifyOutcome::kInvalid:
      log::warn("{}: dialback key for {} is invalid (spoofing or misconfiguration)", name_,
                originating);
      if (authenticated_.empty()) {
        // XEP-0220 §2.2.1: the first pair failed: "invalid", and the stream closes.
        send_raw(dialback_element("result", receiving, originating, "invalid"));
        begin_close(std::nullopt);
      } else {
        dialback_error(receiving, originating, "forbidden");
      }
      return;
    case VerifyOutcome::kError:
      dialback_error(receiving, originating, condition.empty() ? "remote-server-not-found"
                                                               : condition);
      return;
  }
}

void S2sIn::dialback_verify(const xml::Element& e) {
  // XEP-0220 §2.1.3: we are the Authoritative Server for 'to'; the key proves that a stream
  // from us to 'from' with this id exists (XEP-0185: recomputed, nothing stored).
  const std::string* from = e.attr("from");
  const std::string* to = e.attr("to");
  const std::string* id = e.attr("id");
  if (from == nullptr || to == nullptr || id == nullptr) {
    begin_close("improper-addressing", "db:verify needs 'from', 'to' and 'id'");
    return;
  }
  auto local = xmpp::prep_domainpart(*to);
  if (!local || !manager_.router().is_served_domain(*local)) {
    send_raw(dialback_element("verify", *to, *from, "error", *id, {}, "item-not-found"));
    return;
  }
  std::string expected = manager_.key(*from, *local, *id);
  bool valid = keys_equal(expected, e.text());
  log::debug("{}: db:verify from {} for stream {}: {}", name_, *from, *id,
             valid ? "valid" : "invalid");
  send_raw(dialback_element("verify", *local, *from, valid ? "valid" : "invalid", *id));
}

void S2sIn::stanza(xml::Element& e) {
  if (authenticated_.empty()) {
    begin_close("not-authorized", "Authenticate before sending stanzas");  // RFC 6120 §4.9.3.12
    return;
  }
  const std::string* from_attr = e.attr("from");
  const std::string* to_attr = e.attr("to");
  if (from_attr == nullptr || to_attr == nullptr) {
    // RFC 6120 §8.1.1.2, §8.1.2.2: both are required between servers.
    begin_close("improper-addressing", "Stanzas between servers need 'from' and 'to'");
    return;
  }
  auto from = xmpp::Jid::parse(*from_attr);
  if (!from || !authenticated_.contains(from->domain())) {
    // RFC 6120 §4.9.3.9: a 'from' domain this stream has not authenticated.
    log::warn("{}: stanza from {} which this stream has not authenticated", name_, *from_attr);
    begin_close("invalid-from", "The 'from' domain was not authenticated on this stream");
    return;
  }
  auto to = xmpp::Jid::parse(*to_attr);
  if (to && !manager_.router().is_served_domain(to->domain())) {
    log::warn("{}: stanza to {} which is not served here", name_, *to_attr);
    begin_close("host-unknown", "This server does not serve the 'to' domain");  // §4.9.3.6
    return;
  }
  rename_namespace(e, ns::kServer, ns::kClient);
  if (!to) {
    manager_.router().bounce(e, xmpp::StanzaError::jid_malformed());  // §8.3.3.8
    return;
  }
  manager_.router().route(std::make_shared<const xml::Element>(std::move(e)));
}

}  // namespace starling::stream::s2s
