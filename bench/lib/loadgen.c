// Native load generator: one process, one epoll loop, many raw TCP connections.
//
// Contract (driven by bench/lib/native-loadgen.mjs, which mirrors loadgen.mjs's interface):
// - Configuration arrives on stdin as lines, ended by "go":
//     host A.B.C.D | port N | mode traffic|handshake|idle | concurrency N | writesize N
//     readmode trunc|copy
//     addr A.B.C.D (repeatable: source addresses) | portstart N (explicit source ports)
//     group NAME COUNT INFLIGHT PAYLOAD_BYTES LATENCY(0|1) REQUEST_FILE FRAME_FILE|- [once]
//   ("once": the group sends its INFLIGHT messages at start and never refills them)
//     groupinit FILE (after a group line: one masked frame each of its connections writes once,
//   right after the 101, e.g. an ActionCable subscribe command; it is not a counted message)
//   The coordinator builds the request and the (masked) frame bytes; this program only writes
//   them, so every frame detail (masking, compression) has one home (frames.mjs).
// - It connects every connection (`concurrency` handshakes at a time), then prints
//   "READY <open> <failed>". Then commands on stdin: "start" (traffic / handshake loops begin,
//   prints "STARTED"), "mark" (prints "MARK <json>": counters since the previous mark, reset),
//   "stop" (closes everything, exits). EOF on stdin exits too.
// - Writes go out the way clients hand frames to the kernel: everything queued in one write()
//   call (writesize 0, the default: ws writes each frame with one writev, Chromium's WebSocket
//   its pending frames with one send), the rest once the socket is writable again; the kernel
//   cuts it into segments (64 KiB on loopback) that reach the server while the call runs.
//   `writesize N` caps each call at N bytes (65536 was the default before session 6).
// - Replies are counted by walking server frame headers only (no unmasking). "readmode copy"
//   (the default): every byte is read into a 256 KiB buffer, as a client reads its messages.
//   "readmode trunc": payload bytes past what one read brought are discarded by the kernel
//   (recv MSG_TRUNC), never copied (the default before session 6: it made the load generator
//   cheaper than a real client).
//   Latency: the time from queueing a message to the end of its reply, into the same
//   fixed-bucket histogram as histogram.mjs (1 us buckets below 10 ms, 100 us up to 1 s).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FINE 10000
#define COARSE 10000
#define NBUCKETS (FINE + COARSE + 1)
#define MAX_GROUPS 8
#define MAX_ADDRS 16
#define READ_SIZE (256 * 1024)
#define TRUNC_MAX (16 * 1024 * 1024)

enum { MODE_TRAFFIC, MODE_HANDSHAKE, MODE_IDLE };
enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

typedef struct {
  char name[32];
  int count, inflight, latency;
  int once; // send `inflight` messages once at start, never refill (memory per used connection)
  long payload;
  uint8_t *request;
  size_t request_len;
  uint8_t *frame; // one masked frame, repeated `inflight` times in `batch`
  size_t frame_len;
  uint8_t *batch;
  size_t batch_len;
  uint8_t *init; // written once after the handshake (NULL: none)
  size_t init_len;
  uint64_t msgs;
  uint32_t *hist;
  uint64_t hist_total;
} group_t;

typedef struct {
  int fd, state, group, idx;
  double started_at; // when the connect began (handshake timeout)
  // write side: bytes of queued frames not yet written, position in the repeating frame stream
  uint64_t out_left;
  size_t out_pos;
  const uint8_t *req_ptr;
  size_t req_left;
  int want_out;
  // read side: handshake head, then frame walking
  char head[2048];
  int head_len;
  uint64_t skip;
  int count_at_end;
  uint8_t carry[14];
  int carry_len;
  // latency ring
  double *ring;
  uint32_t rh, rt;
} conn_t;

static char host[64] = "127.0.0.1";
static int port, mode = MODE_TRAFFIC, concurrency = 200, portstart = 0;
static size_t writesize = 0;
static int readcopy = 1; // readmode copy: read every byte into user space (no MSG_TRUNC)
static char addrs[MAX_ADDRS][64];
static int naddrs = 0;
static group_t groups[MAX_GROUPS];
static int ngroups = 0;
static conn_t *conns;
static int nconns = 0;
static int epfd;
static int started = 0, stopping = 0;
static uint64_t handshakes = 0, failed = 0, closed_early = 0, compressed_seen = 0;
static int connecting_now = 0, next_job = 0, jobs_total = 0, attempts = 0;
static int ready_sent = 0;
static uint8_t rbuf[READ_SIZE];

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "loadgen: cannot open %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(n > 0 ? n : 1);
  if (n > 0 && fread(b, 1, n, f) != (size_t)n) exit(2);
  fclose(f);
  *len = n;
  return b;
}

