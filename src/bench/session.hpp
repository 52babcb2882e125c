#pragma once
// One client connection of the load generator: standard XMPP only (RFC 6120/6121), so that the
// same run works against any server. login() runs TLS (STARTTLS or XEP-0368 direct TLS),
// optional XEP-0077 registration, SASL, resource binding, roster get and initial presence, each
// step bounded by a deadline. After start() a reader coroutine parses the server's stream
// incrementally (the project's StreamParser) and a writer coroutine sends whatever has been queued
// since its last write in one batch.
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/options.hpp"
#include "bench/scram_client.hpp"
#include "xml/stream_parser.hpp"

namespace starling::bench {

// Immutable settings shared by every session of a run.
struct LoginConfig {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string domain;
  std::string password;
  TlsMode tls = TlsMode::kStartTls;
  Mech mech = Mech::kScramSha256;
  bool do_register = false;
  double step_timeout_s = 30;
  std::size_t max_queue = 4 << 20;  // bytes queued for writing before sends are skipped
  std::uint64_t run_id = 0;         // written in every message body (bench/body.hpp)
};

// Per-account state that outlives one connection; only touched by the account's thread.
struct Account {
  std::string localpart;
  std::string bare_jid;
  bool registered = false;
  ScramClient::Keys keys;  // SCRAM key cache
};

class Session;

// Phases of a login, timed separately (time since the end of the previous phase).
enum LoginStep : std::size_t {
  kStepConnect,   // TCP connect
  kStepTls,       // stream header, features, STARTTLS or direct TLS, features again
  kStepRegister,  // XEP-0077 (0 when not registering)
  kStepSasl,      // SASL exchange and stream restart
  kStepBind,      // resource binding (and legacy session)
  kStepRoster,    // roster get
  kStepPresence,  // initial presence until the server reflects it
  kLoginSteps
};
inline constexpr std::array<const char*, kLoginSteps> kLoginStepNames = {
    "connect", "tls", "register", "sasl", "bind", "roster", "presence"};

// Receives the messages of started sessions (on the session's thread).
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void on_message(Session& s, const xml::Element& message) = 0;
  virtual void on_closed(Session& s) = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::any_io_executor ex, boost::asio::ssl::context& tls, const LoginConfig& cfg,
          Account& account, std::string resource, std::uint32_t index);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Full login. Returns "" on success, else what failed.
  boost::asio::awaitable<std::string> login();
  // Starts the reader and writer; messages go to `sink`.
  void start(MessageSink* sink);
  // Queues a chat message to `to` (a bare JID) with the body of bench/body.hpp plus `pad`
  // filler characters. Returns false (nothing queued) when the queue is over its cap or the
  // session is closed.
  bool send_chat(std::string_view to, std::uint64_t stamp_ns, std::uint32_t from_index,
                 std::uint32_t pad);
  // Ends the stream (RFC 6120 §4.4) and waits, bounded, for the server's end before closing.
  boost::asio::awaitable<void> close();

  bool open() const { return open_; }
  // Microseconds each phase of the last successful login took.
  const std::array<std::uint64_t, kLoginSteps>& step_us() const { return step_us_; }
  // True once close() has begun: the end of the stream is expected, not an error.
  bool closing() const { return closing_; }
  // Why the session failed or ended ("" while all is well).
  const std::string& error() const { return error_; }
  std::uint32_t index() const { return index_; }
  std::uint64_t seq = 0;  // owner's per-session counter (message numbering)

 private:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  boost::asio::awaitable<std::string> login_steps();
  boost::asio::awaitable<std::string> open_stream(xml::Element& features);
  boost::asio::awaitable<std::string> sasl(const xml::Element& features);
  boost::asio::awaitable<std::string> do_register();
  boost::asio::awaitable<std::string> iq_roundtrip(std::string request, std::string_view id,
                                                   bool conflict_ok);
  boost::asio::awaitable<bool> write_now(std::string data);
  boost::asio::awaitable<const xml::StreamEvent*> next_event();
  boost::asio::awaitable<const xml::Element*> next_element();
  static boost::asio::awaitable<void> reader(std::shared_ptr<Session> self);
  static boost::asio::awaitable<void> writer(std::shared_ptr<Session> self);
  void answer_iq(const xml::Element& iq);
  void arm(double seconds);
  void mark(LoginStep step);
  void disarm();
  void shut();

  Stream stream_;
  const LoginConfig& cfg_;
  Account& account_;
  std::string resource_;
  std::uint32_t index_;
  bool tls_ = false;
  bool open_ = false;
  bool writing_ = false;
  bool peer_closed_ = false;
  bool started_ = false;
  bool closing_ = false;
  bool reader_done_ = false;
  std::string error_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer wake_;    // writer waits on it while the queue is empty
  boost::asio::steady_timer closed_;  // close() waits on it for the reader to finish
  xml::StreamParser parser_;
  std::vector<xml::StreamEvent> events_;
  std::size_t next_ = 0;
  bool parse_failed_ = false;
  std::array<char, 16384> rbuf_{};
  std::string out_;      // queued by send_chat
  std::string sending_;  // being written
  MessageSink* sink_ = nullptr;
  std::array<std::uint64_t, kLoginSteps> step_us_{};
  std::chrono::steady_clock::time_point last_mark_;
};

}  // namespace starling::bench
