// The journal's format: "hetero-journal 2\n", the identity's length and text and the number of
// pixels, padded to 64 bytes; then the run's counts (4 bytes a pixel, written in place through
// a shared mapping); then one record per completed tile: a marker, the tile's index, begin and
// end, the checksum of its counts, and the checksum of the record.
#include "journal.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/version.hpp"

namespace hetero::detail {
namespace {

constexpr std::string_view kMagic = "hetero-journal 2\n";
constexpr std::uint32_t kRecordMarker = 0x454c4954;  // "TILE"
// A record: marker, index, begin, end, counts' checksum, then the record's own checksum.
constexpr std::size_t kRecordBody = 4 + 4 * 8;
constexpr std::size_t kRecordBytes = kRecordBody + 8;
constexpr std::uint32_t kMaxIdentity = 1 << 16;
constexpr std::uint64_t kMaxPixels = std::uint64_t{1} << 40;
constexpr std::uint64_t kCountsAlignment = 64;
// The writer thread writes out what is pending at least this often.
constexpr auto kWritePeriod = std::chrono::milliseconds(100);

template <class T>
void put(std::vector<std::uint8_t>& bytes, const T& value) {
  const std::size_t at = bytes.size();
  bytes.resize(at + sizeof(T));
  std::memcpy(bytes.data() + at, &value, sizeof(T));
}

template <class T>
T get(std::span<const std::uint8_t> bytes, std::size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

// A record's checksum: four interleaved FNV-style lanes over 64-bit words (fast enough to keep
// up with the simd node), folded with FNV-1a 64 of the lanes and the tail bytes.
class RecordHash {
 public:
  void add(std::span<const std::uint8_t> bytes) {
    std::size_t at = 0;
    for (; at + 32 <= bytes.size(); at += 32) {
      for (int lane = 0; lane < 4; ++lane) {
        std::uint64_t word;
        std::memcpy(&word, bytes.data() + at + 8 * lane, 8);
        lanes_[lane] = (lanes_[lane] ^ word) * kPrime;
      }
    }
    tail_ = fnv1a_64(std::span<const unsigned char>(bytes.data() + at, bytes.size() - at), tail_);
  }
  std::uint64_t value() const {
    return fnv1a_64(std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(lanes_),
                                                   sizeof(lanes_)),
                    tail_);
  }

 private:
  static constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t lanes_[4] = {kFnv1a64Offset, kFnv1a64Offset + 1, kFnv1a64Offset + 2,
                             kFnv1a64Offset + 3};
  std::uint64_t tail_ = kFnv1a64Offset;
};

// Where a journal's parts lie, as its header says.
struct Layout {
  std::string identity;
  std::uint64_t pixels = 0;
  std::uint64_t counts_at = 0;  // the first count's offset
  std::uint64_t log_at = 0;     // the first record's offset
};

std::uint64_t counts_offset(std::size_t identity_bytes) {
  const std::uint64_t header = kMagic.size() + 4 + identity_bytes + 8;
  return (header + kCountsAlignment - 1) / kCountsAlignment * kCountsAlignment;
}

std::vector<std::uint8_t> header_bytes(const std::string& identity, std::uint64_t pixels) {
  std::vector<std::uint8_t> bytes(kMagic.begin(), kMagic.end());
  put(bytes, static_cast<std::uint32_t>(identity.size()));
  bytes.insert(bytes.end(), identity.begin(), identity.end());
  put(bytes, pixels);
  bytes.resize(counts_offset(identity.size()), 0);
  return bytes;
}

// The layout the header at the start of `bytes` gives. Throws UsageError when there is none.
Layout parse_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kMagic.size() + 4 ||
      std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    throw UsageError("not a hetero journal (it does not start as one)");
  }
  const auto length = get<std::uint32_t>(bytes, kMagic.size());
  if (length > kMaxIdentity || bytes.size() < kMagic.size() + 4 + length + 8) {
    throw UsageError("not a hetero journal (its header is cut short)");
  }
  Layout layout;
  layout.identity.assign(reinterpret_cast<const char*>(bytes.data() + kMagic.size() + 4), length);
  layout.pixels = get<std::uint64_t>(bytes, kMagic.size() + 4 + length);
  if (layout.pixels > kMaxPixels) throw UsageError("not a hetero journal (its header is corrupt)");
  layout.counts_at = counts_offset(length);
  layout.log_at = layout.counts_at + layout.pixels * sizeof(std::uint32_t);
  return layout;
}

