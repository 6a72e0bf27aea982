#include "stores/http.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::provisioners::image {
namespace {

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* resp = nullptr;
  std::string file;
  UniqueFd fd;
  bool write_failed = false;
  const sdk::CancelToken* cancel = nullptr;
  const HttpProgress* progress = nullptr;
};

int onProgress(void* p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(p);
  if (t->progress != nullptr && *t->progress) {
    (*t->progress)(dlnow > 0 ? static_cast<uint64_t>(dlnow) : 0, dltotal > 0 ? static_cast<uint64_t>(dltotal) : 0);
  }
  return t->cancel != nullptr && t->cancel->cancelled() ? 1 : 0;  // non-zero aborts
}

size_t onHeader(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) t->resp->headers.clear();  // a new response (redirect)
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string k = line.substr(0, colon);
    std::transform(k.begin(), k.end(), k.begin(), ::tolower);
    std::string v = line.substr(colon + 1);
    auto b = v.find_first_not_of(" \t");
    auto e = v.find_last_not_of(" \t\r\n");
    t->resp->headers[k] = b == std::string::npos ? "" : v.substr(b, e - b + 1);
  }
  return size * n;
}

size_t onBody(char* data, size_t size, size_t n, void* p) {
  auto* t = static_cast<Transfer*>(p);
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (!t->file.empty() && code >= 200 && code < 300) {
    if (!t->fd) {
      t->fd.reset(::open(t->file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!t->fd) {
        t->write_failed = true;
        return 0;
      }
    }
    if (!fs::writeAll(t->fd.get(), std::string_view(data, size * n), t->file)) {
      t->write_failed = true;
      return 0;
    }
    return size * n;
  }
  if (t->resp->body.size() < (1u << 20)) t->resp->body.append(data, size * n);
  return size * n;
}

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<HttpResponse> httpGet(const std::string& url, const std::vector<std::string>& headers,
                             const std::string& to_file, const sdk::CancelToken* cancel,
                             const HttpProgress& progress) {
  if (cancel != nullptr && cancel->cancelled()) return fail(Code::FailedPrecondition, "GET " + url + ": cancelled");
  globalInit();
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return fail(Code::Internal, "curl_easy_init failed");
  HttpResponse resp;
  Transfer t;
  t.curl = curl.get();
  t.resp = &resp;
  t.file = to_file;
  t.cancel = cancel;
  t.progress = progress ? &progress : nullptr;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> guard(list, curl_slist_free_all);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  if (cancel != nullptr || progress) {
    curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &t);
  }
  CURLcode rc = curl_easy_perform(curl.get());
  if (t.write_failed) return fail(Code::Internal, "writing '" + to_file + "' failed: " + std::strerror(errno));
  if (rc == CURLE_ABORTED_BY_CALLBACK) return fail(Code::FailedPrecondition, "GET " + url + ": cancelled");
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return fail(Code::Unavailable, "GET " + url + ": " + why);
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &resp.status);
  if (!to_file.empty() && resp.status >= 200 && resp.status < 300 && !t.fd) {
    // An empty body: still create the file so the digest check runs on it.
    UniqueFd fd(::open(to_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return failErrno("create '" + to_file + "'");
  }
  return resp;
}

std::map<std::string, std::string> parseAuthenticate(const std::string& value) {
  std::map<std::string, std::string> out;
  auto sp = value.find(' ');
  std::string scheme = value.substr(0, sp);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  out["scheme"] = scheme;
  if (sp == std::string::npos) return out;
  size_t i = sp + 1;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ' ' || value[i] == ',')) ++i;
    auto eq = value.find('=', i);
    if (eq == std::string::npos) break;
    std::string k = value.substr(i, eq - i);
    std::transform(k.begin(), k.end(), k.begin(), ::tolower);
    std::string v;
    i = eq + 1;
    if (i < value.size() && value[i] == '"') {
      auto end = value.find('"', i + 1);
      if (end == std::string::npos) end = value.size();
      v = value.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      auto end = value.find(',', i);
      if (end == std::string::npos) end = value.size();
      v = value.substr(i, end - i);
      i = end;
    }
    out[k] = v;
  }
  return out;
}

std::string urlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace warren::provisioners::image
