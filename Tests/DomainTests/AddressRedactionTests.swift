import Domain
import Testing

@Suite struct AddressRedactionTests {
    @Test(arguments: [
        // SMTP replies and provider diagnostics quote the recipient.
        ("550 5.1.1 <jane.doe+news@example.com>: Recipient address rejected", "550 5.1.1 <[address]>: Recipient address rejected"),
        ("smtp;550 5.1.1 JANE@Example.CO.UK... User unknown", "smtp;550 5.1.1 [address]... User unknown"),
        ("mailbox jane@example.com is full.", "mailbox [address] is full."),
        ("from a@b.example to c_d@e-f.example", "from [address] to [address]"),
        // Links: the encoded form in a query, and only the address of `email=...`.
        ("https://example.com/u?email=jane%40example.com&t=1", "https://example.com/u?email=[address]&t=1"),
        ("https://example.com/unsubscribe/jane@example.com", "https://example.com/unsubscribe/[address]"),
        // Non-ASCII local parts and domains are addresses too.
        ("bounce for jürgen@bücher.example", "bounce for [address]"),
    ])
    func addressesGo(text: String, expected: String) {
        #expect(AddressRedaction.redacting(text) == expected)
    }

    @Test(arguments: [
        "250 2.0.0 Ok: queued as 4B2C1@mx",  // no dot after the @
        "250 OK id=1qAbC-0003x2-Ab",
        "550 user unknown @ example.com",  // nothing before the @
        "discount 50% off, 40 items",
        "https://example.com/p?x=%41%40",  // %40 with no domain after it
        "",
    ])
    func textWithoutAnAddressIsUnchanged(text: String) {
        #expect(AddressRedaction.redacting(text) == text)
    }
}
