// The journal's format: "hetero-journal 1\n", the identity's length and text, then one record per
// tile: a marker, the tile's index, begin and end, its counts, and the FNV-1a 64 of all of them.
#include "journal.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "hetero/error.hpp"
#include "hetero/version.hpp"

namespace hetero::detail {
namespace {

constexpr std::string_view kMagic = "hetero-journal 1\n";
constexpr std::uint32_t kRecordMarker = 0x454c4954;  // "TILE"
constexpr std::size_t kRecordHeader = 4 + 3 * 8;
constexpr std::size_t kChecksumBytes = 8;
constexpr std::uint32_t kMaxIdentity = 1 << 16;
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

std::vector<std::uint8_t> header_bytes(const std::string& identity) {
  std::string text(kMagic);
  const auto length = static_cast<std::uint32_t>(identity.size());
  text.append(reinterpret_cast<const char*>(&length), sizeof(length));
  text += identity;
  return {text.begin(), text.end()};
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

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) refuse(path, fmt::format("cannot read it: {}", std::strerror(errno)));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    refuse(path, "cannot read it to its end");
  }
  return bytes;
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
  if (bytes.size() < kMagic.size() + 4 ||
      std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    throw UsageError("not a hetero journal (it does not start as one)");
  }
  const auto length = get<std::uint32_t>(bytes, kMagic.size());
  const std::size_t header = kMagic.size() + 4 + length;
  if (length > kMaxIdentity || bytes.size() < header) {
    throw UsageError("not a hetero journal (its header is cut short)");
  }
  const std::string theirs(reinterpret_cast<const char*>(bytes.data() + kMagic.size() + 4), length);
  if (theirs != identity) {
    throw UsageError(
        fmt::format("a journal of another job: {}; resume with the job's own "
                    "parameters, or start afresh with --journal",
                    first_difference(identity, theirs)));
  }
  JournalContents contents;
  std::size_t at = header;
  while (at + kRecordHeader <= bytes.size()) {
    if (get<std::uint32_t>(bytes, at) != kRecordMarker) break;
    const auto index = get<std::int64_t>(bytes, at + 4);
    const auto begin = get<std::int64_t>(bytes, at + 12);
    const auto end = get<std::int64_t>(bytes, at + 20);
    if (index < 0 || static_cast<std::size_t>(index) >= tiles.size()) break;
    const Tile& tile = tiles[static_cast<std::size_t>(index)];
    if (tile.begin != begin || tile.end != end) break;
    const std::size_t payload = static_cast<std::size_t>(tile.size()) * sizeof(std::uint32_t);
    const std::size_t record = kRecordHeader + payload + kChecksumBytes;
    if (at + record > bytes.size()) break;
    RecordHash hash;
    hash.add(bytes.subspan(at, kRecordHeader));
    hash.add(bytes.subspan(at + kRecordHeader, payload));
    if (hash.value() != get<std::uint64_t>(bytes, at + kRecordHeader + payload)) break;
    std::memcpy(counts.data() + tile.begin, bytes.data() + at + kRecordHeader, payload);
    contents.tiles[index] = tile;
    at += record;
  }
  contents.good_bytes = at;
  contents.dropped_bytes = bytes.size() - at;
  return contents;
}

std::int64_t journal_tile_pixels(const std::filesystem::path& path) {
  // The header alone: the records are read once, by read_journal.
  std::ifstream in(path, std::ios::binary);
  if (!in) refuse(path, fmt::format("cannot read it: {}", std::strerror(errno)));
  std::vector<std::uint8_t> bytes(kMagic.size() + 4 + kMaxIdentity);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  constexpr std::string_view kTile = "\ntile=";
  if (bytes.size() >= kMagic.size() + 4 &&
      std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) == 0) {
    const auto length = get<std::uint32_t>(bytes, kMagic.size());
    if (length <= kMaxIdentity && bytes.size() >= kMagic.size() + 4 + length) {
      const std::string identity(reinterpret_cast<const char*>(bytes.data() + kMagic.size() + 4),
                                 length);
      if (const auto at = identity.find(kTile); at != std::string::npos) {
        const std::int64_t tile = std::atoll(identity.c_str() + at + kTile.size());
        if (tile > 0) return tile;
      }
    }
  }
  refuse(path, "not a hetero journal (its header names no tile size)");
}

