#pragma once
// A TCP connection with optional server-side TLS, driven by OpenSSL directly on the socket's
// file descriptor rather than through asio::ssl::stream. The reason is memory: asio's stream
// keeps two 17 KiB record buffers per connection for its whole life, and a reader keeps its own
// buffer. Here OpenSSL runs with SSL_MODE_RELEASE_BUFFERS (its record buffers exist only while a
// record is in flight) and reads land in one buffer per thread, so an idle connection holds no
// I/O buffer at all (docs/performance.md).
//
// Use on one thread (the connection's shard): one reader and one writer may be suspended at the
// same time; neither call may be started twice concurrently.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string_view>
#include <utility>

struct ssl_st;
struct ssl_ctx_st;

namespace starling::net {

class Transport {
 public:
  // What an OpenSSL call needs next, or whether it failed (internal to transport.cpp).
  enum class Next { kDone, kRead, kWrite, kFailed };

  explicit Transport(boost::asio::ip::tcp::socket socket);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  auto get_executor() { return socket_.get_executor(); }
  bool tls() const { return ssl_ != nullptr; }
  ssl_st* native_handle() const { return ssl_.get(); }

  // Runs the server side of a TLS handshake with a connection made from `ctx` (the caller
  // keeps `ctx` alive for the life of this transport). From then on read and write go through
  // TLS.
  boost::asio::awaitable<boost::system::error_code> handshake(ssl_ctx_st* ctx);
  // The client side (outgoing s2s): SNI `server_name` (RFC 6066 §3) and, when not empty, ALPN
  // protocol `alpn` ("xmpp-server" for XEP-0368 direct TLS). Certificate checks are the
  // caller's (peer_certificate in tls.hpp).
  boost::asio::awaitable<boost::system::error_code> handshake_client(ssl_ctx_st* ctx,
                                                                     std::string server_name,
                                                                     std::string alpn = {});

  // Waits for data and returns what arrived. The view points into a buffer shared by every
  // transport of this thread: it is valid only until the caller next suspends. An empty view
  // comes only with an error (eof: the peer closed; TLS: its close_notify).
  boost::asio::awaitable<std::pair<boost::system::error_code, std::string_view>> read();

  // Writes what the socket takes now without waiting: the bytes written, or an error. Fewer
  // than data.size() means the socket is full; then pass the rest (from that offset) to write().
  std::pair<boost::system::error_code, std::size_t> try_write(std::string_view data);

  // Writes all of `data` (which must stay alive and unchanged until this completes).
  boost::asio::awaitable<boost::system::error_code> write(std::string_view data);

  // TLS: sends close_notify and waits for the peer's (RFC 6120 §4.4); bound it by closing the
  // socket. No read may be pending.
  boost::asio::awaitable<boost::system::error_code> shutdown_tls();

  // Cancels pending waits (they complete with operation_aborted).
  void cancel();
  // Half-closes the sending side of the TCP connection.
  void shutdown_send();
  // Closes the TCP connection (not the TLS layer); pending waits complete with an error.
  void close();

 private:
  // Makes ssl_ from `ctx` on the socket, with the modes every connection uses.
  bool new_ssl(ssl_ctx_st* ctx);
  // SSL_do_handshake until done; on failure ssl_ is reset.
  boost::asio::awaitable<boost::system::error_code> drive_handshake();
  boost::asio::awaitable<boost::system::error_code> wait(Next next);
  // try_write's work; `want_read`: the socket must become readable before the retry.
  std::pair<boost::system::error_code, std::size_t> write_now(std::string_view data,
                                                              bool& want_read);

  struct SslFree {
    void operator()(ssl_st* s) const;
  };
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<ssl_st, SslFree> ssl_;
};

}  // namespace starling::net
