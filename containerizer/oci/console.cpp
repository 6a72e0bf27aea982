#include "console.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "warren/sdk/socket.hpp"

namespace warren::oci {

// The console socket protocol of runc: connect to the Unix socket and send
// the pty master as SCM_RIGHTS with the pty's name as data.
Result<void> sendConsole(const std::string& socket_path, int master) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return failErrno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    return fail(Code::InvalidArgument, "--console-socket '" + socket_path + "' is too long");
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return failErrno("connect to --console-socket '" + socket_path + "'");
  }
  // The console socket's protocol (runc's): the name, the pty master attached.
  if (!net::sendFd(s.get(), "/dev/ptmx", master)) return failErrno("send the terminal to '" + socket_path + "'");
  return {};
}

}  // namespace warren::oci
