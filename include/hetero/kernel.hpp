// Kernels: the user's computation over a 1-D or 2-D index space, with one implementation per
// backend family (host callable, OpenCL C source, CUDA launcher); the views its implementations
// receive; and the access modes its array arguments are passed with.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hetero/backend/launch.hpp"

#if defined(__CUDACC__)
#define HETERO_HOST_DEVICE __host__ __device__
#else
#define HETERO_HOST_DEVICE
#endif

namespace hetero {

/// A 1-D index space of `size` elements.
struct Grid1D {
  std::int64_t size = 0;
};
/// A 2-D index space of `width` columns and `height` rows, row-major.
struct Grid2D {
  std::int64_t width = 0, height = 0;
};

/// The elements [begin, end) of a 1-D index space that one call computes.
struct Tile1D {
  std::int64_t begin = 0, end = 0;
  HETERO_HOST_DEVICE std::int64_t size() const { return end - begin; }
};
/// Columns [x_begin, x_end) of rows [y_begin, y_end) of a 2-D index space that one call computes.
/// The dispatcher hands out bands of whole rows.
struct Tile2D {
  std::int64_t x_begin = 0, x_end = 0, y_begin = 0, y_end = 0;
};

/// A 1-D array argument as an implementation sees it: indexed by position in the index space,
/// the same index on every node. `T` is const when the argument is read.
template <class T>
class View {
 public:
  using element_type = T;
  View() = default;
  HETERO_HOST_DEVICE View(T* data, std::int64_t size) : data_(data), size_(size) {}
  HETERO_HOST_DEVICE T& operator[](std::int64_t i) const { return data_[i]; }
  HETERO_HOST_DEVICE T* data() const { return data_; }
  HETERO_HOST_DEVICE std::int64_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::int64_t size_ = 0;
};

/// A 2-D array argument as an implementation sees it: (x, y) in the index space; rows are
/// `pitch` elements apart.
template <class T>
class View2D {
 public:
  using element_type = T;
  View2D() = default;
  HETERO_HOST_DEVICE View2D(T* data, std::int64_t width, std::int64_t height, std::int64_t pitch)
      : data_(data), width_(width), height_(height), pitch_(pitch) {}
  HETERO_HOST_DEVICE T& operator()(std::int64_t x, std::int64_t y) const {
    return data_[y * pitch_ + x];
  }
  HETERO_HOST_DEVICE T* data() const { return data_; }
  HETERO_HOST_DEVICE std::int64_t width() const { return width_; }
  HETERO_HOST_DEVICE std::int64_t height() const { return height_; }
  HETERO_HOST_DEVICE std::int64_t pitch() const { return pitch_; }

 private:
  T* data_ = nullptr;
  std::int64_t width_ = 0, height_ = 0, pitch_ = 0;
};

/// A reduction as an implementation sees it: one partial per `chunk` elements of the 1-D space.
/// A tile covers whole chunks and folds its elements into their partials in order
/// (`r[i] = op(r[i], value)`, or `r[i] += value` for a sum), each partial starting at the op's
/// identity; the runtime then folds the partials in chunk order. Every split of the space gives
/// the same partials, and so the same bits. An OpenCL implementation receives the partials as a
/// __global pointer indexed by element / chunk.
template <class T>
class Reducer {
 public:
  using element_type = T;
  Reducer() = default;
  HETERO_HOST_DEVICE Reducer(T* partials, std::int64_t chunk)
      : partials_(partials), chunk_(chunk) {}
  /// The partial of the chunk that holds element i.
  HETERO_HOST_DEVICE T& operator[](std::int64_t i) const { return partials_[i / chunk_]; }
  HETERO_HOST_DEVICE std::int64_t chunk() const { return chunk_; }
  HETERO_HOST_DEVICE T* partials() const { return partials_; }

