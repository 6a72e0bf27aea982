// HTTP/1.1 request framing, from bytes only: no socket, no clock. The
// server (http_server.cpp) moves bytes between the connection and these
// parsers and enforces the deadlines; everything a client's bytes decide is
// here, so tests/fuzz/fuzz_api_request.cpp runs the very code warrend runs.
//
//   RequestFramer  one request: request line and headers (Boost.Beast's
//                  parser), Content-Length or chunked body, the body limit
//                  (413 from the Content-Length alone, before any is read).
//   RecordDecoder  a streamed body (Content-Type application/recordio):
//                  de-chunks it and splits it into RecordIO records
//                  ("<decimal length>\n<bytes>").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <tl/expected.hpp>

namespace warren::daemon {

// A request warrend refuses, as the HTTP answer it gets (400, 413, 415...).
struct HttpError {
  int status = 400;
  std::string message;  // one line
};

template <typename T>
using HttpResult = tl::expected<T, HttpError>;

struct HttpLimits {
  uint64_t max_body_bytes = 4 << 20;
  uint32_t max_header_bytes = 16 * 1024;
};

// What the server needs of a request; body only for a complete (not streamed) one.
struct HttpRequest {
  std::string method;  // as sent ("POST")
  std::string target;  // "/api/v1"
  std::string content_type;
  std::string accept;
  std::string message_accept;        // Message-Accept (streamed answers)
  std::string message_content_type;  // Message-Content-Type (streamed requests)
  bool keep_alive = false;
  bool expect_continue = false;  // Expect: 100-continue
  bool record_io = false;        // Content-Type application/recordio: body streamed
  bool chunked = false;
  std::optional<uint64_t> content_length;
  std::string body;
};

// The media type of a Content-Type value, lower case, without parameters.
std::string mediaType(std::string_view content_type);

class RequestFramer {
 public:
  enum class Step {
    kNeedMore,  // give it more bytes
    kHeader,    // the header is complete (reported once; request() has it, without body)
    kComplete,  // the whole request is in request()
  };

  explicit RequestFramer(const HttpLimits& limits);

  // Consumes what it can from the front of *pending (bytes it does not take
  // stay there: the body of a streamed request, the next request of a
  // keep-alive connection). An error is final.
  HttpResult<Step> feed(std::string* pending);
  // The framed request so far (fields once kHeader was returned).
  HttpRequest& request() { return req_; }

 private:
  void takeHeader();

  HttpLimits limits_;
  boost::beast::http::request_parser<boost::beast::http::string_body> parser_;
  HttpRequest req_;
  size_t header_used_ = 0;  // bytes of the header Beast took
  bool header_reported_ = false;
  bool complete_ = false;
};

class RecordDecoder {
 public:
  enum class Step {
    kRecord,    // *record holds the next record
    kNeedMore,  // give it more bytes (append)
    kEnd,       // the body ended cleanly, between records
  };
  static constexpr size_t kMaxRecord = 4u << 20;

  // chunked, or else a body of `content_length` bytes.
  RecordDecoder(bool chunked, uint64_t content_length) : chunked_(chunked), left_(content_length) {}

  void append(std::string_view raw) { raw_.append(raw); }
  // An error (a malformed chunk or record, one over kMaxRecord, a body that
  // ends inside a record) is final.
  HttpResult<Step> next(std::string* record);

 private:
  // Moves de-chunked bytes from raw_ to data_; false when nothing could move.
  HttpResult<bool> dechunk();

  bool chunked_;
  uint64_t left_;  // Content-Length bytes still to come
  bool ended_ = false;
  std::string raw_, data_;
};

}  // namespace warren::daemon
