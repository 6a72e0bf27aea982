#include "console.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

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
  char name[] = "/dev/ptmx";
  iovec iov{name, sizeof name - 1};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))]{};
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &master, sizeof master);
  if (::sendmsg(s.get(), &mh, MSG_NOSIGNAL) < 0) return failErrno("send the terminal to '" + socket_path + "'");
  return {};
}

}  // namespace warren::oci
