// Tests of the C++ binding (cpp/shmbus.hpp): every class, every error it throws or returns.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <shmbus.hpp>

#include "tests/test_util.h"

using namespace std::chrono_literals;
using shmbus_test::TempBus;

namespace {

struct Pose {
  double x, y, z;
  double qx, qy, qz, qw;
  uint64_t seq;
};

// Runs @fn, which must throw shmbus::Error with errno @err; returns the message.
template <typename F>
std::string ThrowsErrno(int err, F&& fn) {
  try {
    fn();
  } catch (const shmbus::Error& e) {
    EXPECT_EQ(err, e.errnum()) << e.what();
    EXPECT_EQ(std::error_code(err, std::generic_category()), e.code());
    return e.what();
  }
  ADD_FAILURE() << "no shmbus::Error thrown, wanted errno " << err;
  return "";
}

std::string Str(const shmbus::Record& r) { return std::string(r.str()); }

// ------------------------------------------------------------ Error

TEST(CppError, CarriesTheErrnoAndTheLibrarysSentence) {
  TempBus bus("cpp");
  try {
    shmbus::Subscriber s(bus.c_str());
    FAIL() << "opened a bus that does not exist";
  } catch (const std::system_error& e) {  // a std::system_error, so generic handlers catch it
    EXPECT_EQ(std::errc::no_such_file_or_directory, e.code());
    std::string what = e.what();
    EXPECT_NE(std::string::npos, what.find("shmbus_sub_open(\"" + std::string(bus.c_str()) + "\")"))
        << what;
    EXPECT_NE(std::string::npos, what.find(shmbus_strerror(-ENOENT))) << what;
  }
}

TEST(CppError, PositiveAndNegativeErrnoAreTheSame) {
  EXPECT_EQ(shmbus::Error(-EBUSY, "x").code(), shmbus::Error(EBUSY, "x").code());
  EXPECT_EQ(EBUSY, shmbus::Error(-EBUSY, "x").errnum());
  EXPECT_STREQ("where: detail", shmbus::Error(-EINVAL, "where", "detail").what());
}

TEST(CppError, VersionIsTheHeadersVersion) {
  EXPECT_STREQ(SHMBUS_VERSION_STRING, shmbus::version());
}

// ------------------------------------------------------------ Publisher

TEST(CppPublisher, PublishesAndReportsItsBus) {
  TempBus bus("cpp");
  shmbus::PublisherOptions o;
  o.slots = 4;
  o.capacity = 100;
  o.type = "text.v1";
  o.mode = 0640;
  shmbus::Publisher p(bus.c_str(), o);
  EXPECT_TRUE(p.is_open());
  EXPECT_TRUE(static_cast<bool>(p));
  EXPECT_EQ(bus.c_str(), p.name());
  EXPECT_EQ(0u, p.version());
  p.publish("hello");
  const char raw[3] = {'a', 'b', 'c'};
  p.publish(raw, sizeof raw);
  EXPECT_EQ(2u, p.version());
  shmbus::BusInfo i = p.info();
  EXPECT_EQ(4u, i.slots);
  EXPECT_EQ(100u, p.capacity());
  EXPECT_STREQ("text.v1", i.type);
  EXPECT_EQ(0640u, i.mode & 0777);
  EXPECT_EQ(2u, i.latest);
  EXPECT_NE(nullptr, p.native_handle());
}

TEST(CppPublisher, Errors) {
  TempBus bus("cpp");
  ThrowsErrno(EINVAL, [] { shmbus::Publisher p("bad/name"); });
  ThrowsErrno(ENAMETOOLONG, [] { shmbus::Publisher p(std::string(SHMBUS_NAME_MAX + 1, 'n')); });
  shmbus::PublisherOptions bad_mode;
  bad_mode.mode = 0666;
  ThrowsErrno(EINVAL, [&] { shmbus::Publisher p(bus.c_str(), bad_mode); });
  shmbus::PublisherOptions long_type;
  long_type.type = std::string(SHMBUS_TYPE_MAX + 1, 't');
  ThrowsErrno(EINVAL, [&] { shmbus::Publisher p(bus.c_str(), long_type); });

  shmbus::PublisherOptions o;
  o.capacity = 8;
  shmbus::Publisher p(bus.c_str(), o);
  std::string msg = ThrowsErrno(EBUSY, [&] { shmbus::Publisher second(bus.c_str()); });
  EXPECT_NE(std::string::npos, msg.find("shmbus_pub_open")) << msg;
  ThrowsErrno(EMSGSIZE, [&] { p.publish("nine bytes"); });
  EXPECT_EQ(0u, p.version()) << "nothing published on EMSGSIZE";
  ThrowsErrno(EMSGSIZE, [&] { p.loan(9); });
}

TEST(CppPublisher, MoveOnlyAndCloseIsIdempotent) {
  static_assert(!std::is_copy_constructible_v<shmbus::Publisher>);
  static_assert(!std::is_copy_assignable_v<shmbus::Publisher>);
  static_assert(std::is_nothrow_move_constructible_v<shmbus::Publisher>);
  TempBus bus("cpp"), bus2("cpp");
  shmbus::Publisher a(bus.c_str());
  shmbus::Publisher b(std::move(a));
  EXPECT_FALSE(a.is_open());
  EXPECT_TRUE(b.is_open());
  b.publish("x");
  ThrowsErrno(EINVAL, [&] { a.publish("x"); });  // moved-from: closed

  // Move assignment closes the target's bus first: its lock is free again.
  shmbus::Publisher c(bus2.c_str());
  c = std::move(b);
  EXPECT_EQ(bus.c_str(), c.name());
  shmbus::Publisher again(bus2.c_str());  // would be EBUSY had c kept bus2
  EXPECT_TRUE(again.is_open());

  c.close();
  c.close();
  EXPECT_FALSE(c.is_open());
  ThrowsErrno(EINVAL, [&] { c.publish("x"); });
  ThrowsErrno(EINVAL, [&] { c.info(); });
  EXPECT_EQ(0u, c.version());
  shmbus::Publisher reopened(bus.c_str());  // close() released the lock
  EXPECT_EQ(1u, reopened.info().latest);    // ...and the bus kept its record
  shmbus::Publisher empty;
  EXPECT_FALSE(empty.is_open());
}

// ------------------------------------------------------------ Loan

TEST(CppLoan, CommitPublishesInPlace) {
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  shmbus::Subscriber s(bus.c_str());
  {
    shmbus::Loan l = p.loan(16);
    ASSERT_TRUE(l.valid());
    EXPECT_EQ(16u, l.size());
    memcpy(l.data(), "in place", 8);
    l.commit(8);
    EXPECT_FALSE(l.valid());
    ThrowsErrno(EINVAL, [&] { l.commit(); });  // twice
  }
  std::vector<std::byte> buf;
  auto info = s.next(buf);
  ASSERT_TRUE(info);
  EXPECT_EQ(1u, info->version);
  EXPECT_EQ("in place", std::string(reinterpret_cast<const char*>(buf.data()), buf.size()));
}

TEST(CppLoan, DestructorCommitsTheWholeLoan) {
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  {
    auto l = p.loan(4);
    memcpy(l.data(), "four", 4);
  }
  EXPECT_EQ(1u, p.version());
  shmbus::Subscriber s(bus.c_str());
  std::vector<std::byte> buf;
  auto info = s.read_latest(buf);
  ASSERT_TRUE(info);
  EXPECT_EQ(4u, info->length);
}

TEST(CppLoan, AnExceptionDropsIt) {
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  p.publish("one");
  shmbus::Subscriber s(bus.c_str());
  s.seek(shmbus::Seek::fresh);
  EXPECT_THROW(
      {
        auto l = p.loan(8);
        memcpy(l.data(), "half", 4);
        throw std::runtime_error("producer failed");
      },
      std::runtime_error);
  EXPECT_EQ(1u, p.version()) << "a dropped loan publishes nothing";
  EXPECT_EQ(shmbus::WaitStatus::timeout, s.wait(0s));
  p.publish("two");  // the next publish takes the dropped version
  std::vector<std::byte> buf;
  auto info = s.next(buf);
  ASSERT_TRUE(info);
  EXPECT_EQ(2u, info->version);
  EXPECT_EQ(0u, info->lost);
}

TEST(CppLoan, CancelMoveAndErrors) {
  static_assert(!std::is_copy_constructible_v<shmbus::Loan>);
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  {
    auto l = p.loan(8);
    l.cancel();
    EXPECT_FALSE(l.valid());
    l.cancel();  // no-op
  }
  EXPECT_EQ(0u, p.version());
  {
    auto l = p.loan(8);
    ThrowsErrno(EINVAL, [&] { l.commit(9); });  // more than loaned: still valid
    EXPECT_TRUE(l.valid());
    shmbus::Loan m(std::move(l));
    EXPECT_FALSE(l.valid());
    EXPECT_TRUE(m.valid());
    shmbus::Loan n;
    EXPECT_FALSE(n);
    n = std::move(m);
    n.commit(2);
  }
  EXPECT_EQ(1u, p.version()) << "one commit, none by the moved-from loans";
  p.close();
  ThrowsErrno(EINVAL, [&] { p.loan(1); });
}

// Loans written while a reader thread reads the same slots: every record read is whole (each
// loan fills all its bytes with one value, so a torn read would mix two values).
TEST(CppLoan, ReaderThreadSeesOnlyWholeRecords) {
  TempBus bus("cpp");
  shmbus::PublisherOptions o;
  o.slots = 2;  // the writer comes back to the slot a reader may be copying, often
  o.capacity = 256;
  shmbus::Publisher p(bus.c_str(), o);
  shmbus::Subscriber s(bus.c_str());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, torn{0};
  std::thread reader([&] {
    unsigned char buf[256];
    while (!stop.load()) {
      auto info = s.read_latest(buf, sizeof buf);
      if (!info) continue;
      reads++;
      for (size_t i = 1; i < info->length; i++)
        if (buf[i] != buf[0]) {
          torn++;
          break;
        }
    }
  });
  p.publish(std::string(256, '\0'));
  // Start overwriting once the reader is reading (a 60 s deadline only guards a hang).
  bool reading = shmbus_test::Eventually([&] { return reads.load() > 0; }, 60);
  for (int i = 1; reading && i <= 20000; i++) {
    auto l = p.loan(256);
    memset(l.data(), i & 0xff, 256);
  }
  stop.store(true);
  reader.join();
  ASSERT_TRUE(reading) << "the reader never read";
  EXPECT_EQ(20001u, p.version());
  EXPECT_EQ(0u, torn.load()) << "of " << reads.load() << " reads";
}

// ------------------------------------------------------------ Borrow

TEST(CppBorrow, LendsLatestAndNextInPlace) {
  TempBus bus("cpp");
  shmbus::PublisherOptions o;
  o.slots = 4;
  o.capacity = sizeof(Pose);
  shmbus::Publisher p(bus.c_str(), o);
  shmbus::Subscriber s(bus.c_str());
  EXPECT_FALSE(s.borrow(shmbus::BorrowMode::latest)) << "nothing published yet (ENODATA)";
  EXPECT_FALSE(s.borrow()) << "nothing newer (EAGAIN)";
  Pose pose{1, 2, 3, 0, 0, 0, 1, 7};
  p.publish(&pose, sizeof pose);
  {
    auto b = s.borrow();
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->held());
    EXPECT_EQ(1u, b->version());
    EXPECT_EQ(sizeof(Pose), b->size());
    EXPECT_NE(0u, b->timestamp_ns());
    EXPECT_EQ(0u, b->lost());
    Pose got = b->load<Pose>();
    double y = b->load<double>(offsetof(Pose, y));
    uint64_t seq = b->load64(offsetof(Pose, seq));
    ASSERT_TRUE(b->valid()) << "decide only now";
    EXPECT_EQ(7u, got.seq);
    EXPECT_EQ(2.0, y);
    EXPECT_EQ(7u, seq);
    EXPECT_EQ(0, memcmp(b->data(), &pose, sizeof pose));
    ThrowsErrno(EINVAL, [&] { b->load<Pose>(8); });  // past the record
    // released here, by the destructor
  }
  EXPECT_FALSE(s.borrow()) << "the borrow moved the cursor";
  auto l = s.borrow(shmbus::BorrowMode::latest);
  ASSERT_TRUE(l);
  EXPECT_EQ(1u, l->version());
  EXPECT_TRUE(l->release());
  EXPECT_FALSE(l->held());
  EXPECT_FALSE(l->valid()) << "a released borrow is not valid";
  EXPECT_EQ(nullptr, l->data());
  EXPECT_FALSE(l->release()) << "twice: a no-op";
}

