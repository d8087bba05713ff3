// Arrays registered with the runtime: data that stays on the node that wrote it until something
// else needs it. Kernels take them with the same access modes as host arrays (hetero::read,
// read_slice, read_halo, write, read_write); only stale blocks cross a link, and every copy is
// traced and counted. The host reaches the data through an explicit acquire.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "hetero/backend/coherence.hpp"
#include "hetero/kernel.hpp"

namespace hetero {

/// The host's access to a registered array, held while the guard lives: `View` is a
/// std::span (1-D) or Span2D (2-D) of const elements for reading, of elements for writing.
/// Acquiring brings every block nodes modified back to the host first; an acquire for writing
/// makes the host's copy the only valid one. Kernels that conflict with a held guard are
/// refused, as is acquiring an array a submitted run still writes.
template <class View>
class HostAccess {
 public:
  HostAccess(HostAccess&& other) noexcept
      : record_(std::move(other.record_)), view_(other.view_), writing_(other.writing_) {}
  HostAccess& operator=(HostAccess&&) = delete;
  HostAccess(const HostAccess&) = delete;
  ~HostAccess() {
    if (record_) record_->end_host_access(writing_);
  }

  const View& view() const { return view_; }
  /// 1-D: element i. 2-D: see view().
  decltype(auto) operator[](std::int64_t i) const { return view_[static_cast<std::size_t>(i)]; }
  auto begin() const { return view_.begin(); }
  auto end() const { return view_.end(); }
  std::int64_t size() const { return static_cast<std::int64_t>(view_.size()); }

 private:
  template <class>
  friend class Array;
  template <class>
  friend class Array2D;

  HostAccess(std::shared_ptr<backend::ArrayRecord> record, View view, bool writing)
      : record_(std::move(record)), view_(view), writing_(writing) {
    record_->begin_host_access(writing_);
    try {
      record_->make_host_valid(record_->all_blocks(), nullptr);
      if (writing_) record_->mark_written(backend::ArrayRecord::kHost, record_->all_blocks());
    } catch (...) {
      record_->end_host_access(writing_);
      throw;
    }
  }

  std::shared_ptr<backend::ArrayRecord> record_;
  View view_;
  bool writing_ = false;
};

namespace detail {

template <class T>
std::shared_ptr<backend::ArrayRecord> make_record(T* host, std::shared_ptr<void> storage,
                                                  std::int64_t width, std::int64_t height,
                                                  std::int64_t pitch, int dims, std::string label,
                                                  WriteBack policy) {
  backend::ArrayRecord::Shape shape;
  shape.element_bytes = sizeof(T);
  shape.width = width;
  shape.height = height;
  shape.pitch = pitch;
  shape.dims = dims;
  if (label.empty()) label = backend::next_array_label();
  return std::make_shared<backend::ArrayRecord>(host, std::move(storage), shape, std::move(label),
                                                policy);
}

template <class T>
std::shared_ptr<T[]> allocate_elements(std::int64_t count) {
  return std::shared_ptr<T[]>(new T[static_cast<std::size_t>(std::max<std::int64_t>(1, count))]());
}

template <template <class> class ViewT, class T>
ArrayArgument<ViewT<T>> registered_argument(Access access,
                                            const std::shared_ptr<backend::ArrayRecord>& record,
                                            std::int64_t halo = 0) {
  const auto& shape = record->shape();
  auto argument = array_argument<ViewT>(access, static_cast<T*>(record->host()), shape.width,
                                        shape.height, shape.pitch);
  argument.binding.array = record;
  argument.binding.halo = halo;
  return argument;
}

}  // namespace detail

/// A 1-D array of `T` registered with the runtime. Copies share the array (like a Kokkos View).
template <class T>
class Array {
  static_assert(std::is_trivially_copyable_v<T>, "hetero::Array holds trivially copyable types");

 public:
  /// `size` value-initialized elements in memory the array owns.
  explicit Array(std::int64_t size, std::string label = {})
      : Array(detail::allocate_elements<T>(size), size, std::move(label)) {}

  /// The user's memory as the host copy: results reach it as `policy` says, and it must live
  /// as long as the array.
  static Array wrap(std::span<T> data, WriteBack policy, std::string label = {}) {
    return Array(detail::make_record(data.data(), nullptr, static_cast<std::int64_t>(data.size()),
                                     1, static_cast<std::int64_t>(data.size()), 1, std::move(label),
                                     policy));
  }

  std::int64_t size() const { return record_->shape().width; }
  const std::string& label() const { return record_->label(); }
  /// Bytes this array's blocks moved, each way, by cause.
  ArrayTransfers transfers() const { return record_->transfers(); }

