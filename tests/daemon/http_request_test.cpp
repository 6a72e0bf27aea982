// warrend's request framing and RecordIO decoding from bytes (no root, no
// socket): containerizer/daemon/http_request.cpp.
#include <gtest/gtest.h>

#include "http_request.hpp"

namespace warren::daemon {
namespace {

using Step = RequestFramer::Step;

std::string post(const std::string& body, const std::string& extra = "") {
  return "POST /api/v1 HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

// Frames one request from `bytes` fed `step` bytes at a time.
HttpResult<HttpRequest> frameAll(const std::string& bytes, const HttpLimits& limits, size_t step,
                                 std::string* rest = nullptr) {
  RequestFramer f(limits);
  std::string pending;
  size_t off = 0;
  while (true) {
    auto s = f.feed(&pending);
    if (!s) return tl::make_unexpected(s.error());
    if (*s == Step::kComplete || (*s == Step::kHeader && f.request().record_io)) break;
    if (*s == Step::kNeedMore) {
      if (off >= bytes.size()) return tl::make_unexpected(HttpError{0, "incomplete"});
      pending += bytes.substr(off, step);
      off += step;
    }
  }
  if (rest != nullptr) *rest = pending + (off < bytes.size() ? bytes.substr(off) : "");
  return f.request();
}

TEST(DaemonHttpRequest, ARequestFramesTheSameWholeAndByteByByte) {
  std::string bytes = post(R"({"type":"GET_CONTAINERS"})", "Accept: application/x-protobuf\r\nMessage-Accept: m\r\n");
  for (size_t step : {bytes.size(), size_t{1}, size_t{7}}) {
    auto r = frameAll(bytes, {}, step);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->method, "POST");
    EXPECT_EQ(r->target, "/api/v1");
    EXPECT_EQ(r->content_type, "application/json");
    EXPECT_EQ(r->accept, "application/x-protobuf");
    EXPECT_EQ(r->message_accept, "m");
    EXPECT_EQ(r->body, R"({"type":"GET_CONTAINERS"})");
    EXPECT_TRUE(r->keep_alive);
    EXPECT_FALSE(r->record_io);
  }
}

TEST(DaemonHttpRequest, KeepAliveLeavesTheNextRequestPending) {
  std::string rest;
  auto r = frameAll(post("{}") + post("[1]"), {}, 1000, &rest);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(rest, post("[1]"));
}

// Boost.Beast stops at Content-Length before the header is done; asking the
// parser for content_length() there asserted (the Debug/ASan build of
// warrend aborted on a 100 MB request; found by fuzz_api_request).
TEST(DaemonHttpRequest, ContentLengthOverTheLimitIs413BeforeAnyBodyArrives) {
  std::string head = "POST /api/v1 HTTP/1.1\r\nContent-Length: 104857600\r\n\r\n";
  auto r = frameAll(head, {}, head.size());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(r.error().message, "request body of 104857600 bytes is over the limit of 4194304 bytes");
}

TEST(DaemonHttpRequest, AChunkedBodyOverTheLimitIs413) {
  HttpLimits small;
  small.max_body_bytes = 10;
  std::string bytes = "POST /api/v1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n";
  auto r = frameAll(bytes, small, 5);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 413);
  EXPECT_EQ(r.error().message, "request body is over the limit of 10 bytes");
  small.max_body_bytes = 16;
  r = frameAll(bytes, small, 5);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "1234567812345678");
  EXPECT_TRUE(r->chunked);
}