static void hist_record(group_t *g, double us) {
  int b;
  if (us < FINE) b = us < 0 ? 0 : (int)us;
  else {
    b = FINE + (int)((us - FINE) / 100);
    if (b > FINE + COARSE) b = FINE + COARSE;
  }
  g->hist[b]++;
  g->hist_total++;
}

static void ep_mod(conn_t *c, int out) {
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
  c->want_out = out;
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(conn_t *c, int rst) {
  if (c->fd < 0) return;
  if (rst) {
    struct linger l = {1, 0}; // RST: no TIME_WAIT on our side
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(c->fd); // also removes it from the epoll set
  c->fd = -1;
  c->state = ST_CLOSED;
}

static int start_connect(conn_t *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (naddrs > 0) {
    struct sockaddr_in la = {.sin_family = AF_INET};
    int k = attempts++;
    inet_pton(AF_INET, addrs[k % naddrs], &la.sin_addr);
    if (portstart > 0) {
      int p = portstart + k / naddrs;
      if (p > 65535) {
        close(fd);
        return -1;
      }
      la.sin_port = htons(p);
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    } else {
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    }
    if (bind(fd, (struct sockaddr *)&la, sizeof la) < 0) {
      close(fd);
      return -1;
    }
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->state = ST_CONNECTING;
  c->started_at = now_us();
  c->head_len = 0;
  c->skip = 0;
  c->carry_len = 0;
  c->out_left = 0;
  c->out_pos = 0;
  c->req_ptr = groups[c->group].request;
  c->req_left = groups[c->group].request_len;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  c->want_out = 1;
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static void check_ready(void);

/** Opens connections until `concurrency` are in their handshake or every job is started. */
static void pump_connects(void) {
  while (connecting_now < concurrency && next_job < jobs_total) {
    conn_t *c = &conns[next_job];
    int tries = 0;
    while (start_connect(c) < 0 && ++tries < 3) {
    }
    next_job++;
    if (c->fd < 0) {
      failed++;
      continue;
    }
    connecting_now++;
  }
  check_ready();
}

static void queue_messages(conn_t *c, int n) {
  group_t *g = &groups[c->group];
  if (g->latency) {
    double t = now_us();
    for (int k = 0; k < n; k++) c->ring[c->rt++ % g->inflight] = t;
  }
  c->out_left += (uint64_t)n * g->frame_len;
}

/** Writes queued frames, at most `writesize` bytes per call, until done or EAGAIN. */
static void flush_out(conn_t *c) {
  group_t *g = &groups[c->group];
  while (c->out_left > 0) {
    size_t avail = g->batch_len - c->out_pos;
    size_t n = c->out_left < avail ? c->out_left : avail;
    if (writesize > 0 && n > writesize) n = writesize;
    ssize_t w = write(c->fd, g->batch + c->out_pos, n);
    if (w < 0) {
      if (errno == EAGAIN) {
        if (!c->want_out) ep_mod(c, 1);
        return;
      }
      return; // the read side sees the error
    }
    c->out_left -= w;
    c->out_pos = (c->out_pos + w) % g->frame_len;
  }
  if (c->want_out) ep_mod(c, 0);
}

/**
 * Answers a ping (RFC 6455 5.5.2) with a masked pong carrying its payload, when no frame of ours
 * is half written (the servers' keep-alive pings only reach idle connections in practice).
 */
static void send_pong(conn_t *c, const uint8_t *payload, size_t len) {
  if (c->out_left > 0 && c->out_pos != 0) return;
  uint8_t f[6 + 125];
  static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
  f[0] = 0x8a;
  f[1] = 0x80 | (uint8_t)len;
  memcpy(f + 2, key, 4);
  for (size_t k = 0; k < len; k++) f[6 + k] = payload[k] ^ key[k & 3];
  if (write(c->fd, f, 6 + len) < 0) return;
}

/** Walks server frames in buf[0..n); returns completed data messages. */
static int count_frames(conn_t *c, const uint8_t *buf, size_t n) {
  size_t i = 0;
  int done = 0;
  if (c->skip > 0) {
    if (c->skip > n) {
      c->skip -= n;
      return 0;
    }
    i = c->skip;
    c->skip = 0;
    if (c->count_at_end) done++;
  }
  while (i < n) {
    const uint8_t *p = buf + i;
    size_t have = n - i;
    uint8_t tmp[14];
    if (c->carry_len > 0) {
      size_t take = 14 - c->carry_len;
      if (take > have) take = have;
      memcpy(tmp, c->carry, c->carry_len);
      memcpy(tmp + c->carry_len, p, take);
      p = tmp;
      have = c->carry_len + take;
    }
    if (have < 2) goto carry;
    uint64_t len = p[1] & 127;
    size_t hlen = 2;
    if (len == 126) {
      hlen = 4;
      if (have < 4) goto carry;
      len = ((uint64_t)p[2] << 8) | p[3];
    } else if (len == 127) {
      hlen = 10;
      if (have < 10) goto carry;
      len = 0;
      for (int k = 2; k < 10; k++) len = (len << 8) | p[k];
    }
    if (p[1] & 128) hlen += 4;
    if (have < hlen) goto carry;
    int counts = (p[0] & 0x80) && (p[0] & 0x0f) < 8;
    if (counts && (p[0] & 0x40)) compressed_seen++;
    // Bytes of this frame (header included) found in buf from i on.
    size_t from_buf = hlen - c->carry_len;
    c->carry_len = 0;
    size_t rest = n - i - from_buf;
    if (len <= rest) {
      if (counts) done++;
      if ((p[0] & 0x0f) == 9 && len <= 125) send_pong(c, buf + i + from_buf, len);
      i += from_buf + len;
    } else {
      c->skip = len - rest;
      c->count_at_end = counts;
      return done;
    }
    continue;
  carry:
    if (c->carry_len > 0) {
      // the carried bytes plus all of buf are still not a header
      memcpy(c->carry + c->carry_len, buf + i, n - i);
      c->carry_len += n - i;
    } else {
      memcpy(c->carry, buf + i, n - i);
      c->carry_len = n - i;
    }
    return done;
  }
  return done;
}

static void on_replies(conn_t *c, int done) {
  if (done == 0) return;
  group_t *g = &groups[c->group];
  g->msgs += done;
  if (g->latency && g->inflight > 0) {
    double t = now_us();
    for (int k = 0; k < done && c->rh != c->rt; k++) hist_record(g, t - c->ring[c->rh++ % g->inflight]);
  }
  if (g->inflight > 0 && !g->once && started && !stopping) {
    queue_messages(c, done);
    flush_out(c);
  }
}

static void handshake_done(conn_t *c, int ok) {
  connecting_now--;
  if (mode == MODE_HANDSHAKE) {
    if (ok) handshakes++;
    else failed++;
    conn_close(c, 1);
    if (!stopping) {
      if (start_connect(c) == 0) connecting_now++;
      else failed++;
    }
    return;
  }
  if (!ok) {
    failed++;
    conn_close(c, 1);
  } else {
    nconns++;
  }
  pump_connects();
}

static void on_readable(conn_t *c) {
  for (;;) {
    ssize_t r;
    if (c->state == ST_OPEN && c->skip > 0 && !readcopy) {
      // Inside a reply's payload: let the kernel discard it (TCP MSG_TRUNC: no copy to user
      // space). Only the load generator's own cost changes; the server writes the same bytes.
      r = recv(c->fd, rbuf, c->skip < TRUNC_MAX ? c->skip : TRUNC_MAX, MSG_TRUNC | MSG_DONTWAIT);
    } else {
      r = read(c->fd, rbuf, READ_SIZE);
    }
    if (r < 0) {
      if (errno == EAGAIN) return;
      r = 0;
    }
    if (r == 0) {
      int was = c->state;
      conn_close(c, 0);
      if (was == ST_HANDSHAKE || was == ST_CONNECTING) handshake_done(c, 0);
      else if (!stopping) closed_early++;
      return;
    }
    if (c->state == ST_OPEN) {
      on_replies(c, count_frames(c, rbuf, r));
      if (c->fd < 0) return;
      continue;
    }
    // handshake: gather the head
    size_t take = r;
    if (c->head_len + take > sizeof c->head - 1) take = sizeof c->head - 1 - c->head_len;
    memcpy(c->head + c->head_len, rbuf, take);
    c->head_len += take;
    c->head[c->head_len] = 0;
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) {
      if (c->head_len >= (int)sizeof c->head - 1) handshake_done(c, 0);
      continue;
    }
    int ok = strncmp(c->head, "HTTP/1.1 101", 12) == 0;
    if (mode == MODE_HANDSHAKE || !ok) {
      handshake_done(c, ok);
      return;
    }
    c->state = ST_OPEN;
    group_t *g = &groups[c->group];
    // A few hundred bytes on a fresh socket: the kernel takes them in one call.
    if (g->init != NULL && write(c->fd, g->init, g->init_len) != (ssize_t)g->init_len) {
      handshake_done(c, 0); // closes it, counts it failed
      return;
    }
    size_t head_bytes = (end + 4) - c->head;
    size_t consumed_before = c->head_len - take; // head bytes from earlier reads
    size_t extra = r - (head_bytes - consumed_before);
    handshake_done(c, 1);
    if (extra > 0) on_replies(c, count_frames(c, rbuf + (r - extra), extra));
    if (c->fd < 0) return;
  }
}

static void on_writable(conn_t *c) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
      conn_close(c, 0);
      handshake_done(c, 0);
      return;
    }
    c->state = ST_HANDSHAKE;
  }
  if (c->req_left > 0) {
    ssize_t w = write(c->fd, c->req_ptr, c->req_left);
    if (w > 0) {
      c->req_ptr += w;
      c->req_left -= w;
    }
    if (c->req_left > 0) return;
    ep_mod(c, 0);
    return;
  }
  flush_out(c);
}

