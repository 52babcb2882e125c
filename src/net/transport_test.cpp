#include "net/transport.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <filesystem>
#include <string>

#include "net/tls.hpp"

namespace starling::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A connected pair on loopback: the server side wrapped in a Transport, the client side a plain
// asio socket (wrapped in asio's own TLS stream where TLS is tested: an independent TLS peer).
class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as the server does
    std::string tmpl = (fs::temp_directory_path() / "starling-transport-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    CertificatePaths paths{dir_ / "cert.pem", dir_ / "key.pem"};
    ASSERT_TRUE(make_self_signed(paths, {"localhost"}).ok());
    auto ctx = make_server_context(paths);
    ASSERT_TRUE(ctx.ok());
    server_ctx_ = std::move(ctx).value();

    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    server_.emplace(acceptor.accept());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the io_context until `done` or 20 s pass.
  void run_until(const bool& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(50));
      io_.restart();
    }
    ASSERT_TRUE(done) << "timed out";
  }

  fs::path dir_;
  asio::io_context io_;
  std::shared_ptr<asio::ssl::context> server_ctx_;
  tcp::socket client_{io_};
  std::optional<Transport> server_;
};

TEST_F(TransportTest, PlainReadAndWrite) {
  bool done = false;
  std::string got;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto rop = server_->read();
        auto [ec, data] = co_await std::move(rop);
        EXPECT_FALSE(ec);
        got.assign(data);
        auto [wec, n] = server_->try_write("pong");
        EXPECT_FALSE(wec);
        EXPECT_EQ(n, 4u);
        done = true;
      },
      asio::detached);
  asio::write(client_, asio::buffer(std::string_view("ping")));
  run_until(done);
  EXPECT_EQ(got, "ping");
  std::string reply(4, '\0');
  asio::read(client_, asio::buffer(reply));
  EXPECT_EQ(reply, "pong");
}

// A write much larger than the socket buffers while the peer is not reading: OpenSSL reports
// WANT_WRITE, the transport waits and retries, and every byte arrives in order. Then both sides
// close the TLS layer (close_notify both ways, RFC 6120 §4.4).
TEST_F(TransportTest, TlsLargeWriteWithSlowReaderAndCloseNotify) {
  asio::ssl::context cctx(asio::ssl::context::tls_client);
  asio::ssl::stream<tcp::socket&> client(client_, cctx);
  const std::size_t size = 8 * 1024 * 1024;
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    payload[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  }

  bool server_done = false, client_done = false;
  std::string server_got, client_got;
  boost::system::error_code shutdown_ec = asio::error::fault;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto hop = server_->handshake(server_ctx_->native_handle());
        auto hec = co_await std::move(hop);
        EXPECT_FALSE(hec) << hec.message();
        EXPECT_TRUE(server_->tls());
        while (server_got.size() < 5) {
          auto rop = server_->read();
          auto [ec, data] = co_await std::move(rop);
          if (ec) {
            ADD_FAILURE() << ec.message();
            co_return;
          }
          server_got.append(data);
        }
        // As C2sStream writes: what the socket takes now, then the rest from that offset.
        auto [tec, taken] = server_->try_write(payload);
        EXPECT_FALSE(tec) << tec.message();
        EXPECT_LT(taken, payload.size());  // the client is not reading yet
        auto wop = server_->write(std::string_view(payload).substr(taken));
        auto wec = co_await std::move(wop);
        EXPECT_FALSE(wec) << wec.message();
        auto sop = server_->shutdown_tls();
        shutdown_ec = co_await std::move(sop);
        server_done = true;
      },
      asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto [hec] = co_await client.async_handshake(asio::ssl::stream_base::client, use_tuple);
        EXPECT_FALSE(hec) << hec.message();
        auto [wec, wn] = co_await asio::async_write(client, asio::buffer(std::string_view("hello")),
                                                    use_tuple);
        EXPECT_FALSE(wec);
        // Let the server fill the socket buffers before reading anything.
        asio::steady_timer t(io_);
        t.expires_after(std::chrono::milliseconds(300));
        co_await t.async_wait(use_tuple);
        std::vector<char> buf(65536);
        for (;;) {
          auto [ec, n] = co_await client.async_read_some(asio::buffer(buf), use_tuple);
          client_got.append(buf.data(), n);
          if (ec) {
            // The server's close_notify ends the stream cleanly.
            EXPECT_EQ(ec, asio::error::eof) << ec.message();
            break;
          }
        }
        auto [sec] = co_await client.async_shutdown(use_tuple);
        (void)sec;
        client_done = true;
      },
      asio::detached);
  run_until(client_done);
  run_until(server_done);
  EXPECT_EQ(server_got, "hello");
  EXPECT_EQ(client_got.size(), payload.size());
  EXPECT_TRUE(client_got == payload);
  EXPECT_FALSE(shutdown_ec) << shutdown_ec.message();
}

TEST_F(TransportTest, FailedHandshakeLeavesNoTls) {
  bool done = false;
  boost::system::error_code hec;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto hop = server_->handshake(server_ctx_->native_handle());
        hec = co_await std::move(hop);
        done = true;
      },
      asio::detached);
  asio::write(client_, asio::buffer(std::string_view("this is not a TLS ClientHello\r\n")));
  run_until(done);
  EXPECT_TRUE(hec);
  EXPECT_FALSE(server_->tls());
}

TEST_F(TransportTest, PeerCloseEndsARead) {
  bool done = false;
  boost::system::error_code rec;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto rop = server_->read();
        auto [ec, data] = co_await std::move(rop);
        rec = ec;
        EXPECT_TRUE(data.empty());
        done = true;
      },
      asio::detached);
  client_.close();
  run_until(done);
  EXPECT_EQ(rec, asio::error::eof);
}

}  // namespace
}  // namespace starling::net
