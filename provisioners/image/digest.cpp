#include "digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "warren/sdk/fd.hpp"

namespace warren::provisioners::image {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
  EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
}

void Sha256::update(const void* data, size_t len) { EVP_DigestUpdate(ctx_.get(), data, len); }

std::string Sha256::hexDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &n);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hexDigest();
}

Result<std::string> sha256File(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return failErrno("open '" + path + "'");
  Sha256 h;
  std::string buf(1 << 16, '\0');
  while (true) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("read '" + path + "'");
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  return h.hexDigest();
}

Result<std::string> digestHex(const std::string& digest) {
  auto colon = digest.find(':');
  if (colon == std::string::npos) {
    return fail(Code::InvalidArgument, "malformed digest '" + digest + "'");
  }
  std::string alg = digest.substr(0, colon);
  std::string hex = digest.substr(colon + 1);
  if (alg != "sha256") {
    return fail(Code::Unimplemented, "unsupported digest algorithm '" + alg + "' in '" + digest + "'");
  }
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) return fail(Code::InvalidArgument, "malformed digest '" + digest + "'");
  return hex;
}

namespace {
Result<void> compare(const std::string& got, const std::string& digest, const std::string& what) {
  WARREN_ASSIGN_OR_RETURN(auto want, digestHex(digest));
  if (got != want) {
    return fail(Code::FailedPrecondition, "digest mismatch for " + what + ": expected " + digest +
                                              ", got sha256:" + got + " (corrupted or truncated blob)");
  }
  return {};
}
}  // namespace

Result<void> verifyBytes(std::string_view data, const std::string& digest, const std::string& what) {
  return compare(sha256Hex(data), digest, what);
}

Result<void> verifyFile(const std::string& path, const std::string& digest, const std::string& what) {
  WARREN_ASSIGN_OR_RETURN(auto got, sha256File(path));
  return compare(got, digest, what);
}

}  // namespace warren::provisioners::image
