// What a failing call says: the message of the uprez::Error it throws, for tests of one-line error messages.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"

namespace uprez::test {

// The message of the Error `action` throws, or "" when it throws none.
inline std::string error_message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace uprez::test
