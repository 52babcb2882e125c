#include "stream/c2s/c2s_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <charconv>
#include <ctime>

#include "auth/anonymous.hpp"
#include "base/log.hpp"
#include "base/random.hpp"
#include "module/module.hpp"
#include "net/tls.hpp"
#include "router/router.hpp"
#include "server/config/config.hpp"
#include "storage/storage.hpp"
#include "stream/compress.hpp"
#include "xml/writer.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/stanza.hpp"

namespace starling::stream {

namespace asio = boost::asio;
using asio::ip::tcp;
using xmpp::Jid;
using xmpp::StanzaError;

namespace {
constexpr auto kAuthTimeout = std::chrono::seconds(60);  // from connect to resource binding
constexpr auto kCloseTimeout = std::chrono::seconds(3);  // waiting for the client's </stream>
// A bound stream that has been quiet this long gives back its XML parser's memory
// (xml::StreamParser::hibernate); most sessions are idle most of the time.
constexpr auto kHibernateAfter = std::chrono::seconds(2);
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(1);  // then for its close_notify
constexpr int kMaxAuthFailures = 5;                      // RFC 6120 §6.4.5: 2 to 5 retries
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Inflated input is parsed in pieces of at most this size (XEP-0138 streams): the parser's
// stanza size limit then bounds what a decompression bomb can make us hold.
constexpr std::size_t kInflatePiece = 16384;

xml::Element sasl_element(std::string name, std::string_view b64 = {}) {
  xml::Element e(std::move(name), std::string(ns::kSasl));
  if (!b64.empty()) {
    e.add_text(std::string(b64));
  }
  return e;
}
}  // namespace

// ---------------------------------------------------------------------------------------------
void StreamTracker::add(std::size_t shard, const std::shared_ptr<C2sStream>& s) {
  per_shard_[shard].emplace(s.get(), s);
}
void StreamTracker::remove(std::size_t shard, C2sStream* s) { per_shard_[shard].erase(s); }
std::vector<std::shared_ptr<C2sStream>> StreamTracker::streams(std::size_t shard) {
  std::vector<std::shared_ptr<C2sStream>> out;
  for (auto& [_, w] : per_shard_[shard]) {
    if (auto s = w.lock()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
C2sStream::C2sStream(C2sEnv& env, tcp::socket socket, std::size_t shard, bool direct_tls,
                     bool compression)
    : env_(env),
      shard_(shard),
      direct_tls_(direct_tls),
      tls_ctx_(env.tls.context()),
      transport_(std::move(socket)),
      parser_(xml::ParserLimits{env.config.c2s.max_stanza_size, 64}),
      drained_(transport_.get_executor()),
      watchdog_timer_(transport_.get_executor()),
      close_timer_(transport_.get_executor()),
      rate_timer_(transport_.get_executor()) {
  boost::system::error_code ec;
  auto ep = transport_.socket().remote_endpoint(ec);
  remote_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  if (!ec) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    }
    remote_ip_ = addr.to_string();
  }
  compression_offered_ = compression;
  started_at_ = last_read_ = rate_refilled_at_ = Clock::now();
  rate_tokens_ = static_cast<double>(
      std::max(env.config.c2s.max_stanza_size, env.config.c2s.max_bytes_per_second));
}

C2sStream::~C2sStream() = default;

void C2sStream::start() {
  env_.tracker.add(shard_, shared_from_this());
  asio::co_spawn(transport_.get_executor(), run(), [self = shared_from_this()](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("c2s {}: stream failed: {}", self->remote_, ex.what());
      }
      self->hard_close();
    }
  });
}

asio::awaitable<void> C2sStream::run() {
  auto self = shared_from_this();
  log::debug("c2s {}: connected{}", remote_, direct_tls_ ? " (direct TLS)" : "");
  asio::co_spawn(transport_.get_executor(), watchdog(), asio::detached);
  if (direct_tls_) {
    auto op = transport_.handshake(tls_ctx_->native_handle());
    boost::system::error_code ec = co_await std::move(op);
    if (ec) {
      log::debug("c2s {}: TLS handshake failed: {}", remote_, ec.message());
      hard_close();
      co_return;
    }
    tls_active_ = true;
    cb_ = net::channel_bindings(transport_.native_handle());
    state_ = State::kNeedAuth;
  }

  while (!dead_) {
    auto rop = transport_.read();
    auto [ec, data] = co_await std::move(rop);
    if (ec) {
      log::debug("c2s {}: read ended: {}", remote_, ec.message());
      break;
    }
    last_read_ = Clock::now();
    std::string held;  // the input, when it must outlive a suspension
    if (std::size_t rate = env_.config.c2s.max_bytes_per_second; rate > 0) {
      // Token bucket: refill for the time passed, pay for what was read, and when in debt wait
      // until it is paid before handling it (the kernel's buffers then push back on the
      // client).
      const double burst = static_cast<double>(std::max(env_.config.c2s.max_stanza_size, rate));
      std::chrono::duration<double> elapsed = last_read_ - rate_refilled_at_;
      rate_refilled_at_ = last_read_;
      rate_tokens_ = std::min(burst, rate_tokens_ + elapsed.count() * static_cast<double>(rate));
      rate_tokens_ -= static_cast<double>(data.size());
      if (rate_tokens_ < 0) {
        held.assign(data);
        data = held;
        auto wait = std::chrono::duration<double>(-rate_tokens_ / static_cast<double>(rate));
        rate_timer_.expires_after(std::chrono::duration_cast<Clock::duration>(wait));
        co_await rate_timer_.async_wait(use_tuple);
        if (dead_) {
          break;
        }
      }
    }
    if (zlib_) {
      auto cop = read_compressed(data);
      if (!co_await std::move(cop)) {
        break;
      }
      continue;
    }
    // Unless held, `data` lives in the thread's shared read buffer: it is parsed before anything
    // suspends.
    std::vector<xml::StreamEvent> events;
    xml::ParseError perr = parser_.feed(data, events);
    bool stop = false;
    for (auto& ev : events) {
      if (!co_await handle(ev)) {
        stop = true;
        break;
      }
    }
    if (stop) {
      if (dead_ || peer_closed_) {
        break;
      }
      // A stream restart discarded the rest of this buffer; or we are closing and keep reading
      // (and discarding) until the client closes too, so that unread input does not make the
      // kernel reset the connection before the client has read our stream error.
      continue;
    }
    if (perr != xml::ParseError::kNone) {
      parse_failed(perr);
      // The parser stays failed: further input is read and discarded until the client closes
      // or the close timer fires.
    }
  }
  if (!closing_) {
    begin_close(std::nullopt);
  }
  // Let the writer send what is queued (the closing tag at least), bounded by close_timer_.
  co_await flush();
  if (tls_active_ && !dead_) {
    tls_shutdown_started_ = true;
    // RFC 6120 §4.4 security warning: a TLS close_notify, and the client's in return, before
    // the TCP connection ends (bounded by close_timer_). No read is pending any more.
    auto op = transport_.shutdown_tls();
    boost::system::error_code ec = co_await std::move(op);
    log::debug("c2s {}: TLS shutdown: {}", remote_, ec ? ec.message() : "done");
  }
  hard_close();
  log::debug("c2s {}: closed", remote_);
}

