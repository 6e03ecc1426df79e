//! IAM policy documents, read for one question: which concrete roles does a policy let its
//! holder assume? A statement counts when it allows an action matching `sts:AssumeRole`
//! (`sts:*`, `sts:Assume*`, `*` ...). Resources holding a wildcard are left out: they cannot be
//! written as a `role_arn`.

use percent_encoding::percent_decode_str;
use serde_json::Value;

/// The role ARNs `document` allows assuming. IAM hands inline policies out percent-encoded and
/// managed policy versions as plain JSON; decoding plain JSON leaves it as it is.
pub fn assumable_roles(document: &str) -> Vec<String> {
    let decoded = percent_decode_str(document).decode_utf8_lossy();
    let Ok(policy) = serde_json::from_str::<Value>(&decoded) else {
        return Vec::new();
    };
    let statements = match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    };
    let mut roles = Vec::new();
    for statement in statements {
        let allows = statement["Effect"].as_str() == Some("Allow");
        let assumes = strings(&statement["Action"])
            .iter()
            .any(|action| wildcard_match(&action.to_ascii_lowercase(), "sts:assumerole"));
        if !(allows && assumes) {
            continue;
        }
        for resource in strings(&statement["Resource"]) {
            if !resource.contains(['*', '?']) && is_role_arn(resource) {
                roles.push(resource.to_owned());
            }
        }
    }
    roles
}

/// A policy element that may be one string or a list of them.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5].starts_with("role/")
}

/// IAM's wildcards: `*` any run of characters, `?` any one.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_assume_role_statements_give_concrete_roles() {
        let doc = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/a"},
            {"Effect":"Allow","Action":["s3:GetObject","sts:Assume*"],"Resource":["arn:aws:iam::111111111111:role/b","arn:aws:iam::111111111111:role/team-*"]},
            {"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::222222222222:role/path/c"},
            {"Effect":"Allow","Action":"STS:*","Resource":"arn:aws:iam::222222222222:role/d"},
            {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111111111111:role/denied"},
            {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:iam::111111111111:role/not-sts"},
            {"Effect":"Allow","Action":"sts:AssumeRoleWithSAML","Resource":"arn:aws:iam::111111111111:role/saml"},
            {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:s3:::bucket"}
        ]}"#;
        assert_eq!(
            assumable_roles(doc),
            [
                "arn:aws:iam::111111111111:role/a",
                "arn:aws:iam::111111111111:role/b",
                "arn:aws:iam::222222222222:role/path/c",
                "arn:aws:iam::222222222222:role/d",
            ]
        );
    }

    #[test]
    fn percent_encoded_documents_and_single_statements() {
        let doc = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Resource%22%3A%22arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fx%2By%22%7D%7D";
        assert_eq!(assumable_roles(doc), ["arn:aws:iam::111111111111:role/x+y"]);
        assert!(assumable_roles("not json").is_empty());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("sts:*", "sts:assumerole"));
        assert!(wildcard_match("*", "sts:assumerole"));
        assert!(wildcard_match("sts:assume?ole", "sts:assumerole"));
        assert!(wildcard_match("*:*role", "sts:assumerole"));
        assert!(!wildcard_match("sts:assumerolewith*", "sts:assumerole"));
        assert!(!wildcard_match("iam:*", "sts:assumerole"));
    }
}