 private:
  T* partials_ = nullptr;
  std::int64_t chunk_ = 1;
};

/// Reduction operators: an identity and an associative combination.
struct Plus {
  template <class T>
  static constexpr T identity() {
    return T{};
  }
  template <class T>
  HETERO_HOST_DEVICE T operator()(T a, T b) const {
    return a + b;
  }
};
struct Minimum {
  template <class T>
  static constexpr T identity() {
    return std::numeric_limits<T>::max();
  }
  template <class T>
  HETERO_HOST_DEVICE T operator()(T a, T b) const {
    return b < a ? b : a;
  }
};
struct Maximum {
  template <class T>
  static constexpr T identity() {
    return std::numeric_limits<T>::lowest();
  }
  template <class T>
  HETERO_HOST_DEVICE T operator()(T a, T b) const {
    return a < b ? b : a;
  }
};

/// Elements per partial of a reduction unless the call site says otherwise.
inline constexpr std::int64_t kReduceChunk = 4096;

/// A 2-D host array: `width` x `height` elements, rows `pitch` elements apart (pitch >= width).
template <class T>
struct Span2D {
  T* data = nullptr;
  std::int64_t width = 0, height = 0, pitch = 0;
};
template <class T>
Span2D<T> span2d(std::vector<T>& data, std::int64_t width, std::int64_t height) {
  return {data.data(), width, height, width};
}
template <class T>
Span2D<const T> span2d(const std::vector<T>& data, std::int64_t width, std::int64_t height) {
  return {data.data(), width, height, width};
}

namespace detail {

template <class>
inline constexpr bool kAlwaysFalse = false;

template <class T>
inline constexpr bool kIsView = false;
template <class T>
inline constexpr bool kIsView<View<T>> = true;
template <class T>
inline constexpr bool kIsView<View2D<T>> = true;
template <class T>
inline constexpr bool kIsView<Reducer<T>> = true;
template <class T>
inline constexpr bool kIsReducer = false;
template <class T>
inline constexpr bool kIsReducer<Reducer<T>> = true;

/// A scalar passes by value: trivially copyable, at most 16 bytes.
template <class T>
concept Scalar =
    std::is_trivially_copyable_v<T> && !kIsView<T> && sizeof(T) <= 16 && !std::is_pointer_v<T>;

}  // namespace detail

/// An array argument with its access mode, as written at the call site: hetero::read(x),
/// hetero::read_slice(x), hetero::read_halo(x, n), hetero::write(y), hetero::read_write(y). `ViewT`
/// is the view the implementations receive.
template <class ViewT>
struct ArrayArgument {
  backend::ArgumentBinding binding;
};

namespace detail {

template <template <class> class ViewT, class T>
ArrayArgument<ViewT<T>> array_argument(Access access, T* data, std::int64_t width,
                                       std::int64_t height, std::int64_t pitch) {
  ArrayArgument<ViewT<T>> argument;
  argument.binding.is_array = true;
  argument.binding.access = access;
  argument.binding.data = const_cast<std::remove_const_t<T>*>(data);
  argument.binding.element_bytes = sizeof(T);
  argument.binding.width = width;
  argument.binding.height = height;
  argument.binding.pitch = pitch;
  return argument;
}

}  // namespace detail

/// Reads every element on every tile (a device node copies the whole array in once per run).
template <class T>
ArrayArgument<View<const T>> read(std::span<const T> data) {
  const auto size = static_cast<std::int64_t>(data.size());
  return detail::array_argument<View>(Access::read_whole, data.data(), size, 1, size);
}
template <class T>
ArrayArgument<View<const T>> read(const std::vector<T>& data) {
  return read(std::span<const T>(data));
}
template <class T>
ArrayArgument<View2D<const T>> read(Span2D<T> data) {
  return detail::array_argument<View2D>(Access::read_whole, static_cast<const T*>(data.data),
                                        data.width, data.height, data.pitch);
}

/// Reads the tile's own elements (1-D) or rows (2-D): the array covers the index space.
template <class T>
ArrayArgument<View<const T>> read_slice(std::span<const T> data) {
  const auto size = static_cast<std::int64_t>(data.size());
  return detail::array_argument<View>(Access::read_slice, data.data(), size, 1, size);
}
template <class T>
ArrayArgument<View<const T>> read_slice(const std::vector<T>& data) {
  return read_slice(std::span<const T>(data));
}
template <class T>
ArrayArgument<View2D<const T>> read_slice(Span2D<T> data) {
  return detail::array_argument<View2D>(Access::read_slice, static_cast<const T*>(data.data),
                                        data.width, data.height, data.pitch);
}

/// Reads the tile's own elements (1-D) or rows (2-D) and `halo` more on each side, clamped at
/// the array's edges (a 3x3 filter reads a halo of 1): a device node copies in that much. The
/// view is const: a halo is never written.
template <class T>
ArrayArgument<View<const T>> read_halo(std::span<const T> data, std::int64_t halo) {
  auto argument = read_slice(data);
  argument.binding.halo = halo;
  return argument;
}
template <class T>
ArrayArgument<View<const T>> read_halo(const std::vector<T>& data, std::int64_t halo) {
  return read_halo(std::span<const T>(data), halo);
}
template <class T>
ArrayArgument<View2D<const T>> read_halo(Span2D<T> data, std::int64_t halo) {
  auto argument = read_slice(data);
  argument.binding.halo = halo;
  return argument;
}

/// Writes the tile's own elements (1-D) or rows (2-D): the array covers the index space.
template <class T>
ArrayArgument<View<T>> write(std::span<T> data) {
  static_assert(!std::is_const_v<T>, "hetero::write: a written argument cannot be const");
  const auto size = static_cast<std::int64_t>(data.size());
  return detail::array_argument<View>(Access::write_slice, data.data(), size, 1, size);
}
template <class T>
ArrayArgument<View<T>> write(std::vector<T>& data) {
  return write(std::span<T>(data));
}
template <class T>
ArrayArgument<View<T>> write(const std::vector<T>&) {
  static_assert(detail::kAlwaysFalse<T>, "hetero::write: a written argument cannot be const");
  return {};
}
template <class T>
ArrayArgument<View2D<T>> write(Span2D<T> data) {
  static_assert(!std::is_const_v<T>, "hetero::write: a written argument cannot be const");
  return detail::array_argument<View2D>(Access::write_slice, data.data, data.width, data.height,
                                        data.pitch);
}

/// Reads and writes the tile's own elements (1-D) or rows (2-D): a device node copies that part
/// in before the tile and back after it.
template <class T>
ArrayArgument<View<T>> read_write(std::span<T> data) {
  static_assert(!std::is_const_v<T>, "hetero::read_write: a written argument cannot be const");
  const auto size = static_cast<std::int64_t>(data.size());
  return detail::array_argument<View>(Access::read_write_slice, data.data(), size, 1, size);
}
template <class T>
ArrayArgument<View<T>> read_write(std::vector<T>& data) {
  return read_write(std::span<T>(data));
}
template <class T>
ArrayArgument<View<T>> read_write(const std::vector<T>&) {
  static_assert(detail::kAlwaysFalse<T>, "hetero::read_write: a written argument cannot be const");
  return {};
}
template <class T>
ArrayArgument<View2D<T>> read_write(Span2D<T> data) {
  static_assert(!std::is_const_v<T>, "hetero::read_write: a written argument cannot be const");
  return detail::array_argument<View2D>(Access::read_write_slice, data.data, data.width,
                                        data.height, data.pitch);
}

/// A reduction argument, as written at the call site: hetero::reduce(result, op). The result
/// must live until the run is done.
template <class T>
struct ReduceArgument {
  backend::ArgumentBinding binding;
};

/// Reduces into `result` with `op` (Plus, Minimum, Maximum, or a type with the same members):
/// the kernel's Reducer<T> parameter receives partials of `chunk` elements each, folded in order
/// into `result` when the run is done; the same bits on every split, node and policy.
template <class T, class Op = Plus>
ReduceArgument<T> reduce(T& result, Op op = {}, std::int64_t chunk = kReduceChunk) {
  static_assert(std::is_trivially_copyable_v<T>, "a reduction's result is trivially copyable");
  ReduceArgument<T> argument;
  backend::ArgumentBinding& binding = argument.binding;
  binding.is_array = true;
  // Read and written: an implementation folds into partials that start at the op's identity,
  // so a node with memory of its own is given them before it runs (not fresh memory).
  binding.access = Access::read_write_slice;
  binding.element_bytes = sizeof(T);
  binding.chunk = chunk;
  auto reduction = std::make_shared<backend::Reduction>();
  reduction->chunk = chunk;
  reduction->result = &result;
  reduction->make_partials = [](std::int64_t count) {
    std::shared_ptr<T[]> partials(
        new T[static_cast<std::size_t>(std::max<std::int64_t>(1, count))]);
    std::fill(partials.get(), partials.get() + count, Op::template identity<T>());
    backend::ArrayRecord::Shape shape{sizeof(T), count, 1, count, 1};
    return std::make_shared<backend::ArrayRecord>(
        partials.get(), std::shared_ptr<void>(partials, partials.get()), shape,
        "reduction partials", WriteBack::on_acquire);
  };
  reduction->combine = [&result, op](const void* partials, std::int64_t count) {
    const T* values = static_cast<const T*>(partials);
    T folded = Op::template identity<T>();
    for (std::int64_t i = 0; i < count; ++i) folded = op(folded, values[i]);
    result = folded;
  };
  binding.reduction = std::move(reduction);
  return argument;
}

namespace detail {

template <class TileT>
constexpr int kDims = std::is_same_v<TileT, Tile2D> ? 2 : 1;

template <class TileT>
TileT to_tile(const backend::TileRange& range) {
  if constexpr (std::is_same_v<TileT, Tile2D>) {
    return {0, range.width, range.begin, range.end};
  } else {
    return {range.begin, range.end};
  }
}

/// A letter and a number: "f32". (Tags are appended to, not built with `"f" + std::string`,
/// which g++ 12 warns of under -O3 -Wall, wrongly: GCC bug 105329.)
inline std::string lettered(char letter, std::size_t number) {
  std::string tag(1, letter);
  tag += std::to_string(number);
  return tag;
}

/// How the model names an element type: f32, f64, i8 ... u64, bool, or bN for N bytes of
/// anything else.
template <class T>
std::string type_tag() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    return "bool";
  } else if constexpr (std::is_floating_point_v<U>) {
    return lettered('f', 8 * sizeof(U));
  } else if constexpr (std::is_integral_v<U>) {
    return lettered(std::is_signed_v<U> ? 'i' : 'u', 8 * sizeof(U));
  } else {
    return lettered('b', sizeof(U));
  }
}

