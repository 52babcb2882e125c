#include "bench/session.hpp"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>

#include "base/random.hpp"
#include "bench/body.hpp"
#include "xml/writer.hpp"

namespace starling::bench {
namespace asio = boost::asio;
namespace {

constexpr auto kTok = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t kConnectionsPerSource = 20000;
constexpr std::string_view kClientNs = "jabber:client";
constexpr std::string_view kTlsNs = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::string_view kSaslNs = "urn:ietf:params:xml:ns:xmpp-sasl";
constexpr std::string_view kBindNs = "urn:ietf:params:xml:ns:xmpp-bind";
constexpr std::string_view kSessionNs = "urn:ietf:params:xml:ns:xmpp-session";
constexpr std::string_view kRosterNs = "jabber:iq:roster";
constexpr std::string_view kRegisterNs = "jabber:iq:register";
constexpr std::string_view kStanzasNs = "urn:ietf:params:xml:ns:xmpp-stanzas";
constexpr std::string_view kPingNs = "urn:xmpp:ping";

// Name of the first child element (a SASL failure or stanza error condition), for messages.
std::string first_child_name(const xml::Element& e) {
  for (const auto& n : e.nodes()) {
    if (!n.is_text()) {
      return n.name();
    }
  }
  return "?";
}

std::string condition_of(const xml::Element& iq) {
  const xml::Element* err = iq.child("error");
  if (err == nullptr) {
    return "?";
  }
  for (const auto& n : err->nodes()) {
    if (!n.is_text() && n.xmlns() == kStanzasNs) {
      return n.name();
    }
  }
  return "?";
}

}  // namespace

Session::Session(asio::any_io_executor ex, asio::ssl::context& tls, const LoginConfig& cfg,
                 Account& account, std::string resource, std::uint32_t index)
    : stream_(ex, tls),
      cfg_(cfg),
      account_(account),
      resource_(std::move(resource)),
      index_(index),
      deadline_(ex),
      wake_(ex),
      closed_(ex) {}

Session::~Session() = default;

void Session::arm(double seconds) {
  deadline_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds)));
  deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) {
      if (self->error_.empty()) {
        self->error_ = "timeout";
      }
      self->shut();
    }
  });
}

void Session::disarm() { deadline_.cancel(); }

void Session::mark(LoginStep step) {
  const auto now = std::chrono::steady_clock::now();
  step_us_[step] = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now - last_mark_).count());
  last_mark_ = now;
}

void Session::shut() {
  open_ = false;
  boost::system::error_code ignored;
  stream_.lowest_layer().close(ignored);
  wake_.cancel();
}

asio::awaitable<bool> Session::write_now(std::string data) {
  boost::system::error_code ec;
  if (tls_) {
    auto op = asio::async_write(stream_, asio::buffer(data), kTok);
    std::tie(ec, std::ignore) = co_await std::move(op);
  } else {
    auto op = asio::async_write(stream_.next_layer(), asio::buffer(data), kTok);
    std::tie(ec, std::ignore) = co_await std::move(op);
  }
  if (ec && error_.empty()) {
    error_ = "write: " + ec.message();
  }
  co_return !ec;
}

asio::awaitable<const xml::StreamEvent*> Session::next_event() {
  while (next_ >= events_.size()) {
    if (parse_failed_ || peer_closed_) {
      co_return nullptr;
    }
    events_.clear();
    next_ = 0;
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_) {
      auto op = stream_.async_read_some(asio::buffer(rbuf_), kTok);
      std::tie(ec, n) = co_await std::move(op);
    } else {
      auto op = stream_.next_layer().async_read_some(asio::buffer(rbuf_), kTok);
      std::tie(ec, n) = co_await std::move(op);
    }
    if (ec) {
      if (error_.empty()) {
        error_ = "read: " + ec.message();
      }
      peer_closed_ = true;
      co_return nullptr;
    }
    if (parser_.feed(std::string_view(rbuf_.data(), n), events_) != xml::ParseError::kNone) {
      parse_failed_ = true;  // events completed before the error are still handed out
      if (error_.empty()) {
        error_ = "server sent bad XML: " + parser_.error_detail();
      }
    }
  }
  co_return &events_[next_++];
}

