#define _GNU_SOURCE
#include "CNetShim.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/time.h>
#include <pthread.h>
#include <sched.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

struct cairn_batch {
    int slots;
    int slot_size;
    uint8_t *in;
    uint8_t *out;
    struct mmsghdr *rmsgs;
    struct mmsghdr *smsgs;
    struct iovec *riov;
    struct iovec *siov;
    struct sockaddr_storage *peers;
    int *reply_len;
};

cairn_batch *cairn_batch_new(int slots, int slot_size) {
    cairn_batch *b = calloc(1, sizeof(*b));
    if (!b) return NULL;
    b->slots = slots;
    b->slot_size = slot_size;
    b->in = calloc((size_t)slots, (size_t)slot_size);
    b->out = calloc((size_t)slots, (size_t)slot_size);
    b->rmsgs = calloc((size_t)slots, sizeof(struct mmsghdr));
    b->smsgs = calloc((size_t)slots, sizeof(struct mmsghdr));
    b->riov = calloc((size_t)slots, sizeof(struct iovec));
    b->siov = calloc((size_t)slots, sizeof(struct iovec));
    b->peers = calloc((size_t)slots, sizeof(struct sockaddr_storage));
    b->reply_len = calloc((size_t)slots, sizeof(int));
    if (!b->in || !b->out || !b->rmsgs || !b->smsgs || !b->riov || !b->siov || !b->peers || !b->reply_len) {
        cairn_batch_free(b);
        return NULL;
    }
    return b;
}

void cairn_batch_free(cairn_batch *b) {
    if (!b) return;
    free(b->in); free(b->out); free(b->rmsgs); free(b->smsgs);
    free(b->riov); free(b->siov); free(b->peers); free(b->reply_len);
    free(b);
}

int cairn_batch_recv(int fd, cairn_batch *b) {
    for (int i = 0; i < b->slots; i++) {
        b->riov[i].iov_base = b->in + (size_t)i * (size_t)b->slot_size;
        b->riov[i].iov_len = (size_t)b->slot_size;
        memset(&b->rmsgs[i].msg_hdr, 0, sizeof(struct msghdr));
        b->rmsgs[i].msg_hdr.msg_iov = &b->riov[i];
        b->rmsgs[i].msg_hdr.msg_iovlen = 1;
        b->rmsgs[i].msg_hdr.msg_name = &b->peers[i];
        b->rmsgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        b->rmsgs[i].msg_len = 0;
        b->reply_len[i] = 0;
    }
    /* Block for the first datagram, then take whatever else is queued. */
    int n = recvmmsg(fd, b->rmsgs, (unsigned)b->slots, MSG_WAITFORONE, NULL);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
    return n;
}

uint8_t *cairn_batch_in(cairn_batch *b, int i, int *len) {
    int l = (int)b->rmsgs[i].msg_len;
    /* A datagram that filled the slot may have been cut: report it as oversized. */
    if (b->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC) l = -1;
    *len = l;
    return b->in + (size_t)i * (size_t)b->slot_size;
}

const struct sockaddr_storage *cairn_batch_peer(cairn_batch *b, int i) { return &b->peers[i]; }

int cairn_batch_peer_addr(cairn_batch *b, int i, uint64_t *hi, uint64_t *lo) {
    const struct sockaddr_storage *ss = &b->peers[i];
    *hi = 0; *lo = 0;
    if (ss->ss_family == AF_INET) {
        *lo = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
        return 4;
    }
    if (ss->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        uint64_t h = 0, l = 0;
        for (int k = 0; k < 8; k++) h = (h << 8) | a[k];
        for (int k = 8; k < 16; k++) l = (l << 8) | a[k];
        *hi = h; *lo = l;
        return 6;
    }
    return 0;
}

uint8_t *cairn_batch_out(cairn_batch *b, int i) { return b->out + (size_t)i * (size_t)b->slot_size; }

void cairn_batch_set_reply(cairn_batch *b, int i, int len) { b->reply_len[i] = len; }

int cairn_batch_send(int fd, cairn_batch *b, int count) {
    int m = 0;
    for (int i = 0; i < count; i++) {
        if (b->reply_len[i] <= 0) continue;
        b->siov[m].iov_base = b->out + (size_t)i * (size_t)b->slot_size;
        b->siov[m].iov_len = (size_t)b->reply_len[i];
        memset(&b->smsgs[m].msg_hdr, 0, sizeof(struct msghdr));
        b->smsgs[m].msg_hdr.msg_iov = &b->siov[m];
        b->smsgs[m].msg_hdr.msg_iovlen = 1;
        b->smsgs[m].msg_hdr.msg_name = &b->peers[i];
        b->smsgs[m].msg_hdr.msg_namelen = b->rmsgs[i].msg_hdr.msg_namelen;
        m++;
    }
    int sent = 0;
    while (sent < m) {
        int r = sendmmsg(fd, b->smsgs + sent, (unsigned)(m - sent), 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            /* Drop the one that failed (e.g. ECONNREFUSED from ICMP) and go on. */
            sent++;
            continue;
        }
        sent += r;
    }
    return m;
}

int cairn_udp_socket(const char *host, int port, int reuseport, int rcvbuf) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || !res) return -EINVAL;
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { int e = errno; freeaddrinfo(res); return -e; }
    int one = 1;
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        int e = errno; close(fd); freeaddrinfo(res); return -e;
    }
    freeaddrinfo(res);
    return fd;
}

int cairn_socket_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

int cairn_set_recv_timeout_ms(int fd, int ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void cairn_thread_set_name(const char *name) {
    char buf[16];
    snprintf(buf, sizeof(buf), "%s", name);
    (void)pthread_setname_np(pthread_self(), buf);
}

int cairn_thread_pin(const int *cpus, int n) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < n; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return -EINVAL;
        CPU_SET(cpus[i], &set);
    }
    int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    return rc == 0 ? 0 : -rc;
}

int cairn_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_CONF);
    return n > 0 ? (int)n : 1;
}

int cairn_map_large_allocations(size_t threshold) {
#ifdef __GLIBC__
    return mallopt(M_MMAP_THRESHOLD, (int)threshold);
#else
    (void)threshold;
    return 0;
#endif
}

int cairn_release_free_memory(void) {
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}
