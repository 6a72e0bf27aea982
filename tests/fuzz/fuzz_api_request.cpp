// Fuzz target: warrend's request path from bytes, without a socket
// (containerizer/daemon/http_request.cpp: request line, headers,
// Content-Length or chunked body, body and header limits, RecordIO streams;
// api_decode.cpp and mapping.cpp: an agent Call from JSON or protobuf into
// warren's IDs and ContainerConfig).
//
// Input: byte 0 chooses the mode and limits, the rest is the data.
//   bit 7 = 0  HTTP: the rest is what a client sends on one connection
//              (keep-alive requests one after another, or one streamed
//              ATTACH_CONTAINER_INPUT); every complete request's body is
//              decoded as warrend would.
//   bit 7 = 1  a bare body: bit 6 protobuf (else JSON), decoded as a call
//              and as a stream's records.
//   bits 0-1   body limit: 4 MiB (warrend's default), 16, 300, 64 KiB bytes
//   bit 2      header limit: 16 KiB (warrend's), 200 bytes
//   bits 3-5   how the bytes are split into reads (see below)
// Invariants beyond "no crash, no UB, no exception":
// - the same bytes give the same requests, records and errors whether they
//   arrive at once or split into reads of 1..n bytes (except when a bad
//   header line is noticed: see sameOutcome);
// - a complete body is within the limit and matches its Content-Length;
//   a record is within RecordDecoder::kMaxRecord; a refusal is 400 or 413
//   (framing) and 400 or 415 (decoding), with a one-line message;
// - a decoded call names a valid container ID (except GET_CONTAINERS), a
//   launch has a command, a kill a signal in 1..64; the call decodes the
//   same from its protobuf encoding.
#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "api_decode.hpp"
#include "fuzz_check.hpp"
#include "http_request.hpp"
#include "warren/sdk/ids.hpp"

using namespace warren;
using namespace warren::daemon;

namespace {

constexpr const char* kAgentDir = "/run/warren/agent";

bool oneLine(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

std::string describe(const HttpResult<ApiCall>& r) {
  if (!r) return "error " + std::to_string(r.error().status) + ": " + r.error().message;
  std::string d = agent::v1::Call::Type_Name(r->call.type());
  if (r->target) d += " " + formatId(*r->target) + (r->group ? " (group)" : "") + " " + r->verb;
  if (r->config) {
    std::string bytes;
    FUZZ_CHECK(r->config->SerializeToString(&bytes), "a decoded config does not serialize");
    d += " config " + std::to_string(bytes.size()) + " bytes";
  }
  return d + " signal " + std::to_string(r->signal);
}

void checkCall(const HttpResult<ApiCall>& r) {
  if (!r) {
    FUZZ_CHECK(r.error().status == 400 || r.error().status == 415, "call refused with %d: %s", r.error().status,
               r.error().message.c_str());
    FUZZ_CHECK(!r.error().message.empty(), "call refused without a message");
    return;
  }
  using agent::v1::Call;
  Call::Type t = r->call.type();
  FUZZ_CHECK(r->target.has_value() == (t != Call::GET_CONTAINERS), "%s: target present iff not GET_CONTAINERS",
             Call::Type_Name(t).c_str());
  if (r->target) {
    auto ok = validateId(*r->target);
    FUZZ_CHECK(ok.has_value(), "decoded an invalid ID: %s", ok.error().message().c_str());
    FUZZ_CHECK(!r->verb.empty(), "a target without a verb");
  }
  bool launch = t == Call::LAUNCH_CONTAINER || t == Call::LAUNCH_NESTED_CONTAINER ||
                t == Call::LAUNCH_NESTED_CONTAINER_SESSION;
  FUZZ_CHECK(r->config.has_value() == launch, "%s: config present iff a launch", Call::Type_Name(t).c_str());
  if (launch) {
    FUZZ_CHECK(!r->config->command().value().empty(), "a launch without a command");
    if (t != Call::LAUNCH_CONTAINER) FUZZ_CHECK(hasParent(*r->target), "a nested launch without a parent");
  }
  if (t == Call::KILL_CONTAINER || t == Call::KILL_NESTED_CONTAINER || t == Call::KILL_GROUP) {
    FUZZ_CHECK(r->signal > 0 && r->signal < 65, "signal %d accepted", r->signal);
  }
}

// A body decoded as warrend does; then its call again from its protobuf form.
void decodeBody(const std::string& content_type, const std::string& body) {
  auto call = decodeCall(content_type, body);
  if (!call) {
    FUZZ_CHECK(call.error().status == 400 || call.error().status == 415, "body refused with %d",
               call.error().status);
    return;
  }
  std::string bytes;
  FUZZ_CHECK(call->SerializeToString(&bytes), "a decoded call does not serialize");
  auto api = decodeApiCall(*call, kAgentDir);
  checkCall(api);
  auto again = decodeCall("application/x-protobuf", bytes);
  FUZZ_CHECK(again.has_value(), "a decoded call's protobuf does not decode: %s", again.error().message.c_str());
  auto api2 = decodeApiCall(*again, kAgentDir);
  FUZZ_CHECK(describe(api) == describe(api2), "protobuf round trip changes the call: %s vs %s",
             describe(api).c_str(), describe(api2).c_str());
  if (api && api2 && api->config) {
    FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*api->config, *api2->config),
               "protobuf round trip changes the launch config");
  }
}