TEST(CppBorrow, LappedAfterNMinus1PublishesAndCountedLost) {
  TempBus bus("cpp");
  shmbus::PublisherOptions o;
  o.slots = 3;
  o.capacity = 8;
  shmbus::Publisher p(bus.c_str(), o);
  shmbus::Subscriber s(bus.c_str());
  s.seek(shmbus::Seek::fresh);
  p.publish("v1");
  auto b = s.borrow();
  ASSERT_TRUE(b);
  p.publish("v2");
  p.publish("v3");  // N - 1 = 2 publishes: still there
  EXPECT_TRUE(b->valid());
  p.publish("v4");  // rewrote version 1's slot
  EXPECT_FALSE(b->valid());
  shmbus::Borrow moved = std::move(*b);
  EXPECT_FALSE(b->held()) << "moved away";
  EXPECT_FALSE(moved.valid());
  EXPECT_FALSE(moved.release()) << "the final verdict: lapped";
  auto c = s.borrow();
  ASSERT_TRUE(c);
  EXPECT_EQ(2u, c->version());
  EXPECT_EQ(1u, c->lost()) << "the lapped borrow";
  EXPECT_EQ("v2", std::string(c->load<std::array<char, 2>>().data(), 2));
  EXPECT_TRUE(c->valid());
}

