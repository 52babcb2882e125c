// S2sOut: the outgoing link for one (local domain, remote domain) pair (RFC 6120 §3.2, §5, §6;
// XEP-0220; XEP-0178; XEP-0368).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "base/random.hpp"
#include "net/dns.hpp"
#include "net/shards.hpp"
#include "net/tls.hpp"
#include "net/transport.hpp"
#include "server/config/config.hpp"
#include "stream/s2s/s2s.hpp"
#include "stream/s2s/wire.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::stream::s2s {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

xmpp::StanzaError stanza_error(std::string_view condition, std::string text) {
  // RFC 6120 §8.3.3: remote-server-timeout and resource-constraint are of type wait.
  auto type = (condition == "remote-server-timeout" || condition == "resource-constraint")
                  ? xmpp::ErrorType::kWait
                  : xmpp::ErrorType::kCancel;
  return xmpp::StanzaError{type, std::string(condition), std::move(text)};
}

// The dialback error for a verification that could not be made (XEP-0220 §2.4).
std::string verify_error(std::string_view condition) {
  if (condition == "remote-server-timeout") {
    return "remote-server-timeout";
  }
  if (condition == "remote-server-not-found") {
    return "remote-server-not-found";
  }
  return "remote-connection-failed";
}
}  // namespace

S2sOut::S2sOut(S2sManager& manager, std::size_t shard, std::string local, std::string remote)
    : S2sStream(manager, shard, "s2s-out " + local + "->" + remote),
      local_(std::move(local)),
      remote_(std::move(remote)),
      deadline_(manager.shards().executor(shard)),
      idle_timer_(manager.shards().executor(shard)),
      ping_timer_(manager.shards().executor(shard)) {}

bool S2sOut::failed_recently() const {
  return state_ == State::kFailed && Clock::now() < retry_at_;
}

void S2sOut::enqueue(xmpp::StanzaPtr stanza) {
  switch (state_) {
    case State::kReady:
      last_activity_ = Clock::now();
      send(*stanza);
      return;
    case State::kClosed:
      manager_.router().bounce(*stanza, stanza_error("remote-server-timeout", "Link closed"));
      return;
    case State::kFailed:
      if (Clock::now() < retry_at_) {
        // Back-off after a failure (retry_initial doubling up to retry_max): fail fast.
        manager_.router().bounce(*stanza, stanza_error(last_failure_.condition,
                                                       last_failure_.text));
        return;
      }
      [[fallthrough]];
    case State::kIdle:
      queue_.push_back(std::move(stanza));
      connect();
      return;
    case State::kConnecting:
      if (queue_.size() >= config_.s2s.max_queued_stanzas) {
        manager_.router().bounce(*stanza, stanza_error("resource-constraint",
                                                       "Too many stanzas waiting for " + remote_));
        return;
      }
      queue_.push_back(std::move(stanza));
      return;
  }
}

void S2sOut::shutdown() {
  if (state_ == State::kReady) {
    S2sStream::shutdown();
    return;
  }
  state_ = State::kClosed;
  hard_close();
}

void S2sOut::verify(Verify v) {
  switch (state_) {
    case State::kClosed:
      v.done(VerifyOutcome::kError, "remote-connection-failed");
      return;
    case State::kFailed:
      if (Clock::now() < retry_at_) {
        v.done(VerifyOutcome::kError, verify_error(last_failure_.condition));
        return;
      }
      break;
    default:
      break;
  }
  std::string id = v.stream_id;
  if (verifies_.contains(id)) {
    v.done(VerifyOutcome::kError, "not-acceptable");  // a second request for one stream
    return;
  }
  verifies_.emplace(id, std::move(v));
  unsent_verifies_.push_back(id);
  if (verifies_sendable_) {
    send_verifies();
  } else if (state_ == State::kIdle || state_ == State::kFailed) {
    connect();
  }
}

void S2sOut::send_verifies() {
  for (const auto& id : unsent_verifies_) {
    auto it = verifies_.find(id);
    if (it == verifies_.end()) {
      continue;
    }
    // XEP-0220 §2.1.2 step 3: from the Receiving Server (us) to the Authoritative Server.
    send_raw(dialback_element("verify", local_, remote_, {}, id, it->second.key));
  }
  unsent_verifies_.clear();
}

