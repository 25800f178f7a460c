#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"

namespace uprez {

namespace atomic_file {

std::string system_error() { return std::strerror(errno); }

// Creates `<folder>/.<name>.uprez-tmp-XXXXXX` exclusively, with the usual permissions (0666 less the umask).
int create_temporary(const std::filesystem::path& target, std::string& temp_path) {
  std::random_device seed;
  std::mt19937_64 random(seed());
  const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  for (int attempt = 0; attempt < 100; ++attempt) {
    static const char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string suffix(6, '0');
    for (char& c : suffix) c = kDigits[random() % 36];
    temp_path = (folder / ("." + target.filename().string() + ".uprez-tmp-" + suffix)).string();
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

}  // namespace atomic_file

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
  const int fd = atomic_file::create_temporary(target_, temporary_path_);
  if (fd < 0) throw Error(target_ + ": cannot create a temporary file beside it: " + atomic_file::system_error());
  stream_ = ::fdopen(fd, "wb");
  if (stream_ == nullptr) {
    const std::string why = atomic_file::system_error();
    ::close(fd);
    ::unlink(temporary_path_.c_str());
    throw Error(target_ + ": cannot write: " + why);
  }
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (stream_ != nullptr) {
    std::fclose(stream_);
    stream_ = nullptr;
    ::unlink(temporary_path_.c_str());
  }
}

void AtomicFile::commit() {
  const int fd = ::fileno(stream_);
  if (std::fflush(stream_) != 0 || ::fsync(fd) != 0) {
    const std::string why = atomic_file::system_error();
    discard();
    throw Error(target_ + ": write failed: " + why);
  }
  struct stat existing;
  if (::stat(target_.c_str(), &existing) == 0) ::fchmod(fd, existing.st_mode & 07777);  // keep the old permissions
  const int closed = std::fclose(stream_);
  stream_ = nullptr;
  if (closed != 0) {
    const std::string why = atomic_file::system_error();
    ::unlink(temporary_path_.c_str());
    throw Error(target_ + ": write failed: " + why);
  }
  if (::rename(temporary_path_.c_str(), target_.c_str()) != 0) {
    const std::string why = atomic_file::system_error();
    ::unlink(temporary_path_.c_str());
    throw Error(target_ + ": cannot replace the file: " + why);
  }
}

}  // namespace uprez
