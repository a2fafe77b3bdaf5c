/* Publishes a record and reads it back through the installed library: prog BUS LABEL */
#include <shmbus.h>
#include <stdio.h>

int main(int argc, char **argv) {
  shmbus_pub *p;
  shmbus_sub *s;
  char buf[64];
  struct shmbus_record_info info;
  ssize_t n;
  int rc;
  if (argc < 3) return 2;
  if ((rc = shmbus_pub_open(argv[1], NULL, &p)) < 0) {
    fprintf(stderr, "pub_open: %s\n", shmbus_strerror(rc));
    return 1;
  }
  if ((rc = shmbus_sub_open(argv[1], 0, &s)) < 0) {
    fprintf(stderr, "sub_open: %s\n", shmbus_strerror(rc));
    return 1;
  }
  shmbus_sub_seek(s, SHMBUS_SEEK_NEW);
  shmbus_pub_publish(p, "from C", 6);
  n = shmbus_sub_next(s, buf, sizeof buf, &info);
  if (n < 0) {
    fprintf(stderr, "next: %s\n", shmbus_strerror((int)n));
    return 1;
  }
  printf("%.*s (%s)\n", (int)n, buf, argv[2]);
  shmbus_sub_close(s);
  shmbus_pub_close(p);
  return 0;
}
