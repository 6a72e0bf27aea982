// The exported descriptor of the gpu/nvidia isolator, and nothing else.
#include "gpu_isolator.hpp"

#include "warren/sdk/plugin.hpp"

WARREN_ISOLATOR_PLUGIN(warren::isolators::gpu::NvidiaGpuIsolator, "org.warren.isolator.gpu.nvidia",
                       "gpu/nvidia", "0.1.0")
