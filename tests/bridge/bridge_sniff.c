/* bridge_sniff.c - count frames on a network interface that carry a text in clear, for the
 * shmbridge tests: with DDS Security no record's bytes may cross the wire in clear.
 *
 *   bridge_sniff IFACE TEXT STOPFILE
 *       capture every frame on IFACE (AF_PACKET; root) until STOPFILE exists. Prints
 *       "capturing" once the socket is bound (the readiness signal), then at the end
 *       "frames N clear K": N frames seen, K of them containing TEXT.
 * Exit status: 0, or 2 on a usage or socket error.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bridge_sniff IFACE TEXT STOPFILE\n");
    return 2;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  struct sockaddr_ll sll = {0};
  struct timeval tv = {0, 100000};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)if_nametoindex(argv[1]);
  if (fd < 0 || sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    perror("bridge_sniff: cannot capture");
    return 2;
  }
  printf("capturing\n");
  fflush(stdout);
  unsigned long frames = 0, clear = 0;
  static unsigned char buf[65536];
  size_t tlen = strlen(argv[2]);
  while (access(argv[3], F_OK) != 0) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) continue;
    frames++;
    if (memmem(buf, (size_t)n, argv[2], tlen) != NULL) clear++;
  }
  printf("frames %lu clear %lu\n", frames, clear);
  return 0;
}