asio::awaitable<const xml::Element*> Session::next_element() {
  for (;;) {
    auto op = next_event();
    const xml::StreamEvent* ev = co_await std::move(op);
    if (ev == nullptr) {
      co_return nullptr;
    }
    if (std::holds_alternative<xml::StreamEnd>(*ev)) {
      peer_closed_ = true;
      if (error_.empty()) {
        error_ = "server closed the stream";
      }
      co_return nullptr;
    }
    if (const auto* e = std::get_if<xml::Element>(ev)) {
      if (e->name() == "error" && e->xmlns() == xml::kStreamNs) {
        if (error_.empty()) {
          error_ = "stream error: " + first_child_name(*e);
        }
        co_return nullptr;
      }
      co_return e;
    }
  }
}

asio::awaitable<std::string> Session::open_stream(xml::Element& features) {
  parser_.reset();
  events_.clear();
  next_ = 0;
  std::string header =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='";
  xml::escape_attr(cfg_.domain, header);
  header += "'>";
  auto wop = write_now(std::move(header));
  if (!co_await std::move(wop)) {
    co_return error_;
  }
  auto op = next_element();
  const xml::Element* e = co_await std::move(op);
  if (e == nullptr) {
    co_return error_;
  }
  if (e->name() != "features" || e->xmlns() != xml::kStreamNs) {
    co_return "expected stream features, got <" + e->name() + "/>";
  }
  features = *e;
  co_return std::string();
}

asio::awaitable<std::string> Session::iq_roundtrip(std::string request, std::string_view id,
                                                   bool conflict_ok) {
  auto wop = write_now(std::move(request));
  if (!co_await std::move(wop)) {
    co_return error_;
  }
  for (;;) {
    auto op = next_element();
    const xml::Element* e = co_await std::move(op);
    if (e == nullptr) {
      co_return error_;
    }
    if (e->name() != "iq" || e->attr_or("id") != id) {
      continue;  // presence or messages arriving meanwhile
    }
    const auto type = e->attr_or("type");
    if (type == "result") {
      co_return std::string();
    }
    const std::string cond = condition_of(*e);
    if (conflict_ok && cond == "conflict") {
      co_return std::string();
    }
    co_return "iq " + std::string(id) + " failed: " + cond;
  }
}

asio::awaitable<std::string> Session::do_register() {
  // XEP-0077 §3.1, submitted directly: the fields username and password are what every server
  // asks for; an account that already exists answers <conflict/>, which is fine here.
  std::string iq = "<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>";
  xml::escape_text(account_.localpart, iq);
  iq += "</username><password>";
  xml::escape_text(cfg_.password, iq);
  iq += "</password></query></iq>";
  static_assert(kRegisterNs == "jabber:iq:register");
  auto op = iq_roundtrip(std::move(iq), "reg1", true);
  co_return co_await std::move(op);
}

