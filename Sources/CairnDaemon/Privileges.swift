import Foundation

/// `cairn serve --user NAME`: start as root, open the store and bind the sockets (port 53),
/// then become NAME for good — its uid and gid only, no supplementary groups, no
/// capabilities, and `NoNewPrivs` so that nothing it runs (command monitors) can gain any.
///
/// Order in `Daemon.make` (see docs/operations.md, Privileges, and docs/security.md):
///   1. `lookup(user:)` and `forbidNewPrivileges()` first, before any thread exists:
///      `NoNewPrivs` is a per-thread attribute inherited by threads created later;
///   2. `refuseUnsafeFiles(storeFiles(db:))`, then open the store, bind DNS, write the pid file — as root;
///   3. `prepareFiles(storeFiles(db:) + [pidFile], for:)`, then `drop(to:)`;
///   4. only then the admin API, probes, drills and the reaper: no request is accepted and nothing runs as root.
/// glibc's setgroups/setgid/setuid apply to every thread of the process, and the kernel
/// clears each thread's permitted and effective capabilities when its uid leaves 0.
public enum Privileges {
    public struct Account: Sendable, Equatable, CustomStringConvertible {
        public let name: String
        public let uid: uid_t
        public let gid: gid_t
        public var description: String { "\(name) (uid \(uid), gid \(gid))" }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let message: String
        init(_ message: String) { self.message = message }
        public var description: String { message }
    }

    /// The account of a user name (or a numeric uid, whose primary group is used).
    public static func lookup(user: String) throws -> Account {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        var rc = getpwnam_r(user, &pwd, &buffer, buffer.count, &result)
        if result == nil, rc == 0, let n = UInt32(user) {
            rc = getpwuid_r(uid_t(n), &pwd, &buffer, buffer.count, &result)
        }
        guard rc == 0 else { throw Failure("--user: cannot look up \"\(user)\": \(String(cString: strerror(rc)))") }
        guard result != nil else { throw Failure("--user: no user \"\(user)\" (getpwnam)") }
        let account = Account(name: String(cString: pwd.pw_name), uid: pwd.pw_uid, gid: pwd.pw_gid)
        guard account.uid != 0 else { throw Failure("--user: \"\(user)\" is root; give an unprivileged user") }
        return account
    }

    /// The store's files: the SQLite file and its `-wal` and `-shm` companions (whether or not they exist).
    public static func storeFiles(db: String) -> [String] {
        [db, db + "-wal", db + "-shm"]
    }

    /// Refuses store files that root must not open by path: a symbolic link (root's SQLite would follow it and
    /// write the file it names), anything but a regular file, or a file with more than one hard link (another name
    /// for a file elsewhere). Where the store's directory belongs to the service user, that user could plant
    /// either before a start; called before root opens the store. Missing paths are fine (SQLite creates them).
    public static func refuseUnsafeFiles(_ paths: [String]) throws {
        for path in paths {
            var st = stat()
            guard lstat(path, &st) == 0 else {
                if errno == ENOENT { continue }
                throw Failure("--user: cannot check \(path): \(String(cString: strerror(errno)))")
            }
            try check(path, st)
        }
    }

    private static func check(_ path: String, _ st: stat) throws {
        let type = st.st_mode & S_IFMT
        if type == S_IFLNK { throw Failure("--user: \(path) is a symbolic link; refusing to open it as root (docs/security.md)") }
        guard type == S_IFREG else { throw Failure("--user: \(path) is not a regular file; refusing (docs/security.md)") }
        guard st.st_nlink == 1 else {
            throw Failure("--user: \(path) has \(st.st_nlink) hard links; refusing to give it away (docs/security.md)")
        }
    }