void S2sOut::connect() {
  state_ = State::kConnecting;
  ++attempt_;
  timed_out_ = false;
  auto self = std::static_pointer_cast<S2sOut>(shared_from_this());
  asio::co_spawn(manager_.shards().executor(shard_), run(), [self](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("{}: link failed: {}", self->name_, ex.what());
      }
      self->fail({"internal-server-error", "Internal error"});
    }
  });
}

asio::awaitable<void> S2sOut::deadline_watch(std::uint64_t attempt) {
  auto self = shared_from_this();
  deadline_.expires_after(std::chrono::seconds(config_.s2s.connect_timeout));
  auto [ec] = co_await deadline_.async_wait(use_tuple);
  if (ec || attempt != attempt_ || state_ != State::kConnecting) {
    co_return;
  }
  log::info("{}: not established within {} s", name_, config_.s2s.connect_timeout);
  timed_out_ = true;
  if (connecting_ != nullptr) {
    boost::system::error_code ignored;
    connecting_->close(ignored);
  }
  if (transport_) {
    transport_->close();  // pending reads and writes complete with an error
  }
}

asio::awaitable<void> S2sOut::run() {
  auto self = shared_from_this();
  asio::co_spawn(manager_.shards().executor(shard_), deadline_watch(attempt_), asio::detached);
  auto op = establish();
  std::optional<Failure> failure = co_await std::move(op);
  deadline_.cancel();
  if (dead_) {
    co_return;
  }
  if (timed_out_) {
    failure = Failure{"remote-server-timeout",
                      "No connection to " + remote_ + " within " +
                          std::to_string(config_.s2s.connect_timeout) + " s"};
  }
  if (failure) {
    fail(*failure);
    co_return;
  }
  state_ = State::kReady;
  backoff_ = std::chrono::seconds(0);
  log::info("{}: ready ({} queued stanza(s))", name_, queue_.size());
  flush_queue();
  auto rop = ready_loop();
  co_await std::move(rop);
}

void S2sOut::flush_queue() {
  last_activity_ = Clock::now();
  while (!queue_.empty()) {
    send(*queue_.front());
    queue_.pop_front();
  }
}

void S2sOut::fail(const Failure& f) {
  log::info("{}: failed ({}): {}", name_, f.condition, f.text);
  last_failure_ = f;
  while (!queue_.empty()) {
    manager_.router().bounce(*queue_.front(), stanza_error(f.condition, f.text));
    queue_.pop_front();
  }
  auto verifies = std::move(verifies_);
  verifies_.clear();
  unsent_verifies_.clear();
  for (auto& [id, v] : verifies) {
    v.done(VerifyOutcome::kError, verify_error(f.condition));
  }
  verifies_sendable_ = false;
  state_ = State::kFailed;
  backoff_ = backoff_.count() == 0
                 ? std::chrono::seconds(config_.s2s.retry_initial)
                 : std::min(backoff_ * 2, std::chrono::seconds(config_.s2s.retry_max));
  retry_at_ = Clock::now() + backoff_;
  drop_connection();
}

void S2sOut::closed() {
  state_ = State::kClosed;
  deadline_.cancel();
  idle_timer_.cancel();
  while (!queue_.empty()) {
    manager_.router().bounce(*queue_.front(),
                             stanza_error("remote-server-timeout", "Link to " + remote_ + " closed"));
    queue_.pop_front();
  }
  auto verifies = std::move(verifies_);
  verifies_.clear();
  for (auto& [id, v] : verifies) {
    v.done(VerifyOutcome::kError, "remote-server-timeout");
  }
  manager_.link_gone(shard_, local_, remote_, this);
}

