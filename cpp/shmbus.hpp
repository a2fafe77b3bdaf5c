// shmbus.hpp - the C++17 binding of shmbus: header-only, over the C API of <shmbus.h>.
//
// Invariant (the C library's): a record handed out by a read is exactly the bytes the writer
// published for its version; never a mix of two versions. This header adds ownership and
// types, not protocol: every call below is one C call of core/shmbus.h, whose comments give
// the concurrency contract; the same holds here (a Publisher or a Subscriber is used by one
// thread at a time; any number of Subscribers, in any threads and processes, read one bus).
//
// Lifecycle:
//   writer: Publisher p{"name", opts};  p.publish(...) / auto l = p.loan(n); ... l.commit();
//           p.close() (or the destructor)
//   reader: Subscriber s{"name"};  while (s.wait(1s) == WaitStatus::ready)
//             for (const Record& r : s.records()) ...;   s.close() (or the destructor)
//   typed:  TypedPublisher<Pose> / TypedSubscriber<Pose>, for trivially copyable T.
//
// Errors: exceptions. A failing C call throws shmbus::Error, a std::system_error whose code()
// is the errno in std::generic_category() (compare it with std::errc::...) and whose what()
// is "<call>(<bus>): <shmbus_strerror() sentence>". Outcomes a loop expects are not errors and
// are returned instead: "nothing newer yet" (next() -> std::nullopt), "nothing published yet"
// (read_latest() -> std::nullopt), a timeout or the writer gone (wait() -> WaitStatus).
// Code built with -fno-exceptions uses the C API directly (it is the non-throwing form; every
// C call returns 0 or a negative errno); this header refuses to compile there.
//
// Zero-copy reads: auto b = s.borrow(); ... b->load<T>(offset) ... if (b->valid()) use it;
// (see Borrow: the bytes may change under the reader; decide only after valid()).
// Not here yet: the typed buses check sizeof(T) and the bus's 31-character type tag, not a
// schema (issue 13).
#ifndef SHMBUS_HPP
#define SHMBUS_HPP

#if !defined(__cpp_exceptions) && !defined(__EXCEPTIONS)
#error "shmbus.hpp reports errors with exceptions; with -fno-exceptions use <shmbus.h>"
#endif
#if __cplusplus < 201703L
#error "shmbus.hpp needs C++17 (-std=c++17)"
#endif

#include <shmbus.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace shmbus {

// version() - the version of the shmbus library this program runs with (shmbus_version());
// SHMBUS_VERSION_STRING is the headers' (the one source of the library's, the tools',
// pkg-config's and CMake's version).
inline const char* version() noexcept { return shmbus_version(); }

// ---------------------------------------------------------------- errors

// Error - what every throwing call throws: the errno of a C call, as a std::error_code in
// std::generic_category(), and the library's sentence for it.
class Error : public std::system_error {
 public:
  // @rc: a negative (or positive) errno; @where: the call and the bus, for the message.
  Error(int rc, const std::string& where)
      : std::system_error(std::error_code(rc < 0 ? -rc : rc, std::generic_category()), where),
        what_(where + ": " + shmbus_strerror(rc)) {}
  // Error(rc, where, detail) - the same code with a sentence of our own (the typed checks).
  Error(int rc, const std::string& where, const std::string& detail)
      : std::system_error(std::error_code(rc < 0 ? -rc : rc, std::generic_category()), where),
        what_(where + ": " + detail) {}
  const char* what() const noexcept override { return what_.c_str(); }
  // errnum() - the positive errno (code().value()).
  int errnum() const noexcept { return code().value(); }

 private:
  std::string what_;
};

namespace detail {
inline std::string where(const char* call, const std::string& bus) {
  return bus.empty() ? std::string(call) : std::string(call) + "(\"" + bus + "\")";
}
// Throws Error for a negative @rc, returns it otherwise.
template <typename R>
R check(R rc, const char* call, const std::string& bus) {
  if (rc < 0) throw Error(static_cast<int>(rc), where(call, bus));
  return rc;
}
// A timeout in ns for shmbus_sub_wait(): negative and beyond ~31 years (1e9 s, e.g.
// hours::max()) mean for ever (-1), so no conversion or deadline sum can overflow.
template <typename Rep, typename Period>
int64_t to_ns(std::chrono::duration<Rep, Period> d) {
  if (d < d.zero() || std::chrono::duration<double>(d).count() >= 1e9) return -1;
  return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}
}  // namespace detail

