import JSON

/// The data a template renders with: the customer's profile attributes under the send request's
/// own data.
public enum RenderData {
    /// `customer` attributes with `request` laid over them, the request winning.
    ///
    /// - `request` nil or `null`: the customer's attributes alone.
    /// - `request` an object: deep merge — for a key in both, two objects merge recursively
    ///   (request members win, customer-only members are kept), anything else takes the
    ///   request's value (an explicit `null` in the request replaces the customer's value).
    ///   Order: the customer's keys first, then the request's new keys.
    /// - `request` any other value (array, string…): it wins outright and is returned as is.
    public static func merge(customer: JSONObject, request: JSON?) -> JSON {
        switch request {
        case nil, .null?: return .object(customer)
        case .object(let object)?: return .object(deepMerge(customer, object))
        case let other?: return other
        }
    }

    static func deepMerge(_ base: JSONObject, _ over: JSONObject) -> JSONObject {
        var result = base
        for (key, value) in over.members {
            if case .object(let inner)? = result[key], case .object(let overInner) = value {
                result[key] = .object(deepMerge(inner, overInner))
            } else {
                result[key] = value
            }
        }
        return result
    }
}
