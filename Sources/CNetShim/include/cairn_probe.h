#ifndef CAIRN_PROBE_H
#define CAIRN_PROBE_H
#include <stdint.h>
#include <stddef.h>

/* The probe loop: one thread, epoll, non-blocking TCP sockets, a timer heap. It runs the I/O of
   plain TCP and HTTP probes (connect, write one request, read) and hands every event to one
   callback, on the loop thread, that decides the verdict (the Swift readers). */
typedef struct cairn_probe_loop cairn_probe_loop;

enum {
    CAIRN_PROBE_CONNECTED = 1,     /* connect finished; the request (if any) is written next */
    CAIRN_PROBE_SENT = 2,          /* the whole request is written (only when there is one) */
    CAIRN_PROBE_READ = 3,          /* data/len: bytes read */
    CAIRN_PROBE_CLOSED = 4,        /* the peer closed (EOF, or the write found the peer gone) */
    CAIRN_PROBE_CONNECT_ERROR = 5, /* err: errno of socket()/connect() */
    CAIRN_PROBE_READ_ERROR = 6,    /* err: errno of read()/write() */
    CAIRN_PROBE_TIMEOUT = 7,       /* the probe's deadline passed */
};

/* Called on the loop thread. Return nonzero once the probe has its verdict: the loop closes the
   socket and never calls again for `ctx`. After CLOSED, CONNECT_ERROR, READ_ERROR and TIMEOUT the
   probe ends whatever the return value: every submitted probe gets exactly one final call. */
typedef int (*cairn_probe_fn)(void *ctx, int event, int err, const uint8_t *data, size_t len);

/* Starts the loop thread (named cairn-probe) at the process's nice value + `nice_increment`
   (cairn_thread_nice_from_process) so that DNS threads win the CPU.
   NULL on failure (errno set). The loop lives as long as the process. */
cairn_probe_loop *cairn_probe_loop_start(cairn_probe_fn fn, int nice_increment);

/* Thread-safe. Queues a probe of `address` (an IPv4 or IPv6 literal) port `port`: connect, then
   write `request` (copied; may be empty), then read until the callback has a verdict, at most
   `timeout_ms` from now. Returns 0, or -EINVAL when `address` is not a literal, -ENOMEM;
   on error the callback is never called for `ctx`. */
int cairn_probe_submit(cairn_probe_loop *loop, const char *address, int port, int timeout_ms,
                       const uint8_t *request, size_t request_len, void *ctx);

/* Sets the calling thread's nice value to the process's (its main thread's) + `increment`, at most 19:
   threads made by libdispatch run at their QoS priority, not at the one `cairn serve` was started with.
   Returns the nice value now in effect (the old one if it could not be changed). */
int cairn_thread_nice_from_process(int increment);

/* Probes queued or running now. */
long cairn_probe_active(cairn_probe_loop *loop);

/* The thread's nice value as set (for logs and tests), or -100 before the thread ran. */
int cairn_probe_loop_nice(cairn_probe_loop *loop);
#endif
