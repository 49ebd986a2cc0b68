#ifndef CAIRN_CNETSHIM_H
#define CAIRN_CNETSHIM_H
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/types.h>
#include "cairn_probe.h"

/* A batch of datagrams for recvmmsg/sendmmsg: the UDP hot path. */
typedef struct cairn_batch cairn_batch;

cairn_batch *cairn_batch_new(int slots, int slot_size);
void cairn_batch_free(cairn_batch *b);
/* Receives up to `slots` datagrams (blocking for the first, up to the socket's
   receive timeout). Returns the count, 0 on timeout/EINTR, -1 on error. */
int cairn_batch_recv(int fd, cairn_batch *b);
uint8_t *cairn_batch_in(cairn_batch *b, int i, int *len);
/* The peer address of datagram i as a sockaddr_storage (family in ss_family). */
const struct sockaddr_storage *cairn_batch_peer(cairn_batch *b, int i);
/* Copies the peer address of datagram i: returns 4 (hi=0, lo=IPv4), 6, or 0. */
int cairn_batch_peer_addr(cairn_batch *b, int i, uint64_t *hi, uint64_t *lo);
uint8_t *cairn_batch_out(cairn_batch *b, int i);
/* Marks reply i with `len` bytes (0 = no reply). */
void cairn_batch_set_reply(cairn_batch *b, int i, int len);
/* Sends every marked reply; returns the number sent. */
int cairn_batch_send(int fd, cairn_batch *b, int count);

/* Socket helpers. Return fd or -errno. */
int cairn_udp_socket(const char *host, int port, int reuseport, int rcvbuf);
int cairn_socket_port(int fd);
int cairn_set_recv_timeout_ms(int fd, int ms);

/* Thread helpers (the calling thread). */
/* Sets the kernel's name of the thread (truncated to 15 bytes): what top -H, ps -L and taskset see. */
void cairn_thread_set_name(const char *name);
/* Pins the thread to the `n` CPUs in `cpus`. 0, or -errno (EINVAL: a CPU this machine lacks). */
int cairn_thread_pin(const int *cpus, int n);
/* The number of CPUs the kernel knows (the highest usable CPU number + 1). */
int cairn_cpu_count(void);

/* Command monitors (spawn.c). */
/* Starts `path` with `argv` (NULL-terminated, the server's environment) in a process group of its own:
   stdin /dev/null, stdout and stderr to `outfd` (/dev/null when -1), every other descriptor closed, every
   signal at its default disposition and unblocked. 0 and the pid, or an errno. */
int cairn_spawn(const char *path, char *const argv[], int outfd, pid_t *pid);
/* pidfd_open(2): a close-on-exec descriptor that polls readable once `pid` has exited; -errno on failure. */
int cairn_pidfd_open(pid_t pid);
/* Hands the heap's free pages back to the system (glibc's malloc_trim(0)): a zone load frees the
   parsed records after indexing them, and glibc keeps those pages resident otherwise. Returns 1
   when memory was released, 0 when not (or on a C library without it). */
int cairn_release_free_memory(void);
/* Every allocation of `threshold` octets or more is mapped on its own and unmapped when freed (glibc's
   mallopt(M_MMAP_THRESHOLD), which also stops glibc from raising that threshold as large blocks are freed, up to
   32 MiB, after which a zone build's working tables stayed in the heap, resident, while the next zone was
   built). Returns 1 when set, 0 when not (or on a C library without it). */
int cairn_map_large_allocations(size_t threshold);
#endif
