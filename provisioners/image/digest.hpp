// sha256 digests (OpenSSL): computing, parsing and verifying "sha256:<hex>".
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "warren/sdk/result.hpp"

namespace warren::provisioners::image {

// Streaming sha256.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::string hexDigest();  // finishes; call once

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

std::string sha256Hex(std::string_view data);
Result<std::string> sha256File(const std::string& path);

// Validates "sha256:<64 lowercase hex>" and returns the hex part. Any other
// algorithm or shape is refused (digests become path names in the store).
Result<std::string> digestHex(const std::string& digest);

// Verifies bytes/file against a digest: "digest mismatch for <what>: expected
// sha256:..., got sha256:...".
Result<void> verifyBytes(std::string_view data, const std::string& digest, const std::string& what);
Result<void> verifyFile(const std::string& path, const std::string& digest, const std::string& what);

}  // namespace warren::provisioners::image