std::uint64_t counts_checksum(std::span<const std::uint32_t> counts) {
  RecordHash hash;
  hash.add({reinterpret_cast<const std::uint8_t*>(counts.data()), counts.size_bytes()});
  return hash.value();
}

// What the records at the start of `log` vouch for: the tiles whose records are intact and
// whose counts in `counts` match them, and the bytes of the intact records (a torn or corrupt
// record ends the log).
struct LogScan {
  std::map<std::int64_t, Tile> tiles;
  std::uint64_t intact_bytes = 0;
};

LogScan scan_log(std::span<const std::uint8_t> log, std::span<const std::uint32_t> counts,
                 std::span<const Tile> tiles) {
  LogScan scan;
  std::size_t at = 0;
  for (; at + kRecordBytes <= log.size(); at += kRecordBytes) {
    if (get<std::uint32_t>(log, at) != kRecordMarker) break;
    RecordHash hash;
    hash.add(log.subspan(at, kRecordBody));
    if (hash.value() != get<std::uint64_t>(log, at + kRecordBody)) break;
    const auto index = get<std::int64_t>(log, at + 4);
    if (index < 0 || static_cast<std::size_t>(index) >= tiles.size()) break;
    const Tile& tile = tiles[static_cast<std::size_t>(index)];
    if (tile.begin != get<std::int64_t>(log, at + 12) ||
        tile.end != get<std::int64_t>(log, at + 20) ||
        static_cast<std::size_t>(tile.end) > counts.size()) {
      break;
    }
    // An intact record whose counts differ (they had not reached the disk): recomputed.
    const auto own =
        counts.subspan(static_cast<std::size_t>(tile.begin), static_cast<std::size_t>(tile.size()));
    if (counts_checksum(own) == get<std::uint64_t>(log, at + 28)) scan.tiles[index] = tile;
  }
  scan.intact_bytes = at;
  return scan;
}

// The first line of `theirs` that `ours` does not have, for the refusal.
std::string first_difference(const std::string& ours, const std::string& theirs) {
  std::istringstream a(ours), b(theirs);
  std::string mine, other;
  while (std::getline(a, mine)) {
    if (!std::getline(b, other)) return fmt::format("it has no {}", mine);
    if (mine != other) return fmt::format("it has {} where this job has {}", other, mine);
  }
  return "its parameters differ";
}

[[noreturn]] void refuse(const std::filesystem::path& path, std::string_view why) {
  throw UsageError(fmt::format("--resume {}: {}", path.string(), why));
}

// The journal's job must be this one: its identity and its number of pixels.
void check_job(const Layout& layout, const std::string& identity, std::span<const Tile> tiles) {
  if (layout.identity != identity) {
    throw UsageError(
        fmt::format("a journal of another job: {}; resume with the job's own "
                    "parameters, or start afresh with --journal",
                    first_difference(identity, layout.identity)));
  }
  const std::uint64_t pixels = tiles.empty() ? 0 : static_cast<std::uint64_t>(tiles.back().end);
  if (layout.pixels != pixels) throw UsageError("not a hetero journal (its header is corrupt)");
}

// Reads up to `bytes` bytes at `offset`; fewer at the end of the file.
std::vector<std::uint8_t> read_at(int fd, std::uint64_t offset, std::size_t bytes) {
  std::vector<std::uint8_t> data(bytes);
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t got =
        ::pread(fd, data.data() + done, bytes - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(std::strerror(errno));
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  data.resize(done);
  return data;
}

}  // namespace

std::string journal_identity(const JobSpec& spec, std::int64_t tile_pixels) {
  return fmt::format(
      "hetero={}\npreset={}\nregion={:a} {:a} {:a} {:a}\nrule={}\nwidth={}\nheight={}\n"
      "max_iter={}\nprecision={}\nmode={}\ntile={}\n",
      version_string, spec.preset, spec.region.xmin, spec.region.xmax, spec.region.ymin,
      spec.region.ymax, static_cast<int>(spec.rule), spec.width, spec.height, spec.max_iter,
      to_string(spec.precision), to_string(spec.mode), tile_pixels);
}

