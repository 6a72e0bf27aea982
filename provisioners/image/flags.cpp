// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "image_provisioner.hpp"
#include "warren/sdk/flags.hpp"

namespace warren::provisioners::image {

v1::PluginInfo ImageProvisioner::describe() {
  v1::PluginInfo i;
  i.set_thread_safe(true);  // see info()
  sdk::addChoiceFlag(i, "image_provisioner_backend", "auto", {"overlay", "copy", "bind", "auto"},
                     "rootfs backend: overlay, copy, bind or auto");
  sdk::addFlag(i, "registry_insecure", "list", "", "HOST:PORT registries reached over plain HTTP");
  sdk::addChoiceFlag(i, "pull", "missing", {"missing", "always", "never"},
       "image pull policy: missing (a stored registry image launches offline), always, never");
  // Limits: a number, optionally with K, M, G or T (parsed by manifest.cpp).
  sdk::addFlag(i, "image_max_manifest_bytes", "string", "4M", "largest image manifest/index read");
  sdk::addFlag(i, "image_max_config_bytes", "string", "8M", "largest image config read");
  sdk::addFlag(i, "image_max_unpacked_bytes", "string", "8G", "largest unpacked image, all layers");
  sdk::addFlag(i, "image_max_files", "string", "1000000", "most files in one image, all layers");
  return i;
}

}  // namespace warren::provisioners::image
