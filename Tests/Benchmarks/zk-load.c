/* Holds COUNT instances under PATH in go-kit's layout (ephemeral sequential children whose
 * data is an address) for as long as it runs: creates them pipelined (at most 1,000 in
 * flight), prints "ready" and waits until its stdin closes; its session ending removes them.
 * Build: cc -O2 -DTHREADED zk-load.c -lzookeeper_mt -lpthread -o zk-load
 * Run:   ./zk-load 127.0.0.1:2181 /scaling/svc 100000                              */
#include <zookeeper/zookeeper.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int inflight = 0, failed = 0, connected = 0;

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
  (void)zh; (void)path; (void)ctx;
  if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
    pthread_mutex_lock(&mu); connected = 1; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&mu);
  }
}

static void created(int rc, const char *name, const void *data) {
  (void)name; (void)data;
  pthread_mutex_lock(&mu);
  inflight--;
  if (rc != ZOK) failed = rc;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: zk-load HOSTS PATH COUNT\n"); return 2; }
  const char *path = argv[2];
  int count = atoi(argv[3]);
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t *zh = zookeeper_init(argv[1], watcher, 30000, 0, 0, 0);
  if (!zh) { perror("zookeeper_init"); return 1; }
  pthread_mutex_lock(&mu);
  while (!connected) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  /* The parents, persistent and empty, one level at a time. */
  char parent[1024];
  for (const char *slash = strchr(path + 1, '/'); ; slash = strchr(slash + 1, '/')) {
    size_t length = slash ? (size_t)(slash - path) : strlen(path);
    snprintf(parent, sizeof parent, "%.*s", (int)length, path);
    int rc = zoo_create(zh, parent, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) { fprintf(stderr, "create %s: %s\n", parent, zerror(rc)); return 1; }
    if (!slash) break;
  }
  char child[1100], address[32];
  for (int i = 0; i < count; i++) {
    pthread_mutex_lock(&mu);
    while (inflight >= 1000) pthread_cond_wait(&cv, &mu);
    inflight++;
    pthread_mutex_unlock(&mu);
    snprintf(child, sizeof child, "%s/load-", path);
    int length = snprintf(address, sizeof address, "10.%d.%d.%d:8080", i >> 16 & 255, i >> 8 & 255, i & 255);
    int rc = zoo_acreate(zh, child, address, length, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL | ZOO_SEQUENCE, created, NULL);
    if (rc != ZOK) { fprintf(stderr, "acreate: %s\n", zerror(rc)); return 1; }
  }
  pthread_mutex_lock(&mu);
  while (inflight > 0) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  if (failed) { fprintf(stderr, "a create failed: %s\n", zerror(failed)); return 1; }
  printf("ready\n");
  fflush(stdout);
  char buffer[64];
  while (read(0, buffer, sizeof buffer) > 0) {}
  zookeeper_close(zh);
  return 0;
}
