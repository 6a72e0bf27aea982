// The operator flags this plugin declares (PluginInfo.flags): warren's CLI
// registers them as --NAME, WARREN_NAME and `NAME = value` in --config, and
// the host hands their values (or the defaults) to the plugin in
// PluginContext.flags.
#include "image_provisioner.hpp"

namespace warren::provisioners::image {

namespace {
void flag(v1::PluginInfo& i, const char* name, const char* type, const char* def, const char* help) {
  auto* f = i.add_flags();
  f->set_name(name);
  f->set_type(type);
  f->set_default_value(def);
  f->set_help(help);
}
}  // namespace

v1::PluginInfo ImageProvisioner::describe() {
  v1::PluginInfo i;
  flag(i, "image_provisioner_backend", "string", "auto", "rootfs backend: overlay, copy, bind or auto");
  flag(i, "registry_insecure", "list", "", "HOST:PORT registries reached over plain HTTP");
  flag(i, "pull", "string", "missing",
       "image pull policy: missing (a stored registry image launches offline), always, never");
  // Limits: a number, optionally with K, M, G or T (parsed by manifest.cpp).
  flag(i, "image_max_manifest_bytes", "string", "4M", "largest image manifest/index read");
  flag(i, "image_max_config_bytes", "string", "8M", "largest image config read");
  flag(i, "image_max_unpacked_bytes", "string", "8G", "largest unpacked image, all layers");
  flag(i, "image_max_files", "string", "1000000", "most files in one image, all layers");
  return i;
}

}  // namespace warren::provisioners::image
