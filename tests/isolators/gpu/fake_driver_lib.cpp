// Stands in for a library of the NVIDIA driver's user space (libcuda, ...):
// a real ELF shared object with a soname, so that a real ldconfig lists it
// in a test's loader cache. Its content is never called.
extern "C" __attribute__((visibility("default"))) int warren_fake_driver_library() { return 0; }