asio::awaitable<std::optional<S2sOut::Failure>> S2sOut::establish() {
  struct Target {
    std::vector<asio::ip::address> addresses;
    std::uint16_t port;
    bool direct_tls;
    std::string host;
  };
  std::vector<Target> targets;
  if (const config::Config::S2sHost* h = config_.s2s.host(remote_)) {
    // [s2s.hosts]: a static address instead of DNS.
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(h->endpoint.host, ec);
    targets.push_back({{addr}, h->endpoint.port, h->direct_tls, h->endpoint.str()});
  } else {
    auto rop = manager_.resolver(shard_).resolve_s2s(remote_);
    net::ResolveResult r = co_await std::move(rop);
    if (r.error == net::ResolveResult::Error::kTimeout) {
      co_return Failure{"remote-server-timeout", "DNS lookup of " + remote_ + " timed out"};
    }
    if (r.error != net::ResolveResult::Error::kNone) {
      co_return Failure{"remote-server-not-found", r.message.empty()
                                                       ? "No XMPP server found for " + remote_
                                                       : r.message};
    }
    for (auto& c : r.candidates) {
      targets.push_back({std::move(c.addresses), c.port, c.direct_tls, c.host});
    }
  }
  std::optional<Failure> last;
  for (const Target& t : targets) {
    for (const auto& addr : t.addresses) {
      if (timed_out_ || dead_) {
        co_return last;
      }
      tcp::endpoint ep(addr, t.port);
      tcp::socket sock(manager_.shards().executor(shard_));
      connecting_ = &sock;
      auto cop = sock.async_connect(ep, use_tuple);
      auto [ec] = co_await std::move(cop);
      connecting_ = nullptr;
      if (ec) {
        log::info("{}: cannot connect to {} ({}:{}): {}", name_, t.host, addr.to_string(), t.port,
                  ec.message());
        last = Failure{"remote-server-not-found", "Cannot connect to " + remote_};
        continue;
      }
      log::debug("{}: connected to {}:{}{}", name_, addr.to_string(), t.port,
                 t.direct_tls ? " (direct TLS)" : "");
      attach(std::move(sock));
      auto nop = negotiate(t.direct_tls);
      std::optional<Failure> f = co_await std::move(nop);
      if (!f) {
        co_return std::nullopt;
      }
      log::info("{}: {}:{}: {}", name_, addr.to_string(), t.port, f->text);
      last = std::move(f);
      drop_connection();
    }
  }
  if (!last) {
    last = Failure{"remote-server-not-found", "No address for " + remote_};
  }
  co_return last;
}

asio::awaitable<std::optional<S2sOut::Failure>> S2sOut::read_header_and_features(
    xml::Element& features) {
  auto closed = [this](std::string what) {
    return Failure{"remote-server-not-found",
                   peer_error_ ? peer_error_->text : "Connection closed " + std::move(what)};
  };
  xml::StreamEvent ev;
  auto op = next(ev);
  if (!co_await std::move(op)) {
    co_return closed("before the stream header");
  }
  auto* h = std::get_if<xml::StreamHeader>(&ev);
  if (h == nullptr) {
    co_return closed("instead of a stream header");
  }
  if (h->name != "stream" || h->xmlns != ns::kStream || h->default_ns != ns::kServer) {
    begin_close("invalid-namespace");
    co_return Failure{"remote-server-not-found", "The peer's stream is not jabber:server"};
  }
  const std::string* id = h->attr("id");
  peer_stream_id_ = id != nullptr ? *id : std::string();
  const std::string* version = h->attr("version");
  if (version == nullptr || *version != "1.0") {
    peer_dialback_ = true;  // pre-1.0 servers: dialback without features (XEP-0220 §2.3)
    features = xml::Element("features", std::string(ns::kStream));
    co_return std::nullopt;
  }
  for (;;) {
    auto fop = next(ev);
    if (!co_await std::move(fop)) {
      co_return closed("before the stream features");
    }
    auto* e = std::get_if<xml::Element>(&ev);
    if (e == nullptr) {
      co_return closed("before the stream features");
    }
    if (e->name() == "features" && e->xmlns() == ns::kStream) {
      features = std::move(*e);
      co_return std::nullopt;
    }
    if (!common_element(*e)) {
      co_return Failure{"remote-server-not-found", "Unexpected <" + e->name() + "/> from peer"};
    }
  }
}

