#pragma once
// A client-to-server stream (RFC 6120): STARTTLS or direct TLS (XEP-0368), SASL, resource
// binding, then stanzas to and from the router. A connection is a reader coroutine and a writer
// coroutine with a bounded queue (STYLE.md §10); it lives on one shard for its whole life.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/sasl.hpp"
#include "net/transport.hpp"
#include "session/session_table.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/jid.hpp"

namespace boost::asio::ssl {
class context;
}
namespace starling::config {
struct Config;
}
namespace starling::net {
class TlsManager;
}
namespace starling::module {
class Registry;
}
namespace starling::router {
class Router;
}
namespace starling::storage {
class Storage;
}

namespace starling::stream {

class C2sStream;
class ZlibStream;

// The live streams of each shard; each set is touched only on its shard.
class StreamTracker {
 public:
  explicit StreamTracker(std::size_t shards) : per_shard_(shards) {}
  void add(std::size_t shard, const std::shared_ptr<C2sStream>& s);
  void remove(std::size_t shard, C2sStream* s);
  std::vector<std::shared_ptr<C2sStream>> streams(std::size_t shard);
  std::size_t count(std::size_t shard) const { return per_shard_[shard].size(); }

 private:
  std::vector<std::unordered_map<C2sStream*, std::weak_ptr<C2sStream>>> per_shard_;
};

// What a c2s stream needs from the server.
struct C2sEnv {
  const config::Config& config;
  net::TlsManager& tls;
  router::Router& router;
  storage::Storage& storage;
  StreamTracker& tracker;
  const module::Registry& registry;  // typed events (events.hpp)
};

class C2sStream : public session::LocalSession, public std::enable_shared_from_this<C2sStream> {
 public:
  // `compression`: the listener offers XEP-0138 stream compression (config Endpoint).
  C2sStream(C2sEnv& env, boost::asio::ip::tcp::socket socket, std::size_t shard, bool direct_tls,
            bool compression = false);
  ~C2sStream() override;

  void start();
  // LocalSession (called on this shard).
  void deliver(xmpp::StanzaPtr stanza) override;
  void kick(std::string_view condition, std::string_view text) override;
  void set_filter(session::FilterPtr filter) override;
  void set_audience(session::AudiencePtr audience) override;
  void set_presence_states(session::PresenceStatesPtr states) override;
  // SIGTERM: <system-shutdown/>.
  void shutdown();

 private:
  enum class State { kNeedTls, kNeedAuth, kNeedBind, kBound };
  using Clock = std::chrono::steady_clock;

  boost::asio::awaitable<void> run();
  // Writes what is queued (posted by send_raw); write_rest waits for the socket to take the
  // rest when it is full.
  void write_queue();
  boost::asio::awaitable<void> write_rest(std::string rest);
  void wrote_all();
  boost::asio::awaitable<void> watchdog();
  boost::asio::awaitable<void> flush();
  boost::asio::awaitable<bool> handle(xml::StreamEvent& ev);
  boost::asio::awaitable<bool> handle_header(const xml::StreamHeader& h);
  boost::asio::awaitable<bool> handle_element(xml::Element& e);
  boost::asio::awaitable<bool> starttls();
  boost::asio::awaitable<bool> pre_auth_iq(const xml::Element& e);
  boost::asio::awaitable<void> sasl_auth(const xml::Element& e);
  boost::asio::awaitable<void> sasl_response(const xml::Element& e);
  boost::asio::awaitable<void> sasl_step(std::string_view data, bool first);
  boost::asio::awaitable<void> sasl_fail(auth::SaslFailure f);
  boost::asio::awaitable<void> bind(const xml::Element& iq);
  // RFC 4505 ANONYMOUS succeeded: a fresh account, deleted when the stream ends.
  boost::asio::awaitable<void> anonymous_login(std::string trace);
  // Deletes the anonymous account of this stream, once (module::remove_account).
  void end_anonymous_account();
  // XEP-0138: a <compress/> request; false when the stream restarts compressed.
  boost::asio::awaitable<bool> compress(const xml::Element& e);
  // The reader's work for input of a compressed stream; false: stop reading.
  boost::asio::awaitable<bool> read_compressed(std::string_view data);
  // An XML error of the input: its stream error (RFC 6120 §4.9.3).
  void parse_failed(xml::ParseError perr);
  void handle_stanza(xml::Element& e);
  void handle_own_presence(xml::Element& e);
  void handle_presence_to(xml::Element& e);
  // The session's policy blocks this outbound stanza: answered (XEP-0191 §3.3) and true.
  bool blocked_outbound(const xml::Element& e);
  // An inbound iq request from someone who does not share this account's presence: answered
  // with an error (RFC 6121 §8.5.3.1) and true.
  bool refuse_iq(const xml::Element& iq);
  // Broadcasts unavailable presence for this session (RFC 6121 §4.5.2, §4.6.3): explicit
  // (`stanza` from the client) or generated when the stream ends.
  void go_unavailable(xmpp::StanzaPtr stanza);
  // The client's available presence with what the modules' presence decorators add for the
  // account (module::PresenceDecorator, e.g. the XEP-0153 avatar hash).
  xmpp::StanzaPtr decorated(const xmpp::StanzaPtr& presence) const;