TEST(DaemonHttpRequest, MalformedRequestsAre400WithTheParsersReason) {
  for (std::string bad : {"POST /api/v1 HTTP/1.1\r\nContent-Length: x\r\n\r\n", "POST /api/v1 HTTP/9\r\n\r\n",
                          "POST /api/v1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto r = frameAll(bad, {}, 3);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
    EXPECT_EQ(r.error().message.rfind("malformed HTTP request: ", 0), 0u) << r.error().message;
  }
  HttpLimits small;
  small.max_header_bytes = 64;
  auto r = frameAll(post("{}", "X-Pad: " + std::string(100, 'p') + "\r\n"), small, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 400);
}

TEST(DaemonHttpRequest, ARecordIoRequestStopsAtItsHeader) {
  std::string head = "POST /api/v1 HTTP/1.1\r\nContent-Type: Application/RecordIO; x=1\r\n"
                     "Message-Content-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n"
                     "Expect: 100-Continue\r\n\r\n";
  std::string rest;
  auto r = frameAll(head + "3\r\n1\na\r\n", {}, 4, &rest);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->record_io);
  EXPECT_TRUE(r->chunked);
  EXPECT_TRUE(r->expect_continue);
  EXPECT_EQ(r->message_content_type, "application/x-protobuf");
  EXPECT_EQ(rest, "3\r\n1\na\r\n");
}

std::vector<std::string> records(RecordDecoder& d, HttpResult<RecordDecoder::Step>* last) {
  std::vector<std::string> out;
  std::string rec;
  while (true) {
    *last = d.next(&rec);
    if (!*last || **last != RecordDecoder::Step::kRecord) return out;
    out.push_back(rec);
  }
}

TEST(DaemonRecordDecoder, RecordsSplitAcrossChunksAreJoined) {
  RecordDecoder d(true, 0);
  HttpResult<RecordDecoder::Step> last;
  d.append("4\r\n5\nhe\r\n");
  EXPECT_TRUE(records(d, &last).empty());
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, RecordDecoder::Step::kNeedMore);
  d.append("5;ext=1\r\nllo0\n\r\n0\r\n\r\n");
  auto r = records(d, &last);
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(*last, RecordDecoder::Step::kEnd);
  EXPECT_EQ(r, (std::vector<std::string>{"hello", ""}));
}

TEST(DaemonRecordDecoder, AContentLengthBodyEndsAtItsLength) {
  RecordDecoder d(false, 8);
  d.append("3\nabc1\nxNEXT");  // the bytes after 8 belong to no record
  HttpResult<RecordDecoder::Step> last;
  auto r = records(d, &last);
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_EQ(*last, RecordDecoder::Step::kEnd);
  EXPECT_EQ(r, (std::vector<std::string>{"abc", "x"}));
}

TEST(DaemonRecordDecoder, MalformedStreamsAreRefusedWithWhy) {
  struct Case {
    bool chunked;
    uint64_t length;
    std::string bytes;
    int status;
    std::string message;
  };
  std::vector<Case> cases = {
      {true, 0, "zz\r\n", 400, "malformed chunk: bad chunk size line"},
      {true, 0, "3\r\n1\nabc", 400, "malformed chunk: data not followed by CRLF"},
      {true, 0, "1;" + std::string(70, 'x'), 400, "malformed chunk: chunk size line over 64 bytes"},
      {true, 0, "10000000000000000\r\n", 400, "malformed chunk: chunk size too long"},
      {true, 0, "500000\r\n", 413, "a chunk of 5242880 bytes is over the limit of 4194336 bytes"},
      {false, 3, "x\nab", 400, "malformed RecordIO: a record length is not a decimal number"},
      {false, 11, "5000000\nabc", 413, "a RecordIO record of 5000000 bytes is over the limit of 4194304 bytes"},
      {false, 4, "9\nab", 400, "malformed RecordIO: the body ends inside a record"},
  };
  for (const auto& c : cases) {
    RecordDecoder d(c.chunked, c.length);
    d.append(c.bytes);
    HttpResult<RecordDecoder::Step> last;
    (void)records(d, &last);
    ASSERT_FALSE(last) << c.bytes;
    EXPECT_EQ(last.error().status, c.status) << c.bytes;
    EXPECT_EQ(last.error().message, c.message) << c.bytes;
  }
}

}  // namespace
}  // namespace warren::daemon
