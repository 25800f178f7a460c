#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace uprez {

namespace mapped_file {

[[noreturn]] void fail_with_errno(const std::string& path, const char* what) {
  throw Error(path + ": " + what + ": " + std::strerror(errno));
}

// Closes a file descriptor when leaving scope; the mapping stays valid after close.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace mapped_file

MappedFile::MappedFile(const std::string& path) : path_(path) {
  mapped_file::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) mapped_file::fail_with_errno(path, "cannot open the file");
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) mapped_file::fail_with_errno(path, "cannot read the file's size");
  if (S_ISDIR(info.st_mode)) throw Error(path + ": is a directory, not a file");
  if (!S_ISREG(info.st_mode)) throw Error(path + ": is not a regular file");
  size_ = static_cast<size_t>(info.st_size);
  if (size_ == 0) return;
  void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (mapping == MAP_FAILED) mapped_file::fail_with_errno(path, "cannot map the file into memory");
  data_ = static_cast<const uint8_t*>(mapping);
}

void MappedFile::release(ByteView range) const {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(range.data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(range.data) + range.size) / page * page;
  const uintptr_t mapped_begin = reinterpret_cast<uintptr_t>(data_);
  if (end <= begin || begin < mapped_begin || end > mapped_begin + size_) return;
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace uprez
