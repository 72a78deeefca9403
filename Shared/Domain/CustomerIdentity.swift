/// One customer namespace per tenant: sendwithus names customers by email, customer.io by any id
/// (often an email too). An id that is an email address is compared without case, so both APIs
/// reach the same customer.
public enum CustomerIdentity {
    /// The canonical form of a customer id: lowercased when it is an email address.
    public static func normalize(_ id: String) -> String {
        EmailAddressRules.isValid(id) ? id.lowercased() : id
    }
}
