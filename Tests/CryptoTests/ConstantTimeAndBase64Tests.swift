import Foundation
import Testing

@testable import Crypto

@Suite struct ConstantTimeTests {
    @Test func equalsComparesBytesAndLengths() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(ConstantTime.equals([], []))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([0, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(!ConstantTime.equals([], [0]))
    }
}

@Suite struct Base64Tests {
    @Test func standardRoundTripAndRejection() {
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm8=") == Array("fo".utf8))
        #expect(Base64.decode("Zm8") == nil)
        #expect(Base64.decode("Zm9v!mFy") == nil)
        #expect(Base64.decode("") == [])
    }

    @Test func encodingMatchesFoundationForEveryLengthAndTail() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<100 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
            #expect(Base64.encode(bytes[...]) == Data(bytes).base64EncodedString())
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }

    @Test func urlVariant() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf, 0x01]
        #expect(Base64.encode(bytes) == "+/+/AQ==")
        #expect(Base64.encodeURL(bytes) == "-_-_AQ")
        #expect(Base64.decodeURL("-_-_AQ") == bytes)
        #expect(Base64.decodeURL("-_-_AQ==") == bytes)
        #expect(Base64.decodeURL("+/+/AQ") == nil)
        #expect(Base64.decodeURL("A") == nil)
    }
}
