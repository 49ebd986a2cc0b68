import CNetShim
import Foundation

/// A dedicated thread with its name in the kernel (`top -H`, `ps -L`, `taskset -p`): Foundation's
/// `Thread.name` does not reach it on Linux. The UDP workers (`cairn-udp-N`, pinned by `--udp-cpus`)
/// the health scheduler (`cairn-health`), drills (`cairn-drill`) and the store watcher (`cairn-store-watch`) run on these.
public enum NamedThread {
    /// `stackSize` nil: Foundation's default.
    public static func start(_ name: String, stackSize: Int? = nil, cpu: Int? = nil, _ body: @escaping @Sendable () -> Void) {
        let t = Thread {
            cairn_thread_set_name(name)
            if let cpu {
                var c = Int32(cpu)
                let rc = cairn_thread_pin(&c, 1)
                if rc != 0 {
                    FileHandle.standardError.write(Data("cairn: \(name): cannot pin to CPU \(cpu): \(String(cString: strerror(-rc)))\n".utf8))
                }
            }
            body()
        }
        t.name = name
        if let stackSize { t.stackSize = stackSize }
        t.start()
    }
}