void C2sStream::parse_failed(xml::ParseError perr) {
  // RFC 6120 §4.9.3: each XML error has its stream error.
  const char* cond = xml::stream_error_condition(perr);
  log::info("c2s {}: {} ({})", remote_, cond, parser_.error_detail());
  begin_close(cond, perr == xml::ParseError::kPolicyViolation
                        ? "Stanza larger than the server's limit"
                        : std::string_view(parser_.error_detail()));
}

void C2sStream::hard_close() {
  if (dead_) {
    return;
  }
  dead_ = true;
  closing_ = true;
  if (bound_) {
    // §4.5.2: the server generates unavailable presence for an ungraceful end, before the
    // resource leaves the session table.
    if (available_ || !directed_.empty()) {
      xml::Element u("presence", std::string(ns::kClient));
      u.set_attr("from", jid_.str());
      u.set_attr("type", "unavailable");
      go_unavailable(std::make_shared<const xml::Element>(std::move(u)));
    }
    env_.router.unbind(jid_, bind_id_);
    bound_ = false;
  }
  if (announced_) {
    announced_ = false;
    env_.registry.fire(events::SessionClosed{jid_});
  }
  end_anonymous_account();
  transport_.close();
  drained_.cancel();
  watchdog_timer_.cancel();
  close_timer_.cancel();
  rate_timer_.cancel();
  env_.tracker.remove(shard_, this);
}

// ---------------------------------------------------------------------------------------------
// Writer

void C2sStream::send_raw(std::string data) {
  if (dead_) {
    return;
  }
  queued_bytes_ += data.size();
  if (queued_bytes_ > env_.config.c2s.max_send_queue) {
    // The client does not read: nothing more can be sent to it, not even a stream error.
    log::warn("c2s {}: send queue over {} bytes, disconnecting", remote_,
              env_.config.c2s.max_send_queue);
    hard_close();
    return;
  }
  queue_.push_back(std::move(data));
  if (!writing_ && !flush_posted_) {
    // Written once the current handler is done, so that everything it queues goes out together.
    flush_posted_ = true;
    asio::post(transport_.get_executor(), [self = shared_from_this()] { self->write_queue(); });
  }
}

void C2sStream::send(const xml::Element& e) { send_raw(xml::to_string(e, ns::kClient)); }

void C2sStream::write_queue() {
  flush_posted_ = false;
  if (dead_ || writing_) {
    return;
  }
  if (queue_.empty()) {
    drained_.cancel();
    return;
  }
  // Everything queued goes out in one TLS record and one system call. The queue and the batch
  // live only while there is something to write, so an idle session keeps no write buffer.
  std::vector<std::string> q;
  q.swap(queue_);
  std::string batch = std::move(q.front());
  for (std::size_t i = 1; i < q.size(); ++i) {
    batch += q[i];
  }
  q = {};
  if (zlib_) {
    // XEP-0138: everything after <compressed/> goes out compressed, flushed per batch.
    queued_bytes_ -= std::min(queued_bytes_, batch.size());
    if (!zlib_->deflate(batch)) {
      log::warn("c2s {}: compression failed", remote_);
      hard_close();
      return;
    }
    queued_bytes_ += batch.size();
  }
  auto [ec, n] = transport_.try_write(batch);
  queued_bytes_ -= std::min(queued_bytes_, n);
  if (ec) {
    log::debug("c2s {}: write failed: {}", remote_, ec.message());
    hard_close();
    return;
  }
  if (n == batch.size()) {
    wrote_all();
    return;
  }
  // The socket is full: a coroutine waits until it takes the rest.
  writing_ = true;
  batch.erase(0, n);
  asio::co_spawn(transport_.get_executor(), write_rest(std::move(batch)), asio::detached);
}

asio::awaitable<void> C2sStream::write_rest(std::string rest) {
  auto self = shared_from_this();
  auto op = transport_.write(rest);
  boost::system::error_code ec = co_await std::move(op);
  writing_ = false;
  queued_bytes_ -= std::min(queued_bytes_, rest.size());
  if (ec) {
    log::debug("c2s {}: write failed: {}", remote_, ec.message());
    hard_close();
    co_return;
  }
  if (!queue_.empty()) {
    write_queue();
  } else {
    wrote_all();
  }
}

void C2sStream::wrote_all() {
  if (closing_ && queue_.empty() && !half_closed_ && !tls_active_ && !dead_) {
    // Our closing tag is out: half-close so the client sees the end at once, while we keep
    // reading until it closes too (RFC 6120 §4.4). Over TLS a TCP FIN before close_notify
    // would look like a truncation attack: there the reader waits for the client's closing
    // tag (or the close timer) and the TLS layer is shut down first.
    half_closed_ = true;
    transport_.shutdown_send();
  }
  drained_.cancel();
}

asio::awaitable<void> C2sStream::flush() {
  while (!dead_ && (writing_ || !queue_.empty())) {
    drained_.expires_at(Clock::time_point::max());
    co_await drained_.async_wait(use_tuple);
  }
}

// ---------------------------------------------------------------------------------------------
// Timers

asio::awaitable<void> C2sStream::watchdog() {
  auto self = shared_from_this();
  const auto& c = env_.config.c2s;
  while (!dead_) {
    auto now = Clock::now();
    Clock::time_point next;
    if (state_ != State::kBound) {
      if (now - started_at_ >= kAuthTimeout) {
        begin_close("connection-timeout", "Authentication took too long");
        co_return;
      }
      next = started_at_ + kAuthTimeout;
    } else if (hibernate_tried_ != last_read_ && now - last_read_ >= kHibernateAfter) {
      hibernate_tried_ = last_read_;  // once per quiet spell (it fails inside a stanza)
      parser_.hibernate();
      continue;
    } else if (c.ping_interval == 0) {
      if (hibernate_tried_ == last_read_) {
        co_return;
      }
      next = last_read_ + kHibernateAfter;
    } else if (ping_id_) {
      auto deadline = ping_sent_at_ + std::chrono::seconds(c.ping_timeout);
      if (last_read_ > ping_sent_at_) {
        // Any data from the client proves it is alive (XEP-0199 §4.1 only needs liveness).
        ping_id_.reset();
        continue;
      }
      if (now >= deadline) {
        log::info("c2s {}: {} did not answer a ping, dropping", remote_, jid_.str());
        begin_close("connection-timeout", "No answer to ping");
        co_return;
      }
      next = deadline;
    } else {
      auto due = last_read_ + std::chrono::seconds(c.ping_interval);
      if (now >= due) {
        // XEP-0199 §4.2: server-to-client ping.
        ping_id_ = "ping-" + random_id(10);
        ping_sent_at_ = now;
        xml::Element iq("iq", std::string(ns::kClient));
        iq.set_attr("type", "get");
        iq.set_attr("id", *ping_id_);
        iq.set_attr("from", domain_);
        iq.set_attr("to", jid_.str());
        iq.add_child("ping", std::string(ns::kPing));
        send(iq);
        continue;
      }
      next = due;
    }
    if (state_ == State::kBound && hibernate_tried_ != last_read_) {
      next = std::min(next, last_read_ + kHibernateAfter);
    }
    watchdog_timer_.expires_at(next);
    co_await watchdog_timer_.async_wait(use_tuple);
  }
}

