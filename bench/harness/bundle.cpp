#include "bundle.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bench {

namespace {

std::string quoted(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

std::string list(const std::vector<std::string>& v) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); ++i) o += (i ? "," : "") + quoted(v[i]);
  return o + "]";
}

std::string mountJson(const std::string& dst, const std::string& type, const std::string& src,
                      const std::vector<std::string>& opts) {
  return "{\"destination\":" + quoted(dst) + ",\"type\":" + quoted(type) + ",\"source\":" + quoted(src) +
         ",\"options\":" + list(opts) + "}";
}

}  // namespace

bool writeFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::trunc);
  f << data;
  return static_cast<bool>(f);
}

std::string makeRootfs(const std::string& dir) {
  for (const char* sub : {"", "/bin", "/proc", "/dev", "/sys", "/tmp", "/etc"}) {
    std::string p = dir + sub;
    if (mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) return "mkdir " + p + ": " + strerror(errno);
  }
  std::ifstream in("/bin/busybox", std::ios::binary);
  if (!in) return "cannot read /bin/busybox (install busybox-static)";
  std::ofstream out(dir + "/bin/busybox", std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  out.close();
  if (chmod((dir + "/bin/busybox").c_str(), 0755) != 0) return "chmod busybox: " + std::string(strerror(errno));
  for (const char* applet : {"true", "sleep", "sh", "cat", "ls"}) {
    std::string link = dir + "/bin/" + applet;
    unlink(link.c_str());
    if (symlink("busybox", link.c_str()) != 0) return "symlink " + link + ": " + strerror(errno);
  }
  return "";
}

std::string writeConfig(const std::string& dir, const BundleSpec& s) {
  std::vector<std::string> caps{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"};
  std::ostringstream j;
  j << "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0},"
    << "\"args\":" << list(s.args) << ",\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
    << "\"capabilities\":{\"bounding\":" << list(caps) << ",\"effective\":" << list(caps)
    << ",\"permitted\":" << list(caps) << "},\"noNewPrivileges\":true},"
    << "\"root\":{\"path\":\"rootfs\",\"readonly\":false},\"hostname\":\"bench\",\"mounts\":["
    << mountJson("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}) << ","
    << mountJson("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}) << ","
    << mountJson("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}) << ","
    << mountJson("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}) << ","
    << mountJson("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}) << ","
    << mountJson("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}) << "],"
    << "\"linux\":{\"cgroupsPath\":" << quoted(s.cgroups_path) << ",\"namespaces\":[";
  const char* types[] = {"pid", "network", "ipc", "uts", "mount"};
  const char* ns[] = {"pid", "net", "ipc", "uts", ""};
  for (int i = 0; i < 5; ++i) {
    j << (i ? "," : "") << "{\"type\":\"" << types[i] << "\"";
    if (s.join_pid > 0 && ns[i][0]) j << ",\"path\":\"/proc/" << s.join_pid << "/ns/" << ns[i] << "\"";
    j << "}";
  }
  j << "],\"maskedPaths\":[\"/proc/kcore\",\"/proc/keys\",\"/proc/timer_list\",\"/sys/firmware\"],"
    << "\"readonlyPaths\":[\"/proc/sys\",\"/proc/sysrq-trigger\",\"/proc/irq\",\"/proc/bus\"]}}\n";
  if (!writeFile(dir + "/config.json", j.str())) return "cannot write " + dir + "/config.json";
  return "";
}

}  // namespace bench
