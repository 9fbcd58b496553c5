#ifndef SDCTL_CZOOKEEPER_SHIM_H
#define SDCTL_CZOOKEEPER_SHIM_H

// Debian's libzookeeper-mt-dev (3.8). Only the asynchronous API is used, so THREADED is not
// needed for the declarations; linking zookeeper_mt gives the IO and completion threads.
#include <zookeeper/zookeeper.h>
#include <stdio.h>

/// Creator-all plus world-read: what nodes get when credentials are in use.
static inline struct ACL_vector *sdzk_creator_all_world_read(void) {
    static struct ACL acl[2];
    static struct ACL_vector vector;
    acl[0].perms = ZOO_PERM_ALL;
    acl[0].id = ZOO_AUTH_IDS;
    acl[1].perms = ZOO_PERM_READ;
    acl[1].id = ZOO_ANYONE_ID_UNSAFE;
    vector.count = 2;
    vector.data = acl;
    return &vector;
}

static inline struct ACL_vector *sdzk_open_acl(void) {
    return &ZOO_OPEN_ACL_UNSAFE;
}

/// The library logs to stderr by default; send it elsewhere (or nowhere).
static inline void sdzk_set_log(int level, int to_stderr) {
    static FILE *null_stream = NULL;
    if (to_stderr) {
        zoo_set_log_stream(stderr);
    } else {
        if (null_stream == NULL) null_stream = fopen("/dev/null", "w");
        zoo_set_log_stream(null_stream);
    }
    zoo_set_debug_level((ZooLogLevel)level);
}

#endif
