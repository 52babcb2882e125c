#include "net/transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <cerrno>
#include <climits>
#include <string>

namespace starling::net {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// One read buffer per thread: a TLS record's plaintext is at most 16 KiB (RFC 8446 §5.1).
constexpr std::size_t kReadBuffer = 16384;
thread_local std::array<char, kReadBuffer> t_read_buffer;

using Next = Transport::Next;

struct Outcome {
  Next next;
  error_code ec;
};

Outcome classify(ssl_st* ssl, int ret) {
  int err = SSL_get_error(ssl, ret);
  switch (err) {
    case SSL_ERROR_NONE:
      return {Next::kDone, {}};
    case SSL_ERROR_WANT_READ:
      return {Next::kRead, {}};
    case SSL_ERROR_WANT_WRITE:
      return {Next::kWrite, {}};
    case SSL_ERROR_ZERO_RETURN:
      // The peer sent close_notify.
      return {Next::kFailed, asio::error::eof};
    case SSL_ERROR_SYSCALL: {
      int saved = errno;
      unsigned long e = ERR_get_error();
      ERR_clear_error();
      if (e != 0) {
        return {Next::kFailed,
                error_code(static_cast<int>(e), asio::error::get_ssl_category())};
      }
      if (ret == 0 || saved == 0) {
        // TCP ended without close_notify.
        return {Next::kFailed, asio::ssl::error::stream_truncated};
      }
      return {Next::kFailed, error_code(saved, boost::system::system_category())};
    }
    default: {
      unsigned long e = ERR_get_error();
      ERR_clear_error();
      return {Next::kFailed, error_code(static_cast<int>(e ? e : 1), asio::error::get_ssl_category())};
    }
  }
}

}  // namespace

void Transport::SslFree::operator()(ssl_st* s) const { SSL_free(s); }

asio::awaitable<error_code> Transport::wait(Next next) {
  auto [ec] = co_await socket_.async_wait(
      next == Next::kRead ? tcp::socket::wait_read : tcp::socket::wait_write, use_tuple);
  co_return ec;
}

Transport::Transport(tcp::socket socket) : socket_(std::move(socket)) {
  error_code ec;
  socket_.non_blocking(true, ec);
  // Stanzas are small and latency matters more than packet count (writes are batched anyway).
  socket_.set_option(tcp::no_delay(true), ec);
}

Transport::~Transport() = default;

bool Transport::new_ssl(ssl_ctx_st* ctx) {
  ssl_.reset(SSL_new(ctx));
  if (!ssl_) {
    ERR_clear_error();
    return false;
  }
  SSL* ssl = ssl_.get();
  // The socket is non-blocking; OpenSSL reads and writes the descriptor itself. SIGPIPE is
  // ignored by the server (a write to a closed peer fails with EPIPE instead).
  SSL_set_fd(ssl, socket_.native_handle());
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
  // Read whole TCP segments at once instead of a record header and then its body.
  SSL_set_read_ahead(ssl, 1);
  return true;
}

asio::awaitable<error_code> Transport::drive_handshake() {
  SSL* ssl = ssl_.get();
  for (;;) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
      co_return error_code{};
    }
    auto [next, ec] = classify(ssl, r);
    if (next == Next::kRead || next == Next::kWrite) {
      auto wop = wait(next);
      if (error_code wec = co_await std::move(wop)) {
        ssl_.reset();
        co_return wec;
      }
      continue;
    }
    ssl_.reset();
    co_return ec ? ec : asio::error::connection_aborted;
  }
}

asio::awaitable<error_code> Transport::handshake(ssl_ctx_st* ctx) {
  if (!new_ssl(ctx)) {
    co_return asio::error::no_memory;
  }
  SSL_set_accept_state(ssl_.get());
  auto op = drive_handshake();
  error_code ec = co_await std::move(op);
  co_return ec;
}

asio::awaitable<error_code> Transport::handshake_client(ssl_ctx_st* ctx, std::string server_name,
                                                        std::string alpn) {
  if (alpn.size() > 255) {
    co_return asio::error::invalid_argument;
  }
  if (!new_ssl(ctx)) {
    co_return asio::error::no_memory;
  }
  SSL* ssl = ssl_.get();
  SSL_set_connect_state(ssl);
  // RFC 6066 §3 (and XEP-0368 §3: the JID's domain): a host name; an IP literal is not sent.
  error_code not_ip;
  asio::ip::make_address(server_name, not_ip);
  if (!server_name.empty() && not_ip && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) {
    ERR_clear_error();
    ssl_.reset();
    co_return asio::error::invalid_argument;
  }
  if (!alpn.empty()) {
    // RFC 7301 §3.1: a list of length-prefixed protocol names. (SSL_set_alpn_protos returns 0
    // on success.)
    std::string wire(1, static_cast<char>(alpn.size()));
    wire += alpn;
    if (SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned int>(wire.size())) != 0) {
      ERR_clear_error();
      ssl_.reset();
      co_return asio::error::no_memory;
    }
  }
  auto op = drive_handshake();
  error_code ec = co_await std::move(op);
  co_return ec;
}

