// The conformance program's verdicts: one line per case ("PASS|FAIL|SKIP <name> [max_abs_err=<e>] [(<reason>)]")
// and the closing "N passed, M failed, K skipped"; shared by the checkers of each fixture kind.
#pragma once
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace uprez::conformance {

struct Outcome {
  std::vector<std::string> problems;  // empty: passed
  std::optional<double> max_abs_err;
};

class Report {
 public:
  void pass_or_fail(const std::string& name, const Outcome& outcome) {
    std::string reason;
    for (const std::string& problem : outcome.problems) reason += (reason.empty() ? "" : "; ") + problem;
    if (outcome.problems.empty()) {
      ++passed_;
      print("PASS", name, outcome.max_abs_err, "");
    } else {
      ++failed_;
      print("FAIL", name, outcome.max_abs_err, reason);
    }
  }
  void skip(const std::string& name, const std::string& reason) {
    ++skipped_;
    print("SKIP", name, std::nullopt, reason);
  }
  void summary() const {
    std::cout << passed_ << " passed, " << failed_ << " failed, " << skipped_ << " skipped" << std::endl;
  }
  bool any_failed() const { return failed_ > 0; }

 private:
  static void print(const char* verdict, const std::string& name, std::optional<double> max_abs_err,
                    const std::string& reason) {
    std::cout << verdict << " " << name;
    if (max_abs_err) std::cout << " max_abs_err=" << *max_abs_err;
    if (!reason.empty()) std::cout << " (" << reason << ")";
    std::cout << std::endl;
  }

  int passed_ = 0;
  int failed_ = 0;
  int skipped_ = 0;
};

// Runs `check` and turns any exception into a failure with its message, so that a bad case never stops the run.
template <typename Check>
inline Outcome guarded(Check&& check) {
  try {
    return check();
  } catch (const std::exception& error) {
    std::string message = error.what();
    message = message.substr(0, message.find('\n'));  // LibTorch errors append a backtrace
    return Outcome{{message}, std::nullopt};
  }
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  return nlohmann::json::parse(in);
}

}  // namespace uprez::conformance
