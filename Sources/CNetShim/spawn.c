#define _GNU_SOURCE
#include "CNetShim.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/syscall.h>

extern char **environ;

int cairn_spawn(const char *path, char *const argv[], int outfd, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&fa); return rc; }

    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0 && outfd >= 0) {
        rc = posix_spawn_file_actions_adddup2(&fa, outfd, 1);
        if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa, outfd, 2);
    } else if (rc == 0) {
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    /* Nothing of the server's reaches the program: not its sockets, not the store, whatever their flags. */
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);

    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, flags);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);      /* its own group: the timeout kills its children too */
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all); /* the server ignores SIGTERM/SIGHUP/SIGPIPE; the program must not */
    if (rc == 0) rc = posix_spawn(pid, path, &fa, &attr, argv, environ);

    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int cairn_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return -errno;
    (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    return (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}