asio::awaitable<std::optional<S2sOut::Failure>> S2sOut::negotiate(bool direct_tls) {
  peer_error_.reset();
  if (direct_tls) {
    auto top = tls_connect(remote_, true);
    if (!co_await std::move(top)) {
      co_return Failure{"remote-server-not-found", "TLS handshake failed"};
    }
  }
  send_raw(stream_header(local_, remote_, {}));
  header_sent_ = true;
  xml::Element features;
  {
    auto op = read_header_and_features(features);
    if (auto f = co_await std::move(op)) {
      co_return f;
    }
  }
  if (!tls_active_) {
    if (features.child("starttls", ns::kTls) != nullptr) {
      send(xml::Element("starttls", std::string(ns::kTls)));
      xml::StreamEvent ev;
      auto op = next(ev);
      if (!co_await std::move(op)) {
        co_return Failure{"remote-server-not-found", "Connection closed during STARTTLS"};
      }
      auto* e = std::get_if<xml::Element>(&ev);
      if (e == nullptr || e->name() != "proceed" || e->xmlns() != ns::kTls) {
        co_return Failure{"remote-server-not-found", "The peer refused STARTTLS"};
      }
      restart();  // RFC 6120 §5.4.3.3
      auto top = tls_connect(remote_, false);
      if (!co_await std::move(top)) {
        co_return Failure{"remote-server-not-found", "TLS handshake failed"};
      }
      send_raw(stream_header(local_, remote_, {}));
      header_sent_ = true;
      auto fop = read_header_and_features(features);
      if (auto f = co_await std::move(fop)) {
        co_return f;
      }
    } else if (!config_.s2s.allow_unencrypted) {
      begin_close("policy-violation", "TLS is required");
      co_return Failure{"remote-server-not-found", "The peer does not offer TLS"};
    }
  }
  if (tls_active_) {
    auto cert = net::peer_certificate(transport_->native_handle());
    if (!net::authenticates(cert, remote_)) {
      std::string why = !cert.presented     ? "no certificate"
                        : cert.chain_valid ? "the certificate names other domains"
                                           : "certificate: " + cert.chain_error;
      if (config_.s2s.require_valid_certificates) {
        begin_close("policy-violation", "A valid certificate is required");
        co_return Failure{"remote-server-not-found",
                          "The certificate of " + remote_ + " is not valid (" + why + ")"};
      }
      log::info("{}: peer certificate not valid ({}); dialback only", name_, why);
    }
  }
  // The stream is open (and encrypted unless configured otherwise): dialback verification
  // requests may go out now, while we authenticate ourselves.
  verifies_sendable_ = true;
  send_verifies();

  bool tried_external = false;
  if (const xml::Element* mechs = features.child("mechanisms", ns::kSasl); mechs && tls_active_) {
    for (const xml::Element* m : mechs->elements()) {
      if (m->name() == "mechanism" && m->text() == "EXTERNAL") {
        tried_external = true;
      }
    }
  }
  if (tried_external) {
    // XEP-0178 §3: the authorization identity is our domain (sent for older peers).
    xml::Element auth("auth", std::string(ns::kSasl));
    auth.set_attr("mechanism", "EXTERNAL");
    auth.add_text(base64_encode(local_));
    send(auth);
    xml::StreamEvent ev;
    for (;;) {
      auto op = next(ev);
      if (!co_await std::move(op)) {
        co_return Failure{"remote-server-not-found", "Connection closed during SASL"};
      }
      auto* e = std::get_if<xml::Element>(&ev);
      if (e == nullptr) {
        co_return Failure{"remote-server-not-found", "Stream closed during SASL"};
      }
      if (e->xmlns() == ns::kSasl && e->name() == "success") {
        restart();  // RFC 6120 §6.4.6
        send_raw(stream_header(local_, remote_, {}));
        header_sent_ = true;
        auto fop = read_header_and_features(features);
        if (auto f = co_await std::move(fop)) {
          co_return f;
        }
        log::info("{}: authenticated (SASL EXTERNAL)", name_);
        co_return std::nullopt;
      }
      if (e->xmlns() == ns::kSasl && e->name() == "failure") {
        log::info("{}: SASL EXTERNAL refused; trying dialback", name_);
        break;
      }
      if (!common_element(*e)) {
        co_return Failure{"remote-server-not-found", "Unexpected <" + e->name() + "/> during SASL"};
      }
    }
  }
  bool dialback = peer_dialback_ || features.child("dialback", kDialbackFeatureNs) != nullptr;
  if (!dialback) {
    begin_close(std::nullopt);
    co_return Failure{"remote-server-not-found",
                      tried_external ? "The peer refused our certificate and offers no dialback"
                                     : "No authentication method in common with the peer"};
  }
  // XEP-0220 §2.1.1 step 1: our key for (receiving = remote, originating = local, its id).
  send_raw(dialback_element("result", local_, remote_, {}, {},
                            manager_.key(remote_, local_, peer_stream_id_)));
  xml::StreamEvent ev;
  for (;;) {
    auto op = next(ev);
    if (!co_await std::move(op)) {
      co_return Failure{"remote-server-not-found",
                        peer_error_ ? peer_error_->text : "Connection closed during dialback"};
    }
    auto* e = std::get_if<xml::Element>(&ev);
    if (e == nullptr) {
      co_return Failure{"remote-server-not-found", "Stream closed during dialback"};
    }
    if (e->xmlns() == kDialbackNs && e->name() == "result") {
      // §3.1: the answer must be for the pair we asked about on this stream.
      if (e->attr_or("from") != remote_ || e->attr_or("to") != local_) {
        log::warn("{}: ignoring a dialback result for another pair ({} -> {})", name_,
                  e->attr_or("from"), e->attr_or("to"));
        continue;
      }
      std::string_view type = e->attr_or("type");
      if (type == "valid") {
        log::info("{}: authenticated (dialback)", name_);
        co_return std::nullopt;
      }
      if (type == "invalid") {
        // §2.1.1: queued stanzas go back with internal-server-error.
        co_return Failure{"internal-server-error", remote_ + " did not accept our identity"};
      }
      std::string condition;
      if (const xml::Element* err = e->child("error")) {
        if (const xml::Element* c = err->child_ns(ns::kStanzas)) {
          condition = c->name();
        }
      }
      // §2.4: a dialback error; queued stanzas go back with remote-server-timeout.
      co_return Failure{"remote-server-timeout",
                        "Dialback refused by " + remote_ +
                            (condition.empty() ? std::string() : " (" + condition + ")")};
    }
    if (!common_element(*e)) {
      log::info("{}: ignoring <{}/> during dialback", name_, e->name());
    }
  }
}