asio::awaitable<std::string> Session::sasl(const xml::Element& features) {
  const std::string_view mech = mech_name(cfg_.mech);
  bool offered = false;
  if (const auto* mechs = features.child("mechanisms", kSaslNs)) {
    for (const auto* m : mechs->elements()) {
      if (m->name() == "mechanism" && m->text() == mech) {
        offered = true;
      }
    }
  }
  if (!offered) {
    co_return "server does not offer " + std::string(mech);
  }
  std::string auth = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='";
  xml::escape_attr(mech, auth);
  auth += "'>";
  if (cfg_.mech == Mech::kPlain) {
    auth += base64_encode(plain_message(account_.localpart, cfg_.password));
    auth += "</auth>";
    auto wop = write_now(std::move(auth));
    if (!co_await std::move(wop)) {
      co_return error_;
    }
    auto op = next_element();
    const xml::Element* e = co_await std::move(op);
    if (e == nullptr) {
      co_return error_;
    }
    if (e->name() != "success") {
      co_return "SASL " + e->name() + ": " + first_child_name(*e);
    }
    co_return std::string();
  }
  ScramClient scram(cfg_.mech == Mech::kScramSha1 ? ScramAlgo::kSha1 : ScramAlgo::kSha256,
                    account_.localpart, cfg_.password, random_id(24));
  if (account_.keys.iterations != 0) {
    scram.set_cached_keys(&account_.keys);
  }
  auth += base64_encode(scram.client_first());
  auth += "</auth>";
  auto wop = write_now(std::move(auth));
  if (!co_await std::move(wop)) {
    co_return error_;
  }
  bool verified = false;
  for (int round = 0;; ++round) {
    auto op = next_element();
    const xml::Element* e = co_await std::move(op);
    if (e == nullptr) {
      co_return error_;
    }
    std::string data;
    if (!base64_decode(e->text(), data)) {
      co_return "SASL: bad base64 from server";
    }
    if (e->name() == "success") {
      if (!verified && !scram.verify_server_final(data)) {
        co_return "SASL: server signature does not verify";
      }
      account_.keys = scram.keys();
      co_return std::string();
    }
    if (e->name() != "challenge" || round > 1) {
      co_return "SASL " + e->name() + ": " + first_child_name(*e);
    }
    std::string response = "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
    if (round == 0) {
      auto final_msg = scram.client_final(data);
      if (!final_msg) {
        co_return "SASL: bad server-first-message";
      }
      response += base64_encode(*final_msg);
    } else {
      // COMPAT: servers that send server-final in a challenge and await an empty response.
      if (!scram.verify_server_final(data)) {
        co_return "SASL: server signature does not verify";
      }
      verified = true;
    }
    response += "</response>";
    auto rop = write_now(std::move(response));
    if (!co_await std::move(rop)) {
      co_return error_;
    }
  }
}

