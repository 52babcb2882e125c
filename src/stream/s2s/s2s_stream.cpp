// S2sStream: the I/O shared by incoming and outgoing s2s streams.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "net/shards.hpp"
#include "net/tls.hpp"
#include "net/transport.hpp"
#include "server/config/config.hpp"
#include "stream/s2s/s2s.hpp"
#include "xml/writer.hpp"
#include "xmpp/namespaces.hpp"

namespace starling::stream::s2s {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kCloseTimeout = std::chrono::seconds(3);
constexpr std::size_t kMaxSendQueue = 16 * 1024 * 1024;  // bytes a peer may leave unread
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

void rename_namespace(xml::Element& e, std::string_view from, std::string_view to) {
  if (e.is_text()) {
    return;
  }
  if (e.xmlns() == from) {
    e.set_xmlns(std::string(to));
  }
  for (auto& child : e.nodes()) {
    rename_namespace(child, from, to);
  }
}

S2sStream::S2sStream(S2sManager& manager, std::size_t shard, std::string name)
    : manager_(manager),
      config_(manager.config()),
      shard_(shard),
      name_(std::move(name)),
      parser_(xml::ParserLimits{manager.config().s2s.max_stanza_size, 64}),
      close_timer_(manager.shards().executor(shard)),
      drained_(manager.shards().executor(shard)) {
  last_activity_ = Clock::now();
}

S2sStream::~S2sStream() = default;

void S2sStream::attach(tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  transport_ = std::make_shared<net::Transport>(std::move(socket));
  writing_ = false;
  flush_posted_ = false;
  parser_.reset();
  pending_.clear();
  parse_error_ = xml::ParseError::kNone;
  tls_active_ = false;
  header_sent_ = false;
  closing_ = false;
  peer_closed_ = false;
  queue_.clear();
  queued_bytes_ = 0;
}

void S2sStream::restart() {
  parser_.reset();
  pending_.clear();
  parse_error_ = xml::ParseError::kNone;
  header_sent_ = false;
}

asio::awaitable<bool> S2sStream::tls_accept(bool direct) {
  tls_ctx_ = manager_.tls().s2s_server_context();
  auto op = transport_->handshake(tls_ctx_->native_handle());
  boost::system::error_code ec = co_await std::move(op);
  if (ec) {
    log::info("{}: TLS handshake failed{}: {}", name_, direct ? " (direct TLS)" : "",
              ec.message());
    co_return false;
  }
  tls_active_ = true;
  co_return true;
}

asio::awaitable<bool> S2sStream::tls_connect(std::string server_name, bool direct) {
  tls_ctx_ = manager_.tls().s2s_client_context();
  // XEP-0368 §3: direct TLS to a server offers ALPN "xmpp-server".
  auto op = transport_->handshake_client(tls_ctx_->native_handle(), std::move(server_name),
                                         direct ? "xmpp-server" : "");
  boost::system::error_code ec = co_await std::move(op);
  if (ec) {
    log::info("{}: TLS handshake failed{}: {}", name_, direct ? " (direct TLS)" : "",
              ec.message());
    co_return false;
  }
  tls_active_ = true;
  co_return true;
}

asio::awaitable<bool> S2sStream::next(xml::StreamEvent& out) {
  while (pending_.empty()) {
    if (dead_ || !transport_) {
      co_return false;
    }
    if (parse_error_ != xml::ParseError::kNone) {
      parse_failed();
      co_return false;
    }
    auto op = transport_->read();
    auto [ec, data] = co_await std::move(op);
    if (ec) {
      log::debug("{}: read ended: {}", name_, ec.message());
      co_return false;
    }
    last_activity_ = Clock::now();
    std::vector<xml::StreamEvent> events;
    parse_error_ = parser_.feed(data, events);
    for (auto& ev : events) {
      pending_.push_back(std::move(ev));
    }
  }
  out = std::move(pending_.front());
  pending_.pop_front();
  if (std::holds_alternative<xml::StreamEnd>(out)) {
    peer_closed_ = true;
  }
  co_return true;
}

void S2sStream::parse_failed() {
  // RFC 6120 §4.9.3: each XML error has its stream error.
  const char* cond = xml::stream_error_condition(parse_error_);
  log::info("{}: {} ({})", name_, cond, parser_.error_detail());
  begin_close(cond, parse_error_ == xml::ParseError::kPolicyViolation
                        ? "Stanza larger than the server's limit"
                        : std::string_view(parser_.error_detail()));
}

void S2sStream::send(const xml::Element& e) {
  // Written as if inside a jabber:client parent, a stanza in jabber:client (as the router holds
  // it) and its jabber:client children carry no xmlns, so on the wire they inherit the stream's
  // default namespace, jabber:server: no copy of the tree to rename it.
  send_raw(xml::to_string(e, e.xmlns() == ns::kClient ? ns::kClient : ns::kServer));
}

void S2sStream::send_raw(std::string data) {
  if (dead_ || !transport_) {
    return;
  }
  queued_bytes_ += data.size();
  if (queued_bytes_ > kMaxSendQueue) {
    log::warn("{}: peer does not read (over {} bytes queued), disconnecting", name_,
              kMaxSendQueue);
    hard_close();
    return;
  }
  queue_.push_back(std::move(data));
  if (!writing_ && !flush_posted_) {
    flush_posted_ = true;
    asio::post(transport_->get_executor(), [self = shared_from_this()] { self->write_queue(); });
  }
}

void S2sStream::write_queue() {
  flush_posted_ = false;
  if (dead_ || writing_ || !transport_) {
    return;
  }
  if (queue_.empty()) {
    drained_.cancel();
    return;
  }
  std::string batch;
  for (auto& q : queue_) {
    batch += q;
  }
  queue_.clear();
  auto [ec, n] = transport_->try_write(batch);
  queued_bytes_ -= std::min(queued_bytes_, n);
  if (ec) {
    log::debug("{}: write failed: {}", name_, ec.message());
    hard_close();
    return;
  }
  if (n == batch.size()) {
    drained_.cancel();
    return;
  }
  writing_ = true;
  batch.erase(0, n);
  asio::co_spawn(transport_->get_executor(), write_rest(transport_, std::move(batch)),
                 asio::detached);
}

asio::awaitable<void> S2sStream::write_rest(std::shared_ptr<net::Transport> t, std::string rest) {
  auto self = shared_from_this();
  auto op = t->write(rest);
  boost::system::error_code ec = co_await std::move(op);
  if (t != transport_) {
    co_return;  // a dropped connection
  }
  writing_ = false;
  queued_bytes_ -= std::min(queued_bytes_, rest.size());
  if (ec) {
    log::debug("{}: write failed: {}", name_, ec.message());
    hard_close();
    co_return;
  }
  if (!queue_.empty()) {
    write_queue();
  } else {
    drained_.cancel();
  }
}

void S2sStream::begin_close(std::optional<std::string> condition, std::string_view text) {
  if (closing_ || dead_) {
    return;
  }
  closing_ = true;
  if (transport_ && header_sent_) {
    if (condition) {
      send(xmpp::make_stream_error(*condition, text));
    }
    send_raw("</stream:stream>");
  }
  close_timer_.expires_after(kCloseTimeout);
  close_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && self->transport_) {
      self->transport_->cancel();  // the reader stops; finish() then closes
    }
  });
}

