#include "http_request.hpp"

#include <algorithm>
#include <cctype>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace warren::daemon {

namespace http = boost::beast::http;

namespace {

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& ch : o) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return o;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

HttpError overLimit(const std::string& size, uint64_t limit) {
  return {413, "request body of " + size + " is over the limit of " + std::to_string(limit) + " bytes"};
}

unsigned hexValue(char c) {
  if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
  return static_cast<unsigned>(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
}

HttpError malformed(const boost::beast::error_code& ec) {
  return {400, "malformed HTTP request: " + ec.message()};
}

}  // namespace

std::string mediaType(std::string_view content_type) {
  return lower(trim(content_type.substr(0, content_type.find(';'))));
}

RequestFramer::RequestFramer(const HttpLimits& limits) : limits_(limits) {
  // The header limit is enforced in feed() (Beast's own check depends on
  // how the bytes were split into reads); Beast's is only a backstop.
  parser_.header_limit(limits_.max_header_bytes + 1);
  parser_.body_limit(limits_.max_body_bytes);
}

void RequestFramer::takeHeader() {
  const auto& m = parser_.get();
  req_.method = std::string(m.method_string());
  req_.target = std::string(m.target());
  req_.content_type = std::string(m[http::field::content_type]);
  req_.accept = std::string(m[http::field::accept]);
  req_.message_accept = std::string(m["Message-Accept"]);
  req_.message_content_type = std::string(m["Message-Content-Type"]);
  req_.keep_alive = m.keep_alive();
  req_.expect_continue = lower(trim(std::string(m[http::field::expect]))) == "100-continue";
  req_.record_io = mediaType(req_.content_type) == "application/recordio";
  req_.chunked = parser_.chunked();
  req_.content_length.reset();
  if (auto cl = parser_.content_length()) req_.content_length = *cl;
}

HttpResult<RequestFramer::Step> RequestFramer::feed(std::string* pending) {
  while (!complete_) {
    if (header_reported_ && parser_.is_done()) {
      req_.body = std::move(parser_.get().body());
      complete_ = true;
      break;
    }
    if (pending->empty()) return Step::kNeedMore;
    boost::beast::error_code ec;
    // While in the header, Beast never sees past max_header_bytes.
    bool in_header = !parser_.is_header_done();
    size_t room = in_header ? limits_.max_header_bytes - header_used_ : pending->size();
    size_t give = std::min(pending->size(), room);
    size_t used = parser_.put(boost::asio::buffer(pending->data(), give), ec);
    pending->erase(0, used);
    if (in_header) header_used_ += used;
    if (ec == http::error::need_more) {
      if (used == 0 && in_header && give == room) {
        return tl::make_unexpected(HttpError{400, "malformed HTTP request: header limit exceeded"});
      }
      if (used == 0) return Step::kNeedMore;
    } else if (ec == http::error::body_limit) {
      // From the header's Content-Length, nothing of the body read: the
      // parser stops before the header is done (so content_length(), which
      // asserts is_header_done(), is not for here), the field is in the message.
      if (!parser_.is_header_done()) {
        std::string cl(parser_.get()[http::field::content_length]);
        bool digits = !cl.empty() && cl.size() <= 20 &&
                      std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; });
        return tl::make_unexpected(overLimit(digits ? cl + " bytes" : "unknown size", limits_.max_body_bytes));
      }
      // A chunked body that grew past the limit.
      return tl::make_unexpected(
          HttpError{413, "request body is over the limit of " + std::to_string(limits_.max_body_bytes) + " bytes"});
    } else if (ec) {
      return tl::make_unexpected(malformed(ec));
    }
    if (parser_.is_header_done() && !header_reported_) {
      header_reported_ = true;
      takeHeader();
      if (req_.content_length && *req_.content_length > limits_.max_body_bytes) {
        return tl::make_unexpected(overLimit(std::to_string(*req_.content_length) + " bytes", limits_.max_body_bytes));
      }
      return Step::kHeader;
    }
  }
  return Step::kComplete;
}