/// A parameter as the signature shows it: "f32" (scalar), "f32[]" (1-D view), "f32[,]" (2-D),
/// with " const" for a view of const elements.
template <class Param>
std::string parameter_tag() {
  if constexpr (kIsReducer<Param>) {
    std::string tag = type_tag<typename Param::element_type>();
    tag += " reduce";
    return tag;
  } else if constexpr (kIsView<Param>) {
    using T = typename Param::element_type;
    std::string tag = type_tag<T>();
    tag += std::is_same_v<Param, View2D<T>> ? "[,]" : "[]";
    if (std::is_const_v<T>) tag += " const";
    return tag;
  } else {
    return type_tag<Param>();
  }
}

template <class... Params>
std::string signature_of() {
  std::string text = "(";
  ((text += parameter_tag<Params>() + ", "), ...);
  if (text.size() > 1) text.resize(text.size() - 2);
  return text + ")";
}

/// The parameter a typed implementation receives for one bound argument.
template <class Param>
Param from_binding(const backend::ArgumentBinding& binding) {
  if constexpr (kIsReducer<Param>) {
    return Param(static_cast<typename Param::element_type*>(binding.data), binding.chunk);
  } else if constexpr (kIsView<Param>) {
    using T = typename Param::element_type;
    if constexpr (std::is_same_v<Param, View<T>>) {
      return Param(static_cast<T*>(binding.data), binding.elements());
    } else {
      return Param(static_cast<T*>(binding.data), binding.width, binding.height, binding.pitch);
    }
  } else {
    Param value;
    std::memcpy(&value, binding.scalar.data(), sizeof(Param));
    return value;
  }
}