    /// Gives each existing path to the account and makes it 0600 (the store and the pid file
    /// were created by root; SQLite reopens the store by path after the drop). Each file is opened
    /// with `O_NOFOLLOW` and changed through its descriptor (`fchown`, `fchmod`), after checking on that
    /// same descriptor that it is a regular file with one link: swapping a path for a link or a hard
    /// link between the check and the change hands nothing over. Missing paths are skipped.
    /// Returns warnings for directories the account cannot enter.
    @discardableResult
    public static func prepareFiles(_ paths: [String], for account: Account) throws -> [String] {
        var warnings: [String] = []
        for path in paths {
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
            guard fd >= 0 else {
                if errno == ENOENT { continue }
                if errno == ELOOP { throw Failure("--user: \(path) is a symbolic link; refusing to give it to \(account.name) (docs/security.md)") }
                throw Failure("--user: cannot open \(path): \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw Failure("--user: cannot stat \(path): \(String(cString: strerror(errno)))") }
            try check(path, st)
            guard fchown(fd, account.uid, account.gid) == 0 else {
                throw Failure("--user: cannot chown \(path) to \(account.name): \(String(cString: strerror(errno)))")
            }
            guard fchmod(fd, 0o600) == 0 else {
                throw Failure("--user: cannot chmod 0600 \(path): \(String(cString: strerror(errno)))")
            }
            let dir = (path as NSString).deletingLastPathComponent
            if !canEnter(dir.isEmpty ? "." : dir, as: account) {
                warnings.append("\(account.name) cannot enter \(dir): the store cannot be reopened after the drop")
            }
        }
        return warnings
    }

    /// Sets `NoNewPrivs` on the calling thread (inherited by every thread created after it,
    /// and across execve): call it before anything starts a thread.
    public static func forbidNewPrivileges() throws {
        let PR_SET_NO_NEW_PRIVS: Int32 = 38
        guard prctl5(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 else {
            throw Failure("prctl(PR_SET_NO_NEW_PRIVS): \(String(cString: strerror(errno)))")
        }
    }

    /// Becomes `account` for good and checks that there is no way back: real, effective,
    /// saved and filesystem ids are the account's, its group is the only group, root cannot
    /// be regained, and no capability is left (`/proc/self/status`: CapPrm, CapEff, CapInh
    /// and CapAmb 0). Sets `NoNewPrivs` on the calling thread too. Throws (and the caller
    /// must exit) when any of it did not hold.
    public static func drop(to account: Account) throws {
        guard geteuid() == 0 else {
            if getuid() == account.uid { return }   // already that user: nothing to drop
            throw Failure("--user: switching to \(account.name) needs root (running as uid \(getuid()))")
        }
        var groups = [account.gid]
        guard setgroups(1, &groups) == 0 else { throw Failure("setgroups([\(account.gid)]): \(String(cString: strerror(errno)))") }
        // As root, setgid and setuid set the real, effective and saved ids alike (setres*id
        // are not visible to Swift without _GNU_SOURCE); the checks below read all four back.
        guard setgid(account.gid) == 0 else { throw Failure("setgid(\(account.gid)): \(String(cString: strerror(errno)))") }
        guard setuid(account.uid) == 0 else { throw Failure("setuid(\(account.uid)): \(String(cString: strerror(errno)))") }
        try forbidNewPrivileges()

        guard setuid(0) != 0 else { throw Failure("after the drop: setuid(0) succeeded") }
        let status = try processStatus()
        // "Uid:  real effective saved filesystem"
        let uids = status["Uid"]?.split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) } ?? []
        let gids = status["Gid"]?.split(whereSeparator: \.isWhitespace).compactMap { UInt32($0) } ?? []
        guard uids.count == 4, uids.allSatisfy({ $0 == account.uid }), gids.count == 4, gids.allSatisfy({ $0 == account.gid }),
              status["Groups"] == "\(account.gid)" else {
            throw Failure("after the drop: Uid \(status["Uid"] ?? "?"), Gid \(status["Gid"] ?? "?"), Groups \(status["Groups"] ?? "?"); "
                          + "expected \(account.uid), \(account.gid) and only \(account.gid)")
        }
        for key in ["CapPrm", "CapEff", "CapInh", "CapAmb"] {
            if let v = status[key], UInt64(v, radix: 16) != 0 {
                throw Failure("after the drop: \(key) is \(v), expected 0")
            }
        }
        guard status["NoNewPrivs"] == "1" else {
            throw Failure("after the drop: NoNewPrivs is \(status["NoNewPrivs"] ?? "missing"), expected 1")
        }
    }

    /// `/proc/self/status` as key → value (`CapEff` → `0000000000000000`).
    public static func processStatus() throws -> [String: String] {
        let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// Whether the account may search (enter) every directory on the way to `dir`.
    private static func canEnter(_ dir: String, as account: Account) -> Bool {
        var path = URL(fileURLWithPath: dir).standardizedFileURL.path
        while true {
            var st = stat()
            guard stat(path, &st) == 0 else { return false }
            let mode = st.st_mode
            let ok = st.st_uid == account.uid ? mode & 0o100 != 0
                : st.st_gid == account.gid ? mode & 0o010 != 0
                : mode & 0o001 != 0
            if !ok { return false }
            if path == "/" { return true }
            path = (path as NSString).deletingLastPathComponent
            if path.isEmpty { return true }
        }
    }

    /// prctl(2) with five arguments. Swift does not import C variadic functions, so it is
    /// called through a fixed-arity pointer: on Linux (x86-64, arm64) integer arguments of
    /// a variadic call travel in the same registers as those of a fixed one.
    private static func prctl5(_ option: Int32, _ a: UInt, _ b: UInt, _ c: UInt, _ d: UInt) -> Int32 {
        typealias Fn = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "prctl") else {
            errno = ENOSYS
            return -1
        }
        return unsafeBitCast(sym, to: Fn.self)(option, a, b, c, d)
    }
}
