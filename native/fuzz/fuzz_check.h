// Invariant checks for the libFuzzer targets in this directory: a failed check names itself on
// stderr and traps, so libFuzzer records the input as a crash.
#pragma once
#include <cstdio>

namespace grok::fuzz {
[[noreturn]] inline void fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
  std::fflush(stderr);
  __builtin_trap();
}
}  // namespace grok::fuzz

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::grok::fuzz::fail(#cond, __FILE__, __LINE__))