asio::awaitable<std::pair<error_code, std::string_view>> Transport::read() {
  for (;;) {
    if (SSL* ssl = ssl_.get()) {
      ERR_clear_error();
      int n = SSL_read(ssl, t_read_buffer.data(), static_cast<int>(t_read_buffer.size()));
      if (n > 0) {
        co_return std::pair{error_code{},
                            std::string_view(t_read_buffer.data(), static_cast<std::size_t>(n))};
      }
      auto [next, ec] = classify(ssl, n);
      if (next == Next::kFailed || next == Next::kDone) {
        co_return std::pair{ec ? ec : asio::error::eof, std::string_view{}};
      }
      auto wop = wait(next);
      if (error_code wec = co_await std::move(wop)) {
        co_return std::pair{wec, std::string_view{}};
      }
      continue;
    }
    error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(t_read_buffer), ec);
    if (!ec && n > 0) {
      co_return std::pair{error_code{}, std::string_view(t_read_buffer.data(), n)};
    }
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      co_return std::pair{ec ? ec : asio::error::eof, std::string_view{}};
    }
    auto wop = wait(Next::kRead);
    if (error_code wec = co_await std::move(wop)) {
      co_return std::pair{wec, std::string_view{}};
    }
  }
}

std::pair<error_code, std::size_t> Transport::try_write(std::string_view data) {
  bool want_read = false;
  return write_now(data, want_read);
}

std::pair<error_code, std::size_t> Transport::write_now(std::string_view data, bool& want_read) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (SSL* ssl = ssl_.get()) {
      ERR_clear_error();
      int chunk = static_cast<int>(std::min<std::size_t>(data.size() - done, INT_MAX));
      int n = SSL_write(ssl, data.data() + done, chunk);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      auto [next, ec] = classify(ssl, n);
      if (next == Next::kRead || next == Next::kWrite) {
        // A record may be half sent inside OpenSSL: the retry passes the same bytes from `done`
        // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move).
        want_read = next == Next::kRead;
        return {error_code{}, done};
      }
      return {ec ? ec : asio::error::broken_pipe, done};
    }
    error_code ec;
    std::size_t n = socket_.write_some(asio::buffer(data.data() + done, data.size() - done), ec);
    if (!ec) {
      done += n;
      continue;
    }
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      want_read = false;
      return {error_code{}, done};
    }
    return {ec, done};
  }
  return {error_code{}, done};
}

asio::awaitable<error_code> Transport::write(std::string_view data) {
  for (;;) {
    bool want_read = false;
    auto [ec, n] = write_now(data, want_read);
    data.remove_prefix(n);
    if (ec || data.empty()) {
      co_return ec;
    }
    auto wop = wait(want_read ? Next::kRead : Next::kWrite);
    if (error_code wec = co_await std::move(wop)) {
      co_return wec;
    }
  }
}

asio::awaitable<error_code> Transport::shutdown_tls() {
  SSL* ssl = ssl_.get();
  if (ssl == nullptr) {
    co_return error_code{};
  }
  // Our close_notify first.
  for (;;) {
    ERR_clear_error();
    int r = SSL_shutdown(ssl);
    if (r == 1) {
      co_return error_code{};  // the peer's close_notify had already arrived
    }
    if (r == 0) {
      break;
    }
    auto [next, ec] = classify(ssl, r);
    if (next != Next::kRead && next != Next::kWrite) {
      co_return ec;
    }
    auto wop = wait(next);
    if (error_code wec = co_await std::move(wop)) {
      co_return wec;
    }
  }
  // Then the peer's: read (and drop) until it arrives.
  for (;;) {
    auto op = read();
    auto [ec, data] = co_await std::move(op);
    if (ec == asio::error::eof) {
      co_return error_code{};
    }
    if (ec) {
      co_return ec;
    }
  }
}

void Transport::cancel() {
  error_code ec;
  socket_.cancel(ec);
}

void Transport::shutdown_send() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
}

void Transport::close() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace starling::net