TEST(CppBorrow, Errors) {
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  shmbus::Subscriber s(bus.c_str());
  p.publish("x");
  ThrowsErrno(EINVAL, [] { shmbus::Subscriber().borrow(); });
  p.close();
  shmbus::PublisherOptions o;
  o.slots = 4;  // another geometry: replaces the bus
  shmbus::Publisher(bus.c_str(), o).publish("y");
  ThrowsErrno(ESTALE, [&] { s.borrow(); });
  shmbus::Borrow none;
  EXPECT_FALSE(none.held());
  EXPECT_FALSE(none.valid());
  EXPECT_EQ(0u, none.load64(0));
}

// A reader thread borrowing while the writer laps it all the time: whatever passed valid()
// is whole (and TSan sees only atomic accesses).
TEST(CppBorrow, ReaderThreadActsOnlyOnValidBytes) {
  TempBus bus("cpp");
  shmbus::PublisherOptions o;
  o.slots = 2;
  o.capacity = 256;
  shmbus::Publisher p(bus.c_str(), o);
  shmbus::Subscriber s(bus.c_str());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, torn{0}, lapped{0};
  std::thread reader([&] {
    unsigned char buf[256];
    while (!stop.load()) {
      auto b = s.borrow(shmbus::BorrowMode::latest);
      if (!b) continue;
      b->copy(0, buf, b->size());
      if (!b->valid()) {
        lapped++;
        continue;
      }
      reads++;
      for (size_t i = 1; i < b->size(); i++)
        if (buf[i] != buf[0]) {
          torn++;
          break;
        }
    }
  });
  std::string rec(256, '\0');
  p.publish(rec);
  bool reading = shmbus_test::Eventually([&] { return reads.load() > 0; }, 60);
  for (int i = 1; reading && i <= 20000; i++) {
    memset(rec.data(), i & 0xff, rec.size());
    p.publish(rec);  // relaxed atomic stores: no formal race with the reader's loads
  }
  stop.store(true);
  reader.join();
  ASSERT_TRUE(reading) << "the reader never read";
  EXPECT_EQ(0u, torn.load()) << "of " << reads.load() << " reads, " << lapped.load() << " lapped";
}