// ---------------------------------------------------------------------------------------------
// Closing

void C2sStream::begin_close(std::optional<std::string> condition, std::string_view text,
                            const xml::Element* app) {
  if (closing_ || dead_) {
    return;
  }
  closing_ = true;
  if (!header_sent_) {
    // RFC 6120 §4.9.1.2: the error needs an open stream, so send our header first.
    if (domain_.empty() && !env_.router.domains().empty()) {
      domain_ = env_.router.domains().front();
    }
    send_header();
  }
  if (condition) {
    xml::Element error = xmpp::make_stream_error(*condition, text);
    if (app != nullptr) {
      error.add_child(*app);
    }
    send(error);
  }
  send_raw("</stream:stream>");
  // RFC 6120 §4.4: wait a while for the client's closing tag, then end the TCP connection.
  close_timer_.expires_after(kCloseTimeout);
  close_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) {
      self->close_timeout();
    }
  });
}

void C2sStream::close_timeout() {
  if (dead_) {
    return;
  }
  if (tls_active_ && !tls_shutdown_started_) {
    // The client did not close its stream in time. Stop reading, so that run() can still
    // close the TLS layer properly (close_notify, RFC 6120 §4.4), bounded once more.
    tls_shutdown_started_ = true;
    transport_.cancel();
    close_timer_.expires_after(kTlsShutdownTimeout);
    close_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e) {
        self->hard_close();
      }
    });
    return;
  }
  hard_close();
}

void C2sStream::kick(std::string_view condition, std::string_view text) {
  // The router already replaced our entry; do not remove the new one.
  bound_ = false;
  begin_close(std::string(condition), text);
}

void C2sStream::shutdown() { begin_close("system-shutdown", "Server is shutting down"); }

// ---------------------------------------------------------------------------------------------
// Stream header and features

void C2sStream::send_header() {
  std::string h =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' id='";
  stream_id_ = random_id(20);
  xml::escape_attr(stream_id_, h);
  h += "' from='";
  xml::escape_attr(domain_, h);
  h += "'";
  if (!response_to_.empty()) {
    h += " to='";
    xml::escape_attr(response_to_, h);
    h += "'";
  }
  if (response_version_) {
    h += " version='";
    xml::escape_attr(*response_version_, h);
    h += "'";
  }
  h += " xml:lang='en'>";
  header_sent_ = true;
  send_raw(std::move(h));
}

void C2sStream::send_features() {
  xml::Element f("features", std::string(ns::kStream));
  switch (state_) {
    case State::kNeedTls: {
      // RFC 6120 §5.3.1: TLS is mandatory-to-negotiate here.
      auto& st = f.add_child("starttls", std::string(ns::kTls));
      st.add_child("required", std::string(ns::kTls));
      break;
    }
    case State::kNeedAuth: {
      auto& m = f.add_child("mechanisms", std::string(ns::kSasl));
      const bool anonymous = env_.config.is_anonymous(domain_);
      if (anonymous) {
        // RFC 4505 on an anonymous domain: the only mechanism offered (and accepted).
        m.add_child("mechanism", std::string(ns::kSasl))
            .add_text(std::string(auth::kAnonymousMechanism));
      } else {
        for (const auto& mech : auth::SaslServer::mechanisms(tls_active_, cb_)) {
          m.add_child("mechanism", std::string(ns::kSasl)).add_text(mech);
        }
      }
      auto types = anonymous ? std::vector<std::string>{}
                             : auth::SaslServer::channel_binding_types(cb_);
      if (!types.empty()) {
        // XEP-0440: which channel-binding types the -PLUS mechanisms can use.
        auto& cbe = f.add_child("sasl-channel-binding", std::string(ns::kSaslCb));
        for (const auto& t : types) {
          cbe.add_child("channel-binding", std::string(ns::kSaslCb)).set_attr("type", t);
        }
      }
      // Module features before authentication, per domain (e.g. XEP-0077 §5 <register/>).
      for (auto& feature : env_.registry.pre_auth_stream_features(domain_)) {
        f.add_child(std::move(feature));
      }
      break;
    }
    case State::kNeedBind:
      if (compression_offered_ && !zlib_) {
        // XEP-0138 §2, in XEP-0170's order: after SASL, before resource binding.
        f.add_child("compression", std::string(kCompressFeatureNs))
            .add_child("method", std::string(kCompressFeatureNs))
            .add_text(std::string(kZlibMethod));
      }
      f.add_child("bind", std::string(ns::kBind));
      // RFC 3921 session establishment, kept for old clients; RFC 6121 makes it optional.
      f.add_child("session", std::string(ns::kSession))
          .add_child("optional", std::string(ns::kSession));
      for (const auto& feature : env_.registry.stream_features()) {
        f.add_child(feature);
      }
      break;
    case State::kBound:
      break;
  }
  send(f);
}

// ---------------------------------------------------------------------------------------------
// Events

asio::awaitable<bool> C2sStream::handle(xml::StreamEvent& ev) {
  if (closing_) {
    // After our closing tag only the client's closing tag matters.
    if (std::holds_alternative<xml::StreamEnd>(ev)) {
      peer_closed_ = true;
      co_return false;
    }
    co_return true;
  }
  if (auto* h = std::get_if<xml::StreamHeader>(&ev)) {
    co_return co_await handle_header(*h);
  }
  if (auto* e = std::get_if<xml::Element>(&ev)) {
    co_return co_await handle_element(*e);
  }
  // The client closed its stream: close ours (RFC 6120 §4.4).
  peer_closed_ = true;
  begin_close(std::nullopt);
  co_return false;
}

