#pragma once
// Server-to-server streams (RFC 6120, `jabber:server`): incoming streams (S2sIn) that carry
// stanzas from a peer to us, and outgoing links (S2sOut) that carry ours to a peer; one outgoing
// link per (local domain, remote domain) pair, owned by shard hash(pair) % N for its whole life,
// so no link is ever touched from two threads. Peers authenticate with SASL EXTERNAL and
// certificates (RFC 6120 §6, XEP-0178) or with Server Dialback (XEP-0220, keys per XEP-0185).
// docs/architecture.md "Federation" describes the life of a remote stanza.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "router/router.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/stanza.hpp"

namespace boost::asio::ssl {
class context;
}
namespace starling::config {
struct Config;
}
namespace starling::net {
class Resolver;
class Shards;
class TlsManager;
class Transport;
}  // namespace starling::net

namespace starling::stream::s2s {

class S2sManager;

// What one XML stream over one TCP connection needs, in both directions: the transport, the
// parser, a writer with a queue, and the closing handshake (RFC 6120 §4.4).
class S2sStream : public std::enable_shared_from_this<S2sStream> {
 public:
  virtual ~S2sStream();
  // SIGTERM: <system-shutdown/> and close.
  virtual void shutdown();

 protected:
  using Clock = std::chrono::steady_clock;
  S2sStream(S2sManager& manager, std::size_t shard, std::string name);

  // Takes a freshly connected (or accepted) socket.
  void attach(boost::asio::ip::tcp::socket socket);
  // The next stream event; false when the connection ended or the input was bad (then the
  // stream error is already on its way).
  boost::asio::awaitable<bool> next(xml::StreamEvent& out);
  // A stream restart (after STARTTLS or SASL, RFC 6120 §5.4.3.3, §6.4.6): input after the
  // element that caused it is discarded.
  void restart();
  // TLS handshake as server (incoming) or client (outgoing); false on failure.
  boost::asio::awaitable<bool> tls_accept(bool direct);
  boost::asio::awaitable<bool> tls_connect(std::string server_name, bool direct);

  // Writes an element; stanzas in jabber:client (as the router holds them) are written in
  // jabber:server.
  void send(const xml::Element& e);
  void send_raw(std::string data);
  // Waits until everything queued is written (e.g. <proceed/> before the TLS handshake).
  boost::asio::awaitable<void> flush();
  // A stream error (if any) and our closing tag; the connection ends when the peer closes its
  // stream too or after a timeout (run the reader until next() returns false, then finish()).
  void begin_close(std::optional<std::string> condition, std::string_view text = {});
  // Flushes, waits (bounded) for the peer's closing tag and close_notify, closes.
  boost::asio::awaitable<void> finish();
  void hard_close();
  // Outgoing links: drops the current connection (not the link) before trying the next.
  void drop_connection();
  // Called once when the connection is gone.
  virtual void closed() {}

  S2sManager& manager_;
  const config::Config& config_;
  std::size_t shard_;
  std::string name_;  // for logs: "s2s-in 127.0.0.1:40000", "s2s-out a.test->b.test"
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
  // Shared with a pending write, so that an outgoing link can drop a failed connection and
  // attach the next one while that write is still unwinding.
  std::shared_ptr<net::Transport> transport_;
  xml::StreamParser parser_;
  std::deque<xml::StreamEvent> pending_;
  xml::ParseError parse_error_ = xml::ParseError::kNone;
  bool tls_active_ = false;
  bool header_sent_ = false;
  bool closing_ = false;
  bool peer_closed_ = false;
  bool dead_ = false;
  Clock::time_point last_activity_;
  boost::asio::steady_timer close_timer_;

 private:
  void write_queue();
  boost::asio::awaitable<void> write_rest(std::shared_ptr<net::Transport> t, std::string rest);
  void parse_failed();

  std::vector<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool flush_posted_ = false;
  boost::asio::steady_timer drained_;
};

// An incoming stream: a peer sends us stanzas for (its domain, our domain) pairs it has
// authenticated on this stream.
class S2sIn final : public S2sStream {
 public:
  S2sIn(S2sManager& manager, std::size_t shard, boost::asio::ip::tcp::socket socket,
        bool direct_tls);
  void start();
  // The Authoritative Server's answer to our dialback verification (on this shard).
  void verified(std::string originating, std::string receiving, int outcome,
                std::string condition);

 private:
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> watchdog();
  boost::asio::awaitable<bool> handle_header(const xml::StreamHeader& h);
  boost::asio::awaitable<bool> handle_element(xml::Element& e);
  void send_header();
  void send_features();
  bool sasl_external(const xml::Element& auth);
  void dialback_result(const xml::Element& e);
  void dialback_verify(const xml::Element& e);
  void dialback_error(std::string_view from, std::string_view to, std::string condition,
                      std::string_view type = "cancel");
  void stanza(xml::Element& e);
  void closed() override;