asio::awaitable<void> S2sStream::flush() {
  while (!dead_ && transport_ && (writing_ || !queue_.empty() || flush_posted_)) {
    drained_.expires_at(Clock::time_point::max());
    co_await drained_.async_wait(use_tuple);
  }
}

asio::awaitable<void> S2sStream::finish() {
  auto self = shared_from_this();
  if (!closing_) {
    begin_close(std::nullopt);
  }
  // RFC 6120 §4.4: the peer's closing tag, bounded by close_timer_ (begin_close).
  xml::StreamEvent ev;
  while (!peer_closed_ && !dead_ && transport_) {
    auto op = next(ev);
    if (!co_await std::move(op)) {
      break;
    }
  }
  auto fop = flush();
  co_await std::move(fop);
  if (!dead_ && transport_ && tls_active_) {
    // RFC 6120 §4.4: close_notify before the TCP connection ends, bounded by close_timer_.
    close_timer_.expires_after(std::chrono::seconds(1));
    close_timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) {
        self->hard_close();
      }
    });
    auto op = transport_->shutdown_tls();
    co_await std::move(op);
  }
  hard_close();
}

void S2sStream::hard_close() {
  if (dead_) {
    return;
  }
  dead_ = true;
  closing_ = true;
  if (transport_) {
    transport_->close();
  }
  drained_.cancel();
  close_timer_.cancel();
  closed();
}

void S2sStream::drop_connection() {
  if (transport_) {
    transport_->close();
    transport_.reset();
  }
  queue_.clear();
  queued_bytes_ = 0;
  writing_ = false;
  tls_active_ = false;
  drained_.cancel();
}

void S2sStream::shutdown() { begin_close("system-shutdown", "Server is shutting down"); }

}  // namespace starling::stream::s2s
