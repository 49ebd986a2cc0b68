import Foundation
import PackagePlugin

/// Bakes the git commit the binary is built from into the target (`BuildCommit.hash`, for `cairn --version` and
/// `cairn_build_info`): before every build, `/bin/sh` asks git for the short hash (12 digits, `-dirty` when the
/// tree has changes) and rewrites `BuildCommit.swift` only when it changed, so an unchanged commit recompiles
/// nothing. Outside a git checkout (a source tarball, the image's build context) the hash is empty.
@main
struct BuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.pluginWorkDirectoryURL
        let file = directory.appendingPathComponent("BuildCommit.swift")
        let script = """
            c=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || c=""
            if [ -n "$c" ] && ! git -C "$1" diff --quiet HEAD -- 2>/dev/null; then c="$c-dirty"; fi
            t="$2.tmp"
            printf '/// The git commit of this build (empty outside a checkout): Plugins/BuildCommit.\\npublic enum BuildCommit {\\n    public static let hash = "%s"\\n}\\n' "$c" > "$t"
            if cmp -s "$t" "$2"; then rm -f "$t"; else mv "$t" "$2"; fi
            """
        return [.prebuildCommand(displayName: "BuildCommit: the git commit of this build",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "sh", context.package.directoryURL.path, file.path],
                                 outputFilesDirectory: directory)]
    }
}