JournalContents parse_journal(std::span<const std::uint8_t> bytes, const std::string& identity,
                              std::span<const Tile> tiles, std::span<std::uint32_t> counts) {
  const Layout layout = parse_header(bytes);
  check_job(layout, identity, tiles);
  // The counts the file holds (zeros where it ends first), as the run would map them.
  std::vector<std::uint32_t> held(static_cast<std::size_t>(layout.pixels), 0);
  if (bytes.size() > layout.counts_at) {
    const std::size_t present = std::min<std::uint64_t>(bytes.size() - layout.counts_at,
                                                        layout.pixels * sizeof(std::uint32_t));
    std::memcpy(held.data(), bytes.data() + layout.counts_at, present);
  }
  JournalContents contents;
  if (bytes.size() <= layout.log_at) {
    contents.good_bytes = bytes.size();
    return contents;
  }
  const LogScan scan = scan_log(bytes.subspan(layout.log_at), held, tiles);
  for (const auto& [index, tile] : scan.tiles) {
    std::copy(held.begin() + tile.begin, held.begin() + tile.end, counts.begin() + tile.begin);
  }
  contents.tiles = scan.tiles;
  contents.good_bytes = layout.log_at + scan.intact_bytes;
  contents.dropped_bytes = bytes.size() - contents.good_bytes;
  return contents;
}

std::int64_t journal_tile_pixels(const std::filesystem::path& path) {
  // The header alone: the records are read once, by Journal::resume.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) refuse(path, fmt::format("cannot read it: {}", std::strerror(errno)));
  std::vector<std::uint8_t> bytes;
  try {
    bytes = read_at(fd, 0, kMagic.size() + 4 + kMaxIdentity + 8);
  } catch (const Error& e) {
    ::close(fd);
    refuse(path, fmt::format("cannot read it: {}", e.what()));
  }
  ::close(fd);
  constexpr std::string_view kTile = "\ntile=";
  try {
    const std::string identity = parse_header(bytes).identity;
    if (const auto at = identity.find(kTile); at != std::string::npos) {
      const std::int64_t tile = std::atoll(identity.c_str() + at + kTile.size());
      if (tile > 0) return tile;
    }
  } catch (const UsageError&) {  // NOLINT(bugprone-empty-catch): refused below
  }
  refuse(path, "not a hetero journal (its header names no tile size)");
}

// The run's counts in the journal file: a shared mapping of its counts region (from the page
// that holds its first byte), unmapped when the last Counts over it goes.
struct Journal::Mapping {
  void* base = MAP_FAILED;
  std::size_t length = 0;
  std::uint32_t* counts = nullptr;
  std::size_t pixels = 0;

  Mapping(int fd, const Layout& layout) : pixels(static_cast<std::size_t>(layout.pixels)) {
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t first_page = layout.counts_at / page * page;
    length = static_cast<std::size_t>(layout.log_at - first_page);
    base = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                  static_cast<off_t>(first_page));
    if (base == MAP_FAILED) throw Error(std::strerror(errno));
    counts = reinterpret_cast<std::uint32_t*>(static_cast<std::uint8_t*>(base) +
                                              (layout.counts_at - first_page));
  }
  ~Mapping() { ::munmap(base, length); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

std::unique_ptr<Journal> Journal::start(const std::filesystem::path& path,
                                        const std::string& identity, std::int64_t pixels) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const auto fail = [&](const std::string& why) {
    if (fd >= 0) ::close(fd);
    throw UsageError(fmt::format("--journal {}: cannot write it: {}", path.string(), why));
  };
  if (fd < 0) fail(std::strerror(errno));
  const std::vector<std::uint8_t> header =
      header_bytes(identity, static_cast<std::uint64_t>(pixels));
  const Layout layout = parse_header(header);
  std::shared_ptr<Mapping> counts;
  try {
    // The header goes to disk at once: a run killed before its first tile leaves a journal
    // that resumes (with nothing in it) rather than an empty file.
    std::size_t done = 0;
    while (done < header.size()) {
      const ssize_t wrote = ::write(fd, header.data() + done, header.size() - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) throw Error(std::strerror(errno));
      done += static_cast<std::size_t>(wrote);
    }
    if (::ftruncate(fd, static_cast<off_t>(layout.log_at)) != 0 || ::fdatasync(fd) != 0) {
      throw Error(std::strerror(errno));
    }
    counts = std::make_shared<Mapping>(fd, layout);
  } catch (const Error& e) {
    fail(e.what());
  }
  // The pages are touched now, as a run's own counts are zeroed before it starts: the run then
  // takes no page faults that a run without a journal does not.
  std::fill_n(counts->counts, counts->pixels, 0U);
  return std::unique_ptr<Journal>(new Journal(path, fd, std::move(counts), layout.log_at));
}