// ---------------------------------------------------------------- plain data

using RecordInfo = shmbus_record_info;  // version, length, timestamp_ns, lost
using BusInfo = shmbus_bus_info;        // type, slots, capacity, latest, writer, owner, ...

// PublisherOptions - shmbus_pub_opts with C++ defaults: 0 / std::nullopt adopt an existing
// bus's geometry and type (a new bus gets 8 slots of 64 KiB and type "").
struct PublisherOptions {
  uint32_t slots = 0;
  uint64_t capacity = 0;
  std::optional<std::string> type;  // <= 31 printable characters
  mode_t mode = 0600;               // 0600, 0640 or 0644
  gid_t gid = static_cast<gid_t>(-1);
};

enum class WaitMode {
  hybrid = SHMBUS_WAIT_HYBRID,  // spin ~20 us, then sleep on the futex (default)
  spin = SHMBUS_WAIT_SPIN,      // spin until the deadline: lowest latency, burns a core
  sleep = SHMBUS_WAIT_SLEEP,    // sleep on the futex at once
};

// What wait() saw. A replaced or removed bus is not among them: wait() throws Error(ESTALE).
enum class WaitStatus {
  ready,        // a record newer than the cursor exists: read it
  timeout,      // nothing within the timeout
  writer_gone,  // the writer died or closed and nothing newer exists (-EOWNERDEAD)
};

enum class Seek {
  latest = SHMBUS_SEEK_LATEST,  // next() returns the latest record, then newer ones
  fresh = SHMBUS_SEEK_NEW,      // next() returns only records published after seek()
  oldest = SHMBUS_SEEK_OLDEST,  // next() returns the oldest record still in the ring
};

// ---------------------------------------------------------------- writer

class Publisher;

// Loan - a record being written in place (shmbus_pub_reserve()): data() points at size()
// writable bytes inside the slot. commit() publishes it; the destructor commits it too, unless
// it runs because an exception is propagating (then the record is dropped: readers never see
// it, the next publish reuses its version, and the slot's previous record is gone). cancel()
// drops it explicitly. Move-only; at most one live Loan per Publisher, and no other publish
// while it lives (a second reserve restarts the same version: the first loan's bytes are lost).
// A Loan must end before its Publisher is closed or destroyed (it holds the C handle); moving
// the Publisher is fine.
class Loan {
 public:
  Loan() = default;
  Loan(Loan&& o) noexcept { *this = std::move(o); }
  Loan& operator=(Loan&& o) noexcept {
    if (this != &o) {
      finish();
      p_ = std::exchange(o.p_, nullptr);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      exceptions_ = o.exceptions_;
    }
    return *this;
  }
  Loan(const Loan&) = delete;
  Loan& operator=(const Loan&) = delete;
  ~Loan() { finish(); }

  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  // valid() - true until commit(), cancel() or a move away.
  bool valid() const noexcept { return p_ != nullptr; }
  explicit operator bool() const noexcept { return valid(); }

  // commit() - publish the first @len bytes (<= size()). Throws Error(EINVAL) when the loan
  // is not valid() or @len > size().
  void commit(std::size_t len) {
    if (p_ == nullptr || len > size_) throw Error(-EINVAL, "shmbus_pub_commit");
    shmbus_pub* p = std::exchange(p_, nullptr);
    detail::check(shmbus_pub_commit(p, len), "shmbus_pub_commit", "");
  }
  void commit() { commit(size_); }
  // cancel() - drop the record (see the class comment). No-op when not valid().
  void cancel() noexcept { p_ = nullptr; }

