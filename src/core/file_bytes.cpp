#include "core/file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace uprez {

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes, const std::string& what) {
  const auto system_error = [] { return std::string(std::strerror(errno)); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + system_error());
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) throw Error(path + ": cannot read: " + system_error());
  if (!S_ISREG(info.st_mode)) throw Error(path + ": not a regular file");
  if (static_cast<uint64_t>(info.st_size) > max_bytes)
    throw Error(path + ": file is too large to be " + what + " uprez can read");
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path + ": cannot read: " + system_error());
    if (n == 0) break;  // the file shrank while being read
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace uprez