// ------------------------------------------------------------ Subscriber

TEST(CppSubscriber, ReadsLatestAndNextInOrder) {
  TempBus bus("cpp");
  shmbus::PublisherOptions o;
  o.slots = 8;
  o.capacity = 64;
  shmbus::Publisher p(bus.c_str(), o);
  shmbus::Subscriber s(bus.c_str());
  std::vector<std::byte> buf;
  EXPECT_FALSE(s.read_latest(buf)) << "nothing published yet (ENODATA)";
  EXPECT_FALSE(s.next(buf)) << "nothing newer (EAGAIN)";
  EXPECT_EQ(64u, s.capacity());
  EXPECT_EQ(0u, s.latest());
  p.publish("a");
  p.publish("bb");
  EXPECT_EQ(2u, s.latest());
  auto latest = s.read_latest(buf);
  ASSERT_TRUE(latest);
  EXPECT_EQ(2u, latest->version);
  EXPECT_EQ(2u, buf.size());
  EXPECT_FALSE(s.next(buf)) << "read_latest moved the cursor past it";
  s.seek(shmbus::Seek::oldest);
  std::vector<std::string> got;
  for (const shmbus::Record& r : s.records()) got.push_back(Str(r));
  EXPECT_EQ((std::vector<std::string>{"a", "bb"}), got);
  for (const auto& r : s.records()) ADD_FAILURE() << "read again: " << Str(r);
  p.publish("ccc");
  got.clear();
  for (const auto& r : s.records()) got.push_back(Str(r) + "@" + std::to_string(r.info.version));
  EXPECT_EQ((std::vector<std::string>{"ccc@3"}), got);
  EXPECT_STREQ("", s.info().type);
}