 private:
  friend class Publisher;
  Loan(shmbus_pub* p, void* data, std::size_t size)
      : p_(p), data_(data), size_(size), exceptions_(std::uncaught_exceptions()) {}
  void finish() noexcept {
    if (p_ != nullptr && std::uncaught_exceptions() <= exceptions_)
      (void)shmbus_pub_commit(p_, size_);  // cannot fail: the reservation is ours
    p_ = nullptr;
  }

  shmbus_pub* p_ = nullptr;
  void* data_ = nullptr;
  std::size_t size_ = 0;
  int exceptions_ = 0;
};

// Publisher - the single writer of a bus (shmbus_pub_open()): move-only, closes on destruction.
class Publisher {
 public:
  Publisher() = default;
  // Opens (creates, adopts or replaces) bus @name. Throws Error: EINVAL, ENAMETOOLONG, EBUSY
  // (another live writer), EPERM, EPROTO, EPROTONOSUPPORT, ENOSPC, ENOMEM, EAGAIN.
  explicit Publisher(std::string name, const PublisherOptions& opts = {}) : name_(std::move(name)) {
    shmbus_pub_opts o;
    shmbus_pub_opts_init(&o);
    o.slots = opts.slots;
    o.capacity = opts.capacity;
    o.type = opts.type ? opts.type->c_str() : nullptr;
    o.mode = opts.mode;
    o.gid = opts.gid;
    detail::check(shmbus_pub_open(name_.c_str(), &o, &p_), "shmbus_pub_open", name_);
  }
  Publisher(Publisher&& o) noexcept : p_(std::exchange(o.p_, nullptr)), name_(std::move(o.name_)) {}
  Publisher& operator=(Publisher&& o) noexcept {
    if (this != &o) {
      close();
      p_ = std::exchange(o.p_, nullptr);
      name_ = std::move(o.name_);
    }
    return *this;
  }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;
  ~Publisher() { close(); }

  // close() - stop being the writer (sleeping readers see WaitStatus::writer_gone); the bus
  // and its latest record stay. Idempotent; a closed Publisher throws EINVAL from every call.
  void close() noexcept {
    shmbus_pub_close(p_);
    p_ = nullptr;
  }
  bool is_open() const noexcept { return p_ != nullptr; }
  explicit operator bool() const noexcept { return is_open(); }
  const std::string& name() const noexcept { return name_; }

  // publish() - the next version, @len bytes from @data. Never waits for readers.
  // Throws Error: EMSGSIZE (larger than the capacity; nothing published), EINVAL.
  void publish(const void* data, std::size_t len) {
    detail::check(shmbus_pub_publish(p_, data, len), "shmbus_pub_publish", name_);
  }
  void publish(std::string_view bytes) { publish(bytes.data(), bytes.size()); }

  // loan() - write the next record of up to @len bytes in place; see Loan.
  // Throws Error: EMSGSIZE, EINVAL.
  Loan loan(std::size_t len) {
    void* data = nullptr;
    detail::check(shmbus_pub_reserve(p_, len, &data), "shmbus_pub_reserve", name_);
    return Loan(p_, data, len);
  }

  // version() - the last version published (0 = none).
  uint64_t version() const noexcept { return shmbus_pub_version(p_); }
  BusInfo info() const {
    BusInfo i;
    detail::check(shmbus_pub_info(p_, &i), "shmbus_pub_info", name_);
    return i;
  }
  uint64_t capacity() const { return info().capacity; }
  shmbus_pub* native_handle() const noexcept { return p_; }

 private:
  shmbus_pub* p_ = nullptr;
  std::string name_;
};

// ---------------------------------------------------------------- reader

// Record - one record read by Subscriber::records(): a view of the subscriber's buffer, valid
// until the next read on that subscriber.
struct Record {
  const std::byte* data;
  std::size_t size;
  RecordInfo info;
  std::string_view str() const noexcept { return {reinterpret_cast<const char*>(data), size}; }
};

class Subscriber;

