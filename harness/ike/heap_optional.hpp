#pragma once
// HeapOptional<T>: std::optional's interface with the value on the heap, for state an
// object needs only now and then (a rekey in flight, a collision being settled). Empty it
// costs one pointer instead of sizeof(T): the native engine keeps one Initiator per peer, and
// its rarely used optionals were most of the ~2 KB object (issue 11: <= 2 KB per peer).
#include <memory>
#include <optional>
#include <utility>

namespace ist::native {

template <typename T>
class HeapOptional {
 public:
  HeapOptional() = default;
  HeapOptional(std::nullopt_t) {}
  HeapOptional(const HeapOptional& o) : p_(o.p_ ? std::make_unique<T>(*o.p_) : nullptr) {}
  HeapOptional(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(const HeapOptional& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<T>(*o.p_) : nullptr;
    return *this;
  }
  HeapOptional& operator=(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(std::nullopt_t) {
    p_.reset();
    return *this;
  }
  HeapOptional& operator=(T&& v) {
    emplace(std::move(v));
    return *this;
  }
  HeapOptional& operator=(const T& v) {
    emplace(v);
    return *this;
  }
  // Like std::optional's move: `o` keeps a (moved-from) value.
  HeapOptional& operator=(std::optional<T>&& o) {
    if (o)
      emplace(std::move(*o));
    else
      p_.reset();
    return *this;
  }

  template <typename... Args>
  T& emplace(Args&&... args) {
    p_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *p_;
  }
  void reset() { p_.reset(); }
  bool has_value() const { return p_ != nullptr; }
  explicit operator bool() const { return p_ != nullptr; }
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace ist::native
