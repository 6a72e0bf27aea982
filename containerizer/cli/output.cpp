#include "output.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "logging.hpp"
#include "warren/sdk/ids.hpp"
#include "warren/v1/container.pb.h"

namespace warren::cli {

namespace pb = google::protobuf;

namespace {

nlohmann::json scalar(const pb::Message& m, const pb::Reflection* r, const pb::FieldDescriptor* f,
                      int index) {
  bool rep = index >= 0;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: return rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_INT64: return rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f);
    case pb::FieldDescriptor::CPPTYPE_UINT32: return rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_UINT64: return rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f);
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: return rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f);
    case pb::FieldDescriptor::CPPTYPE_FLOAT: return rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f);
    case pb::FieldDescriptor::CPPTYPE_BOOL: return rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f);
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f);
      return e->name();
    }
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return toJson(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
  }
  return nullptr;
}

}  // namespace

nlohmann::json toJson(const pb::Message& m) {
  if (const auto* id = dynamic_cast<const v1::ContainerID*>(&m)) return formatId(*id);
  nlohmann::json j = nlohmann::json::object();
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->is_map()) {
      nlohmann::json obj = nlohmann::json::object();
      const auto* kf = f->message_type()->map_key();
      const auto* vf = f->message_type()->map_value();
      for (int k = 0; k < r->FieldSize(m, f); ++k) {
        const auto& entry = r->GetRepeatedMessage(m, f, k);
        nlohmann::json key = scalar(entry, entry.GetReflection(), kf, -1);
        obj[key.is_string() ? key.get<std::string>() : key.dump()] =
            scalar(entry, entry.GetReflection(), vf, -1);
      }
      j[f->name()] = obj;
    } else if (f->is_repeated()) {
      nlohmann::json arr = nlohmann::json::array();
      for (int k = 0; k < r->FieldSize(m, f); ++k) arr.push_back(scalar(m, r, f, k));
      j[f->name()] = arr;
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !r->HasField(m, f) &&
               f->message_type()->full_name() != "warren.v1.ContainerID") {
      j[f->name()] = nullptr;
    } else {
      j[f->name()] = scalar(m, r, f, -1);
    }
  }
  return j;
}

Output& Output::get() {
  static Output o;
  return o;
}

int Output::fail(const Error& e) {
  releaseHeldLogs(e.message());
  if (json_) {
    nlohmann::json j{{"error", {{"code", codeName(e.code())}, {"message", e.message()}}}};
    std::fprintf(stderr, "%s\n", j.dump().c_str());
  } else {
    std::fprintf(stderr, "warren: %s\n", e.message().c_str());
  }
  std::fflush(stderr);
  return kExitWarren;
}

void Output::print(const nlohmann::json& j) {
  releaseHeldLogs("");
  std::string s = j.dump(2) + "\n";
  std::fflush(stdout);
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace warren::cli
