// What a node receives to run a user's kernel: the kernel's implementations with their types
// erased, the index space, and each argument bound to host memory or passed by value. For
// backend authors; users write hetero::Kernel (hetero/kernel.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hetero/backend/coherence.hpp"
#include "hetero/job.hpp"
#include "hetero/trace.hpp"

namespace hetero {

/// How a kernel reaches one array argument on each tile.
enum class Access : std::uint8_t {
  read_whole,        ///< every tile reads any element: a device node copies the whole array in once
  read_slice,        ///< a tile reads the elements (1-D) or rows (2-D) of its own part of the space
  write_slice,       ///< a tile writes its own part; a device node copies that part back
  read_write_slice,  ///< a tile reads and writes its own part: copied in, then back
};
std::string_view to_string(Access access);

/// The OpenCL device types an OpenCL implementation is meant for.
enum class OpenCLDevice : std::uint8_t { any, cpu, gpu };

/// How the runtime launches an OpenCL implementation.
struct OpenCLOptions {
  OpenCLDevice device = OpenCLDevice::any;  ///< run it only on devices of this type
  /// Elements (1-D) or columns (2-D) one work-item computes. Above 1, the runtime launches
  /// ceil(n / elements_per_item) work-items from offset 0 and passes the tile's range first.
  std::int64_t elements_per_item = 1;
  /// Passes the tile's range as the first two kernel arguments (long begin, long end: elements in
  /// 1-D, rows in 2-D) before the user's arguments.
  bool tile_arguments = false;
  /// Passes after each array argument its origin (long): the index of the buffer's first element
  /// in the array, so the kernel reads element i at [i - origin]. It lets the runtime run arrays
  /// larger than the device's memory in windows; the origin is 0 when the whole array is there.
  bool array_origins = false;
  /// The source uses double: it runs only on devices with cl_khr_fp64 (on others the node has
  /// no implementation of the kernel, and says why).
  bool needs_fp64 = false;
  std::size_t local_size = 0;  ///< work-items per work-group; 0: the driver chooses
  std::string build_options;   ///< added to the runtime's own (-cl-std=CL1.2)
};

namespace backend {

/// One argument of a launch: an array in host memory with its access mode, or a scalar by value.
struct ArgumentBinding {
  bool is_array = false;
  Access access = Access::read_whole;
  void* data = nullptr;  ///< arrays: the first element (host memory)
  std::size_t element_bytes = 0;
  std::int64_t width = 0, height = 1, pitch = 0;  ///< arrays, in elements; 1-D: height 1
  /// Read slices: elements (1-D) or rows (2-D) a tile also reads beyond each side of its own,
  /// clamped at the array's edges.
  std::int64_t halo = 0;
  std::array<std::byte, 16> scalar{};  ///< scalars: the value's bytes
  std::size_t scalar_bytes = 0;
  /// Registered arrays (hetero::Array): the record whose host copy `data` points to. Nodes keep
  /// replicas of it between runs and copy only stale blocks; null for plain host arrays.
  std::shared_ptr<ArrayRecord> array;
  /// On a device node, an array larger than the device's memory is there as a window: `origin`
  /// is the index of the window's first element (2-D: row x pitch) and `data` points where
  /// element 0 would lie (only the window may be reached). 0 when the whole array is there.
  std::int64_t origin = 0;
  /// Reductions (a written slice of partials): each partial covers `chunk` elements of the 1-D
  /// space, and a tile writes the partials of the chunks it covers (tiles cover whole chunks).
  std::int64_t chunk = 0;
  std::shared_ptr<const struct Reduction> reduction;

