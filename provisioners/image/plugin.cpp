// The exported descriptor of the image provisioner and nothing else.
#include "image_provisioner.hpp"

WARREN_PROVISIONER_PLUGIN(warren::provisioners::image::ImageProvisioner, "org.warren.provisioner.image",
                          "image", "0.1.0")
