import Crypto

/// A P-256 key pair and signature made with the `openssl` command line (not this module):
/// `openssl ecparam -name prime256v1 -genkey`, `openssl dgst -sha256 -sign`.
enum ECDSAFixture {
    static let message = #"1700000000{"event":"open"}"#
    static let publicKeyBase64 =
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEw+WKJ+OI7Ut5vmcYaXR0AUGgYw1W3TqvQg1lrVs6o8+x2dFEC++Ie2fafuKvePDU83yGKx4j9Gpx0fODGF1fVg=="
    static let signatureBase64 =
        "MEYCIQDKuWIbxDhDgdOr9eGFXEAPQZ2w8i/9YIRnPT/DoRbiFQIhAKSh9f0ds/vG3LFKtnWLRNpQn+1UZZ5Y8dj+Ljc8tlMy"
}

/// An RSA-2048 self-signed certificate and signatures made with the `openssl` command line:
/// `openssl req -x509 -newkey rsa:2048 -subj /CN=sns.us-east-1.amazonaws.com -days 3650`,
/// `openssl dgst -sha1 -sign` and `openssl dgst -sha256 -sign` over ``message``.
enum RSAFixture {
    static let message = ECDSAFixture.message
    static let certificatePEM = """
    -----BEGIN CERTIFICATE-----
    MIIDLTCCAhWgAwIBAgIUTe2bzvBlhmSwLEj9xlVp8pv/Z0cwDQYJKoZIhvcNAQEL
    BQAwJjEkMCIGA1UEAwwbc25zLnVzLWVhc3QtMS5hbWF6b25hd3MuY29tMB4XDTI2
    MTEyMjAyMDk1MVoXDTM2MTExOTAyMDk1MVowJjEkMCIGA1UEAwwbc25zLnVzLWVh
    c3QtMS5hbWF6b25hd3MuY29tMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKC
    AQEArfdBUIa2MAif0ZMbMaOrOslCfXYq9zuXgSUwVrqCd9xvnEUUjkZM56N0stmv
    Ajzw6bzurHK1YZ4zC35ZKxdPSUbXM0sXVjcON8YK4OtLVDvPvjEeIh0zP9c6FKq5
    vuDR7109xNntdq2XKXeav8M6RGPOJW3+BVVL/L20LexhJAoy+sImb9Eck3HQDIwj
    cmMqnjazfM2aEjd6qCtT7toawsSo114nVSNbdpYp4OkGydpmmKw9dJHEpGnylaFN
    4m41+qONQyFAediVA0lI42olZnKh3VwgyK0E8xN86HVeLKBlfPIhUT9eWSUAh+Rh
    GeO9+2pIQzMa5YSy1L1fh3GDeQIDAQABo1MwUTAdBgNVHQ4EFgQUDM4VwlOc1Rhj
    OL5Xkoa+Y54iFccwHwYDVR0jBBgwFoAUDM4VwlOc1RhjOL5Xkoa+Y54iFccwDwYD
    VR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAEqH2Z3HXOkcN1iCkfpIN
    onCOXT8NJ+4tnjioj/eZEoteRNl97y9wdHHwMN8kBCXLIvDDWT+WX1sFtaXsL5On
    +OBWeheOFC8Zqd7ReNuAbN6oHVHoQVroFcJ2LjvMcizwr9PcRgIGIZ9+LQGwQl0J
    GR9Ssw+pXzRev0vGJY9+nonMi0RRQ8AkqmYDzdwuxta8HPDlm0LWBGR/HetXN9HV
    0H9b8rnw8f0SeBfFhVtLhmNvyuea+4c+eGdV+ESI2peywNMNN6n4WZLWdKSRXL8Q
    A7U4quYzoptNJf6I/+KSeUpfcZBGYGhnMHVURwkpJKwLh3DFpz+aV1wuFumrz8gE
    Bw==
    -----END CERTIFICATE-----
    """
    static let sha1SignatureBase64 =
        "eeei1XsmhnZyRn6bmtrGDGSRhpzjNHfT9m4Fpc8v6lAAKjcbw6baFlQt9Km7TvMDVH4CXdG3dxPx+vmpGn2ZEmUb8wWPz+igCCInkqjUp6MNkjmMdQJWLhH5NEJAUTkfppTPC/19+ualcXk31NGYzl2C9VYOhk2dqGgTdLrB7hKD2VuHFS8lxy/t7LMxHjsgBPC7yYyZwxDOQ8DOaVhxpbI301wW+9JDP0GvsoY07gXhDsvECqYnKvSfG5FJGxY1bn6MDZ7Jy9Guybil8CpWrczw3amwX9JGPwmHIjircsfyTQJq8ugPjzO5TJmOBLzOc9Owvh6v6CHtZODdXhv9vQ=="
    static let sha256SignatureBase64 =
        "ANJtZG2sT2svMGV0SyrRoXP3ZoCbyi6RJHWAV9RyHOLhWLGhFVgCnJdgCLqCSUTSGR73ceaTYxY9oRxogCMgtHjDQioSeSs2myeld5aLdffF5MdOKtFfpUHTndAj6ZnA1unti7JED+T3YoleR612l1jmAV6epQDfYwsegdoWeqWfHmH9NjYF+M2c+zU3C69X/bWSBX03LfeOKxbkm/5Fz6mVVvcyKhiqqLC+uCMCHW8oZzMesL4BTMVLlRbFoxas3J/fokljIX6DovFZFuiFpwJUPis/JKTPn/XiDvZlRqTXteJopcdXvLSXs+/aNpP2P9Q7090Jym+vMcSShPFXcg=="
}

/// RSA authorities are slow to generate, so tests share two.
enum RSAFixtures {
    static let authority = RSATestAuthority.generate(commonName: "sns.us-east-1.amazonaws.com")
    static let otherAuthority = RSATestAuthority.generate(commonName: "attacker.example")
}