asio::awaitable<bool> C2sStream::handle_header(const xml::StreamHeader& h) {
  // Pick our domain first so an error header carries it.
  const std::string* to = h.attr("to");
  std::optional<std::string> to_domain;
  if (to != nullptr) {
    to_domain = xmpp::prep_domainpart(*to);
  }
  if (to_domain && env_.router.is_local_domain(*to_domain)) {
    domain_ = *to_domain;
  } else if (domain_.empty()) {
    domain_ = env_.router.domains().front();
  }
  // RFC 6120 §4.7.2: the response 'to' is the bare JID of the client's 'from', if it gave one.
  response_to_.clear();
  if (const std::string* from = h.attr("from")) {
    if (auto j = Jid::parse(*from); j && !j->local().empty()) {
      response_to_ = j->bare_str();
    }
  }
  // RFC 6120 §4.7.5: answer with the lower of the client's version and ours (1.0), numerically;
  // no version attribute at all when the client sent none (it is then taken as "0.9").
  const std::string* version = h.attr("version");
  int major = 0, minor = 0;
  bool version_ok = false;
  if (version != nullptr) {
    const char* b = version->data();
    const char* e = b + version->size();
    auto r1 = std::from_chars(b, e, major);
    if (r1.ec == std::errc() && r1.ptr < e && *r1.ptr == '.') {
      auto r2 = std::from_chars(r1.ptr + 1, e, minor);
      version_ok = r2.ec == std::errc() && r2.ptr == e && major >= 0 && minor >= 0;
    }
  }
  if (version == nullptr) {
    response_version_.reset();
  } else if (version_ok && (major < 1 || (major == 1 && minor == 0))) {
    response_version_ = std::to_string(major) + "." + std::to_string(minor);
  } else {
    response_version_ = "1.0";
  }
  // RFC 6120 §4.9.3.10: wrong stream namespace or content namespace.
  if (h.xmlns != ns::kStream || h.name != "stream") {
    begin_close("invalid-namespace",
                "The stream element must be {http://etherx.jabber.org/streams}stream");
    co_return false;
  }
  if (h.default_ns != ns::kClient) {
    begin_close("invalid-namespace", "The default namespace must be jabber:client");
    co_return false;
  }
  // Only XMPP 1.x streams: no version (0.9), 0.x, or a malformed version cannot be served. A
  // higher major version gets our 1.0 header and then the error (§4.9.3.25).
  if (!version_ok || major != 1) {
    begin_close("unsupported-version", "Only XMPP 1.0 streams are supported");
    co_return false;
  }
  // RFC 6120 §4.9.3.6: a 'to' we do not serve.
  if (to == nullptr || !to_domain || !env_.router.is_local_domain(*to_domain)) {
    begin_close("host-unknown", to == nullptr ? "The stream header needs a 'to' attribute"
                                              : "This server does not serve that domain");
    co_return false;
  }
  if (state_ != State::kNeedTls && state_ != State::kNeedAuth && !jid_.empty() &&
      *to_domain != jid_.domain()) {
    begin_close("host-unknown", "The restarted stream must be to the authenticated domain");
    co_return false;
  }
  send_header();
  send_features();
  co_return true;
}

asio::awaitable<bool> C2sStream::handle_element(xml::Element& e) {
  const bool is_stanza = xmpp::kind_of(e) != xmpp::StanzaKind::kOther;
  switch (state_) {
    case State::kNeedTls:
      if (e.name() == "starttls" && e.xmlns() == ns::kTls) {
        co_return co_await starttls();
      }
      if (e.name() == "auth" && e.xmlns() == ns::kSasl) {
        // RFC 6120 §6.5.4: no SASL before TLS.
        xml::Element f = sasl_element("failure");
        f.add_child("encryption-required", std::string(ns::kSasl));
        send(f);
        co_return true;
      }
      if (e.name() == "compress" && e.xmlns() == kCompressNs) {
        co_return co_await compress(e);
      }
      begin_close(is_stanza ? "not-authorized" : "policy-violation",
                  "STARTTLS is required before anything else");
      co_return false;
    case State::kNeedAuth:
      if (e.xmlns() == ns::kSasl && e.name() == "auth") {
        co_await sasl_auth(e);
        co_return !closing_ && state_ == State::kNeedAuth;
      }
      if (e.xmlns() == ns::kSasl && e.name() == "response") {
        co_await sasl_response(e);
        co_return !closing_ && state_ == State::kNeedAuth;
      }
      if (e.xmlns() == ns::kSasl && e.name() == "abort") {
        sasl_.reset();
        co_await sasl_fail(auth::SaslFailure::kAborted);  // RFC 6120 §6.4.4
        co_return !closing_;
      }
      if (e.name() == "compress" && e.xmlns() == kCompressNs) {
        co_return co_await compress(e);
      }
      {
        auto op = pre_auth_iq(e);
        if (co_await std::move(op)) {
          co_return !closing_ && !dead_;
        }
      }
      // RFC 6120 §4.9.3.12: stanzas before authentication.
      begin_close(is_stanza ? "not-authorized" : "unsupported-stanza-type", "Authenticate first");
      co_return false;
    case State::kNeedBind:
      if (xmpp::kind_of(e) == xmpp::StanzaKind::kIq && e.attr_or("type") == "set" &&
          e.child("bind", ns::kBind) != nullptr) {
        co_await bind(e);
        co_return !closing_;
      }
      if (e.name() == "compress" && e.xmlns() == kCompressNs) {
        co_return co_await compress(e);
      }
      begin_close(is_stanza ? "not-authorized" : "unsupported-stanza-type",
                  "Bind a resource first");
      co_return false;
    case State::kBound:
      if (!is_stanza || e.xmlns() != ns::kClient) {
        if (e.name() == "compress" && e.xmlns() == kCompressNs) {
          co_return co_await compress(e);
        }
        // RFC 6120 §4.9.3.24
        begin_close("unsupported-stanza-type", {});
        co_return false;
      }
      handle_stanza(e);
      co_return true;
  }
  co_return true;
}

asio::awaitable<bool> C2sStream::starttls() {
  send(xml::Element("proceed", std::string(ns::kTls)));
  co_await flush();
  if (dead_) {
    co_return false;
  }
  auto op = transport_.handshake(tls_ctx_->native_handle());
  boost::system::error_code ec = co_await std::move(op);
  if (ec) {
    // RFC 6120 §5.4.3.2: on TLS failure the TCP connection is closed without a stream error.
    log::debug("c2s {}: STARTTLS handshake failed: {}", remote_, ec.message());
    hard_close();
    co_return false;
  }
  tls_active_ = true;
  cb_ = net::channel_bindings(transport_.native_handle());
  state_ = State::kNeedAuth;
  header_sent_ = false;
  parser_.reset();  // RFC 6120 §5.4.3.3: a fresh stream over TLS
  co_return false;  // discard whatever followed <starttls/> in the same read
}

// ---------------------------------------------------------------------------------------------
// Requests before authentication that a module handles (module::PreAuthIq), e.g. XEP-0077
// §3.1 in-band registration. Returns false when no module handles `e`; the caller then ends
// the stream as for any stanza before authentication.