asio::awaitable<std::string> Session::login_steps() {
  boost::system::error_code ec;
  last_mark_ = std::chrono::steady_clock::now();
  if (cfg_.endpoint.address().is_v4()) {
    // One source address has ~28,000 ephemeral ports towards one server port: spread the
    // connections over 127.0.0.1, 127.0.0.2, ... (all of 127.0.0.0/8 is loopback on Linux).
    // IP_BIND_ADDRESS_NO_PORT leaves the port to connect(), so ports are shared per 4-tuple.
    auto& sock = stream_.lowest_layer();
    sock.open(asio::ip::tcp::v4(), ec);
    if (ec) {
      co_return "socket: " + ec.message();
    }
    int one = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    const asio::ip::address_v4 source(0x7F000001u + index_ / kConnectionsPerSource);
    sock.bind(asio::ip::tcp::endpoint(source, 0), ec);
    if (ec) {
      co_return "bind " + source.to_string() + ": " + ec.message();
    }
  }
  {
    auto op = stream_.lowest_layer().async_connect(cfg_.endpoint, kTok);
    std::tie(ec) = co_await std::move(op);
  }
  if (ec) {
    co_return "connect: " + ec.message();
  }
  mark(kStepConnect);
  stream_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ec);
  SSL_set_tlsext_host_name(stream_.native_handle(), cfg_.domain.c_str());
  if (cfg_.tls == TlsMode::kDirect) {
    auto op = stream_.async_handshake(Stream::client, kTok);
    std::tie(ec) = co_await std::move(op);
    if (ec) {
      co_return "TLS handshake: " + ec.message();
    }
    tls_ = true;
  }
  xml::Element features;
  std::string err;
  {
    auto op = open_stream(features);
    err = co_await std::move(op);
  }
  if (!err.empty()) {
    co_return err;
  }
  if (!tls_) {
    if (features.child("starttls", kTlsNs) == nullptr) {
      co_return "server does not offer STARTTLS";
    }
    auto wop = write_now("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    if (!co_await std::move(wop)) {
      co_return error_;
    }
    auto nop = next_element();
    const xml::Element* e = co_await std::move(nop);
    if (e == nullptr) {
      co_return error_;
    }
    if (e->name() != "proceed") {
      co_return "STARTTLS refused: <" + e->name() + "/>";
    }
    auto hop = stream_.async_handshake(Stream::client, kTok);
    std::tie(ec) = co_await std::move(hop);
    if (ec) {
      co_return "TLS handshake: " + ec.message();
    }
    tls_ = true;
    auto op = open_stream(features);
    err = co_await std::move(op);
    if (!err.empty()) {
      co_return err;
    }
  }
  mark(kStepTls);
  if (cfg_.do_register && !account_.registered) {
    auto op = do_register();
    err = co_await std::move(op);
    if (!err.empty()) {
      co_return "registration: " + err;
    }
    account_.registered = true;
  }
  mark(kStepRegister);
  {
    auto op = sasl(features);
    err = co_await std::move(op);
  }
  if (!err.empty()) {
    co_return err;
  }
  {
    auto op = open_stream(features);
    err = co_await std::move(op);
  }
  if (!err.empty()) {
    co_return err;
  }
  mark(kStepSasl);
  // RFC 6120 §7: bind our resource.
  std::string bind =
      "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>";
  xml::escape_text(resource_, bind);
  bind += "</resource></bind></iq>";
  static_assert(kBindNs == "urn:ietf:params:xml:ns:xmpp-bind");
  {
    auto op = iq_roundtrip(std::move(bind), "bind1", false);
    err = co_await std::move(op);
  }
  if (!err.empty()) {
    co_return err;
  }
  // COMPAT: RFC 3921 session establishment, for servers that still require it.
  if (const auto* s = features.child("session", kSessionNs);
      s != nullptr && !s->child("optional")) {
    auto op = iq_roundtrip(
        "<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
        "sess1", false);
    err = co_await std::move(op);
    if (!err.empty()) {
      co_return err;
    }
  }
  mark(kStepBind);
  // RFC 6121 §2.2 roster get, then §4.2 initial presence: what every client does at login.
  static_assert(kRosterNs == "jabber:iq:roster");
  {
    auto op = iq_roundtrip("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>",
                           "roster1", false);
    err = co_await std::move(op);
  }
  if (!err.empty()) {
    co_return err;
  }
  mark(kStepRoster);
  auto pop = write_now("<presence/>");
  if (!co_await std::move(pop)) {
    co_return error_;
  }
  // RFC 6121 §4.2.2: the server broadcasts initial presence to all the user's available
  // resources, this one included. Once it is back the session is available, and messages to the
  // bare JID reach it (without this, the first messages can bounce or go offline).
  for (;;) {
    auto op = next_element();
    const xml::Element* e = co_await std::move(op);
    if (e == nullptr) {
      co_return error_;
    }
    if (e->name() != "presence" || e->attr("type") != nullptr) {
      continue;
    }
    const std::string_view from = e->attr_or("from");
    const std::string_view bare = account_.bare_jid;
    if (from.substr(0, bare.size()) == bare &&
        (from.size() == bare.size() || from[bare.size()] == '/')) {
      mark(kStepPresence);
      co_return std::string();
    }
  }
}

asio::awaitable<std::string> Session::login() {
  arm(cfg_.step_timeout_s);
  auto op = login_steps();
  std::string err = co_await std::move(op);
  disarm();
  if (!err.empty()) {
    if (error_ == "timeout") {
      err = "timeout (" + err + ")";
    }
    shut();
    co_return err;
  }
  open_ = true;
  co_return std::string();
}

void Session::start(MessageSink* sink) {
  sink_ = sink;
  started_ = true;
  asio::co_spawn(stream_.get_executor(), reader(shared_from_this()), asio::detached);
  asio::co_spawn(stream_.get_executor(), writer(shared_from_this()), asio::detached);
}