// The records of a streamed request, decoded as warrend does.
void decodeStream(const std::string& message_content_type, const std::vector<std::string>& records) {
  for (size_t i = 0; i < records.size(); ++i) {
    auto call = decodeRecord(message_content_type, records[i]);
    if (!call) {
      FUZZ_CHECK(call.error().status == 400, "record refused with %d", call.error().status);
      return;
    }
    if (i == 0) {
      auto id = decodeInputHead(*call);
      if (!id) return;
      FUZZ_CHECK(validateId(*id).has_value(), "stream head decoded an invalid ID");
    } else {
      auto io = decodeInputBody(*call);
      if (!io) return;
      FUZZ_CHECK(io->type() != agent::v1::ProcessIO::DATA || io->data().type() == agent::v1::ProcessIO::Data::STDIN,
                 "non-STDIN data accepted");
    }
  }
}

// Splits bytes into reads: sizes from a small generator seeded by `split`
// (0: all at once).
class Reads {
 public:
  Reads(const std::string& bytes, unsigned split) : bytes_(bytes), state_(split * 2654435761u + 1) {
    split_ = split;
  }
  bool done() const { return off_ >= bytes_.size(); }
  std::string next() {
    size_t n = bytes_.size() - off_;
    if (split_ != 0) {
      state_ = state_ * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (state_ >> 16) % (split_ * 7));
    }
    std::string s = bytes_.substr(off_, n);
    off_ += n;
    return s;
  }

 private:
  const std::string& bytes_;
  unsigned split_;
  uint32_t state_;
  size_t off_ = 0;
};

// What one connection's bytes amount to, as a comparable transcript.
struct Outcome {
  std::string transcript;
  std::vector<std::pair<std::string, std::string>> bodies;  // content type, body
  std::string stream_type;
  std::vector<std::string> records;
};

void note(Outcome* o, const std::string& line) { o->transcript += line + "\n"; }

void checkError(const HttpError& e, const char* where) {
  FUZZ_CHECK(e.status == 400 || e.status == 413, "%s refused with %d: %s", where, e.status, e.message.c_str());
  FUZZ_CHECK(oneLine(e.message), "%s: the refusal is not one line: '%s'", where, e.message.c_str());
}