/// Binds one call-site argument to the kernel's parameter `Param` (compile-time checked).
template <class Param, class Arg>
backend::ArgumentBinding to_binding(Arg&& argument) {
  using A = std::remove_cvref_t<Arg>;
  if constexpr (kIsReducer<Param>) {
    static_assert(std::is_same_v<A, ReduceArgument<typename Param::element_type>>,
                  "the kernel reduces this argument: pass hetero::reduce(result, op) of its type");
    return argument.binding;
  } else if constexpr (kIsView<Param>) {
    using T = typename Param::element_type;
    if constexpr (std::is_same_v<A, ArrayArgument<Param>>) {
      return argument.binding;
    } else if constexpr (!std::is_const_v<T> &&
                         (std::is_same_v<A, ArrayArgument<View<const T>>> ||
                          std::is_same_v<A, ArrayArgument<View2D<const T>>>)) {
      static_assert(kAlwaysFalse<A>,
                    "the kernel writes this argument: pass it with hetero::write(...) or "
                    "hetero::read_write(...)");
    } else if constexpr (std::is_const_v<T> &&
                         (std::is_same_v<A, ArrayArgument<View<std::remove_const_t<T>>>> ||
                          std::is_same_v<A, ArrayArgument<View2D<std::remove_const_t<T>>>>)) {
      static_assert(kAlwaysFalse<A>,
                    "the kernel only reads this argument: pass it with hetero::read(...) or "
                    "hetero::read_slice(...)");
    } else {
      static_assert(kAlwaysFalse<A>,
                    "an array argument does not match the kernel's parameter (element type or "
                    "dimensions differ)");
    }
    return {};
  } else {
    static_assert(Scalar<Param>,
                  "a kernel parameter is a hetero::View, hetero::View2D or a "
                  "trivially copyable scalar of at most 16 bytes");
    static_assert(std::is_convertible_v<A, Param>,
                  "a scalar argument does not convert to the kernel's parameter");
    backend::ArgumentBinding binding;
    const Param value = static_cast<Param>(argument);
    std::memcpy(binding.scalar.data(), &value, sizeof(Param));
    binding.scalar_bytes = sizeof(Param);
    return binding;
  }
}

}  // namespace detail