TEST(CppSubscriber, CountsLostRecords) {
  TempBus bus("cpp");
  shmbus::PublisherOptions o;
  o.slots = 2;
  o.capacity = 8;
  shmbus::Publisher p(bus.c_str(), o);
  shmbus::Subscriber s(bus.c_str());
  s.seek(shmbus::Seek::fresh);
  for (int i = 0; i < 5; i++) p.publish(std::to_string(i));
  uint64_t lost = 0, n = 0;
  for (const auto& r : s.records()) {
    lost += r.info.lost;
    n++;
  }
  EXPECT_EQ(5u, lost + n);
  EXPECT_GT(lost, 0u);
}

TEST(CppSubscriber, Errors) {
  TempBus bus("cpp");
  ThrowsErrno(ENOENT, [&] { shmbus::Subscriber s(bus.c_str()); });
  ThrowsErrno(EINVAL, [] { shmbus::Subscriber s(""); });
  ThrowsErrno(ENAMETOOLONG, [] { shmbus::Subscriber s(std::string(SHMBUS_NAME_MAX + 1, 'n')); });
  shmbus::Publisher p(bus.c_str());
  shmbus::Subscriber s(bus.c_str());
  p.publish("twelve bytes");
  char small[4];
  std::string msg = ThrowsErrno(ENOBUFS, [&] { s.next(small, sizeof small); });
  EXPECT_NE(std::string::npos, msg.find("shmbus_sub_next")) << msg;
  ThrowsErrno(ENOBUFS, [&] { s.read_latest(small, sizeof small); });
  char big[16];
  auto info = s.next(big, sizeof big);  // nothing was consumed by the ENOBUFS
  ASSERT_TRUE(info);
  EXPECT_EQ(12u, info->length);
  ThrowsErrno(EINVAL, [&] { s.seek(static_cast<shmbus::Seek>(99)); });
}