// Records - the records a subscriber can read right now, in order: range-for calls next()
// until "nothing newer" (it never waits). Iterating again continues where it stopped.
class Records {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Record;
    using difference_type = std::ptrdiff_t;
    using pointer = const Record*;
    using reference = const Record&;
    const Record& operator*() const noexcept { return rec_; }
    const Record* operator->() const noexcept { return &rec_; }
    iterator& operator++();
    bool operator==(const iterator& o) const noexcept { return s_ == o.s_; }
    bool operator!=(const iterator& o) const noexcept { return s_ != o.s_; }

   private:
    friend class Records;
    explicit iterator(Subscriber* s) : s_(s) { ++*this; }
    iterator() = default;
    Subscriber* s_ = nullptr;
    Record rec_{};
  };
  iterator begin() { return iterator(s_); }
  iterator end() { return iterator(); }

 private:
  friend class Subscriber;
  explicit Records(Subscriber* s) : s_(s) {}
  Subscriber* s_;
};

// BorrowMode - which record Subscriber::borrow() lends.
enum class BorrowMode {
  next = SHMBUS_BORROW_NEXT,      // the record at the cursor, as next()
  latest = SHMBUS_BORROW_LATEST,  // the newest record, as read_latest()
};

// Borrow - a record read in place, in its slot (shmbus_sub_borrow(); the contract is
// core/shmbus.h's "zero-copy reads"): an RAII guard that releases the borrow when it dies.
// The bytes MAY CHANGE UNDER THE READER once the writer comes back round the ring (after
// N - 1 further publishes for a borrow of the latest record, N = the bus's slots): read
// them with load<T>(), load64() or copy() (relaxed atomic loads: no data race, TSan-clean),
// then call valid(); only when it returns true may the program act on what it read before
// that call. When it returns false the borrow was lapped, for good: throw away what was read
// and borrow again. release() gives the final verdict; a lapped borrow counts as lost in the
// next record's info.lost. data() is the raw address (plain loads through it are a formal
// data race: see core/shmbus.h). Move-only; must end before its Subscriber is closed or
// destroyed (it points into the Subscriber's mapping); moving the Subscriber is fine.
class Borrow {
 public:
  Borrow() = default;
  Borrow(Borrow&& o) noexcept { *this = std::move(o); }
  Borrow& operator=(Borrow&& o) noexcept {
    if (this != &o) {
      release();
      s_ = std::exchange(o.s_, nullptr);
      b_ = o.b_;
      o.b_.data = nullptr;
      o.b_.priv_slot = nullptr;
    }
    return *this;
  }
  Borrow(const Borrow&) = delete;
  Borrow& operator=(const Borrow&) = delete;
  ~Borrow() { release(); }

  // valid() - the seqlock check (shmbus_sub_borrow_valid()): true when everything read
  // through this borrow so far is the record of version(); false when lapped or released.
  bool valid() const noexcept { return shmbus_sub_borrow_valid(&b_) == 1; }
  // held() - true until release() or a move away (says nothing about the bytes: see valid()).
  bool held() const noexcept { return s_ != nullptr; }

  // The record's header, exact (read under the seqlock when borrowed).
  uint64_t version() const noexcept { return b_.version; }
  std::size_t size() const noexcept { return static_cast<std::size_t>(b_.length); }
  uint64_t timestamp_ns() const noexcept { return b_.timestamp_ns; }
  uint64_t lost() const noexcept { return b_.lost; }
  RecordInfo info() const noexcept {
    return RecordInfo{b_.version, b_.length, b_.timestamp_ns, b_.lost};
  }
  // data() - the record's first byte in the slot (8-byte aligned, read-only); nullptr when
  // released. Prefer load<T>()/copy(): see the class comment.
  const std::byte* data() const noexcept { return static_cast<const std::byte*>(b_.data); }

  // load64() - the 64-bit word at byte @offset (a multiple of 8 inside the record; 0 outside).
  uint64_t load64(std::size_t offset) const noexcept { return shmbus_borrow_load64(&b_, offset); }
  // copy() - bytes [@offset, @offset + @len) into @dst. Throws Error(EINVAL) outside the
  // record or when released.
  void copy(std::size_t offset, void* dst, std::size_t len) const {
    detail::check(shmbus_borrow_copy(&b_, offset, dst, len), "shmbus_borrow_copy", "");
  }
  // load<T>() - a trivially copyable T from byte @offset (a copy; provisional until valid()).
  template <typename T>
  T load(std::size_t offset = 0) const {
    static_assert(std::is_trivially_copyable_v<T>, "load<T>() copies bytes into a T");
    T t;
    copy(offset, &t, sizeof(T));
    return t;
  }

