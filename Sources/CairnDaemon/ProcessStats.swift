import Foundation

/// `RLIMIT_NOFILE` as `getrlimit` and `setrlimit` take it (`cairn serve` raises the limit with it too).
#if canImport(Glibc)
public let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
public let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif

/// The standard `process_*` metrics, read from /proc (Linux) and getrusage.
/// Values that cannot be read are nil and left out.
struct ProcessStats {
    var residentBytes: Double?
    var virtualBytes: Double?
    var cpuSeconds: Double?
    var openFDs: Double?
    var maxFDs: Double?

    static func read() -> ProcessStats {
        var s = ProcessStats()
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let f = statm.split(separator: " ")
            if f.count >= 2, let v = Double(f[0]), let r = Double(f[1]) {
                s.virtualBytes = v * page
                s.residentBytes = r * page
            }
        }
        var ru = rusage()
        if getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru) == 0 {
            s.cpuSeconds = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) / 1e6
                + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) / 1e6
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            s.openFDs = Double(fds.count)
        }
        var lim = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &lim) == 0 && lim.rlim_cur != rlim_t.max { s.maxFDs = Double(lim.rlim_cur) }
        return s
    }

    /// Process start, seconds since the epoch: boot time + start ticks (Linux); else now.
    static let startTime: Double = {
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")"),
           let procStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
           let btimeLine = procStat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
           let btime = Double(btimeLine.dropFirst(6).trimmingCharacters(in: .whitespaces)) {
            // Fields after the command: state is field 3, starttime field 22.
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            if rest.count > 19, let ticks = Double(rest[19]) {
                return btime + ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
            }
        }
        return Date().timeIntervalSince1970
    }()
}