static void check_ready(void) {
  if (ready_sent || mode == MODE_HANDSHAKE) return;
  if (next_job >= jobs_total && connecting_now == 0) {
    ready_sent = 1;
    printf("READY %d %llu\n", nconns, (unsigned long long)failed);
    fflush(stdout);
  }
}

static void mark(void) {
  printf("MARK {\"groups\":[");
  for (int i = 0; i < ngroups; i++) {
    group_t *g = &groups[i];
    printf("%s{\"name\":\"%s\",\"msgs\":%llu,\"bytes\":%llu,\"hist\":", i ? "," : "", g->name,
           (unsigned long long)g->msgs, (unsigned long long)(g->msgs * g->payload));
    if (g->latency) {
      printf("[");
      int first = 1;
      for (int b = 0; b < NBUCKETS; b++)
        if (g->hist[b]) {
          printf("%s[%d,%u]", first ? "" : ",", b, g->hist[b]);
          first = 0;
          g->hist[b] = 0;
        }
      printf("]");
      g->hist_total = 0;
    } else printf("null");
    printf("}");
    g->msgs = 0;
  }
  printf("],\"handshakes\":%llu,\"failed\":%llu,\"closedEarly\":%llu,\"compressedSeen\":%llu}\n",
         (unsigned long long)handshakes, (unsigned long long)failed, (unsigned long long)closed_early,
         (unsigned long long)compressed_seen);
  fflush(stdout);
  handshakes = 0;
}