  std::int64_t elements() const { return height > 1 ? pitch * (height - 1) + width : width; }
  std::size_t bytes() const { return static_cast<std::size_t>(elements()) * element_bytes; }
};

/// What a reduction argument does around a run: it makes the partials (registered, each the
/// op's identity) for a space, and folds them in chunk order into the caller's result, so the
/// result does not depend on how the run was split.
struct Reduction {
  std::int64_t chunk = 0;
  const void* result = nullptr;  ///< the caller's result: runs writing it are ordered
  std::function<std::shared_ptr<ArrayRecord>(std::int64_t partials)> make_partials;
  std::function<void(const void* partials, std::int64_t count)> combine;
};

/// A tile in the space's own terms, as implementations receive it.
struct TileRange {
  std::int64_t begin = 0, end = 0;  ///< elements (1-D) or rows (2-D)
  std::int64_t width = 0;           ///< 2-D: the columns of every row
  int dims = 1;
};

/// The implementations of one kernel. Host and CUDA implementations are typed callables wrapped
/// by hetero::Kernel; each receives the arguments bound in order.
struct OpenCLImplementation {
  std::string source;
  std::string entry;
  OpenCLOptions options;
};
/// A host implementation returns the work units the tile performed, or a negative value when it
/// does not count them (the kernel's work() or cost() then does).
using HostImplementation =
    std::function<double(const TileRange& tile, std::span<const ArgumentBinding> arguments)>;
/// `stream` is the node's cudaStream_t; bindings point to device memory. `work` is where an
/// implementation that counts its work (KernelDefinition::cuda_counts_work) adds the work units
/// it performs: a std::uint64_t in device memory, zero before the launch; nullptr for others.
using CudaImplementation =
    std::function<void(void* stream, std::uint64_t* work, const TileRange& tile,
                       std::span<const ArgumentBinding> arguments)>;

/// Counts the work units of a tile from the arguments in host memory.
using HostWork =
    std::function<double(const TileRange& tile, std::span<const ArgumentBinding> arguments)>;

struct KernelDefinition {
  std::string name;
  int dims = 1;
  std::size_t parameters = 0;  ///< the arguments every implementation takes
  /// The parameters' element types, e.g. "(f32[] const, f32[] const, f32[], f32)": with the
  /// name, the kernel's identity in the throughput model.
  std::string signature;
  bool exact = false;    ///< no contraction: FP_CONTRACT OFF is added to OpenCL sources
  std::uint64_t id = 0;  ///< unique per definition as built: the key of per-device build caches
  HostImplementation host;
  /// A host implementation written for the simd node (vector code); the simd node prefers it
  /// to `host`, and runs `host` when there is none.
  HostImplementation simd;
  std::vector<OpenCLImplementation> opencl;
  CudaImplementation cuda;
  /// The CUDA implementation counts the work units it performs on the device (into `work`): the
  /// node reads them back with the tile, and neither `work` below nor `cost` is asked.
  bool cuda_counts_work = false;
  /// Elements each thread of the CUDA implementation computes: a launch fills a GPU with this
  /// many times the threads it holds (Node::full_wave).
  std::int64_t cuda_elements_per_thread = 1;
  /// A CUDA implementation written with Thrust (its algorithms on the node's stream): the
  /// thrust node prefers it to `cuda`, and runs `cuda` when there is none.
  CudaImplementation thrust;
  /// A Thrust implementation for Thrust's OpenMP system (the thrust node on device "omp",
  /// thrust:omp): it runs Thrust's algorithms with thrust::omp::par on the node's memory, which
  /// is host memory of its own. It returns the work units it performed, or a negative value when
  /// it does not count them.
  HostImplementation thrust_omp;
  /// Work units of a tile for the report and the model; empty: one per element.
  std::function<double(const TileRange&)> cost;
  /// Work units a tile performed, counted on the host from what it wrote (Mandelbrot: the
  /// iterations its counts stand for): by host nodes after each tile whose implementation did
  /// not count them, for other nodes once the run is done. When set, it replaces `cost` in the
  /// report and the model. Its written arrays are plain host arrays (Runtime checks).
  HostWork work;