asio::awaitable<bool> C2sStream::pre_auth_iq(const xml::Element& e) {
  if (xmpp::kind_of(e) != xmpp::StanzaKind::kIq || e.xmlns() != ns::kClient) {
    co_return false;
  }
  std::string_view type = e.attr_or("type");
  auto children = e.elements();
  if ((type != "get" && type != "set") || children.empty()) {
    co_return false;
  }
  const module::PreAuthIqHandler* handler =
      env_.registry.find_pre_auth_iq(type == "get" ? module::IqType::kGet : module::IqType::kSet,
                                     children.front()->xmlns(), children.front()->name());
  if (handler == nullptr) {
    co_return false;
  }
  // Only the server itself can be addressed before authentication.
  const std::string* to = e.attr("to");
  if (to != nullptr) {
    auto j = Jid::parse(*to);
    if (!j || !j->is_domain() || j->domain() != domain_) {
      co_return false;
    }
  }
  xml::Element request = e;
  request.remove_attr("from");  // the client has no address yet
  const bool named_server = to != nullptr;
  auto answer = [&](xml::Element reply) {
    reply.remove_attr("to");
    if (named_server) {
      reply.set_attr("from", domain_);
    } else {
      reply.remove_attr("from");
    }
    send(reply);
  };
  if (!request.attr("id") || children.size() != 1) {
    // RFC 6120 §8.2.3: an id, and exactly one payload in a get or set.
    answer(xmpp::make_error_reply(
        request, StanzaError::bad_request("an iq of type get or set needs an id and one child")));
    co_return true;
  }
  module::IqResult result;
  try {
    module::PreAuthIq iq{request, *request.elements().front(), domain_, remote_ip_};
    auto op = (*handler)(iq);
    result = co_await std::move(op);
  } catch (const std::exception& ex) {
    log::error("c2s {}: pre-auth iq handler for {{{}}}{} failed: {}", remote_,
               children.front()->xmlns(), children.front()->name(), ex.what());
    result = StanzaError::internal_server_error();
  }
  if (dead_ || closing_) {
    co_return true;
  }
  if (auto* err = std::get_if<StanzaError>(&result)) {
    answer(xmpp::make_error_reply(request, *err));
  } else {
    answer(xmpp::make_iq_result(request, std::get_if<xml::Element>(&result)));
  }
  co_return true;
}

// ---------------------------------------------------------------------------------------------
// SASL (RFC 6120 §6)

asio::awaitable<void> C2sStream::sasl_auth(const xml::Element& e) {
  std::string mech(e.attr_or("mechanism"));
  // RFC 4505: ANONYMOUS is the only mechanism of an anonymous domain and is nowhere else.
  anonymous_ = env_.config.is_anonymous(domain_);
  if (anonymous_) {
    sasl_ = mech == auth::kAnonymousMechanism ? auth::make_anonymous_server() : nullptr;
  } else {
    sasl_ = auth::SaslServer::create(mech, tls_active_, cb_);
  }
  credentials_.reset();
  sasl_user_.clear();
  sasl_account_disabled_ = false;
  sasl_first_seen_ = false;
  if (!sasl_) {
    co_await sasl_fail(auth::SaslFailure::kInvalidMechanism);
    co_return;
  }
  std::string text = e.text();
  if (text.empty()) {
    // No initial response: ask for it with an empty challenge (RFC 6120 §6.4.2).
    send(sasl_element("challenge"));
    co_return;
  }
  std::string data;
  if (text != "=" && !base64_decode(text, data)) {
    co_await sasl_fail(auth::SaslFailure::kIncorrectEncoding);
    co_return;
  }
  co_await sasl_step(data, true);
}

asio::awaitable<void> C2sStream::sasl_response(const xml::Element& e) {
  if (!sasl_) {
    co_await sasl_fail(auth::SaslFailure::kMalformedRequest);
    co_return;
  }
  std::string text = e.text();
  std::string data;
  if (!text.empty() && text != "=" && !base64_decode(text, data)) {
    co_await sasl_fail(auth::SaslFailure::kIncorrectEncoding);
    co_return;
  }
  co_await sasl_step(data, !sasl_first_seen_);
}

asio::awaitable<void> C2sStream::sasl_step(std::string_view data, bool first) {
  if (first) {
    sasl_first_seen_ = true;
    auto authcid = sasl_->authcid(data);
    if (!authcid) {
      sasl_.reset();
      co_await sasl_fail(auth::SaslFailure::kMalformedRequest);
      co_return;
    }
    // XEP-0106 escaped localparts arrive as typed; PRECIS preparation makes them comparable.
    auto user = xmpp::prep_localpart(*authcid);
    if (user) {
      sasl_user_ = *user;
      std::string domain = domain_, u = *user;
      auto op =
          env_.storage.run([domain, u](storage::Backend& b) { return b.get_account(domain, u); });
      auto account = co_await std::move(op);
      if (dead_) {
        co_return;
      }
      if (account) {
        credentials_ = account->credentials;
        sasl_account_disabled_ = account->disabled;
      }
    }
  }
  auto step = sasl_->step(data, credentials_ ? &*credentials_ : nullptr);
  switch (step.kind) {
    case auth::SaslServer::Step::kChallenge:
      send(sasl_element("challenge", base64_encode(step.data)));
      co_return;
    case auth::SaslServer::Step::kFailure:
      sasl_.reset();
      co_await sasl_fail(step.failure);
      co_return;
    case auth::SaslServer::Step::kSuccess:
      break;
  }
  sasl_.reset();
  if (anonymous_) {
    auto op = anonymous_login(std::string(data));
    co_await std::move(op);
    co_return;
  }
  if (sasl_account_disabled_) {
    co_await sasl_fail(auth::SaslFailure::kAccountDisabled);
    co_return;
  }
  auto jid = Jid::make(sasl_user_, domain_);
  if (!jid) {
    co_await sasl_fail(auth::SaslFailure::kNotAuthorized);
    co_return;
  }
  if (!step.authzid.empty()) {
    // RFC 6120 §6.4.6: we only let a user act as itself.
    auto az = Jid::parse(step.authzid);
    if (!az || *az != *jid) {
      co_await sasl_fail(auth::SaslFailure::kInvalidAuthzid);
      co_return;
    }
  }
  jid_ = *jid;
  credentials_.reset();
  log::info("c2s {}: authenticated as {}", remote_, jid_.bare_str());
  send(sasl_element("success", step.data.empty() ? std::string_view{} : base64_encode(step.data)));
  state_ = State::kNeedBind;
  header_sent_ = false;
  parser_.reset();  // RFC 6120 §6.4.6: the client restarts the stream
}

