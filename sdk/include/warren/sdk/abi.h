/* warren plugin ABI: the only thing that crosses the plugin boundary.
 *
 * A plugin exports exactly one symbol, `warren_plugin` (WARREN_PLUGIN_SYMBOL),
 * of type `const warren_plugin_descriptor`. The host reads and checks it before calling
 * anything: struct_size large enough, abi_major equal to the host's, abi_minor
 * not newer than the host's. Everything else in the library stays hidden.
 *
 * Only plain C types cross: byte spans, C strings, function pointers. Requests
 * and responses are serialized warren.v1 protobuf messages (plugin.proto).
 * A call returns 0 and writes its response into `out`, or returns a
 * warren_code and writes a one-line UTF-8 message into `out`.
 * No exception may escape a plugin; the SDK shim guarantees this.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WARREN_ABI_MAJOR 1
#define WARREN_ABI_MINOR 2
#define WARREN_PLUGIN_SYMBOL "warren_plugin"

enum warren_kind {
  WARREN_KIND_ISOLATOR = 1,
  WARREN_KIND_PROVISIONER = 2,
};

/* Same numbers as warren::Code in result.hpp. */
enum warren_code {
  WARREN_OK = 0,
  WARREN_INVALID_ARGUMENT = 1,
  WARREN_NOT_FOUND = 2,
  WARREN_ALREADY_EXISTS = 3,
  WARREN_PERMISSION_DENIED = 4,
  WARREN_FAILED_PRECONDITION = 5,
  WARREN_UNAVAILABLE = 6,
  WARREN_INTERNAL = 7,
  WARREN_UNIMPLEMENTED = 8,
};

enum warren_log_level {
  WARREN_LOG_TRACE = 0,
  WARREN_LOG_DEBUG = 1,
  WARREN_LOG_INFO = 2,
  WARREN_LOG_WARN = 3,
  WARREN_LOG_ERROR = 4,
};

/* Where a plugin writes bytes that belong to the host (responses, errors).
 * write() may be called several times; the host concatenates. */
typedef struct warren_sink {
  void* ctx;
  void (*write)(void* ctx, const uint8_t* data, size_t len);
} warren_sink;

/* What the host offers a plugin. Valid for the life of the process. */
typedef struct warren_host {
  uint32_t struct_size;
  void* ctx;
  /* One log line; `logger` is the plugin's component name. */
  void (*log)(void* ctx, int32_t level, const char* logger, const char* msg,
              size_t len);
  /* ABI 1.1 (present when struct_size covers it): one event, a serialized
   * warren.v1.PluginEvent (e.g. image-pull progress), for the embedder. */
  void (*event)(void* ctx, const uint8_t* data, size_t len);
} warren_host;

typedef struct warren_plugin_descriptor {
  uint32_t struct_size; /* sizeof(warren_plugin_descriptor) as the plugin was built */
  uint16_t abi_major;
  uint16_t abi_minor;
  uint32_t kind;          /* enum warren_kind */
  const char* name;       /* reverse-DNS, e.g. org.warren.isolator.pid */
  const char* short_name; /* what --isolation takes, e.g. pid, cgroups/mem */
  const char* version;
  /* Make an instance. `context` is a serialized warren.v1.PluginContext.
   * On success returns 0 and sets *instance. */
  int32_t (*create)(const warren_host* host, const uint8_t* context,
                    size_t context_len, void** instance, warren_sink* out);
  /* Destroy an instance made by create(). */
  void (*destroy)(void* instance);
  /* One method call (warren.v1.Method) with a serialized request. */
  int32_t (*call)(void* instance, uint32_t method, const uint8_t* request,
                  size_t request_len, warren_sink* out);
  /* ---- ABI 1.1 (read only when abi_minor >= 1 and struct_size covers it) ----
   * The plugin's static warren.v1.PluginInfo (flags, thread_safe, config
   * fields, dependencies, schemes), serialized into `out`, WITHOUT creating
   * an instance. May be NULL (then the info is empty). */
  int32_t (*describe)(warren_sink* out);
  /* ---- ABI 1.2 ----
   * The proto files whose generated code the plugin embeds (and registers in
   * protobuf's global pool when loaded), NULL-terminated; NULL = none.
   * warren_add_plugin() generates the list from its PROTOS. The host refuses
   * a plugin whose file another loaded plugin already registered. */
  const char* const* proto_files;
} warren_plugin_descriptor;

#ifdef __cplusplus
}
#endif
