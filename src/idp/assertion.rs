//! What a SAML response says that AWS cares about: the roles it grants (`role_arn,provider_arn`
//! pairs), the role session name, the session duration it allows, and when it was issued. Pure:
//! base64 and XML in, facts out; the signature is for AWS to check, not us.

use base64::Engine as _;

const ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssertionError {
    #[error("the identity provider's SAML response is not base64")]
    NotBase64,
    #[error("the identity provider's SAML response is not XML: {0}")]
    NotXml(String),
    #[error("the identity provider's SAML response grants no AWS role (no {ROLE} attribute)")]
    NoRoles,
}

/// One AWS role the assertion lets its holder assume, and the SAML provider that vouches for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleChoice {
    pub role_arn: String,
    pub provider_arn: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assertion {
    pub roles: Vec<RoleChoice>,
    pub session_name: Option<String>,
    pub session_duration: Option<u64>,
    pub issue_instant: Option<String>,
}

/// Parses the base64 `SAMLResponse` value as the IdP posted it.
pub fn parse(saml_response: &str) -> Result<Assertion, AssertionError> {
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| AssertionError::NotBase64)?;
    let xml = String::from_utf8(bytes).map_err(|e| AssertionError::NotXml(e.to_string()))?;
    let options = roxmltree::ParsingOptions {
        // SAML responses carry no DTD; refusing one keeps entity expansion out entirely.
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&xml, options)
        .map_err(|e| AssertionError::NotXml(e.to_string()))?;

    let mut roles = Vec::new();
    let mut session_name = None;
    let mut session_duration = None;
    for attribute in doc
        .descendants()
        .filter(|n| n.has_tag_name((ASSERTION_NS, "Attribute")))
    {
        let values = attribute
            .children()
            .filter(|n| n.has_tag_name((ASSERTION_NS, "AttributeValue")))
            .map(|n| n.text().unwrap_or_default().trim().to_owned());
        match attribute.attribute("Name") {
            Some(ROLE) => roles.extend(values.filter_map(|v| role_pair(&v))),
            Some(SESSION_NAME) => session_name = values.into_iter().next(),
            Some(SESSION_DURATION) => {
                session_duration = values.into_iter().next().and_then(|v| v.parse().ok())
            }
            _ => {}
        }
    }
    if roles.is_empty() {
        return Err(AssertionError::NoRoles);
    }
    let issue_instant = doc
        .descendants()
        .find(|n| n.has_tag_name((ASSERTION_NS, "Assertion")))
        .and_then(|n| n.attribute("IssueInstant"))
        .map(str::to_owned);
    Ok(Assertion {
        roles,
        session_name,
        session_duration,
        issue_instant,
    })
}

/// `role,provider` or `provider,role`: AWS accepts either order.
fn role_pair(value: &str) -> Option<RoleChoice> {
    let (a, b) = value.split_once(',')?;
    let (a, b) = (a.trim(), b.trim());
    let (role, provider) = if a.contains(":role/") { (a, b) } else { (b, a) };
    (role.contains(":role/") && provider.contains(":saml-provider/")).then(|| RoleChoice {
        role_arn: role.to_owned(),
        provider_arn: provider.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(xml: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(xml)
    }

    const RESPONSE: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">
  <saml:Assertion IssueInstant="2026-01-02T03:04:05Z">
    <saml:AttributeStatement>
      <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">
        <saml:AttributeValue>arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/Corp</saml:AttributeValue>
        <saml:AttributeValue> arn:aws:iam::210987654321:saml-provider/Corp , arn:aws:iam::210987654321:role/ReadOnly </saml:AttributeValue>
        <saml:AttributeValue>garbage</saml:AttributeValue>
      </saml:Attribute>
      <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>alice@example.org</saml:AttributeValue></saml:Attribute>
      <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/SessionDuration"><saml:AttributeValue>7200</saml:AttributeValue></saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"#;

    #[test]
    fn roles_in_either_order_session_name_and_duration() {
        let a = parse(&encode(RESPONSE)).unwrap();
        assert_eq!(
            a.roles,
            [
                RoleChoice {
                    role_arn: "arn:aws:iam::123456789012:role/Admin".into(),
                    provider_arn: "arn:aws:iam::123456789012:saml-provider/Corp".into()
                },
                RoleChoice {
                    role_arn: "arn:aws:iam::210987654321:role/ReadOnly".into(),
                    provider_arn: "arn:aws:iam::210987654321:saml-provider/Corp".into()
                }
            ]
        );
        assert_eq!(a.session_name.as_deref(), Some("alice@example.org"));
        assert_eq!(a.session_duration, Some(7200));
        assert_eq!(a.issue_instant.as_deref(), Some("2026-01-02T03:04:05Z"));
    }

    #[test]
    fn unprefixed_namespace_and_wrapped_base64() {
        // Azure AD writes the assertion namespace as the default one, and some IdPs wrap base64.
        let xml = RESPONSE
            .replace("saml:", "")
            .replace("xmlns:saml=", "xmlns=");
        let mut b64 = encode(&xml);
        b64.insert(10, '\n');
        assert_eq!(parse(&b64).unwrap().roles.len(), 2);
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        assert_eq!(parse("%%%").unwrap_err(), AssertionError::NotBase64);
        assert!(matches!(
            parse(&encode("<a><b></a>")),
            Err(AssertionError::NotXml(_))
        ));
        let no_roles = RESPONSE.replace("SAML/Attributes/Role\"", "SAML/Attributes/Other\"");
        assert_eq!(
            parse(&encode(&no_roles)).unwrap_err(),
            AssertionError::NoRoles
        );
        let dtd = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
        assert!(matches!(
            parse(&encode(dtd)),
            Err(AssertionError::NotXml(_))
        ));
    }
}