asio::awaitable<void> C2sStream::sasl_fail(auth::SaslFailure f) {
  ++auth_failures_;
  if (f != auth::SaslFailure::kAborted && env_.config.c2s.auth_failure_delay_ms > 0) {
    // Slow down password guessing.
    asio::steady_timer t(transport_.get_executor());
    t.expires_after(std::chrono::milliseconds(env_.config.c2s.auth_failure_delay_ms));
    co_await t.async_wait(use_tuple);
    if (dead_) {
      co_return;
    }
  }
  log::info("c2s {}: authentication failed: {}", remote_, auth::failure_element_name(f));
  xml::Element fe = sasl_element("failure");
  fe.add_child(std::string(auth::failure_element_name(f)), std::string(ns::kSasl));
  send(fe);
  if (auth_failures_ >= kMaxAuthFailures) {
    // RFC 6120 §6.4.5: a reasonable number of retries, then the connection ends.
    begin_close("policy-violation", "Too many failed authentication attempts");
  }
}

// ---------------------------------------------------------------------------------------------
// Anonymous login (RFC 4505) on an anonymous domain (config anonymous_domains)

asio::awaitable<void> C2sStream::anonymous_login(std::string trace) {
  // §2: the trace has no meaning to the server; it is logged (its length and characters are
  // bounded by auth::anonymous_trace) and otherwise ignored. §5: it may be falsified.
  std::string domain = domain_;
  auto op = env_.storage.run([domain](storage::Backend& b) -> std::optional<std::string> {
    // A fresh localpart of 128 random bits (hex, so PRECIS leaves it as it is): unguessable and
    // never reused. Created here like any account, so routing, rosters and offline storage
    // treat it as one; a collision with a live account is retried.
    for (int attempt = 0; attempt < 4; ++attempt) {
      storage::Account a;
      a.domain = domain;
      std::string raw = random_bytes(16);
      static constexpr char kHex[] = "0123456789abcdef";
      for (unsigned char c : raw) {
        a.username += kHex[c >> 4];
        a.username += kHex[c & 15];
      }
      a.created_at = static_cast<std::int64_t>(std::time(nullptr));
      switch (b.create_account(a)) {
        case storage::Status::kOk:
          return a.username;
        case storage::Status::kExists:
          continue;
        default:
          return std::nullopt;
      }
    }
    return std::nullopt;
  });
  std::optional<std::string> user = co_await std::move(op);
  auto jid = user ? Jid::make(*user, domain) : std::nullopt;
  if (!jid) {
    co_await sasl_fail(auth::SaslFailure::kTemporaryAuthFailure);
    co_return;
  }
  jid_ = *jid;
  anonymous_account_ = true;
  if (dead_) {
    end_anonymous_account();
    co_return;
  }
  log::info("c2s {}: anonymous login as {} (trace: '{}')", remote_, jid_.bare_str(), trace);
  send(sasl_element("success"));
  state_ = State::kNeedBind;
  header_sent_ = false;
  parser_.reset();  // RFC 6120 §6.4.6: the client restarts the stream
}

void C2sStream::end_anonymous_account() {
  if (!anonymous_account_) {
    return;
  }
  anonymous_account_ = false;
  // The same path as any account deletion: the modules' handlers (contacts are told), then
  // the account and everything stored for it. Queued after this session's own last writes
  // (its unavailable presence), on the same shard and storage thread.
  auto body = [](const module::Registry& registry, storage::Storage& store,
                 Jid bare) -> asio::awaitable<void> {
    auto op = module::remove_account(registry, store, bare);
    storage::Status st = co_await std::move(op);
    if (st == storage::Status::kOk) {
      log::info("c2s: anonymous account {} deleted", bare.bare_str());
    } else if (st != storage::Status::kNotFound) {
      log::error("c2s: cannot delete anonymous account {}", bare.bare_str());
    }
  };
  asio::co_spawn(transport_.get_executor(), body(env_.registry, env_.storage, jid_.bare()),
                 asio::detached);
}

// ---------------------------------------------------------------------------------------------
// Stream compression (XEP-0138, zlib)

asio::awaitable<bool> C2sStream::compress(const xml::Element& e) {
  auto failure = [&](const char* condition) {
    xml::Element f("failure", std::string(kCompressNs));
    f.add_child(condition, std::string(kCompressNs));
    send(f);
  };
  // XEP-0138 §2: negotiation failures are not stream errors; the client may go on without.
  if (!compression_offered_ || zlib_ || state_ != State::kNeedBind) {
    // Not offered here (listener without compression), already compressed, or out of
    // XEP-0170's order (after SASL, before binding): "unworkable for any other reason".
    failure("setup-failed");
    co_return true;
  }
  bool zlib = false;
  for (const xml::Element* m : e.elements()) {
    if (m->name() == "method" && m->xmlns() == kCompressNs && m->text() == kZlibMethod) {
      zlib = true;
    }
  }
  if (!zlib) {
    failure("unsupported-method");
    co_return true;
  }
  auto z = ZlibStream::create();
  if (!z) {
    failure("setup-failed");
    co_return true;
  }
  send(xml::Element("compressed", std::string(kCompressNs)));
  co_await flush();  // <compressed/> itself goes out uncompressed
  if (dead_) {
    co_return false;
  }
  zlib_ = std::move(z);
  log::debug("c2s {}: stream compression (zlib) on", remote_);
  header_sent_ = false;
  parser_.reset();  // XEP-0138 §2: a new stream, compressed
  co_return false;  // the client waits for <compressed/>: nothing may follow in this read
}