  // release() - end the borrow: true when it was still valid, false when the writer lapped it
  // (the record counts as lost). No-op returning false when not held().
  bool release() noexcept {
    if (s_ == nullptr) return false;
    int rc = shmbus_sub_borrow_release(std::exchange(s_, nullptr), &b_);
    return rc == 0;
  }

 private:
  friend class Subscriber;
  shmbus_sub* s_ = nullptr;
  shmbus_borrow b_{};
};

// Subscriber - a read-only reader of a bus (shmbus_sub_open()): move-only, closes on
// destruction. The cursor starts at the latest record (see seek()).
class Subscriber {
 public:
  Subscriber() = default;
  // Opens bus @name. Throws Error: ENOENT, EACCES, EINVAL, ENAMETOOLONG, EPROTO,
  // EPROTONOSUPPORT, ENOMEM.
  explicit Subscriber(std::string name) : name_(std::move(name)) {
    detail::check(shmbus_sub_open(name_.c_str(), 0, &s_), "shmbus_sub_open", name_);
  }
  Subscriber(Subscriber&& o) noexcept
      : s_(std::exchange(o.s_, nullptr)), name_(std::move(o.name_)), buf_(std::move(o.buf_)) {}
  Subscriber& operator=(Subscriber&& o) noexcept {
    if (this != &o) {
      close();
      s_ = std::exchange(o.s_, nullptr);
      name_ = std::move(o.name_);
      buf_ = std::move(o.buf_);
    }
    return *this;
  }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;
  ~Subscriber() { close(); }

  // close() - unmap; also closes fd(). Idempotent; a closed Subscriber throws EINVAL.
  void close() noexcept {
    shmbus_sub_close(s_);
    s_ = nullptr;
  }
  bool is_open() const noexcept { return s_ != nullptr; }
  explicit operator bool() const noexcept { return is_open(); }
  const std::string& name() const noexcept { return name_; }

  // wait() - until a record newer than the cursor exists, at most @timeout (negative or
  // more than 1e9 s: for ever; zero: just check). @through_death: keep waiting when the
  // writer dies or closes, or has not started yet (a bus with no running writer gives
  // writer_gone at once otherwise: a subscriber started before its publisher passes true).
  // Returns the WaitStatus; throws Error: ESTALE (the bus was replaced or removed: reopen).
  template <typename Rep, typename Period>
  WaitStatus wait(std::chrono::duration<Rep, Period> timeout, WaitMode mode = WaitMode::hybrid,
                  bool through_death = false) {
    return wait_ns(detail::to_ns(timeout), mode, through_death);
  }
  // wait() - for ever.
  WaitStatus wait(WaitMode mode = WaitMode::hybrid, bool through_death = false) {
    return wait_ns(-1, mode, through_death);
  }

  // next() - copy the record at the cursor into @buf (@cap bytes) and advance; info.lost
  // counts records the writer overwrote before this reader got to them. std::nullopt: nothing
  // newer yet. Throws Error: ENOBUFS (the record is larger than @cap; nothing consumed),
  // ESTALE, EBADMSG, EINVAL.
  std::optional<RecordInfo> next(void* buf, std::size_t cap) {
    RecordInfo info{};
    ssize_t n = shmbus_sub_next(s_, buf, cap, &info);
    if (n == -EAGAIN) return std::nullopt;
    detail::check(n, "shmbus_sub_next", name_);
    return info;
  }
  // next() - into @out, resized to the record's length.
  std::optional<RecordInfo> next(std::vector<std::byte>& out) {
    out.resize(capacity());
    auto info = next(out.data(), out.size());
    out.resize(info ? info->length : 0);
    return info;
  }