// XEP-0199 §4.3 (server-to-server ping): a link that has been quiet for s2s.ping_interval is
// pinged; no answer within s2s.ping_timeout means the path is dead, and the link closes so that
// the next stanza makes a new one instead of vanishing into it. Streams are one-way, so the
// answer comes back on one of the remote's incoming streams and reaches pong() through the
// router (S2sManager::take_response).
asio::awaitable<void> S2sOut::keepalive() {
  auto self = shared_from_this();
  while (state_ == State::kReady && !closing_) {
    ping_timer_.expires_after(std::chrono::seconds(config_.s2s.ping_interval));
    auto [ec] = co_await ping_timer_.async_wait(use_tuple);
    if (ec || state_ != State::kReady || closing_) {
      co_return;
    }
    ping_id_ = "s2sping-" + std::to_string(shard_) + "-" + random_id(12);
    xml::Element iq("iq", std::string(ns::kClient));
    iq.set_attr("type", "get");
    iq.set_attr("id", ping_id_);
    iq.set_attr("from", local_);
    iq.set_attr("to", remote_);
    iq.add_child("ping", std::string(ns::kPing));
    send(iq);
    ping_timer_.expires_after(std::chrono::seconds(config_.s2s.ping_timeout));
    co_await ping_timer_.async_wait(use_tuple);  // cancelled early by pong()
    if (state_ != State::kReady || closing_) {
      co_return;
    }
    if (!ping_id_.empty()) {
      log::info("{}: no answer to a ping within {} s, closing the link", name_,
                config_.s2s.ping_timeout);
      state_ = State::kClosed;  // the next stanza opens a new link
      begin_close(std::nullopt);
      if (transport_) {
        transport_->cancel();  // do not wait for a peer that is not there
      }
      co_return;
    }
  }
}