  bool direct_tls_;
  bool authenticated_by_sasl_ = false;
  std::string stream_id_;
  std::string local_;   // the stream header's 'to' (a local domain)
  std::string remote_;  // the stream header's 'from' (may be empty)
  // Remote domains this stream has authenticated (SASL EXTERNAL or dialback): stanzas from
  // them to any local domain pass.
  std::set<std::string> authenticated_;
  // Dialback requests being verified: (remote, local).
  std::set<std::pair<std::string, std::string>> verifying_;
  Clock::time_point started_at_;
  boost::asio::steady_timer watchdog_timer_;
};

// The answer to a verification request (S2sManager::verify).
enum class VerifyOutcome { kValid = 0, kInvalid = 1, kError = 2 };

// An outgoing link from `local` to `remote`.
class S2sOut final : public S2sStream {
 public:
  S2sOut(S2sManager& manager, std::size_t shard, std::string local, std::string remote);
  // Queues or sends a stanza for the remote domain (on this shard).
  void enqueue(xmpp::StanzaPtr stanza);
  // XEP-0220 step 3 on this link: asks the remote (authoritative) server whether `key` is
  // valid for the stream `stream_id` it opened to us; `done(outcome, condition)` is called once.
  struct Verify {
    std::string stream_id;
    std::string key;
    std::function<void(VerifyOutcome, std::string)> done;
  };
  void verify(Verify v);
  bool failed_recently() const;  // in the back-off period after a failure
  bool usable() const { return state_ != State::kClosed; }
  // SIGTERM: an established link closes its stream; one that is connecting, failed or idle
  // ends at once (what it still holds bounces).
  void shutdown() override;
  // The answer to our XEP-0199 ping `id` arrived (on an incoming stream from the remote).
  void pong(const std::string& id);

 private:
  enum class State { kIdle, kConnecting, kReady, kFailed, kClosed };
  struct Failure {
    std::string condition;  // stanza error for queued stanzas: remote-server-not-found, ...
    std::string text;
  };
  void connect();
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<std::optional<Failure>> establish();
  boost::asio::awaitable<std::optional<Failure>> negotiate(bool direct_tls);
  boost::asio::awaitable<std::optional<Failure>> read_header_and_features(xml::Element& features);
  boost::asio::awaitable<void> ready_loop();
  boost::asio::awaitable<void> keepalive();
  boost::asio::awaitable<void> deadline_watch(std::uint64_t attempt);
  // A db:verify answer or a stream error; true when handled.
  bool common_element(const xml::Element& e);
  void send_header();
  void send_verifies();
  void flush_queue();
  void fail(const Failure& f);
  void closed() override;

  std::string local_;
  std::string remote_;
  State state_ = State::kIdle;
  std::string peer_stream_id_;
  bool peer_dialback_ = false;  // the peer's header declared the dialback namespace
  bool verifies_sendable_ = false;
  std::deque<xmpp::StanzaPtr> queue_;
  std::unordered_map<std::string, Verify> verifies_;  // by stream id, sent or not
  std::vector<std::string> unsent_verifies_;
  Clock::time_point retry_at_;
  std::chrono::seconds backoff_{0};
  std::uint64_t attempt_ = 0;
  bool timed_out_ = false;
  std::optional<Failure> peer_error_;  // from the peer's stream error
  Failure last_failure_;
  boost::asio::ip::tcp::socket* connecting_ = nullptr;  // the socket being connected
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer ping_timer_;
  std::string ping_id_;  // the ping waiting for its answer
};

// Owns every s2s stream and link; the router's route to remote domains.
class S2sManager final : public router::RemoteRoute {
 public:
  S2sManager(const config::Config& config, net::TlsManager& tls, router::Router& router,
             net::Shards& shards, std::string dialback_secret);
  ~S2sManager() override;

  // router::RemoteRoute (any shard): a stanza from a local domain to a remote one.
  void send_remote(xmpp::StanzaPtr stanza, const xmpp::Jid& from, const xmpp::Jid& to) override;
  // Answers to the links' XEP-0199 pings ("s2sping-SHARD-..." ids).
  bool take_response(const xmpp::StanzaPtr& iq) override;
  // A connection accepted by an s2s listener, to run on `shard`.
  void accept(boost::asio::ip::tcp::socket socket, std::size_t shard, bool direct_tls);
  // XEP-0220 step 3 for an incoming stream on `reply_shard`: asks `originating`'s
  // authoritative server, over the link receiving → originating.
  void verify(std::string receiving, std::string originating, std::string stream_id,
              std::string key, std::size_t reply_shard, std::weak_ptr<S2sIn> in);
  std::string key(std::string_view receiving, std::string_view originating,
                  std::string_view stream_id) const;
  // SIGTERM: every stream on every shard gets <system-shutdown/>.
  void shutdown();
  // Live streams and links on `shard` (call on that shard).
  std::size_t live(std::size_t shard) const;

  const config::Config& config() const { return config_; }
  net::TlsManager& tls() { return tls_; }
  router::Router& router() { return router_; }
  net::Shards& shards() { return shards_; }
  net::Resolver& resolver(std::size_t shard);
  std::size_t owner_of(std::string_view local, std::string_view remote) const;

  // Bookkeeping, called by the streams on their shard.
  void add_stream(std::size_t shard, const std::shared_ptr<S2sStream>& s);
  void remove_stream(std::size_t shard, S2sStream* s);
  void link_gone(std::size_t shard, const std::string& local, const std::string& remote,
                 S2sOut* link);
  std::atomic<std::size_t> incoming{0};
  std::atomic<std::size_t> outgoing{0};

 private:
  struct PerShard {
    std::unordered_map<std::string, std::shared_ptr<S2sOut>> links;  // "local remote"
    std::unordered_map<S2sStream*, std::weak_ptr<S2sStream>> streams;
    std::unique_ptr<net::Resolver> resolver;
  };
  std::shared_ptr<S2sOut> link(std::size_t shard, const std::string& local,
                               const std::string& remote);

  const config::Config& config_;
  net::TlsManager& tls_;
  router::Router& router_;
  net::Shards& shards_;
  std::string secret_;
  std::vector<std::unique_ptr<PerShard>> per_shard_;
};

// Rewrites the namespace of `e` and of its descendants in `from` to `to` (incoming stanzas:
// jabber:server on the wire, jabber:client inside the server).
void rename_namespace(xml::Element& e, std::string_view from, std::string_view to);

}  // namespace starling::stream::s2s