/** A server that never answers must not hang the run: handshakes not done in 10 s fail. */
#define HANDSHAKE_TIMEOUT_US 10e6
static void expire_handshakes(void) {
  if (connecting_now == 0) return;
  double limit = now_us() - HANDSHAKE_TIMEOUT_US;
  for (int i = 0; i < jobs_total; i++) {
    conn_t *c = &conns[i];
    if (c->fd >= 0 && (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE) && c->started_at < limit) {
      conn_close(c, 1);
      handshake_done(c, 0);
    }
  }
}

static char cmdbuf[65536];
static int cmdlen = 0;

/** Lines of the configuration, before "go". Returns 1 on "go". */
static int config_line(char *line) {
  char a[256], b[256], c7[512], d8[512], e9[16] = "";
  int n1, n2, n3, n4;
  long sz;
  if (sscanf(line, "host %63s", host) == 1) return 0;
  if (sscanf(line, "port %d", &port) == 1) return 0;
  if (sscanf(line, "concurrency %d", &concurrency) == 1) return 0;
  if (sscanf(line, "portstart %d", &portstart) == 1) return 0;
  if (sscanf(line, "writesize %ld", &sz) == 1) {
    writesize = sz;
    return 0;
  }
  if (sscanf(line, "readmode %255s", a) == 1) {
    readcopy = strcmp(a, "copy") == 0;
    return 0;
  }
  if (sscanf(line, "addr %63s", a) == 1 && naddrs < MAX_ADDRS) {
    strcpy(addrs[naddrs++], a);
    return 0;
  }
  if (sscanf(line, "mode %255s", a) == 1) {
    mode = strcmp(a, "handshake") == 0 ? MODE_HANDSHAKE : strcmp(a, "idle") == 0 ? MODE_IDLE : MODE_TRAFFIC;
    return 0;
  }
  if (sscanf(line, "group %31s %d %d %d %d %511s %511s %15s", b, &n1, &n2, &n3, &n4, c7, d8, e9) >= 7 &&
      ngroups < MAX_GROUPS) {
    group_t *g = &groups[ngroups++];
    memset(g, 0, sizeof *g);
    strcpy(g->name, b);
    g->count = n1;
    g->inflight = n2;
    g->payload = n3;
    g->latency = n4 && n2 > 0;
    g->once = strcmp(e9, "once") == 0;
    g->request = read_file(c7, &g->request_len);
    if (strcmp(d8, "-") != 0) {
      g->frame = read_file(d8, &g->frame_len);
      int k = g->inflight > 0 ? g->inflight : 1;
      g->batch_len = g->frame_len * k;
      g->batch = malloc(g->batch_len);
      for (int i = 0; i < k; i++) memcpy(g->batch + i * g->frame_len, g->frame, g->frame_len);
    }
    g->hist = calloc(NBUCKETS, sizeof(uint32_t));
    return 0;
  }
  if (sscanf(line, "groupinit %511s", c7) == 1 && ngroups > 0) {
    group_t *g = &groups[ngroups - 1];
    g->init = read_file(c7, &g->init_len);
    return 0;
  }
  if (strncmp(line, "go", 2) == 0) return 1;
  return 0;
}

