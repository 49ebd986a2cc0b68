import Foundation
import Testing

/// The man pages and shell completions (issue 17 item 6), generated in the test run by scripts/gen-cli-docs from
/// the commands' swift-argument-parser definitions, as the Dockerfile installs them.
@Suite struct CLIDocsTests {
    /// Every command path of `cairn --experimental-dump-help`: `cairn`, `cairn member`, `cairn member delete` ...
    static func commandPaths(_ node: [String: Any], prefix: [String] = []) -> [[String]] {
        let path = prefix + [node["commandName"] as? String ?? "?"]
        let children = node["subcommands"] as? [[String: Any]] ?? []
        return [path] + children.flatMap { commandPaths($0, prefix: path) }
    }

    @Test func everyCommandHasAManPageAndTheCompletionsParseAndComplete() throws {
        let out = try Paths.tempDir()
        defer { try? FileManager.default.removeItem(at: out) }
        // scripts/test builds swift-argument-parser's generate-manual beside cairn (a test cannot run SwiftPM).
        let tool = Paths.cairnBinary.deletingLastPathComponent().appendingPathComponent("generate-manual").path
        #expect(FileManager.default.isExecutableFile(atPath: tool),
                "\(tool) is missing: scripts/test builds it (swift build --product generate-manual)")
        let (status, log) = try CairnProcess.runCapturing(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["CAIRN_BIN=\(Paths.cairnBinary.path)", "GENERATE_MANUAL=\(tool)",
             Paths.packageRoot.appendingPathComponent("scripts/gen-cli-docs").path, out.path])
        try #require(status == 0, "\(log)")

        let (_, dump) = try CairnProcess.run(["--experimental-dump-help"])
        let info = try #require(try JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: Any])
        let paths = Self.commandPaths(try #require(info["command"] as? [String: Any]))
        #expect(paths.count > 50, "\(paths.count) commands")
        #expect(paths.contains(["cairn", "member", "delete"]) && paths.contains(["cairn", "check-zone"]))
        for path in paths {
            let page = out.appendingPathComponent("man1/\(path.joined(separator: ".")).1").path
            #expect(FileManager.default.fileExists(atPath: page), "no man page for \(path.joined(separator: " "))")
        }
        // Every page renders without a groff warning; the serve page documents its flags.
        let pages = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("man1").path)
        let (groffStatus, warnings) = try CairnProcess.runCapturing(
            URL(fileURLWithPath: "/usr/bin/groff"), ["-mdoc", "-ww", "-z"] + pages.map { out.appendingPathComponent("man1/\($0)").path })
        #expect(groffStatus == 0 && warnings.isEmpty, "\(warnings)")
        let serve = try String(contentsOf: out.appendingPathComponent("man1/cairn.serve.1"), encoding: .utf8)
        #expect(serve.contains("zones") && serve.contains("metrics"), "\(serve.prefix(500))")

        // The completions parse in their shells and complete a resource's verbs.
        let completions = out.appendingPathComponent("completions")
        let bash = """
            source "$1/cairn.bash"
            COMP_WORDS=(cairn member d); COMP_CWORD=2; COMP_LINE="cairn member d"; COMP_POINT=${#COMP_LINE}
            _cairn
            echo "${COMPREPLY[*]}"
            """
        let (bashStatus, bashOut) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/bin/bash"),
                                                                 ["-c", bash, "bash", completions.path])
        #expect(bashStatus == 0 && bashOut.contains("delete") && bashOut.contains("create"), "\(bashOut)")
        let (zshStatus, zshOut) = try CairnProcess.runCapturing(URL(fileURLWithPath: "/usr/bin/zsh"),
                                                               ["-n", completions.appendingPathComponent("_cairn").path])
        #expect(zshStatus == 0, "\(zshOut)")
        let (fishStatus, fishOut) = try CairnProcess.runCapturing(
            URL(fileURLWithPath: "/usr/bin/fish"),
            ["-c", "source \(completions.appendingPathComponent("cairn.fish").path); complete -C 'cairn member d'"])
        #expect(fishStatus == 0 && fishOut.contains("delete"), "\(fishOut)")
    }
}
