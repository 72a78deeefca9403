import Testing

@testable import Webhooks

@Suite struct SNSCertificateURLPolicyTests {
    static let allowedByDefault = [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-a86cb10b4e1f29c941702d737128f7b6.pem",
        "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem",
        "https://sns.ap-southeast-2.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-1.pem",
        "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-1.pem",
    ]

    static let refusedByDefault = [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",  // not https
        "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem",  // lookalike
        "https://sns.us-east-1.amazonaws.com.cn/SimpleNotificationService-1.pem",  // .cn for a non-China region
        "https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.evil.com/x.pem",
        "https://evilsns.us-east-1.amazonaws.com/x.pem",
        "https://sns.amazonaws.com/x.pem",  // no region
        "https://s3.us-east-1.amazonaws.com/x.pem",  // other AWS service
        "https://sns.us-east-1.amazonaws.com@evil.com/x.pem",  // userinfo
        "https://evil.com@sns.us-east-1.amazonaws.com/x.pem",  // userinfo
        "https://user:pw@sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com:8443/x.pem",  // other port
        "https://sns.us-east-1.amazonaws.com:/x.pem",
        "https://sns.us-east-1.amazonaws.com",  // no path
        "https://sns.us-east-1.amazonaws.com\\@evil.com/x.pem",  // backslash
        "https://sns.us-east-1.amazonaws.com /x.pem",  // space
        "https://sns.us-east-1.amazonaws.com%2eevil.com/x.pem",
        "https://sns.us-east-1.amazonaws.com./x.pem",  // trailing dot
        "https://sns.us-east-1.amazonaws.com/x.txt",  // not a .pem
        "https://sns.us-east-1.amazonaws.com/x.pem?download=1",
        "ftp://sns.us-east-1.amazonaws.com/x.pem",
        "//sns.us-east-1.amazonaws.com/x.pem",
        "",
    ]

    @Test(arguments: allowedByDefault)
    func allowsSNSHosts(url: String) {
        let policy = SNSCertificateURLPolicy()
        #expect(policy.allowsSigningCertificateURL(url))
        #expect(policy.allowsSubscribeURL(url))
    }

    @Test(arguments: refusedByDefault)
    func refusesEverythingElse(url: String) {
        #expect(!SNSCertificateURLPolicy().allowsSigningCertificateURL(url))
    }

    @Test func subscribeURLNeedsNoPem() {
        let policy = SNSCertificateURLPolicy()
        let url = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37fb"
        #expect(policy.allowsSubscribeURL(url))
        #expect(!policy.allowsSigningCertificateURL(url))
        #expect(!policy.allowsSubscribeURL("https://sns.us-west-2.amazonaws.com.evil.com/?Action=ConfirmSubscription"))
    }

    @Test func configuredPrefixesReplaceTheHostRule() {
        let policy = SNSCertificateURLPolicy(commaSeparatedPrefixes: " http://127.0.0.1:41234/ , https://localhost:8443/certs/")
        #expect(policy.allowedPrefixes == ["http://127.0.0.1:41234/", "https://localhost:8443/certs/"])
        #expect(policy.allowsSigningCertificateURL("http://127.0.0.1:41234/cert.pem"))
        #expect(policy.allowsSubscribeURL("http://127.0.0.1:41234/confirm?token=1"))
        #expect(policy.allowsSigningCertificateURL("https://localhost:8443/certs/a"))
        #expect(!policy.allowsSigningCertificateURL("http://127.0.0.1:41235/cert.pem"))
        #expect(!policy.allowsSigningCertificateURL("https://localhost:8443/other/a"))
        #expect(!policy.allowsSigningCertificateURL("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem"))
        #expect(!policy.allowsSigningCertificateURL("http://127.0.0.1:41234/a b.pem"))
    }

    @Test func blankConfigurationMeansDefault() {
        #expect(SNSCertificateURLPolicy(commaSeparatedPrefixes: nil).allowedPrefixes == nil)
        #expect(SNSCertificateURLPolicy(commaSeparatedPrefixes: " , ").allowedPrefixes == nil)
        #expect(SNSCertificateURLPolicy(allowedPrefixes: []).allowedPrefixes == nil)
    }
}
