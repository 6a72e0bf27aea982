// A minimal libcurl GET: headers in, status + headers + body (or a file) out.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "warren/sdk/cancel.hpp"
#include "warren/sdk/result.hpp"

namespace warren::provisioners::image {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // empty when written to a file
};

// GET `url`. With `to_file`, a 2xx body goes to that file (created), any
// other body into `body`. Transport failures are Code::Unavailable. With
// `cancel`, the transfer stops within about a second of it firing (curl's
// progress callback runs at least once a second, data or not):
// FailedPrecondition "cancelled".
// With `progress`, it is called from curl's progress callback with the
// bytes received so far and the expected total (0: unknown).
using HttpProgress = std::function<void(uint64_t done, uint64_t total)>;
Result<HttpResponse> httpGet(const std::string& url, const std::vector<std::string>& headers,
                             const std::string& to_file = "", const sdk::CancelToken* cancel = nullptr,
                             const HttpProgress& progress = nullptr);

// Parses `Bearer realm="...",service="...",scope="..."` into its parameters
// (lower-case keys; "scheme" holds the auth scheme).
std::map<std::string, std::string> parseAuthenticate(const std::string& value);

// Percent-encodes a query value.
std::string urlEncode(const std::string& s);

}  // namespace warren::provisioners::image