TEST(CppSubscriber, WaitReportsReadyTimeoutWriterGoneAndStale) {
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  shmbus::Subscriber s(bus.c_str());
  EXPECT_EQ(shmbus::WaitStatus::timeout, s.wait(0s));
  EXPECT_EQ(shmbus::WaitStatus::timeout, s.wait(1ms, shmbus::WaitMode::spin));
  p.publish("x");
  EXPECT_EQ(shmbus::WaitStatus::ready, s.wait(std::chrono::duration<double>(60.0)));
  EXPECT_EQ(shmbus::WaitStatus::ready, s.wait(shmbus::WaitMode::sleep));  // forever: ready now
  // Huge and negative durations mean "for ever" (no overflow: UBSan watches in --config=asan).
  EXPECT_EQ(shmbus::WaitStatus::ready, s.wait(std::chrono::hours::max()));
  EXPECT_EQ(shmbus::WaitStatus::ready, s.wait(std::chrono::nanoseconds::max()));
  EXPECT_EQ(shmbus::WaitStatus::ready, s.wait(-1s));
  EXPECT_EQ(shmbus::WaitStatus::ready, s.wait(std::chrono::duration<double>(1e300)));
  std::vector<std::byte> buf;
  ASSERT_TRUE(s.next(buf));
  p.close();
  EXPECT_EQ(shmbus::WaitStatus::writer_gone, s.wait(60s));
  EXPECT_EQ(shmbus::WaitStatus::timeout, s.wait(0s, shmbus::WaitMode::hybrid, true));
  shmbus::unlink(bus.c_str(), true);
  std::string msg = ThrowsErrno(ESTALE, [&] { s.wait(60s); });
  EXPECT_NE(std::string::npos, msg.find("shmbus_sub_wait")) << msg;
}

TEST(CppSubscriber, WaitWakesOnAnotherThreadsPublish) {
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  shmbus::Subscriber s(bus.c_str());
  s.seek(shmbus::Seek::fresh);
  constexpr int kRecords = 200;
  std::atomic<int> acked{0};
  std::thread writer([&] {
    // One record at a time, each after the reader has seen the previous: every wait is woken
    // by a publish (no timing involved); a 60 s deadline per record only guards a hang.
    for (int i = 1; i <= kRecords; i++) {
      p.publish(std::to_string(i));
      auto end = std::chrono::steady_clock::now() + 60s;
      while (acked.load() < i && std::chrono::steady_clock::now() < end) std::this_thread::yield();
    }
  });
  int seen = 0;
  while (seen < kRecords) {
    if (s.wait(60s, shmbus::WaitMode::sleep) != shmbus::WaitStatus::ready) break;
    for (const auto& r : s.records()) {
      EXPECT_EQ(std::to_string(++seen), Str(r));
      acked.store(seen);
    }
  }
  writer.join();
  EXPECT_EQ(kRecords, seen);
}

TEST(CppSubscriber, FdPollsReadable) {
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  shmbus::Subscriber s(bus.c_str());
  int fd = s.fd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fd, s.fd()) << "the same descriptor every time";
  p.publish("x");
  struct pollfd pfd = {fd, POLLIN, 0};
  ASSERT_EQ(1, poll(&pfd, 1, 60000));
  EXPECT_EQ(shmbus::WaitStatus::ready, s.wait(0s));
  s.close();
  ThrowsErrno(EINVAL, [&] { s.fd(); });
}

