/// Which version of a template a send uses (pure).
///
/// The locale is the first of: the requested locale, the customer's locale, the template's
/// default locale, that the template has a version for. Within it, `version_name` picks by
/// name (else any locale's version of that name), otherwise the newest version of the locale.
enum TemplateVersionChoice {
    static func choose(
        _ template: TemplateRecord, requestedLocale: String?, customerLocale: String?, versionName: String?
    ) -> TemplateVersionRecord? {
        let locales = Set(template.versions.map { $0.locale.lowercased() })
        let locale =
            [requestedLocale, customerLocale, template.defaultLocale].compactMap { $0?.lowercased() }
            .first(where: locales.contains) ?? template.versions.last?.locale.lowercased()
        let inLocale = template.versions.filter { $0.locale.lowercased() == locale }
        if let versionName {
            return inLocale.last { $0.name == versionName } ?? template.versions.last { $0.name == versionName }
        }
        return inLocale.last
    }
}