  // read_latest() - copy the newest record and move the cursor past it. std::nullopt: nothing
  // has been published yet. Throws Error: ENOBUFS, ESTALE, EBADMSG, EINVAL.
  std::optional<RecordInfo> read_latest(void* buf, std::size_t cap) {
    RecordInfo info{};
    ssize_t n = shmbus_sub_read_latest(s_, buf, cap, &info);
    if (n == -ENODATA) return std::nullopt;
    detail::check(n, "shmbus_sub_read_latest", name_);
    return info;
  }
  std::optional<RecordInfo> read_latest(std::vector<std::byte>& out) {
    out.resize(capacity());
    auto info = read_latest(out.data(), out.size());
    out.resize(info ? info->length : 0);
    return info;
  }

  // borrow() - lend the next record (BorrowMode::next: the record at the cursor, lapped
  // records skipped and counted in lost()) or the newest (BorrowMode::latest), in place, and
  // move the cursor past it; see Borrow. std::nullopt: nothing newer yet (next) or nothing
  // published yet (latest). Throws Error: ESTALE, EBADMSG, EINVAL.
  std::optional<Borrow> borrow(BorrowMode mode = BorrowMode::next) {
    Borrow b;
    int rc = shmbus_sub_borrow(s_, static_cast<int>(mode), &b.b_);
    if (rc == -EAGAIN || rc == -ENODATA) return std::nullopt;
    detail::check(rc, "shmbus_sub_borrow", name_);
    b.s_ = s_;
    return std::optional<Borrow>(std::move(b));
  }

  // records() - range-for over the records readable now (next() until nothing newer), in a
  // buffer of the bus's capacity that the subscriber owns.
  Records records() { return Records(this); }

  void seek(Seek whence) {
    detail::check(shmbus_sub_seek(s_, static_cast<int>(whence)), "shmbus_sub_seek", name_);
  }

  // fd() - a descriptor for poll/epoll (POLLIN) owned by the subscriber: when readable, call
  // wait(0s) to learn what happened. Throws Error: ENOMEM, EMFILE, EINVAL.
  int fd() { return detail::check(shmbus_sub_fd(s_), "shmbus_sub_fd", name_); }

  // latest() - the newest complete version right now (0 = none).
  uint64_t latest() const noexcept { return shmbus_sub_latest(s_); }
  // capacity() - the largest record (a buffer this large never gets ENOBUFS); 0 when closed.
  uint64_t capacity() const noexcept { return shmbus_sub_capacity(s_); }
  BusInfo info() {
    BusInfo i;
    detail::check(shmbus_sub_info(s_, &i), "shmbus_sub_info", name_);
    return i;
  }
  shmbus_sub* native_handle() const noexcept { return s_; }

 private:
  friend class Records::iterator;
  WaitStatus wait_ns(int64_t ns, WaitMode mode, bool through_death) {
    int m = static_cast<int>(mode) | (through_death ? SHMBUS_WAIT_THROUGH_DEATH : 0);
    int rc = shmbus_sub_wait(s_, ns, m);
    if (rc == -ETIMEDOUT) return WaitStatus::timeout;
    if (rc == -EOWNERDEAD) return WaitStatus::writer_gone;
    detail::check(rc, "shmbus_sub_wait", name_);
    return WaitStatus::ready;
  }
  // One step of records(): the next record into buf_ (kept at the capacity), or false.
  bool step(Record& rec) {
    if (buf_.size() < capacity()) buf_.resize(capacity());
    auto info = next(buf_.data(), buf_.size());
    if (!info) return false;
    rec = Record{buf_.data(), static_cast<std::size_t>(info->length), *info};
    return true;
  }

  shmbus_sub* s_ = nullptr;
  std::string name_;
  std::vector<std::byte> buf_;
};

inline Records::iterator& Records::iterator::operator++() {
  if (s_ != nullptr && !s_->step(rec_)) s_ = nullptr;
  return *this;
}

// ---------------------------------------------------------------- administration

