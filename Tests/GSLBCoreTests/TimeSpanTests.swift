import GSLBCore
import Testing

/// One duration syntax for every file key, API field and flag (issue 12: `cairn token create --expires 1w`
/// worked while `cairn drain --for 1w` was refused; four parsers disagreed).
@Suite struct TimeSpanTests {
    @Test func everyUnitReadsTheSameEverywhere() {
        let cases: [(String, Double)] = [("500ms", 0.5), ("30s", 30), ("1.5s", 1.5), ("15m", 900), ("2h", 7200),
                                         ("30d", 2_592_000), ("1w", 604_800), ("2H", 7200), (" 10s ", 10), ("1e3ms", 1)]
        for (text, seconds) in cases {
            #expect(TimeSpan.seconds(text) == seconds, "\(text)")
        }
        #expect(TimeSpan("1w")?.wholeMilliseconds == 604_800_000)
        #expect(TimeSpan("1.5s")?.wholeMilliseconds == 1500)
        #expect(TimeSpan("0.0005s")?.wholeMilliseconds == nil, "not a whole number of milliseconds")
        #expect(TimeSpan("1e3ms")?.wholeMilliseconds == nil, "exponents are not exact")
    }

    @Test func whatIsNotADurationIsRefused() {
        for text in ["", "s", "10", "-5s", "+5s", "5 s", "5y", "5sec", ".5s", "5..s", "ms"] {
            #expect(TimeSpan(text) == nil, "\(text)")
        }
    }

    @Test func theFormatterWritesTheLargestExactUnitAndReadsBack() {
        #expect(TimeSpan.text(milliseconds: 1500) == "1500ms")
        #expect(TimeSpan.text(milliseconds: 30_000) == "30s")
        #expect(TimeSpan.text(milliseconds: 120_000) == "2m")
        #expect(TimeSpan.text(milliseconds: 172_800_000) == "48h")
        #expect(TimeSpan.text(milliseconds: 0) == "0ms")
        for seconds in [0.25, 1, 59, 3600, 604_800, 1.0 / 3] {
            #expect(TimeSpan.seconds(TimeSpan.text(seconds: seconds)) == seconds, "\(seconds)")
        }
    }
}