HttpResult<bool> RecordDecoder::dechunk() {
  if (ended_) return false;
  if (!chunked_) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(left_, raw_.size()));
    data_.append(raw_, 0, take);
    raw_.erase(0, take);
    left_ -= take;
    if (left_ == 0) ended_ = true;
    return take > 0 || ended_;
  }
  bool moved = false;
  // A malformed chunk after good ones: what the good ones carried is
  // delivered first (as when they arrived in reads of their own); the
  // error comes on the next call, which finds the same bytes.
  auto refuse = [&](HttpError e) -> HttpResult<bool> {
    if (moved) return true;
    return tl::make_unexpected(std::move(e));
  };
  while (!ended_) {
    // 1*HEXDIG [ ";" extension ] CRLF, at most 64 bytes. Checked on what
    // has arrived of it, in the same order, so that a line is refused for
    // the same fault whether it came at once or byte by byte.
    auto eol = raw_.find("\r\n");
    size_t line = eol != std::string::npos ? eol : raw_.size() - (!raw_.empty() && raw_.back() == '\r');
    uint64_t n = 0;
    size_t i = 0;
    for (; i < line && std::isxdigit(static_cast<unsigned char>(raw_[i])); ++i) {
      if (i >= 15) return refuse({400, "malformed chunk: chunk size too long"});
      n = n * 16 + hexValue(raw_[i]);
    }
    // No hex digit first (an empty line, or anything else) is bad as soon as
    // that first byte is here - not only once the line's end has arrived.
    if ((i < line && raw_[i] != ';' && raw_[i] != ' ' && raw_[i] != '\t') ||
        (i == 0 && (line > 0 || eol != std::string::npos))) {
      return refuse({400, "malformed chunk: bad chunk size line"});
    }
    if (line > 64) return refuse({400, "malformed chunk: chunk size line over 64 bytes"});
    if (eol == std::string::npos) return moved;
    if (n == 0) {  // the last chunk; trailers are not read
      ended_ = true;
      raw_.erase(0, eol + 2);
      return true;
    }
    if (n > kMaxRecord + 32) {
      return refuse({413, "a chunk of " + std::to_string(n) + " bytes is over the limit of " +
                              std::to_string(kMaxRecord + 32) + " bytes"});
    }
    if (raw_.size() < eol + 2 + n + 2) return moved;
    if (raw_.compare(eol + 2 + n, 2, "\r\n") != 0) {
      return refuse({400, "malformed chunk: data not followed by CRLF"});
    }
    data_.append(raw_, eol + 2, n);
    raw_.erase(0, eol + 2 + n + 2);
    moved = true;
  }
  return moved;
}

HttpResult<RecordDecoder::Step> RecordDecoder::next(std::string* record) {
  while (true) {
    auto eol = data_.find('\n');
    if (eol != std::string::npos) {
      if (eol == 0 || eol > 20 ||
          !std::all_of(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(eol),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        return tl::make_unexpected(HttpError{400, "malformed RecordIO: a record length is not a decimal number"});
      }
      // At most 19 digits are read (no overflow); a longer length is over the limit anyway.
      uint64_t n = 0;
      for (size_t i = 0; i < std::min<size_t>(eol, 19); ++i) n = n * 10 + static_cast<uint64_t>(data_[i] - '0');
      if (eol > 19 || n > kMaxRecord) {
        return tl::make_unexpected(HttpError{413, "a RecordIO record of " + data_.substr(0, eol) +
                                                      " bytes is over the limit of " + std::to_string(kMaxRecord) +
                                                      " bytes"});
      }
      if (data_.size() >= eol + 1 + n) {
        *record = data_.substr(eol + 1, n);
        data_.erase(0, eol + 1 + n);
        return Step::kRecord;
      }
    } else if (data_.size() > 20) {
      return tl::make_unexpected(HttpError{400, "malformed RecordIO: a record length is not a decimal number"});
    }
    auto moved = dechunk();
    if (!moved) return tl::make_unexpected(moved.error());
    if (*moved) continue;
    if (!ended_) return Step::kNeedMore;
    if (!data_.empty()) return tl::make_unexpected(HttpError{400, "malformed RecordIO: the body ends inside a record"});
    return Step::kEnd;
  }
}

}  // namespace warren::daemon
