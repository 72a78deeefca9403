import Dispatch
import Foundation
import Mail

/// Runs `body` `iterations` times, five rounds, and prints the median per call.
func measure(_ label: String, iterations: Int = 50_000, _ body: () throws -> Int) rethrows {
    var sink = 0
    for _ in 0..<1_000 { sink &+= try body() }  // warm up
    var rounds: [Double] = []
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { sink &+= try body() }
        rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    rounds.sort()
    print("\(label): median \(Int(rounds[2])) ns/op (rounds \(rounds.map { Int($0) }), sink \(sink & 1))")
}

// Shaped like what delivery sends in bench/delivery/run.py: a brand sender with a name, one
// recipient, the two tracking headers, a short text and HTML body.
let message = MailMessage(
    from: MailAddress("b@bench.example", name: "Bench"),
    to: [MailAddress("r12.34@example.com")],
    subject: "Your token t34",
    textBody: "Hello,\nyour token is t34 and you have 34 photos.\n\n-- \nBench",
    htmlBody: "<p>Hello,</p>\n<p>your token is <b>t34</b> and you have 34 photos.</p>",
    extraHeaders: [
        MailHeader("X-SMTPAPI", #"{"unique_args":{"log_id":"log_0195a2b3c4d5e6f708192a3b4c5d6e7f"}}"#),
        MailHeader("X-Mailgun-Variables", #"{"log_id":"log_0195a2b3c4d5e6f708192a3b4c5d6e7f"}"#),
    ],
    messageID: "<log_0195a2b3c4d5e6f708192a3b4c5d6e7f@bench.example>")
let builder = MIMEBuilder()
let rendered = try builder.render(message)
print("message: \(rendered.count) bytes")
try measure("MIMEBuilder.render") { try builder.render(message).count }
measure("DotStuffing.dataPayload") { DotStuffing.dataPayload(rendered).count }
let replies = Array("250 2.0.0 Ok: queued as 4XyZ\r\n".utf8)
measure("SMTPReplyParser, one reply") {
    var parser = SMTPReplyParser()
    parser.append(replies)
    return (try? parser.next())?.code ?? 0
}
