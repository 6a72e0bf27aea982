// The exported descriptor of the filesystem/linux isolator, and nothing else.
#include "filesystem_isolator.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::filesystem::LinuxFilesystemIsolator,
                       "org.warren.isolator.filesystem.linux", "filesystem/linux", "0.1.0")