/// A kernel over a 1-D (TileT = Tile1D) or 2-D (Tile2D) index space whose implementations take
/// `Params...`: hetero::View / View2D for arrays (const elements for reads) and scalars by value.
/// Each node runs the implementation it can; a node with none is an error at run time (or, with
/// fallback, left out). Copies share their implementations; changing one makes it its own.
template <class TileT, class... Params>
class Kernel {
  static_assert(std::is_same_v<TileT, Tile1D> || std::is_same_v<TileT, Tile2D>,
                "a kernel's first parameter is hetero::Tile1D or hetero::Tile2D");
  static_assert(((detail::kIsView<Params> || detail::Scalar<Params>)&&...),
                "a kernel parameter is a hetero::View, hetero::View2D, hetero::Reducer or a "
                "trivially copyable scalar of at most 16 bytes");
  static_assert(std::is_same_v<TileT, Tile1D> || !(detail::kIsReducer<Params> || ...),
                "a hetero::Reducer parameter needs a 1-D kernel (Tile1D)");

 public:
  using tile_type = TileT;
  static constexpr std::size_t kArity = sizeof...(Params);

  explicit Kernel(std::string name) : definition_(std::make_shared<backend::KernelDefinition>()) {
    definition_->name = std::move(name);
    definition_->dims = detail::kDims<TileT>;
    definition_->parameters = kArity;
    definition_->signature = detail::signature_of<Params...>();
    definition_->id = backend::next_kernel_id();
  }

  /// The host implementation: `f(TileT, Params...)` computes one tile on one worker. It may
  /// return the work units it performed (an integer or floating-point value): the report and
  /// the model then count those instead of work() or cost().
  template <class F>
  requires std::invocable<const F&, TileT, Params...> Kernel& host(F f) {
    edit().host = host_implementation(std::move(f));
    return *this;
  }

  /// The simd node's implementation, `f(TileT, Params...)` like host(): vector code the simd
  /// node runs instead of the host implementation (other host nodes run host()).
  template <class F>
  requires std::invocable<const F&, TileT, Params...> Kernel& simd(F f) {
    edit().simd = host_implementation(std::move(f));
    return *this;
  }

