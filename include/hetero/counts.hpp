// A Mandelbrot run's iteration counts: memory of their own, or memory another owner keeps (a
// journaled run computes straight into its journal's mapped file, so that journaling copies
// nothing).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace hetero {

/// Row-major counts, one per pixel. Copies are deep; moves keep the memory. A contiguous range:
/// it converts to std::span<const std::uint32_t> (and, when not const, std::span<std::uint32_t>)
/// through span's range constructor.
class Counts {
 public:
  using value_type = std::uint32_t;
  using size_type = std::size_t;
  using iterator = std::uint32_t*;
  using const_iterator = const std::uint32_t*;

  Counts() = default;
  /// `size` zeros, in memory of its own. (Zeroed by calloc: fresh pages are zero already, so
  /// they are first touched by whoever writes the counts, not by a fill here.)
  explicit Counts(std::size_t size)
      : owner_(zeroed(size)), data_(static_cast<std::uint32_t*>(owner_.get())), size_(size) {}
  /// `size` counts at `data`, which `owner` keeps alive.
  Counts(std::uint32_t* data, std::size_t size, std::shared_ptr<void> owner)
      : owner_(std::move(owner)), data_(data), size_(size) {}
  /// A copy of `values`.
  explicit Counts(std::span<const std::uint32_t> values) : Counts(values.size()) {
    std::copy(values.begin(), values.end(), data_);
  }

  Counts(const Counts& other) : Counts(std::span<const std::uint32_t>(other)) {}
  Counts& operator=(const Counts& other) {
    if (this != &other) *this = Counts(other);
    return *this;
  }
  Counts(Counts&& other) noexcept
      : owner_(std::move(other.owner_)), data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  Counts& operator=(Counts&& other) noexcept {
    owner_ = std::move(other.owner_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  ~Counts() = default;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::uint32_t* data() { return data_; }
  const std::uint32_t* data() const { return data_; }
  std::uint32_t& operator[](std::size_t i) { return data_[i]; }
  std::uint32_t operator[](std::size_t i) const { return data_[i]; }
  iterator begin() { return data_; }
  iterator end() { return data_ + size_; }
  const_iterator begin() const { return data_; }
  const_iterator end() const { return data_ + size_; }

  std::vector<std::uint32_t> to_vector() const { return {begin(), end()}; }

  friend bool operator==(const Counts& a, const Counts& b) { return std::ranges::equal(a, b); }
  friend bool operator==(const Counts& a, const std::vector<std::uint32_t>& b) {
    return std::ranges::equal(a, b);
  }

 private:
  static std::shared_ptr<void> zeroed(std::size_t size) {
    void* memory = std::calloc(std::max<std::size_t>(1, size), sizeof(std::uint32_t));
    if (memory == nullptr) throw std::bad_alloc();
    return {memory, [](void* pointer) { std::free(pointer); }};
  }

  std::shared_ptr<void> owner_;
  std::uint32_t* data_ = nullptr;
  std::size_t size_ = 0;
};

static_assert(std::is_convertible_v<const Counts&, std::span<const std::uint32_t>>);
static_assert(std::is_convertible_v<Counts&, std::span<std::uint32_t>>);

}  // namespace hetero