std::unique_ptr<Journal> Journal::resume(const std::filesystem::path& path,
                                         const std::string& identity, std::span<const Tile> tiles,
                                         JournalContents& contents) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) refuse(path, fmt::format("cannot read it: {}", std::strerror(errno)));
  try {
    struct stat status {};
    if (::fstat(fd, &status) != 0) throw Error(std::strerror(errno));
    const auto size = static_cast<std::uint64_t>(status.st_size);
    const std::vector<std::uint8_t> header = read_at(fd, 0, kMagic.size() + 4 + kMaxIdentity + 8);
    const Layout layout = parse_header(header);
    check_job(layout, identity, tiles);
    // Only now, the file being this job's journal, may it change: counts it lacks are zeros.
    if (size < layout.log_at && ::ftruncate(fd, static_cast<off_t>(layout.log_at)) != 0) {
      throw Error(std::strerror(errno));
    }
    auto counts = std::make_shared<Mapping>(fd, layout);
    const std::vector<std::uint8_t> log = size > layout.log_at
                                              ? read_at(fd, layout.log_at, size - layout.log_at)
                                              : std::vector<std::uint8_t>{};
    const LogScan scan = scan_log(log, {counts->counts, counts->pixels}, tiles);
    contents.tiles = scan.tiles;
    contents.good_bytes = layout.log_at + scan.intact_bytes;
    contents.dropped_bytes = size > contents.good_bytes ? size - contents.good_bytes : 0;
    if (::ftruncate(fd, static_cast<off_t>(contents.good_bytes)) != 0) {
      throw Error(std::strerror(errno));
    }
    return std::unique_ptr<Journal>(new Journal(path, fd, std::move(counts), contents.good_bytes));
  } catch (const std::exception& e) {
    ::close(fd);
    refuse(path, e.what());
  }
}

Journal::Journal(const std::filesystem::path& path, int fd, std::shared_ptr<Mapping> counts,
                 std::uint64_t log_end)
    : path_(path), fd_(fd), counts_(std::move(counts)), log_end_(log_end) {
  writer_ = std::thread([this] { write_loop(); });
}

Journal::~Journal() {
  try {
    close();
  } catch (const std::exception&) {
    // A failure to write the journal at the end of a failed run: the run's error is the news.
  }
}

Counts Journal::counts() const {
  return {counts_->counts, counts_->pixels, counts_};
}

void Journal::append(const Tile& tile) {
  std::vector<std::uint8_t> record;
  record.reserve(kRecordBytes);
  put(record, kRecordMarker);
  put(record, tile.index);
  put(record, tile.begin);
  put(record, tile.end);
  // The costly part, outside the lock, while the tile's counts are still in this core's cache.
  put(record,
      counts_checksum({counts_->counts + tile.begin, static_cast<std::size_t>(tile.size())}));
  RecordHash hash;
  hash.add(record);
  put(record, hash.value());
  std::lock_guard lock(mutex_);
  pending_.insert(pending_.end(), record.begin(), record.end());
}

void Journal::write_out(std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::pwrite(fd_, bytes.data() + done, bytes.size() - done,
                                   static_cast<off_t>(log_end_ + done));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0)
      throw Error(fmt::format("journal {}: {}", path_.string(), std::strerror(errno)));
    done += static_cast<std::size_t>(wrote);
  }
  log_end_ += bytes.size();
}

// The counts written through the mapping are dirty pages of the file: fdatasync writes them
// with the records.
void Journal::sync() {
  if (::fdatasync(fd_) != 0) {
    throw Error(fmt::format("journal {}: {}", path_.string(), std::strerror(errno)));
  }
}

void Journal::write_loop() {
  auto last_sync = std::chrono::steady_clock::now();
  std::vector<std::uint8_t> batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, kWritePeriod, [&] { return closing_; });
    batch.clear();
    batch.swap(pending_);
    const bool last = closing_;
    const bool sync_now = last ? sync_at_close_ : true;
    lock.unlock();
    try {
      write_out(batch);
      const auto now = std::chrono::steady_clock::now();
      if (sync_now && (last || now - last_sync >= kSyncPeriod)) {
        sync();
        last_sync = now;
      }
    } catch (const std::exception& e) {
      lock.lock();
      error_ = e.what();
      return;
    }
    lock.lock();
    if (last) return;
  }
}

void Journal::close(bool sync) {
  {
    std::lock_guard lock(mutex_);
    if (fd_ < 0) return;
    closing_ = true;
    sync_at_close_ = sync;
  }
  wake_.notify_one();
  writer_.join();
  ::close(fd_);
  fd_ = -1;
  if (!error_.empty()) throw Error(error_);
}

}  // namespace hetero::detail