void S2sOut::pong(const std::string& id) {
  if (id != ping_id_ || ping_id_.empty()) {
    return;
  }
  log::debug("{}: ping answered", name_);
  ping_id_.clear();
  ping_timer_.cancel();  // next interval
}

bool S2sOut::common_element(const xml::Element& e) {
  if (e.xmlns() == kDialbackNs && e.name() == "verify") {
    std::string id(e.attr_or("id"));
    auto it = verifies_.find(id);
    // XEP-0220 §5: only answers to requests we sent on this stream, for this pair.
    if (it == verifies_.end() || e.attr_or("from") != remote_ || e.attr_or("to") != local_) {
      log::warn("{}: ignoring an unsolicited db:verify (id {})", name_, id);
      return true;
    }
    Verify v = std::move(it->second);
    verifies_.erase(it);
    std::string_view type = e.attr_or("type");
    if (type == "valid") {
      v.done(VerifyOutcome::kValid, {});
    } else if (type == "invalid") {
      v.done(VerifyOutcome::kInvalid, {});
    } else {
      v.done(VerifyOutcome::kError, "remote-connection-failed");
    }
    return true;
  }
  if (e.name() == "error" && e.xmlns() == ns::kStream) {
    std::string condition = "undefined-condition";
    std::string text;
    for (const xml::Element* c : e.elements()) {
      if (c->name() == "text") {
        text = c->text();
      } else if (c->xmlns() == ns::kStreams) {
        condition = c->name();
      }
    }
    log::info("{}: stream error from peer: {}{}{}", name_, condition, text.empty() ? "" : ": ",
              text);
    peer_error_ = Failure{"remote-server-not-found",
                          "Stream error from " + remote_ + ": " + condition +
                              (text.empty() ? std::string() : " (" + text + ")")};
    return true;
  }
  return false;
}

asio::awaitable<void> S2sOut::ready_loop() {
  auto self = shared_from_this();
  // Idle links close (config s2s.idle_timeout); any traffic either way keeps them.
  auto idle = [](std::shared_ptr<S2sOut> link) -> asio::awaitable<void> {
    while (link->state_ == State::kReady && !link->closing_) {
      auto due = link->last_activity_ + std::chrono::seconds(link->config_.s2s.idle_timeout);
      if (S2sStream::Clock::now() >= due) {
        log::info("{}: idle, closing", link->name_);
        link->state_ = State::kClosed;  // the next stanza opens a new link
        link->begin_close(std::nullopt);
        co_return;
      }
      link->idle_timer_.expires_at(due);
      co_await link->idle_timer_.async_wait(use_tuple);
    }
  };
  asio::co_spawn(manager_.shards().executor(shard_),
                 idle(std::static_pointer_cast<S2sOut>(shared_from_this())), asio::detached);
  if (config_.s2s.ping_interval > 0) {
    asio::co_spawn(manager_.shards().executor(shard_), keepalive(), asio::detached);
  }
  xml::StreamEvent ev;
  for (;;) {
    auto op = next(ev);
    if (!co_await std::move(op)) {
      break;
    }
    if (std::holds_alternative<xml::StreamEnd>(ev)) {
      break;
    }
    if (auto* e = std::get_if<xml::Element>(&ev)) {
      if (!common_element(*e)) {
        // Streams are one-way without XEP-0288: nothing else is expected here.
        log::info("{}: ignoring <{}/> on an outgoing stream", name_, e->name());
      }
    }
  }
  state_ = State::kClosed;
  idle_timer_.cancel();
  ping_timer_.cancel();
  auto fop = finish();
  co_await std::move(fop);
}

}  // namespace starling::stream::s2s