// stat() - a bus's geometry and state without opening it for long. Throws as Subscriber().
inline BusInfo stat(const std::string& name) {
  BusInfo i;
  detail::check(shmbus_stat(name.c_str(), &i), "shmbus_stat", name);
  return i;
}
// unlink() - remove bus @name. Throws Error: ENOENT, EBUSY (a live writer; @force overrides),
// EACCES, EPERM, EINVAL.
inline void unlink(const std::string& name, bool force = false) {
  detail::check(shmbus_unlink(name.c_str(), force ? 1 : 0), "shmbus_unlink", name);
}
// list() - the names of every bus in /dev/shm, in no particular order.
inline std::vector<std::string> list() {
  std::vector<std::string> out;
  int rc = shmbus_list(
      [](const char* n, void* arg) {
        static_cast<std::vector<std::string>*>(arg)->emplace_back(n);
        return 0;
      },
      &out);
  detail::check(rc, "shmbus_list", "");
  return out;
}

// ---------------------------------------------------------------- typed buses

// The checks behind the typed classes. A bus carries records of T when its capacity holds
// sizeof(T) (else Error EMSGSIZE) and, when a type tag is given, its tag is that tag (else
// Error EPROTOTYPE). Every record read must be exactly sizeof(T) bytes (else Error EBADMSG,
// and the record is consumed).
namespace detail {
inline void check_bus(const BusInfo& i, std::size_t size, const std::optional<std::string>& type,
                      const std::string& bus) {
  if (i.capacity < size)
    throw Error(-EMSGSIZE, where("shmbus typed bus", bus),
                "the bus holds records of at most " + std::to_string(i.capacity) +
                    " bytes, the type needs " + std::to_string(size));
  if (type && *type != i.type)
    throw Error(-EPROTOTYPE, where("shmbus typed bus", bus),
                "the bus carries type '" + std::string(i.type) + "', not '" + *type + "'");
}
inline void check_length(const RecordInfo& info, std::size_t size, const std::string& bus) {
  if (info.length != size)
    throw Error(-EBADMSG, where("shmbus typed bus", bus),
                "record v" + std::to_string(info.version) + " has " + std::to_string(info.length) +
                    " bytes, the type has " + std::to_string(size));
}
}  // namespace detail

// TypedLoan<T> - a Loan of one T: construct the value in place, then commit() (or let the
// destructor commit it). The bytes start as whatever the slot held: set every field.
template <typename T>
class TypedLoan {
 public:
  T* get() const noexcept { return static_cast<T*>(loan_.data()); }
  T& operator*() const noexcept { return *get(); }
  T* operator->() const noexcept { return get(); }
  bool valid() const noexcept { return loan_.valid(); }
  explicit operator bool() const noexcept { return valid(); }
  void commit() { loan_.commit(sizeof(T)); }
  void cancel() noexcept { loan_.cancel(); }

 private:
  template <typename>
  friend class TypedPublisher;
  explicit TypedLoan(Loan l) : loan_(std::move(l)) {}
  Loan loan_;
};

// TypedPublisher<T> - a Publisher of trivially copyable T. Opens the bus with capacity
// sizeof(T) (unless opts says otherwise) and @type as its tag, then checks the bus as above.
template <typename T>
class TypedPublisher {
  static_assert(std::is_trivially_copyable_v<T>, "shmbus records are copied as bytes");
  static_assert(!std::is_pointer_v<T>, "a pointer means nothing in another process");

 public:
  TypedPublisher() = default;
  explicit TypedPublisher(std::string name, std::optional<std::string> type = std::nullopt,
                          PublisherOptions opts = {}) {
    if (opts.capacity == 0) opts.capacity = sizeof(T);
    if (type) opts.type = type;
    pub_ = Publisher(std::move(name), opts);
    detail::check_bus(pub_.info(), sizeof(T), opts.type, pub_.name());
  }
  void publish(const T& value) { pub_.publish(&value, sizeof(T)); }
  TypedLoan<T> loan() { return TypedLoan<T>(pub_.loan(sizeof(T))); }
  uint64_t version() const noexcept { return pub_.version(); }
  void close() noexcept { pub_.close(); }
  bool is_open() const noexcept { return pub_.is_open(); }
  explicit operator bool() const noexcept { return is_open(); }
  Publisher& bytes() noexcept { return pub_; }