static int configured = 0;

static void setup(void) {
  int total = 0;
  for (int i = 0; i < ngroups; i++) total += groups[i].count;
  if (mode == MODE_HANDSHAKE) total = concurrency;
  conns = calloc(total > 0 ? total : 1, sizeof(conn_t));
  int k = 0;
  for (int i = 0; i < ngroups; i++) {
    int n = mode == MODE_HANDSHAKE ? concurrency : groups[i].count;
    for (int j = 0; j < n; j++, k++) {
      conns[k].fd = -1;
      conns[k].group = i;
      conns[k].idx = k;
      if (groups[i].latency) conns[k].ring = calloc(groups[i].inflight, sizeof(double));
    }
    if (mode == MODE_HANDSHAKE) break;
  }
  jobs_total = k;
  if (mode == MODE_HANDSHAKE) {
    printf("READY 0 0\n");
    fflush(stdout);
    ready_sent = 1;
    return;
  }
  pump_connects();
}

static void command(char *line) {
  if (!configured) {
    if (config_line(line)) {
      configured = 1;
      setup();
    }
    return;
  }
  if (strncmp(line, "start", 5) == 0) {
    started = 1;
    if (mode == MODE_HANDSHAKE) {
      for (int i = 0; i < jobs_total; i++)
        if (start_connect(&conns[i]) == 0) connecting_now++;
    } else {
      for (int i = 0; i < jobs_total; i++) {
        conn_t *c = &conns[i];
        group_t *g = &groups[c->group];
        if (c->state == ST_OPEN && g->inflight > 0) {
          queue_messages(c, g->inflight);
          flush_out(c);
        }
      }
    }
    printf("STARTED\n");
    fflush(stdout);
  } else if (strncmp(line, "mark", 4) == 0) {
    mark();
  } else if (strncmp(line, "stop", 4) == 0) {
    stopping = 1;
    exit(0);
  }
}

static void on_stdin(void) {
  ssize_t r = read(0, cmdbuf + cmdlen, sizeof cmdbuf - 1 - cmdlen);
  if (r <= 0) exit(0);
  cmdlen += r;
  for (;;) {
    char *nl = memchr(cmdbuf, '\n', cmdlen);
    if (!nl) break;
    *nl = 0;
    command(cmdbuf);
    int used = nl + 1 - cmdbuf;
    memmove(cmdbuf, nl + 1, cmdlen - used);
    cmdlen -= used;
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  epfd = epoll_create1(0);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &sev);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(epfd, evs, 256, connecting_now > 0 ? 1000 : -1);
    expire_handshakes();
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) {
        on_stdin();
        continue;
      }
      if (c->fd < 0) continue;
      uint32_t e = evs[i].events;
      if (e & (EPOLLOUT | EPOLLERR)) on_writable(c);
      if (c->fd >= 0 && (e & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable(c);
    }
  }
}