  /// An OpenCL implementation: OpenCL C `source` with the kernel `entry`, whose arguments are the
  /// kernel's parameters in order (arrays as __global pointers to the whole array, indexed by
  /// position in the space; scalars by value). The runtime builds it once per device, launches
  /// one work-item per element with the tile's offset (get_global_id is the position), and binds
  /// the arguments. Several may be given, each for one device type.
  Kernel& opencl(std::string source, std::string entry, OpenCLOptions options = {}) {
    edit().opencl.push_back({std::move(source), std::move(entry), std::move(options)});
    return *this;
  }

  /// A CUDA implementation: `launch(stream, tile, params...)`, compiled by the user's nvcc,
  /// enqueues work on `stream` (the node's cudaStream_t) with device views.
  template <class F>
  requires std::invocable<const F&, void*, TileT, Params...> Kernel& cuda(F launch) {
    backend::KernelDefinition& definition = edit();
    definition.cuda = cuda_implementation(std::move(launch));
    definition.cuda_counts_work = false;
    return *this;
  }

  /// A CUDA implementation that counts the work units it performs, on the device:
  /// `launch(stream, work, tile, params...)` like cuda(), and it adds the tile's work units to
  /// `*work` (a std::uint64_t in device memory, zero before the launch, e.g. one atomicAdd per
  /// block). The node reads the count back with the tile, so a kernel whose cost lies in its
  /// results (work()) is not read again on the host after a run on this node.
  template <class F>
  requires std::invocable<const F&, void*, std::uint64_t*, TileT, Params...> Kernel& cuda_counting(
      F launch) {
    backend::KernelDefinition& definition = edit();
    definition.cuda = [launch = std::move(launch)](
                          void* stream, std::uint64_t* work, const backend::TileRange& range,
                          std::span<const backend::ArgumentBinding> arguments) {
      call(launch, stream, work, detail::to_tile<TileT>(range), arguments,
           std::index_sequence_for<Params...>{});
    };
    definition.cuda_counts_work = true;
    return *this;
  }

  /// How many elements each thread of the CUDA implementation computes (1 unless set; less
  /// than 1 counts as 1): the cuda node runs adjacent tiles smaller than that many times the
  /// GPU's resident threads as one launch, so that a launch fills the device.
  Kernel& cuda_elements_per_thread(std::int64_t elements) {
    edit().cuda_elements_per_thread = std::max<std::int64_t>(1, elements);
    return *this;
  }

  /// A Thrust implementation: `launch(stream, tile, params...)` like cuda(), written with Thrust's
  /// algorithms on `stream`; the thrust node runs it instead of the CUDA implementation.
  template <class F>
  requires std::invocable<const F&, void*, TileT, Params...> Kernel& thrust(F launch) {
    edit().thrust = cuda_implementation(std::move(launch));
    return *this;
  }

  /// A Thrust implementation for Thrust's OpenMP system, `f(TileT, Params...)`: the thrust node
  /// on device omp (thrust:omp) runs it, with views of that node's memory (host memory of its
  /// own, filled and read back by traced copies like a GPU's). `f` runs Thrust's algorithms with
  /// thrust::omp::par; like host() it may return the work units it performed.
  template <class F>
  requires std::invocable<const F&, TileT, Params...> Kernel& thrust_omp(F f) {
    edit().thrust_omp = host_implementation(std::move(f));
    return *this;
  }

  /// Asks for results comparable bit for bit across nodes: no contraction of a*b+c into fma
  /// (FP_CONTRACT OFF in OpenCL; host and CUDA files build with the hetero::exact_fp target).
  Kernel& exact(bool on = true) {
    edit().exact = on;
    return *this;
  }

  /// Work units of a tile (for the report and the throughput model); default: its elements.
  template <class F>
  requires std::invocable<const F&, TileT> Kernel& cost(F per_tile) {
    edit().cost = [per_tile = std::move(per_tile)](const backend::TileRange& range) {
      return static_cast<double>(per_tile(detail::to_tile<TileT>(range)));
    };
    return *this;
  }

