#include "vici/commands.hpp"

#include <memory>

namespace ist::vici {

namespace {

// Sends `command` and converts the reply with `parse` (Message -> Result<T> or T).
template <class T, class Parse>
void typed(Session& s, std::string_view command, const Message& args, Done<T> done,
           OptTimeout timeout, Parse parse) {
  s.request(
      command, args,
      [done = std::move(done), parse = std::move(parse)](Result<Message> r) {
        if (!r) return done(std::move(r).error());
        done(Result<T>(parse(*r)));
      },
      timeout);
}

Outcome outcome_of(const Message& m) { return parse_outcome(m); }

void put_ids(Message& m, const std::string& ike, const std::string& child,
             const std::optional<uint32_t>& ike_id, const std::optional<uint32_t>& child_id) {
  if (!child.empty()) m.set("child", child);
  if (!ike.empty()) m.set("ike", ike);
  if (child_id) m.set("child-id", *child_id);
  if (ike_id) m.set("ike-id", *ike_id);
}

// Collects a streamed listing, parsing each event with `parse`.
template <class T, class Parse>
void listing(Session& s, std::string_view command, std::string_view event, const Message& args,
             Done<std::vector<T>> done, OptTimeout timeout, Parse parse) {
  struct State {
    std::vector<T> items;
    std::optional<Error> parse_error;
  };
  auto st = std::make_shared<State>();
  s.stream(
      command, event, args,
      [st, parse](Message&& m) {
        if (st->parse_error) return;
        Result<T> item = parse(m);
        if (item) st->items.push_back(std::move(item).value());
        else st->parse_error = std::move(item).error();
      },
      [st, done = std::move(done)](Result<Message> r) {
        if (!r) return done(std::move(r).error());
        if (st->parse_error) return done(std::move(*st->parse_error));
        done(std::move(st->items));
      },
      timeout);
}

template <class T, class Parse>
Session::SubscriptionId subscribe_parsed(Session& s, std::string_view event, EventSink<T> sink,
                                         Session::StatusHandler confirmed, Parse parse) {
  return s.subscribe(
      event, [sink = std::move(sink), parse](std::string_view, const Message& m) { sink(parse(m)); },
      std::move(confirmed));
}

}  // namespace

void version(Session& s, Done<VersionInfo> done, OptTimeout timeout) {
  typed<VersionInfo>(s, "version", Message{}, std::move(done), timeout, parse_version);
}

void stats(Session& s, Done<Stats> done, OptTimeout timeout) {
  typed<Stats>(s, "stats", Message{}, std::move(done), timeout, parse_stats);
}

void reload_settings(Session& s, Done<Outcome> done, OptTimeout timeout) {
  typed<Outcome>(s, "reload-settings", Message{}, std::move(done), timeout, outcome_of);
}

void load_conn(Session& s, const Message& request, Done<Outcome> done, OptTimeout timeout) {
  typed<Outcome>(s, "load-conn", request, std::move(done), timeout, outcome_of);
}

void unload_conn(Session& s, std::string_view name, Done<Outcome> done, OptTimeout timeout) {
  Message m;
  m.set("name", name);
  typed<Outcome>(s, "unload-conn", m, std::move(done), timeout, outcome_of);
}

void load_shared(Session& s, const SharedSecret& secret, Done<Outcome> done, OptTimeout timeout) {
  Message m;
  if (!secret.id.empty()) m.set("id", secret.id);
  m.set("type", secret.type);
  m.set("data", secret.data);
  m.list("owners", secret.owners);
  typed<Outcome>(s, "load-shared", m, std::move(done), timeout, outcome_of);
}

void initiate(Session& s, const InitiateArgs& args, Done<Outcome> done, OptTimeout timeout) {
  Message m;
  put_ids(m, args.ike, args.child, std::nullopt, std::nullopt);
  m.set("timeout", -1);  // never hold a charon worker (see commands.hpp)
  m.set("init-limits", args.init_limits);
  if (args.loglevel) m.set("loglevel", *args.loglevel);
  typed<Outcome>(s, "initiate", m, std::move(done), timeout, outcome_of);
}

void terminate(Session& s, const TerminateArgs& args, Done<Outcome> done, OptTimeout timeout) {
  Message m;
  put_ids(m, args.ike, args.child, args.ike_id, args.child_id);
  if (args.force) m.set("force", true);
  m.set("timeout", args.timeout_ms);
  typed<Outcome>(s, "terminate", m, std::move(done), timeout, outcome_of);
}

void rekey(Session& s, const RekeyArgs& args, Done<Outcome> done, OptTimeout timeout) {
  Message m;
  put_ids(m, args.ike, args.child, args.ike_id, args.child_id);
  if (args.reauth) m.set("reauth", true);
  typed<Outcome>(s, "rekey", m, std::move(done), timeout, outcome_of);
}

void list_sas(Session& s, const ListSasFilter& filter, Done<std::vector<IkeSaInfo>> done,
              OptTimeout timeout) {
  Message m;
  if (filter.noblock) m.set("noblock", true);
  if (!filter.ike.empty()) m.set("ike", filter.ike);
  if (filter.ike_id) m.set("ike-id", *filter.ike_id);
  listing<IkeSaInfo>(s, "list-sas", "list-sa", m, std::move(done), timeout, parse_list_sa_event);
}

void list_conns(Session& s, std::string_view ike, Done<std::vector<ConnInfo>> done,
                OptTimeout timeout) {
  Message m;
  if (!ike.empty()) m.set("ike", ike);
  listing<ConnInfo>(s, "list-conns", "list-conn", m, std::move(done), timeout,
                    parse_list_conn_event);
}

void list_certs(Session& s, const Message& filter, Done<std::vector<Message>> done,
                OptTimeout timeout) {
  listing<Message>(s, "list-certs", "list-cert", filter, std::move(done), timeout,
                   [](const Message& m) { return Result<Message>(m); });
}

void get_counters(Session& s, std::string_view name, Done<Counters> done, bool all_connections,
                  OptTimeout timeout) {
  Message m;
  if (!name.empty()) m.set("name", name);
  else if (all_connections) m.set("all", true);
  s.request(
      "get-counters", m,
      [done = std::move(done)](Result<Message> r) {
        if (!r) {
          if (r.error().errno_value == EOPNOTSUPP) return done(Counters{.supported = false});
          return done(std::move(r).error());
        }
        done(parse_counters(*r));
      },
      timeout);
}

void load_conns(Session& s, std::vector<Message> requests, Done<LoadConnsReport> done,
                std::size_t window, OptTimeout per_request_timeout) {
  struct Batch {
    Session* session;
    std::vector<Message> requests;
    std::size_t next = 0, finished = 0;
    std::size_t window;
    OptTimeout timeout;
    LoadConnsReport report;
    MonoTime started;
    Done<LoadConnsReport> done;
    std::weak_ptr<Batch> self;

    static std::string name_of(const Message& m) {
      for (const auto& e : m.elements())
        if (e.kind == Element::Kind::section) return e.name;
      return "(no connection section)";
    }
    void send_more() {
      auto sp = self.lock();
      while (next < requests.size() && (window == 0 || next - finished < window)) {
        const std::size_t i = next++;
        load_conn(
            *session, requests[i],
            [sp, i](Result<Outcome> r) { sp->complete(i, std::move(r)); }, timeout);
      }
    }
    void complete(std::size_t i, Result<Outcome> r) {
      ++finished;
      if (!r) report.failed.emplace_back(name_of(requests[i]), r.error().describe());
      else if (!r->success) report.failed.emplace_back(name_of(requests[i]), r->errmsg);
      else ++report.loaded;
      requests[i] = Message{};  // free as we go
      if (finished == requests.size()) {
        report.elapsed_ms = ms_between(started, session->loop().clock().now());
        auto d = std::move(done);
        d(std::move(report));
        return;
      }
      send_more();
    }
  };
  auto b = std::make_shared<Batch>();
  b->session = &s;
  b->requests = std::move(requests);
  b->window = window;
  b->timeout = per_request_timeout;
  b->started = s.loop().clock().now();
  b->done = std::move(done);
  b->self = b;
  if (b->requests.empty()) {
    s.loop().after(std::chrono::nanoseconds(0), [b] { b->done(LoadConnsReport{}); });
    return;
  }
  if (!s.is_open()) {
    s.loop().after(std::chrono::nanoseconds(0),
                   [b] { b->done(Error("vici load_conns: the session is closed", ECONNRESET)); });
    return;
  }
  b->send_more();
}

Session::SubscriptionId on_ike_updown(Session& s, EventSink<IkeUpDown> sink,
                                      Session::StatusHandler confirmed) {
  return subscribe_parsed<IkeUpDown>(s, "ike-updown", std::move(sink), std::move(confirmed),
                                     parse_ike_updown);
}
Session::SubscriptionId on_child_updown(Session& s, EventSink<ChildUpDown> sink,
                                        Session::StatusHandler confirmed) {
  return subscribe_parsed<ChildUpDown>(s, "child-updown", std::move(sink), std::move(confirmed),
                                       parse_child_updown);
}
Session::SubscriptionId on_ike_rekey(Session& s, EventSink<IkeRekey> sink,
                                     Session::StatusHandler confirmed) {
  return subscribe_parsed<IkeRekey>(s, "ike-rekey", std::move(sink), std::move(confirmed),
                                    parse_ike_rekey);
}
Session::SubscriptionId on_child_rekey(Session& s, EventSink<ChildRekey> sink,
                                       Session::StatusHandler confirmed) {
  return subscribe_parsed<ChildRekey>(s, "child-rekey", std::move(sink), std::move(confirmed),
                                      parse_child_rekey);
}
Session::SubscriptionId on_log(Session& s, EventSink<LogEvent> sink,
                               Session::StatusHandler confirmed) {
  return subscribe_parsed<LogEvent>(s, "log", std::move(sink), std::move(confirmed), parse_log);
}

}  // namespace ist::vici
