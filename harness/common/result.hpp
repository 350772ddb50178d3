#pragma once
// Harness faults as values. A failure of the system under test is never an Error: it is data
// (an event, then a failure record). Error is for the harness itself not being able to act.
#include <cerrno>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ist {

struct Error {
  std::string message;                 // what could not be done, one sentence
  int errno_value = 0;                 // 0 when not a system call failure
  std::vector<std::string> context;    // outer operations, innermost first

  Error() = default;
  explicit Error(std::string msg, int err = 0) : message(std::move(msg)), errno_value(err) {}

  // "outer: inner: message (strerror)"
  std::string describe() const;

  // Adds the operation that was under way, e.g. err.wrap("starting SUT charon").
  Error& wrap(std::string what) & {
    context.push_back(std::move(what));
    return *this;
  }
  Error&& wrap(std::string what) && {
    context.push_back(std::move(what));
    return std::move(*this);
  }

  // Error from the current errno: Error::sys("open /run/netns/x").
  static Error sys(std::string what, int err = errno) { return Error(std::move(what), err); }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok() { return {}; }

}  // namespace ist

#define IST_CAT_(a, b) a##b
#define IST_CAT(a, b) IST_CAT_(a, b)

// IST_TRY(expr): return the Error of a failed Result from the enclosing function.
#define IST_TRY(expr)                                         \
  do {                                                        \
    auto&& ist_try_r_ = (expr);                               \
    if (!ist_try_r_) return std::move(ist_try_r_).error();    \
  } while (0)

// IST_TRY_ASSIGN(auto x, expr): declare x from a successful Result, or return its Error.
#define IST_TRY_ASSIGN(lhs, expr) IST_TRY_ASSIGN_(IST_CAT(ist_try_v_, __LINE__), lhs, expr)
#define IST_TRY_ASSIGN_(tmp, lhs, expr)         \
  auto tmp = (expr);                            \
  if (!tmp) return std::move(tmp).error();      \
  lhs = std::move(tmp).value()