TEST(CppSubscriber, MoveOnlyAndCloseIsIdempotent) {
  static_assert(!std::is_copy_constructible_v<shmbus::Subscriber>);
  static_assert(std::is_nothrow_move_assignable_v<shmbus::Subscriber>);
  TempBus bus("cpp");
  shmbus::Publisher p(bus.c_str());
  p.publish("x");
  shmbus::Subscriber a(bus.c_str());
  shmbus::Subscriber b(std::move(a));
  EXPECT_FALSE(a.is_open());
  EXPECT_EQ(bus.c_str(), b.name());
  shmbus::Subscriber c;
  EXPECT_FALSE(c);
  c = std::move(b);
  EXPECT_TRUE(c);
  std::vector<std::byte> buf;
  EXPECT_TRUE(c.read_latest(buf));
  c.close();
  c.close();
  EXPECT_EQ(0u, c.capacity());
  EXPECT_EQ(0u, c.latest());
  ThrowsErrno(EINVAL, [&] { c.next(buf); });
  ThrowsErrno(EINVAL, [&] { c.read_latest(buf); });
  ThrowsErrno(EINVAL, [&] { c.wait(0s); });
  ThrowsErrno(EINVAL, [&] { c.info(); });
  ThrowsErrno(EINVAL, [&] {
    for (const auto& r : c.records()) ADD_FAILURE() << Str(r);
  });
}

// ------------------------------------------------------------ administration

TEST(CppAdmin, StatListUnlink) {
  TempBus bus("cpp");
  ThrowsErrno(ENOENT, [&] { shmbus::stat(bus.c_str()); });
  ThrowsErrno(ENOENT, [&] { shmbus::unlink(bus.c_str()); });
  {
    shmbus::Publisher p(bus.c_str());
    p.publish("x");
    EXPECT_EQ(1u, shmbus::stat(bus.c_str()).latest);
    auto names = shmbus::list();
    EXPECT_NE(names.end(), std::find(names.begin(), names.end(), bus.c_str()));
    ThrowsErrno(EBUSY, [&] { shmbus::unlink(bus.c_str()); });
  }
  shmbus::unlink(bus.c_str());
  ThrowsErrno(ENOENT, [&] { shmbus::stat(bus.c_str()); });
}

// ------------------------------------------------------------ typed buses

TEST(CppTyped, PublishAndReadPoses) {
  static_assert(!std::is_copy_constructible_v<shmbus::TypedPublisher<Pose>>);
  static_assert(!std::is_copy_constructible_v<shmbus::TypedSubscriber<Pose>>);
  TempBus bus("cpp");
  shmbus::TypedPublisher<Pose> p(bus.c_str(), "pose.v1");
  EXPECT_EQ(sizeof(Pose), p.bytes().capacity()) << "the bus is made for one Pose";
  EXPECT_STREQ("pose.v1", p.bytes().info().type);
  shmbus::TypedSubscriber<Pose> s(bus.c_str(), "pose.v1");
  EXPECT_FALSE(s.read_latest());
  EXPECT_FALSE(s.next());
  p.publish(Pose{1, 2, 3, 0, 0, 0, 1, 1});
  {
    auto l = p.loan();
    *l = Pose{4, 5, 6, 0, 0, 0, 1, 2};
    l->seq = 2;
  }
  {
    auto l = p.loan();
    l->seq = 99;
    l.cancel();
  }
  auto l = p.loan();
  l.get()->seq = 3;
  l.commit();
  EXPECT_FALSE(l.valid());
  EXPECT_EQ(3u, p.version());
  ASSERT_EQ(shmbus::WaitStatus::ready, s.wait(60s));
  s.seek(shmbus::Seek::oldest);
  std::vector<uint64_t> seqs;
  for (const shmbus::Sample<Pose>& sample : s.records()) {
    seqs.push_back(sample.value.seq);
    EXPECT_EQ(sample.value.seq, sample.info.version);
  }
  EXPECT_EQ((std::vector<uint64_t>{1, 2, 3}), seqs);
  auto latest = s.read_latest();
  ASSERT_TRUE(latest);
  EXPECT_EQ(3u, latest->value.seq);
  EXPECT_EQ(s.latest(), 3u);
  EXPECT_GE(s.fd(), 0);
  p.close();
  EXPECT_FALSE(p.is_open());
  EXPECT_EQ(shmbus::WaitStatus::writer_gone, s.wait(60s, shmbus::WaitMode::sleep));
  s.close();
  EXPECT_FALSE(s);
}