  /// The implementation families this kernel has, e.g. "host, opencl".
  std::string families() const;
};

/// Whether a tile copies its part of an array in before it runs (read slices), or out after
/// it (written slices).
bool reads_slice(Access access);
bool writes_slice(Access access);

/// A tile in an argument's own indices: the tile itself, or for a reduction's partials the
/// partials of the chunks it covers (1-D).
TileRange own_range(const ArgumentBinding& argument, const TileRange& tile);

/// The part of an array a tile reaches: its own elements (1-D) or rows (2-D), widened by the
/// argument's halo on each side and clamped at the array's edges.
TileRange reach_of(const ArgumentBinding& argument, const TileRange& tile);

/// The bytes of an array a tile reads or writes (its reach), as an offset and a length in the
/// array (and in its replica, which has the array's shape). 2-D: the rows, from the first's
/// start to the last's end, with what lies between rows.
struct ByteRange {
  std::size_t offset = 0, bytes = 0;
};
ByteRange slice_of(const ArgumentBinding& argument, const TileRange& tile);

/// One copy a tile makes of an array argument: a byte range (as slice_of gives) and its cause.
struct SliceCopy {
  ByteRange range;
  TransferCause cause = TransferCause::read_miss;
};
/// The copies of an array a tile reads (to the device) or writes (to the host): its own part,
/// and the halo's rows before and after it, each a copy of its own; a written 2-D array whose
/// rows lie apart (pitch > width) goes back row by row, leaving the host's bytes between rows
/// alone. Empty when the tile neither reads nor writes the array that way.
std::vector<SliceCopy> tile_copies(const ArgumentBinding& argument, const TileRange& tile,
                                   bool to_device);

/// "argument N" (1-based), as traces and errors name an argument.
std::string argument_label(std::size_t index);

/// The OpenCL C source a device builds for `implementation`: an exact kernel's source opens with
/// `#pragma OPENCL FP_CONTRACT OFF`.
std::string opencl_build_source(const KernelDefinition& kernel,
                                const OpenCLImplementation& implementation);

/// A fresh definition id.
std::uint64_t next_kernel_id();

/// Kernels this process knows by name: those passed to Runtime::serve. The ranks of an MPI job
/// run the kernel rank 0 names from here. Registering a second, different kernel under a name
/// already taken throws UsageError; registering the same one again does nothing.
void register_kernel(std::shared_ptr<const KernelDefinition> kernel);
/// The kernel registered under `name`; nullptr when there is none.
std::shared_ptr<const KernelDefinition> find_kernel(std::string_view name);

/// One run of a kernel: what every node of the run receives.
struct Launch {
  std::shared_ptr<const KernelDefinition> kernel;
  std::int64_t width = 0, height = 1;  ///< the index space; 1-D: height 1
  std::vector<ArgumentBinding> arguments;

  int dims() const { return kernel->dims; }
  /// The dispatcher's tiles are row-major element ranges; in 2-D they are bands of whole rows.
  TileRange range(const Tile& tile) const;
  std::uint64_t work_units(const Tile& tile) const;
  std::int64_t elements() const { return width * height; }
  /// What 1-D tile sizes are a multiple of: every block of a registered array written by
  /// slices (a reduction's: its chunks), so that no two tiles write one block; 1 when there is
  /// none (and in 2-D, whose blocks are rows).
  std::int64_t tile_granule() const;
};

/// The blocks of a registered array a tile needs valid where it runs before it starts: those it
/// reads (its reach; every block for a whole read), and of a written slice the blocks it covers
/// only in part, whose other elements must be kept. Empty for plain host arrays.
std::vector<BlockRun> blocks_to_read(const ArgumentBinding& argument, const TileRange& tile);
/// The blocks of a registered array a tile writes; empty unless it writes its slice.
BlockRun blocks_written(const ArgumentBinding& argument, const TileRange& tile);

/// For nodes that compute in host memory (host workers, and those that copy from and to it):
/// before a tile, the registered arrays' blocks it needs are made valid on the host (copied back
/// from the space that modified them, traced on `lane` when given); after it, the blocks it
/// wrote are marked modified on the host, invalidating every replica.
void stage_on_host(const Launch& launch, const TileRange& tile, TraceLane* lane);
void commit_on_host(const Launch& launch, const TileRange& tile);

}  // namespace backend
}  // namespace hetero