 private:
  Publisher pub_;
};

// Sample<T> - a value read from a typed bus, with its record info.
template <typename T>
struct Sample {
  T value;
  RecordInfo info;
};

// TypedSubscriber<T> - a Subscriber of trivially copyable T: checks the bus on opening
// (capacity, and the tag when @type is given) and the length of every record.
template <typename T>
class TypedSubscriber {
  static_assert(std::is_trivially_copyable_v<T>, "shmbus records are copied as bytes");
  static_assert(!std::is_pointer_v<T>, "a pointer means nothing in another process");
  static_assert(std::is_default_constructible_v<T>, "a record is read into a T made first");

 public:
  TypedSubscriber() = default;
  explicit TypedSubscriber(std::string name, std::optional<std::string> type = std::nullopt)
      : sub_(std::move(name)) {
    detail::check_bus(sub_.info(), sizeof(T), type, sub_.name());
  }

  template <typename Rep, typename Period>
  WaitStatus wait(std::chrono::duration<Rep, Period> timeout, WaitMode mode = WaitMode::hybrid,
                  bool through_death = false) {
    return sub_.wait(timeout, mode, through_death);
  }
  WaitStatus wait(WaitMode mode = WaitMode::hybrid, bool through_death = false) {
    return sub_.wait(mode, through_death);
  }

  // next() / read_latest() - as Subscriber's, one T. Throws Error EBADMSG for a record that
  // is not sizeof(T) bytes (ENOBUFS when it is larger: not consumed).
  std::optional<Sample<T>> next() { return read(&Subscriber::next); }
  std::optional<Sample<T>> read_latest() { return read(&Subscriber::read_latest); }

  // records() - range-for over the samples readable now (next() until nothing newer).
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Sample<T>;
    using difference_type = std::ptrdiff_t;
    using pointer = const Sample<T>*;
    using reference = const Sample<T>&;
    const Sample<T>& operator*() const noexcept { return *cur_; }
    const Sample<T>* operator->() const noexcept { return &*cur_; }
    iterator& operator++() {
      cur_ = s_ ? s_->next() : std::nullopt;
      if (!cur_) s_ = nullptr;
      return *this;
    }
    bool operator==(const iterator& o) const noexcept { return s_ == o.s_; }
    bool operator!=(const iterator& o) const noexcept { return s_ != o.s_; }

   private:
    friend class TypedSubscriber;
    explicit iterator(TypedSubscriber* s) : s_(s) { ++*this; }
    iterator() = default;
    TypedSubscriber* s_ = nullptr;
    std::optional<Sample<T>> cur_;
  };
  struct Range {
    TypedSubscriber* s;
    iterator begin() { return iterator(s); }
    iterator end() { return iterator(); }
  };
  Range records() { return Range{this}; }

  void seek(Seek whence) { sub_.seek(whence); }
  int fd() { return sub_.fd(); }
  uint64_t latest() const noexcept { return sub_.latest(); }
  void close() noexcept { sub_.close(); }
  bool is_open() const noexcept { return sub_.is_open(); }
  explicit operator bool() const noexcept { return is_open(); }
  Subscriber& bytes() noexcept { return sub_; }

 private:
  using ReadFn = std::optional<RecordInfo> (Subscriber::*)(void*, std::size_t);
  std::optional<Sample<T>> read(ReadFn fn) {
    Sample<T> s;
    std::optional<RecordInfo> info;
    try {
      info = (sub_.*fn)(&s.value, sizeof(T));
    } catch (const Error& e) {
      if (e.errnum() != ENOBUFS) throw;
      throw Error(-ENOBUFS, detail::where("shmbus typed bus", sub_.name()),
                  "a record is larger than the type's " + std::to_string(sizeof(T)) + " bytes");
    }
    if (!info) return std::nullopt;
    detail::check_length(*info, sizeof(T), sub_.name());
    s.info = *info;
    return s;
  }

  Subscriber sub_;
};

}  // namespace shmbus

#endif  // SHMBUS_HPP