asio::awaitable<bool> C2sStream::read_compressed(std::string_view data) {
  if (inflate_stopped_) {
    co_return true;  // read and discarded until the client closes or the close timer fires
  }
  zlib_->input(data);  // copied before anything suspends: `data` is the shared read buffer
  std::string piece;
  for (;;) {
    auto st = zlib_->inflate_some(piece, kInflatePiece);
    if (st == ZlibStream::Inflate::kError) {
      // XEP-0138 §2: a processing error after compression was established.
      inflate_stopped_ = true;
      log::info("c2s {}: cannot decompress the client's data", remote_);
      xml::Element app("failure", std::string(kCompressNs));
      app.add_child("processing-failed", std::string(kCompressNs));
      begin_close("undefined-condition", "Compressed data is corrupt", &app);
      co_return true;
    }
    if (std::size_t rate = env_.config.c2s.max_bytes_per_second; rate > 0) {
      // The rate limit counts what the client makes us parse: the next read waits for it.
      rate_tokens_ -= static_cast<double>(piece.size());
    }
    std::vector<xml::StreamEvent> events;
    xml::ParseError perr = parser_.feed(piece, events);
    for (auto& ev : events) {
      if (!co_await handle(ev)) {
        co_return !(dead_ || peer_closed_);
      }
    }
    if (perr != xml::ParseError::kNone) {
      // E.g. a decompression bomb: the stanza size limit cuts it off (policy-violation).
      inflate_stopped_ = true;
      parse_failed(perr);
      co_return true;
    }
    if (st == ZlibStream::Inflate::kDone) {
      co_return true;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Resource binding (RFC 6120 §7)

asio::awaitable<void> C2sStream::bind(const xml::Element& iq) {
  const xml::Element* b = iq.child("bind", ns::kBind);
  std::string requested = b->child_text("resource", ns::kBind);
  std::optional<Jid> full;
  if (requested.empty()) {
    full = jid_.with_resource("starling-" + random_id(12));  // §7.6.2.1 server-generated
  } else {
    full = jid_.with_resource(requested);
    if (!full) {
      // §7.7.2.1: a resource that cannot be prepared.
      auto reply = xmpp::make_error_reply(iq, StanzaError::bad_request("Invalid resourcepart"));
      reply.remove_attr("from");
      reply.remove_attr("to");
      send(reply);
      // §7.7.3: a reasonable number of retries (5 to 10), then <policy-violation/>.
      if (++bind_failures_ > 6) {
        begin_close("policy-violation", "Too many failed resource binding attempts");
      }
      co_return;
    }
  }
  jid_ = *full;
  std::weak_ptr<session::LocalSession> self = weak_from_this();
  auto op = env_.router.bind(jid_, std::move(self), shard_);
  auto bound = co_await std::move(op);
  bind_id_ = bound.id;
  filter_ = std::move(bound.filter);
  audience_ = std::move(bound.audience);
  presence_states_ = std::move(bound.presence_states);
  if (dead_ || closing_) {
    env_.router.unbind(jid_, bind_id_);
    co_return;
  }
  bound_ = true;
  state_ = State::kBound;
  watchdog_timer_.cancel();  // re-arm for the ping schedule instead of the login deadline
  xml::Element result = xmpp::make_iq_result(iq);
  result.remove_attr("from");
  result.remove_attr("to");
  auto& rb = result.add_child("bind", std::string(ns::kBind));
  rb.add_child("jid", std::string(ns::kBind)).add_text(jid_.str());
  send(result);
  log::info("c2s {}: bound {}", remote_, jid_.str());
  announced_ = true;
  env_.registry.fire(events::SessionBound{jid_, transport_.get_executor()});
}

// ---------------------------------------------------------------------------------------------
// Stanzas

void C2sStream::handle_stanza(xml::Element& e) {
  // RFC 6120 §8.1.2.1: the server stamps 'from' with the full JID; a forged one is replaced.
  e.set_attr("from", jid_.str());
  const std::string type(e.attr_or("type"));
  if (filter_ && blocked_outbound(e)) {
    return;
  }
  switch (xmpp::kind_of(e)) {
    case xmpp::StanzaKind::kIq: {
      if (!e.attr("id") ||
          (type != "get" && type != "set" && type != "result" && type != "error")) {
        // RFC 6120 §8.2.3: iq needs an id and one of the four types.
        if (type != "error") {
          auto reply = xmpp::make_error_reply(
              e, StanzaError::bad_request("iq needs an id and a valid type"));
          reply.remove_attr("to");
          send(reply);
        }
        return;
      }
      std::string_view to = e.attr_or("to");
      bool to_server = to.empty() || to == domain_;
      if ((type == "result" || type == "error") && to_server && ping_id_ &&
          e.attr_or("id") == *ping_id_) {
        ping_id_.reset();  // our XEP-0199 ping was answered
        return;
      }
      if (type == "set" && (to.empty() || to == domain_) && e.child("session", ns::kSession)) {
        // RFC 3921 §3 session establishment: nothing to do but answer.
        auto r = xmpp::make_iq_result(e);
        r.remove_attr("to");
        if (!to.empty()) {
          r.set_attr("from", domain_);
        } else {
          r.remove_attr("from");
        }
        send(r);
        return;
      }
      if (type == "set" && e.child("bind", ns::kBind)) {
        // One resource per stream (RFC 6120 §7.7.2.x): a second bind is not allowed.
        auto r = xmpp::make_error_reply(e, StanzaError::not_allowed());
        r.remove_attr("to");
        send(r);
        return;
      }
      break;
    }
    case xmpp::StanzaKind::kPresence:
      if (!e.attr("to")) {
        handle_own_presence(e);
      } else {
        handle_presence_to(e);
      }
      return;
    case xmpp::StanzaKind::kMessage:
    case xmpp::StanzaKind::kOther:
      break;
  }
  env_.router.route(std::make_shared<const xml::Element>(std::move(e)));
}

namespace {
constexpr std::size_t kMaxDirected = 1000;

bool is_subscription_or_probe(std::string_view type) {
  return type == "subscribe" || type == "subscribed" || type == "unsubscribe" ||
         type == "unsubscribed" || type == "probe";
}
}  // namespace

void C2sStream::handle_own_presence(xml::Element& e) {
  std::string_view type = e.attr_or("type");
  if (type == "error") {
    return;  // an error about nothing: there is no one to deliver it to (RFC 6120 §8.3.1)
  }
  if (!type.empty() && type != "unavailable") {
    // §4.7.1: only available and unavailable presence is broadcast; subscription presence and
    // probes name their contact.
    auto reply = xmpp::make_error_reply(
        e, StanzaError::bad_request(is_subscription_or_probe(type)
                                        ? "This presence type needs a 'to' address"
                                        : "Unknown presence type"));
    reply.remove_attr("to");
    send(reply);
    return;
  }
  int priority = 0;
  std::string p = e.child_text("priority");
  if (!p.empty()) {
    auto r = std::from_chars(p.data(), p.data() + p.size(), priority);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || priority < -128 ||
        priority > 127) {
      // RFC 6121 §4.7.2.3: priority is an integer from -128 to +127.
      auto reply = xmpp::make_error_reply(e, StanzaError::bad_request("Invalid priority"));
      reply.remove_attr("to");
      send(reply);
      return;
    }
  }
  auto stanza = std::make_shared<const xml::Element>(std::move(e));
  if (type == "unavailable") {
    go_unavailable(std::move(stanza));
    return;
  }
  client_presence_ = stanza;
  priority_ = priority;
  stanza = decorated(stanza);
  env_.router.set_presence(jid_, bind_id_, true, priority, stanza);
  bool initial = !available_;
  available_ = true;
  env_.registry.fire(
      events::PresenceBroadcast{jid_, stanza, true, initial, {}, transport_.get_executor(), filter_});
  bool first_non_negative = priority >= 0 && !had_non_negative_;
  had_non_negative_ = had_non_negative_ || priority >= 0;
  env_.registry.fire(events::SessionAvailable{jid_, priority, initial, first_non_negative,
                                              transport_.get_executor()});
}

void C2sStream::go_unavailable(xmpp::StanzaPtr stanza) {
  client_presence_.reset();
  std::vector<std::string> directed;
  directed.swap(directed_);
  if (available_) {
    available_ = false;
    env_.router.set_presence(jid_, bind_id_, false, 0, nullptr);
    // §4.5.2: to the contacts, the user's other resources and the entities that got directed
    // presence; and to this resource too, which is gone from the table by now.
    if (!dead_) {
      deliver(stanza);
    }
    env_.registry.fire(events::PresenceBroadcast{jid_, stanza, false, false, std::move(directed),
                                                 transport_.get_executor(), filter_});
    return;
  }
  // §4.6.3 #3: a session that never became available still owes its directed presence an end.
  for (const auto& to : directed) {
    auto copy = std::make_shared<xml::Element>(*stanza);
    copy->set_attr("to", to);
    env_.router.route(std::move(copy));
  }
}

void C2sStream::handle_presence_to(xml::Element& e) {
  std::string type(e.attr_or("type"));
  auto to = xmpp::Jid::parse(e.attr_or("to"));
  if (!to) {
    if (type != "error") {
      auto reply = xmpp::make_error_reply(e, StanzaError::jid_malformed());  // RFC 6120 §8.3.3.8
      reply.remove_attr("to");
      send(reply);
    }
    return;
  }
  if (is_subscription_or_probe(type)) {
    if (const module::PresenceHandlers* h = env_.registry.presence_handlers()) {
      auto op = h->outbound(std::make_shared<const xml::Element>(std::move(e)), jid_,
                            std::move(*to));
      asio::co_spawn(transport_.get_executor(), std::move(op), asio::detached);
      return;
    }
  } else if (type.empty()) {
    if (presence_states_) {
      // XEP-0398 §4: directed presence (e.g. a MUC join) carries the avatar hash too.
      if (auto d = env_.registry.decorate_presence(e, *presence_states_)) {
        e = std::move(*d);
      }
    }
    // §4.6.3: directed available presence; remembered so that it can be ended.
    std::string t = to->str();
    if (std::find(directed_.begin(), directed_.end(), t) == directed_.end()) {
      if (directed_.size() >= kMaxDirected) {
        auto reply = xmpp::make_error_reply(
            e, StanzaError{xmpp::ErrorType::kWait, "resource-constraint",
                           "Too many entities with directed presence"});
        reply.remove_attr("to");
        send(reply);
        return;
      }
      directed_.push_back(std::move(t));
    }
  } else if (type == "unavailable") {
    std::string t = to->str();
    std::erase(directed_, t);  // §4.6.1: MUST remove it
  } else if (type != "error") {
    auto reply = xmpp::make_error_reply(e, StanzaError::bad_request("Unknown presence type"));
    reply.remove_attr("to");
    send(reply);
    return;
  }
  env_.router.route(std::make_shared<const xml::Element>(std::move(e)));
}

bool C2sStream::blocked_outbound(const xml::Element& e) {
  const std::string* to_attr = e.attr("to");
  if (to_attr == nullptr) {
    return false;
  }
  auto to = xmpp::Jid::parse(*to_attr);
  if (!to || to->bare() == jid_.bare() || *to_attr == domain_ ||
      !filter_->blocks_outbound(e, *to)) {
    return false;
  }
  std::string_view type = e.attr_or("type");
  if (type != "error" && !(e.name() == "iq" && type == "result")) {
    // XEP-0191 §3.3, XEP-0016 §2.14: not routed; not-acceptable with <blocked/>.
    auto reply = xmpp::make_error_reply(
        e, StanzaError{xmpp::ErrorType::kCancel, "not-acceptable", "You have blocked this address",
                       "blocked", "urn:xmpp:blocking:errors"});
    reply.set_attr("to", jid_.str());
    send(reply);
  }
  return true;
}

void C2sStream::set_filter(session::FilterPtr filter) { filter_ = std::move(filter); }

void C2sStream::set_audience(session::AudiencePtr audience) { audience_ = std::move(audience); }

xmpp::StanzaPtr C2sStream::decorated(const xmpp::StanzaPtr& presence) const {
  if (!presence_states_) {
    return presence;
  }
  auto d = env_.registry.decorate_presence(*presence, *presence_states_);
  return d ? std::make_shared<const xml::Element>(std::move(*d)) : presence;
}

void C2sStream::set_presence_states(session::PresenceStatesPtr states) {
  xmpp::StanzaPtr before = available_ && client_presence_ ? decorated(client_presence_) : nullptr;
  presence_states_ = std::move(states);
  if (!before || dead_ || closing_) {
    return;
  }
  xmpp::StanzaPtr after = decorated(client_presence_);
  if (after == before || *after == *before) {
    return;
  }
  // The server's part of the presence changed (a new avatar hash): broadcast it again as a
  // subsequent presence (RFC 6121 §4.4), so that contacts and the other resources see it.
  env_.router.set_presence(jid_, bind_id_, true, priority_, after);
  env_.registry.fire(events::PresenceBroadcast{jid_, std::move(after), true, false, {},
                                               transport_.get_executor(), filter_});
}

bool C2sStream::refuse_iq(const xml::Element& iq) {
  std::string_view type = iq.attr_or("type");
  if (type != "get" && type != "set") {
    return false;
  }
  auto from = xmpp::Jid::parse(iq.attr_or("from"));
  if (!from || from->local().empty() || from->bare() == jid_.bare() || !audience_ ||
      audience_->contains(from->bare_str())) {
    return false;  // servers and services, the account itself, or a subscriber
  }
  // Got directed presence from this session (RFC 6121 §4.6): the entity itself or another
  // address of it (a MUC room forwards iq from other occupants, room/nick, XEP-0045 §18.4 #3).
  const std::string bare = from->bare_str();
  for (const auto& d : directed_) {
    if (d.starts_with(bare) && (d.size() == bare.size() || d[bare.size()] == '/')) {
      return false;
    }
  }
  // §8.5.3.1: an iq to a resource from someone who may not know it is online would leak its
  // presence. XEP-0012 §4 prescribes forbidden for last activity; service-unavailable otherwise.
  bool last = iq.child("query", "jabber:iq:last") != nullptr;
  auto reply = xmpp::make_error_reply(iq, last ? StanzaError::forbidden()
                                               : StanzaError::service_unavailable());
  reply.set_attr("from", jid_.str());
  env_.router.route(std::make_shared<const xml::Element>(std::move(reply)));
  return true;
}

void C2sStream::deliver(xmpp::StanzaPtr stanza) {
  if (dead_ || closing_) {
    return;
  }
  if (stanza->name() == "iq" && refuse_iq(*stanza)) {
    return;
  }
  if (!directed_.empty() && stanza->name() == "presence" &&
      stanza->attr_or("type") == "unavailable") {
    // §4.6.1: an entity that went unavailable SHOULD leave the directed presence list.
    std::erase(directed_, std::string(stanza->attr_or("from")));
  }
  send_raw(xml::to_string(*stanza, ns::kClient));
}

}  // namespace starling::stream
