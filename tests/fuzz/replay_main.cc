// replay_main.cc - replays every file of a fuzz target's checked-in corpus through its
// LLVMFuzzerTestOneInput (linked in from the same source libFuzzer builds), as an ordinary
// test: a finding aborts, a hang is caught by an alarm that names the input.
//   replay_test CORPUS_DIR [gtest flags]
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string g_dir;
char g_current[512];

void OnAlarm(int) {
  const char msg[] = "replay: input did not finish within 20 s (a reader that loops forever?): ";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  ignored = write(2, g_current, strlen(g_current));
  ignored = write(2, "\n", 1);
  (void)ignored;
  fuzz_remove_objects();
  _exit(1);
}

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  DIR* d = opendir(g_dir.c_str());
  if (d == nullptr) return files;
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.') files.push_back(g_dir + "/" + e->d_name);
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FuzzCorpus, EveryInputReplaysCleanly) {
  std::vector<std::string> files = CorpusFiles();
  ASSERT_FALSE(files.empty()) << "no corpus files in " << g_dir;
  signal(SIGALRM, OnAlarm);
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << f;
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    snprintf(g_current, sizeof g_current, "%s", f.c_str());
    fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
    alarm(20);
    EXPECT_EQ(0, LLVMFuzzerTestOneInput(bytes.data(), bytes.size())) << f;
    alarm(0);
  }
  printf("replayed %zu inputs from %s\n", files.size(), g_dir.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  g_dir = argv[1];
  return RUN_ALL_TESTS();
}