  /// Work units a tile performed, `f(TileT, Params...)`, counted on the host from what the tile
  /// wrote once the run is done (the views are host memory): a kernel whose cost lies in its
  /// results (iterations until escape) reports the work it did on every node. The written
  /// arrays must be plain host arrays, not hetero::Array. Replaces cost() when both are given.
  template <class F>
  requires std::invocable<const F&, TileT, Params...> Kernel& work(F per_tile) {
    edit().work = [per_tile = std::move(per_tile)](
                      const backend::TileRange& range,
                      std::span<const backend::ArgumentBinding> arguments) {
      return static_cast<double>(call(per_tile, detail::to_tile<TileT>(range), arguments,
                                      std::index_sequence_for<Params...>{}));
    };
    return *this;
  }

  const std::string& name() const { return definition_->name; }
  std::shared_ptr<const backend::KernelDefinition> definition() const { return definition_; }

  /// Binds call-site arguments to the parameters in order; a mismatch is a compile error.
  template <class... Args>
  static std::vector<backend::ArgumentBinding> bind(Args&&... arguments) {
    static_assert(sizeof...(Args) == sizeof...(Params),
                  "the number of arguments differs from the kernel's parameters");
    return {detail::to_binding<Params>(std::forward<Args>(arguments))...};
  }

 private:
  template <class F>
  static backend::HostImplementation host_implementation(F f) {
    return [f = std::move(f)](const backend::TileRange& range,
                              std::span<const backend::ArgumentBinding> arguments) -> double {
      using Result = std::invoke_result_t<const F&, TileT, Params...>;
      if constexpr (std::is_arithmetic_v<Result>) {
        return static_cast<double>(call(f, detail::to_tile<TileT>(range), arguments,
                                        std::index_sequence_for<Params...>{}));
      } else {
        call(f, detail::to_tile<TileT>(range), arguments, std::index_sequence_for<Params...>{});
        return -1;
      }
    };
  }

  template <class F>
  static backend::CudaImplementation cuda_implementation(F launch) {
    return [launch = std::move(launch)](void* stream, std::uint64_t* /*work*/,
                                        const backend::TileRange& range,
                                        std::span<const backend::ArgumentBinding> arguments) {
      call(launch, stream, detail::to_tile<TileT>(range), arguments,
           std::index_sequence_for<Params...>{});
    };
  }

  template <class F, std::size_t... I>
  static decltype(auto) call(const F& f, TileT tile,
                             std::span<const backend::ArgumentBinding> arguments,
                             std::index_sequence<I...>) {
    return f(tile, detail::from_binding<Params>(arguments[I])...);
  }
  template <class F, std::size_t... I>
  static void call(const F& f, void* stream, TileT tile,
                   std::span<const backend::ArgumentBinding> arguments, std::index_sequence<I...>) {
    f(stream, tile, detail::from_binding<Params>(arguments[I])...);
  }
  template <class F, std::size_t... I>
  static void call(const F& f, void* stream, std::uint64_t* work, TileT tile,
                   std::span<const backend::ArgumentBinding> arguments, std::index_sequence<I...>) {
    f(stream, work, tile, detail::from_binding<Params>(arguments[I])...);
  }

  backend::KernelDefinition& edit() {
    if (definition_.use_count() > 1) {
      definition_ = std::make_shared<backend::KernelDefinition>(*definition_);
    }
    definition_->id = backend::next_kernel_id();
    return *definition_;
  }

  std::shared_ptr<backend::KernelDefinition> definition_;
};

namespace detail {

template <class F>
struct HostSignature : HostSignature<decltype(&F::operator())> {};
template <class C, class R, class TileT, class... Params>
struct HostSignature<R (C::*)(TileT, Params...) const> {
  using kernel = Kernel<std::remove_cvref_t<TileT>, std::remove_cvref_t<Params>...>;
};
template <class C, class R, class TileT, class... Params>
struct HostSignature<R (C::*)(TileT, Params...)> {
  using kernel = Kernel<std::remove_cvref_t<TileT>, std::remove_cvref_t<Params>...>;
};

}  // namespace detail

/// A kernel whose parameter types come from its host implementation, a lambda taking
/// (Tile1D or Tile2D, params...): hetero::make_kernel("saxpy", [](Tile1D t, ...) { ... }).
template <class F>
auto make_kernel(std::string name, F host) {
  using KernelType = typename detail::HostSignature<F>::kernel;
  KernelType kernel(std::move(name));
  kernel.host(std::move(host));
  return kernel;
}

}  // namespace hetero