Outcome frame(const std::string& bytes, const HttpLimits& limits, unsigned split) {
  Outcome o;
  Reads reads(bytes, split);
  std::string pending;
  for (int n = 0; n < 8; ++n) {
    RequestFramer framer(limits);
    auto step = framer.feed(&pending);
    bool header_seen = false;
    while (step && *step != RequestFramer::Step::kComplete) {
      if (*step == RequestFramer::Step::kHeader) {
        FUZZ_CHECK(!header_seen, "kHeader reported twice");
        header_seen = true;
        if (framer.request().record_io) break;
      } else if (reads.done()) {
        note(&o, "incomplete");
        return o;
      } else {
        pending += reads.next();
      }
      step = framer.feed(&pending);
    }
    if (!step) {
      checkError(step.error(), "framing");
      note(&o, "refused " + std::to_string(step.error().status) + ": " + step.error().message);
      return o;
    }
    const HttpRequest& r = framer.request();
    note(&o, r.method + " " + r.target + " ct=" + r.content_type + " keep=" + std::to_string(r.keep_alive) +
                 " chunked=" + std::to_string(r.chunked) +
                 " cl=" + (r.content_length ? std::to_string(*r.content_length) : "-"));
    if (r.content_length) {
      FUZZ_CHECK(*r.content_length <= limits.max_body_bytes, "Content-Length %llu over the limit accepted",
                 static_cast<unsigned long long>(*r.content_length));
    }
    if (r.record_io) {
      // A streamed request: the rest of the connection is its body.
      FUZZ_CHECK(header_seen, "a stream without its header");
      o.stream_type = r.message_content_type;
      RecordDecoder dec(r.chunked, r.content_length.value_or(0));
      dec.append(pending);
      while (true) {
        std::string rec;
        auto s = dec.next(&rec);
        if (!s) {
          checkError(s.error(), "RecordIO");
          note(&o, "stream refused " + std::to_string(s.error().status) + ": " + s.error().message);
          return o;
        }
        if (*s == RecordDecoder::Step::kRecord) {
          FUZZ_CHECK(rec.size() <= RecordDecoder::kMaxRecord, "a record of %zu bytes", rec.size());
          note(&o, "record " + std::to_string(rec.size()));
          o.records.push_back(std::move(rec));
        } else if (*s == RecordDecoder::Step::kEnd) {
          note(&o, "stream end");
          return o;
        } else if (reads.done()) {
          note(&o, "stream incomplete");
          return o;
        } else {
          dec.append(reads.next());
        }
      }
    }
    FUZZ_CHECK(header_seen, "a request completed without its header");
    FUZZ_CHECK(r.body.size() <= limits.max_body_bytes, "a body of %zu bytes passed a limit of %llu", r.body.size(),
               static_cast<unsigned long long>(limits.max_body_bytes));
    if (r.content_length && !r.chunked) {
      FUZZ_CHECK(r.body.size() == *r.content_length, "body of %zu bytes for Content-Length %llu", r.body.size(),
                 static_cast<unsigned long long>(*r.content_length));
    }
    note(&o, "body " + std::to_string(r.body.size()));
    o.bodies.emplace_back(r.content_type, r.body);
    if (!r.keep_alive) return o;
  }
  return o;
}

// Equal, except in when a malformed header is noticed: Beast parses the
// fields of a header it has whole line by line (a bad field is refused at
// once) but waits for the header's end when it came in pieces, so the same
// bytes can end "refused 400" one way and "incomplete" (the server would
// wait for its header deadline) the other, or be refused for another of
// their faults (a bad value, the header limit). Nothing is accepted
// differently: every request before the last line must be the same.
bool sameOutcome(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto lastLine = [](const std::string& t) {
    size_t end = t.size() - 1, start = t.rfind('\n', end - 1);
    return start == std::string::npos ? 0 : start + 1;
  };
  if (a.empty() || b.empty()) return false;
  size_t la = lastLine(a), lb = lastLine(b);
  if (a.compare(0, la, b, 0, lb) != 0 || la != lb) return false;
  std::string ea = a.substr(la), eb = b.substr(lb);
  auto early = [](const std::string& l) { return l.rfind("refused 400: malformed HTTP request: ", 0) == 0; };
  return (ea == "incomplete\n" || early(ea)) && (eb == "incomplete\n" || early(eb));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode & 0x80) {
    const char* ct = (mode & 0x40) ? "application/x-protobuf" : "application/json";
    decodeBody(ct, rest);
    decodeStream(ct, {rest, rest});
    return 0;
  }
  static const uint64_t kBodyLimits[] = {4u << 20, 16, 300, 64u << 10};
  HttpLimits limits;
  limits.max_body_bytes = kBodyLimits[mode & 3];
  if (mode & 4) limits.max_header_bytes = 200;
  unsigned split = 1 + ((mode >> 3) & 7);

  Outcome whole = frame(rest, limits, 0);
  Outcome pieces = frame(rest, limits, split);
  FUZZ_CHECK(sameOutcome(whole.transcript, pieces.transcript), "split %u reads change the outcome:\n%s---\n%s",
             split, whole.transcript.c_str(), pieces.transcript.c_str());
  FUZZ_CHECK(whole.bodies == pieces.bodies && whole.records == pieces.records,
             "split %u reads change a body or a record", split);
  for (const auto& [ct, body] : whole.bodies) decodeBody(ct, body);
  if (!whole.records.empty()) decodeStream(whole.stream_type, whole.records);
  return 0;
}
