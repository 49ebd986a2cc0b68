import DNSWire
import GSLBCore
import Testing

/// A monitor's options parsed once into a typed check that the validator and the probers share (issue 12:
/// the validator parsed them with one parser and the probers with JSONSerialization on every probe, and they
/// accepted different spellings: `verify_tls: yes` passed a probe and failed validation).
@Suite struct MonitorCheckTests {
    @Test func eachKindParsesIntoItsTypedCheck() throws {
        let http = MonitorCheck.parse(Monitor(name: "w", type: .https, port: 8443, options: [
            "method": "HEAD", "path": "/healthz", "host": "www.example.com", "expect_status": "[200,204]",
            "expect_body": "ok", "verify_tls": "false", "sni": "sni.example.com"]))
        guard case .http(let h)? = http.check else { Issue.record("\(http.issues)"); return }
        #expect(h.tls && h.method == "HEAD" && h.path == "/healthz" && h.host == "www.example.com" && !h.verifyTLS)
        #expect(h.expectStatus == [200...200, 204...204] && h.expectBody == "ok" && h.sni == "sni.example.com")
        #expect(String(decoding: h.request(address: "192.0.2.1", port: 8443), as: UTF8.self)
                == "HEAD /healthz HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: cairn-health\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        let plain = MonitorCheck.HTTPCheck(tls: false)
        #expect(String(decoding: plain.request(address: "2001:db8::1", port: 8080), as: UTF8.self).contains("Host: [2001:db8::1]:8080\r\n"))

        guard case .dns(let d)? = MonitorCheck.parse(Monitor(name: "d", type: .dns, port: 53, options: [
            "query": #"{"name":"health.example.net.","type":"AAAA"}"#, "expect_rcode": "nxdomain", "expect_address": "2001:db8::5"])).check
        else { Issue.record("dns"); return }
        #expect(d.name == (try DomainName("health.example.net.")) && d.type == .aaaa && d.expectRcode == .nxDomain)
        #expect(d.expectAddress?.count == 16)
        guard case .dns(let byName)? = MonitorCheck.parse(Monitor(name: "d", type: .dns, port: 53, options: ["query": "a.example."])).check,
              case .dns(let byDefault)? = MonitorCheck.parse(Monitor(name: "d", type: .dns, port: 53)).check else { Issue.record("dns"); return }
        #expect(byName.type == .a && byDefault.name == .root && byDefault.type == .soa)
        // The map form without `type` asks for SOA (docs/config-file.md's `query` row says so).
        guard case .dns(let mapNoType)? = MonitorCheck.parse(Monitor(name: "d", type: .dns, port: 53, options: [
            "query": #"{"name":"health.example.net."}"#])).check else { Issue.record("dns map"); return }
        #expect(try mapNoType.type == .soa && mapNoType.name == DomainName("health.example.net."))

        guard case .command(let c)? = MonitorCheck.parse(Monitor(name: "c", type: .command, options: ["command": "check {address} --fast"])).check,
              case .tcp(let t)? = MonitorCheck.parse(Monitor(name: "t", type: .tcp, port: 22, options: ["send": "hi\n", "expect": "SSH-"])).check
        else { Issue.record("command/tcp"); return }
        #expect(c.argv == ["check", "{address}", "--fast"])
        #expect(t.send == Array("hi\n".utf8) && t.expect == "SSH-")
    }

    @Test func oneSpellingForEveryone() {
        // What the validator refuses no prober reads differently: the check is nil and says why.
        let yes = MonitorCheck.parse(Monitor(name: "w", type: .https, port: 443, options: ["verify_tls": "yes"]))
        #expect(yes.check == nil)
        #expect(yes.issues.map(\.description) == [#"verify_tls: expected true or false, got "yes""#])
        #expect(yes.bad?.key == "verify_tls" && yes.bad?.value == "yes")
        let status = MonitorCheck.parse(Monitor(name: "w", type: .http, port: 80, options: ["expect_status": #"["2xx", 700]"#]))
        #expect(status.issues.map(\.description) == [#"expect_status[0]: "2xx" is not an HTTP status (100…599)"#,
                                                     "expect_status[1]: 700 is not an HTTP status (100…599)"])
        let other = MonitorCheck.parse(Monitor(name: "t", type: .tcp, port: 1, options: ["path": "/", "color": "red"]))
        #expect(other.issues.map(\.description) == ["color: unknown monitor option", "path: not used by tcp monitors"])
    }
}