bool Session::send_chat(std::string_view to, std::uint64_t stamp_ns, std::uint32_t from_index,
                        std::uint32_t pad) {
  if (!open_ || closing_ || out_.size() > cfg_.max_queue) {
    return false;
  }
  out_ += "<message type='chat' to='";
  xml::escape_attr(to, out_);
  out_ += "'><body>";
  append_chat_body(out_, ChatBody{stamp_ns, from_index, cfg_.run_id}, pad);
  out_ += "</body></message>";
  if (!writing_) {
    wake_.cancel();
  }
  return true;
}

void Session::answer_iq(const xml::Element& iq) {
  const auto type = iq.attr_or("type");
  if (type != "get" && type != "set") {
    return;
  }
  // XEP-0199 pings get a result; anything else service-unavailable (RFC 6120 §8.4).
  const bool ping = iq.child("ping", kPingNs) != nullptr;
  xml::Element reply("iq", std::string(kClientNs));
  reply.set_attr("type", ping ? "result" : "error");
  if (const auto* id = iq.attr("id")) {
    reply.set_attr("id", *id);
  }
  if (const auto* from = iq.attr("from")) {
    reply.set_attr("to", *from);
  }
  if (!ping) {
    auto& err = reply.add_child("error", std::string(kClientNs));
    err.set_attr("type", "cancel");
    err.add_child("service-unavailable", std::string(kStanzasNs));
  }
  xml::write(reply, out_, kClientNs);
  if (!writing_) {
    wake_.cancel();
  }
}

asio::awaitable<void> Session::reader(std::shared_ptr<Session> self) {
  for (;;) {
    auto op = self->next_event();
    const xml::StreamEvent* ev = co_await std::move(op);
    if (ev == nullptr) {
      break;
    }
    if (std::holds_alternative<xml::StreamEnd>(*ev)) {
      self->peer_closed_ = true;
      break;
    }
    if (const auto* e = std::get_if<xml::Element>(ev)) {
      if (e->name() == "message") {
        self->sink_->on_message(*self, *e);
      } else if (e->name() == "iq") {
        self->answer_iq(*e);
      } else if (e->name() == "error" && e->xmlns() == xml::kStreamNs) {
        self->error_ = "stream error: " + first_child_name(*e);
        break;
      }
    }
  }
  if (!self->closing_ && self->error_.empty()) {
    self->error_ = "server closed the stream";
  }
  self->shut();
  self->reader_done_ = true;
  self->closed_.cancel();
  self->sink_->on_closed(*self);
}

asio::awaitable<void> Session::writer(std::shared_ptr<Session> self) {
  while (self->stream_.lowest_layer().is_open()) {
    if (self->out_.empty()) {
      self->wake_.expires_at(asio::steady_timer::time_point::max());
      auto op = self->wake_.async_wait(kTok);
      co_await std::move(op);
      continue;
    }
    std::swap(self->out_, self->sending_);
    self->writing_ = true;
    boost::system::error_code ec;
    auto op = asio::async_write(self->stream_, asio::buffer(self->sending_), kTok);
    std::tie(ec, std::ignore) = co_await std::move(op);
    self->writing_ = false;
    self->sending_.clear();
    if (ec) {
      if (self->error_.empty()) {
        self->error_ = "write: " + ec.message();
      }
      self->shut();
      break;
    }
  }
}

asio::awaitable<void> Session::close() {
  if (!open_) {
    shut();
    co_return;
  }
  closing_ = true;
  arm(cfg_.step_timeout_s);
  if (started_) {
    out_ += "</stream:stream>";
    if (!writing_) {
      wake_.cancel();
    }
    while (!reader_done_) {
      closed_.expires_at(asio::steady_timer::time_point::max());
      auto op = closed_.async_wait(kTok);
      co_await std::move(op);
    }
  } else {
    auto wop = write_now("</stream:stream>");
    if (co_await std::move(wop)) {
      for (;;) {
        auto op = next_event();
        const xml::StreamEvent* ev = co_await std::move(op);
        if (ev == nullptr || std::holds_alternative<xml::StreamEnd>(*ev)) {
          break;
        }
      }
    }
  }
  disarm();
  shut();
}

}  // namespace starling::bench
