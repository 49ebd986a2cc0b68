import Foundation
import GSLBConfigFile
import GSLBCore
import Testing

/// One broken file per rule under Fixtures/invalid/. Each starts with `# expect: PATH | TEXT`
/// lines: the file must produce exactly those issues, each at exactly PATH with TEXT in its message.
struct InvalidFixture: CustomTestStringConvertible, Sendable {
    var name: String
    var text: String
    var expected: [(path: String, message: String)]
    var testDescription: String { name }

    static let all: [InvalidFixture] = {
        let dir = Files.fixtures.appendingPathComponent("invalid")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { name in
            let text = try! String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            let expected = text.split(separator: "\n").compactMap { line -> (String, String)? in
                guard line.hasPrefix("# expect: ") else { return nil }
                let parts = line.dropFirst("# expect: ".count).components(separatedBy: " | ")
                return (parts[0].trimmingCharacters(in: .whitespaces), parts[1])
            }
            return InvalidFixture(name: String(name.dropLast(5)), text: text, expected: expected)
        }
    }()
}

@Suite struct InvalidFixtureTests {
    @Test func thereIsABrokenFixtureForAtLeastFortyRules() {
        #expect(InvalidFixture.all.count >= 40)
        #expect(InvalidFixture.all.allSatisfy { !$0.expected.isEmpty })
    }

    @Test(arguments: InvalidFixture.all)
    func brokenFileReportsExactlyItsIssuesAtTheirPlaces(_ f: InvalidFixture) {
        let issues = ExampleZone.issues(f.text)
        #expect(issues.count == f.expected.count, "\(f.name): \(issues)")
        for e in f.expected {
            #expect(issues.contains { $0.path == e.path && $0.message.contains(e.message) },
                    "\(f.name): expected \(e.path): …\(e.message)…, got \(issues)")
        }
    }

    @Test func anInvalidFileIsNeverAcceptedByTheDecoderAndValidatorTogether() {
        for f in InvalidFixture.all {
            #expect(ExampleZone.check(f.text).config == nil, "\(f.name)")
        }
    }
}
