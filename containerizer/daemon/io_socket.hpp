// The client side of a container's I/O socket (`<runtime dir>/io.sock`,
// served by its warren-init: init/io.cpp, launcher/README.md "I/O socket").
// Dependency-free, like client.hpp: used by warrend, the CLI and the tests.
#pragma once

#include <cstdint>
#include <string>

namespace warren::daemon {

// `<runtime_dir>/containers/a/containers/b/io.sock` for "a.b".
std::string ioSocketPath(const std::string& runtime_dir, const std::string& container_id);

enum class IoAttach { kAccepted, kNoSocket, kBusy, kNoStdin, kFailed };

// Connects ('O' output, 'I' input) and reads warren-init's answer. On
// kAccepted *fd is the connection (blocking, CLOEXEC); *error says why not.
IoAttach ioAttach(const std::string& socket_path, char mode, int* fd, std::string* error);

// One output frame (stream 1 stdout, 2 stderr). Blocking; false at the end.
bool ioReadFrame(int fd, int* stream, std::string* data);
// Input frames: 'D' data, 'E' close stdin, 'W' window size. Blocking.
bool ioSendData(int fd, const std::string& data);
bool ioSendEof(int fd);
bool ioSendWindow(int fd, uint16_t rows, uint16_t cols);

}  // namespace warren::daemon