  HostAccess<std::span<const T>> acquire_read() const {
    return {record_, std::span<const T>(host(), static_cast<std::size_t>(size())), false};
  }
  HostAccess<std::span<T>> acquire_write() {
    return {record_, std::span<T>(host(), static_cast<std::size_t>(size())), true};
  }

  const std::shared_ptr<backend::ArrayRecord>& record() const { return record_; }

 private:
  Array(std::shared_ptr<T[]> storage, std::int64_t size, std::string label)
      : record_(detail::make_record(storage.get(), std::shared_ptr<void>(storage, storage.get()),
                                    size, 1, size, 1, std::move(label), WriteBack::on_acquire)) {}
  explicit Array(std::shared_ptr<backend::ArrayRecord> record) : record_(std::move(record)) {}
  T* host() const { return static_cast<T*>(record_->host()); }

  std::shared_ptr<backend::ArrayRecord> record_;
};

/// A 2-D array of `T` registered with the runtime: `width` x `height`, rows `pitch` elements
/// apart. Its blocks are rows.
template <class T>
class Array2D {
  static_assert(std::is_trivially_copyable_v<T>, "hetero::Array2D holds trivially copyable types");

 public:
  Array2D(std::int64_t width, std::int64_t height, std::string label = {})
      : Array2D(width, height, width, std::move(label)) {}
  Array2D(std::int64_t width, std::int64_t height, std::int64_t pitch, std::string label)
      : Array2D(detail::allocate_elements<T>(pitch * height), width, height, pitch,
                std::move(label)) {}

  static Array2D wrap(Span2D<T> data, WriteBack policy, std::string label = {}) {
    return Array2D(detail::make_record(data.data, nullptr, data.width, data.height, data.pitch, 2,
                                       std::move(label), policy));
  }

  std::int64_t width() const { return record_->shape().width; }
  std::int64_t height() const { return record_->shape().height; }
  std::int64_t pitch() const { return record_->shape().pitch; }
  const std::string& label() const { return record_->label(); }
  ArrayTransfers transfers() const { return record_->transfers(); }

  HostAccess<Span2D<const T>> acquire_read() const {
    return {record_, Span2D<const T>{host(), width(), height(), pitch()}, false};
  }
  HostAccess<Span2D<T>> acquire_write() {
    return {record_, Span2D<T>{host(), width(), height(), pitch()}, true};
  }

  const std::shared_ptr<backend::ArrayRecord>& record() const { return record_; }

 private:
  Array2D(std::shared_ptr<T[]> storage, std::int64_t width, std::int64_t height, std::int64_t pitch,
          std::string label)
      : record_(detail::make_record(storage.get(), std::shared_ptr<void>(storage, storage.get()),
                                    width, height, pitch, 2, std::move(label),
                                    WriteBack::on_acquire)) {}
  explicit Array2D(std::shared_ptr<backend::ArrayRecord> record) : record_(std::move(record)) {}
  T* host() const { return static_cast<T*>(record_->host()); }

  std::shared_ptr<backend::ArrayRecord> record_;
};

// Access modes of registered arrays (see the host-array forms in hetero/kernel.hpp).
template <class T>
ArrayArgument<View<const T>> read(const Array<T>& array) {
  return detail::registered_argument<View, const T>(Access::read_whole, array.record());
}
template <class T>
ArrayArgument<View<const T>> read_slice(const Array<T>& array) {
  return detail::registered_argument<View, const T>(Access::read_slice, array.record());
}
template <class T>
ArrayArgument<View<const T>> read_halo(const Array<T>& array, std::int64_t halo) {
  return detail::registered_argument<View, const T>(Access::read_slice, array.record(), halo);
}
template <class T>
ArrayArgument<View<T>> write(Array<T>& array) {
  return detail::registered_argument<View, T>(Access::write_slice, array.record());
}
template <class T>
ArrayArgument<View<T>> read_write(Array<T>& array) {
  return detail::registered_argument<View, T>(Access::read_write_slice, array.record());
}

template <class T>
ArrayArgument<View2D<const T>> read(const Array2D<T>& array) {
  return detail::registered_argument<View2D, const T>(Access::read_whole, array.record());
}
template <class T>
ArrayArgument<View2D<const T>> read_slice(const Array2D<T>& array) {
  return detail::registered_argument<View2D, const T>(Access::read_slice, array.record());
}
template <class T>
ArrayArgument<View2D<const T>> read_halo(const Array2D<T>& array, std::int64_t halo) {
  return detail::registered_argument<View2D, const T>(Access::read_slice, array.record(), halo);
}
template <class T>
ArrayArgument<View2D<T>> write(Array2D<T>& array) {
  return detail::registered_argument<View2D, T>(Access::write_slice, array.record());
}
template <class T>
ArrayArgument<View2D<T>> read_write(Array2D<T>& array) {
  return detail::registered_argument<View2D, T>(Access::read_write_slice, array.record());
}

}  // namespace hetero