JournalContents read_journal(const std::filesystem::path& path, const std::string& identity,
                             std::span<const Tile> tiles, std::span<std::uint32_t> counts) {
  const std::vector<std::uint8_t> bytes = read_bytes(path);
  try {
    return parse_journal(bytes, identity, tiles, counts);
  } catch (const UsageError& e) {
    refuse(path, e.what());
  }
}

JournalWriter::JournalWriter(const std::filesystem::path& path, const std::string& identity,
                             std::uint64_t keep_bytes)
    : path_(path) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (keep_bytes > 0 ? 0 : O_TRUNC);
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) {
    throw UsageError(
        fmt::format("--journal {}: cannot write it: {}", path.string(), std::strerror(errno)));
  }
  if (keep_bytes > 0) {
    if (::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0 || ::lseek(fd_, 0, SEEK_END) < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      throw UsageError(fmt::format("--journal {}: cannot continue it: {}", path.string(), why));
    }
  } else {
    // The header goes to disk at once: a run killed before its first tile leaves a journal
    // that resumes (with nothing in it) rather than an empty file.
    try {
      write_out(header_bytes(identity));
      if (::fdatasync(fd_) != 0) throw Error(std::strerror(errno));
    } catch (const Error& e) {
      ::close(fd_);
      throw UsageError(fmt::format("--journal {}: cannot write it: {}", path.string(), e.what()));
    }
  }
  writer_ = std::thread([this] { write_loop(); });
}

JournalWriter::~JournalWriter() {
  try {
    close();
  } catch (const std::exception&) {
    // A failure to write the journal at the end of a failed run: the run's error is the news.
  }
}

void JournalWriter::append(const Tile& tile, std::span<const std::uint32_t> counts) {
  std::vector<std::uint8_t> header;
  header.reserve(kRecordHeader);
  put(header, kRecordMarker);
  put(header, tile.index);
  put(header, tile.begin);
  put(header, tile.end);
  Record record;
  std::copy(header.begin(), header.end(), record.header.begin());
  record.payload = std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(counts.data()), counts.size_bytes());
  RecordHash hash;  // outside the lock: it is the costly part
  hash.add(header);
  hash.add(record.payload);
  record.checksum = hash.value();
  std::lock_guard lock(mutex_);
  pending_.push_back(record);
}

void JournalWriter::write_out(const std::vector<std::uint8_t>& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0)
      throw Error(fmt::format("journal {}: {}", path_.string(), std::strerror(errno)));
    done += static_cast<std::size_t>(wrote);
  }
}

// Each record as three pieces of one gathered write (up to IOV_MAX pieces a call), resumed
// where a short write stopped.
void JournalWriter::write_out(const std::vector<Record>& records) {
  std::vector<iovec> pieces;
  pieces.reserve(records.size() * 3);
  for (const Record& record : records) {
    pieces.push_back({const_cast<std::uint8_t*>(record.header.data()), record.header.size()});
    pieces.push_back({const_cast<std::uint8_t*>(record.payload.data()), record.payload.size()});
    pieces.push_back({const_cast<std::uint64_t*>(&record.checksum), sizeof(record.checksum)});
  }
  std::size_t next = 0;
  while (next < pieces.size()) {
    const auto count = static_cast<int>(std::min<std::size_t>(pieces.size() - next, IOV_MAX));
    const ssize_t wrote = ::writev(fd_, pieces.data() + next, count);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0)
      throw Error(fmt::format("journal {}: {}", path_.string(), std::strerror(errno)));
    auto left = static_cast<std::size_t>(wrote);
    while (left > 0 && left >= pieces[next].iov_len) left -= pieces[next++].iov_len;
    if (left > 0) {
      pieces[next].iov_base = static_cast<std::uint8_t*>(pieces[next].iov_base) + left;
      pieces[next].iov_len -= left;
    }
  }
}

void JournalWriter::write_loop() {
  auto last_sync = std::chrono::steady_clock::now();
  std::vector<Record> batch;
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
        if (::fdatasync(fd_) != 0) {
          throw Error(fmt::format("journal {}: {}", path_.string(), std::strerror(errno)));
        }
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

void JournalWriter::close(bool sync) {
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