  void send_header();
  void send_features();
  void send(const xml::Element& e);
  void send_raw(std::string data);
  // Sends the stream error (if any) and the closing tag, then ends the connection once the
  // client closes its stream or a timeout passes (RFC 6120 §4.4).
  // `app`: an application-specific condition element for the stream error (RFC 6120 §4.9.4).
  void begin_close(std::optional<std::string> condition, std::string_view text = {},
                   const xml::Element* app = nullptr);
  void hard_close();
  // The client did not answer our closing tag in time (close_timer_).
  void close_timeout();

  C2sEnv& env_;
  std::size_t shard_;
  bool direct_tls_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;  // before stream_: destroyed after it
  net::Transport transport_;
  bool tls_active_ = false;
  std::string remote_;
  std::string remote_ip_;  // the client's address without port, for module::PreAuthIq

  xml::StreamParser parser_;
  State state_ = State::kNeedTls;
  bool header_sent_ = false;
  bool closing_ = false;
  bool peer_closed_ = false;  // the client's </stream:stream> arrived
  bool half_closed_ = false;  // TCP send side shut after our closing tag
  bool dead_ = false;
  bool tls_shutdown_started_ = false;  // close_notify sent or being sent
  std::string stream_id_;
  std::string domain_;
  std::optional<std::string> response_version_{"1.0"};  // RFC 6120 §4.7.5
  std::string response_to_;                             // RFC 6120 §4.7.2
  int bind_failures_ = 0;
  xmpp::Jid jid_;  // bare after SASL, full after bind
  std::uint64_t bind_id_ = 0;
  bool bound_ = false;
  bool announced_ = false;  // SessionBound fired, so SessionClosed is owed
  bool available_ = false;         // sent available presence (RFC 6121 §4.2)
  bool had_non_negative_ = false;  // sent available presence with priority >= 0
  // Entities that got directed available presence from this session and no directed
  // unavailable since (RFC 6121 §4.6.3), as the 'to' the client used; bounded.
  std::vector<std::string> directed_;
  session::FilterPtr filter_;  // privacy/blocking policy for outbound stanzas (XEP-0016/0191)
  session::AudiencePtr audience_;  // subscribers to the account's presence (nullptr: unknown)
  session::PresenceStatesPtr presence_states_;  // for the presence decorators (nullptr: none)
  // The last available broadcast presence as the client sent it (before decoration), kept so
  // that it can be decorated again when the account's presence state changes.
  xmpp::StanzaPtr client_presence_;
  int priority_ = 0;  // of client_presence_

  // SASL
  auth::ChannelBindings cb_;
  std::unique_ptr<auth::SaslServer> sasl_;
  std::optional<auth::Credentials> credentials_;
  std::string sasl_user_;
  bool sasl_account_disabled_ = false;
  bool sasl_first_seen_ = false;  // the client's first SASL message has been processed
  int auth_failures_ = 0;
  bool anonymous_ = false;          // the SASL exchange is ANONYMOUS (anonymous domain)
  bool anonymous_account_ = false;  // this stream created jid_'s account: delete it at the end

  // XEP-0138 stream compression: offered by the listener; active once negotiated.
  bool compression_offered_ = false;
  bool inflate_stopped_ = false;  // input after an inflate or XML error is discarded
  std::unique_ptr<ZlibStream> zlib_;

  // Writer
  std::vector<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;       // write_rest is running
  bool flush_posted_ = false;  // write_queue is posted
  boost::asio::steady_timer drained_;

  // Liveness (XEP-0199 server-to-client pings) and timeouts.
  boost::asio::steady_timer watchdog_timer_;
  Clock::time_point started_at_;
  Clock::time_point last_read_;
  Clock::time_point hibernate_tried_;  // last_read_ when the parser last tried to hibernate
  std::optional<std::string> ping_id_;
  Clock::time_point ping_sent_at_;
  boost::asio::steady_timer close_timer_;

  // Per-connection read rate limit (token bucket, c2s.max_bytes_per_second).
  boost::asio::steady_timer rate_timer_;
  double rate_tokens_ = 0;
  Clock::time_point rate_refilled_at_;
};

}  // namespace starling::stream