TEST(CppTyped, ChecksTheTypeTag) {
  TempBus bus("cpp");
  shmbus::TypedPublisher<Pose> p(bus.c_str(), "pose.v1");
  std::string msg =
      ThrowsErrno(EPROTOTYPE, [&] { shmbus::TypedSubscriber<Pose> s(bus.c_str(), "pose.v2"); });
  EXPECT_NE(std::string::npos, msg.find("carries type 'pose.v1', not 'pose.v2'")) << msg;
  shmbus::TypedSubscriber<Pose> untagged(bus.c_str());  // no tag asked for: not checked
  EXPECT_TRUE(untagged.is_open());
  ThrowsErrno(EINVAL, [&] {
    shmbus::TypedPublisher<Pose> q(bus.c_str(), std::string(SHMBUS_TYPE_MAX + 1, 'x'));
  });
}

TEST(CppTyped, ChecksTheSizeAgainstTheBus) {
  TempBus bus("cpp");
  shmbus::PublisherOptions small;
  small.capacity = sizeof(Pose) - 1;
  {
    shmbus::Publisher bytes(bus.c_str(), small);
    std::string msg = ThrowsErrno(EMSGSIZE, [&] { shmbus::TypedSubscriber<Pose> s(bus.c_str()); });
    EXPECT_NE(std::string::npos, msg.find("the type needs " + std::to_string(sizeof(Pose)))) << msg;
  }
  // A typed publisher given a capacity too small for T refuses the bus.
  ThrowsErrno(EMSGSIZE, [&] { shmbus::TypedPublisher<Pose> p(bus.c_str(), std::nullopt, small); });

  // A bus larger than T is fine; a record of another length is not.
  shmbus::PublisherOptions big;
  big.capacity = 2 * sizeof(Pose);
  shmbus::Publisher bytes(bus.c_str(), big);
  shmbus::TypedSubscriber<Pose> s(bus.c_str());
  bytes.publish("short");
  std::string msg = ThrowsErrno(EBADMSG, [&] { s.next(); });
  EXPECT_NE(std::string::npos,
            msg.find("has 5 bytes, the type has " + std::to_string(sizeof(Pose))))
      << msg;
  EXPECT_FALSE(s.next()) << "the bad record was consumed";
  std::vector<char> too_long(sizeof(Pose) + 1, 'x');
  bytes.publish(too_long.data(), too_long.size());
  ThrowsErrno(ENOBUFS, [&] { s.next(); });
  ThrowsErrno(ENOBUFS, [&] { s.read_latest(); });
  Pose pose{};
  bytes.publish(&pose, sizeof pose);
  s.seek(shmbus::Seek::latest);
  ASSERT_TRUE(s.next());
}

TEST(CppTyped, WaitsThroughAnotherThread) {
  TempBus bus("cpp");
  shmbus::TypedPublisher<Pose> p(bus.c_str(), "pose.v1");
  shmbus::TypedSubscriber<Pose> s(bus.c_str(), "pose.v1");
  s.seek(shmbus::Seek::fresh);
  std::thread writer([&] {
    for (uint64_t i = 1; i <= 100; i++) p.publish(Pose{double(i), 0, 0, 0, 0, 0, 1, i});
  });
  uint64_t last = 0, lost = 0;
  while (last < 100) {
    if (s.wait(60s) != shmbus::WaitStatus::ready) break;
    for (const auto& sample : s.records()) {
      EXPECT_GT(sample.value.seq, last) << "in order";
      EXPECT_EQ(double(sample.value.seq), sample.value.x) << "whole";
      lost += sample.info.lost;
      last = sample.value.seq;
    }
  }
  writer.join();
  EXPECT_EQ(100u, last);
  (void)lost;  // a fast writer may lap the reader: counted, not an error
}

}  // namespace
