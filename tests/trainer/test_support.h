// A tiny test runner for the trainer and model tests: each test is a named function,
// meson runs one test per process (`<binary> <name>`), failures print file:line.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>

namespace rtcoinfer::test {

inline std::map<std::string, std::function<void()>> &registry() {
  static std::map<std::string, std::function<void()>> r;
  return r;
}

struct Register {
  Register(const char *name, std::function<void()> fn) { registry()[name] = std::move(fn); }
};

[[noreturn]] inline void fail(const char *file, int line, const std::string &what) {
  std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what.c_str());
  std::exit(1);
}

inline int run_main(int argc, char **argv) {
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto &kv : registry()) std::printf("%s\n", kv.first.c_str());
    return 0;
  }
  int ran = 0;
  for (const auto &kv : registry()) {
    if (argc >= 2 && kv.first != argv[1]) continue;
    std::printf("RUN  %s\n", kv.first.c_str());
    std::fflush(stdout);
    kv.second();
    std::printf("OK   %s\n", kv.first.c_str());
    ++ran;
  }
  if (ran == 0) {
    std::fprintf(stderr, "no test named %s\n", argc >= 2 ? argv[1] : "(any)");
    return 1;
  }
  return 0;
}

}  // namespace rtcoinfer::test

#define TEST(name)                                                             \
  static void test_##name();                                                   \
  static ::rtcoinfer::test::Register register_##name(#name, test_##name);      \
  static void test_##name()

#define CHECK(...)                                                             \
  do {                                                                         \
    if (!(__VA_ARGS__)) ::rtcoinfer::test::fail(__FILE__, __LINE__, #__VA_ARGS__);         \
  } while (0)

#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    const auto va_ = (a);                                                      \
    const auto vb_ = (b);                                                      \
    if (!(va_ == vb_)) {                                                       \
      std::ostringstream os_;                                                  \
      os_ << #a " == " #b " (" << va_ << " vs " << vb_ << ")";                 \
      ::rtcoinfer::test::fail(__FILE__, __LINE__, os_.str());                  \
    }                                                                          \
  } while (0)

#define TEST_MAIN() \
  int main(int argc, char **argv) { return ::rtcoinfer::test::run_main(argc, argv); }
