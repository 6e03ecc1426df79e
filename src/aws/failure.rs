//! What a failed AWS call tells the person: one line of our own naming the host, the cause in
//! words and what to try, built from the SDK error without ever showing its `Debug` form or the
//! answer's body (an answer that fails to parse can hold the very keys it was carrying). With
//! `-v` the chain of causes follows as a log line, for failures where no answer came back.

use std::error::Error;
use std::io;

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use crate::shown::shown_message;

/// An AWS API as a person reaches it: the name failures give, the host prefix of its default
/// endpoint, and the variable that points it elsewhere.
#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    prefix: &'static str,
    variable: &'static str,
}

pub const STS: Service = Service {
    name: "STS",
    prefix: "sts",
    variable: "AWS_ENDPOINT_URL_STS",
};
pub const IAM: Service = Service {
    name: "IAM",
    prefix: "iam",
    variable: "AWS_ENDPOINT_URL_IAM",
};
pub const SSO_PORTAL: Service = Service {
    name: "IAM Identity Center",
    prefix: "portal.sso",
    variable: "AWS_ENDPOINT_URL_SSO",
};
pub const SSO_OIDC: Service = Service {
    name: "IAM Identity Center OIDC",
    prefix: "oidc",
    variable: "AWS_ENDPOINT_URL_SSO_OIDC",
};
pub const SSM: Service = Service {
    name: "Session Manager",
    prefix: "ssm",
    variable: "AWS_ENDPOINT_URL_SSM",
};
/// The console's federation endpoint (not an SDK service; `aws-runas console` calls it).
pub const SIGNIN: Service = Service {
    name: "AWS sign-in",
    prefix: "signin",
    variable: "AWS_ENDPOINT_URL_SIGNIN",
};
pub const EC2: Service = Service {
    name: "EC2",
    prefix: "ec2",
    variable: "AWS_ENDPOINT_URL_EC2",
};
pub const EC2_INSTANCE_CONNECT: Service = Service {
    name: "EC2 Instance Connect",
    prefix: "ec2-instance-connect",
    variable: "AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT",
};

/// Where the calls of one client go: the host a failure names.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub service: &'static Service,
    pub host: String,
    /// https: which proxy variable the SDK's client follows.
    secure: bool,
}

impl Service {
    /// The endpoint our clients use: the configured URL's host, else the service's regional
    /// host (IAM is global; the China regions have their own domain).
    pub fn at(&'static self, region: &str, endpoint_url: Option<&str>) -> Endpoint {
        let parsed = endpoint_url.and_then(|u| url::Url::parse(u).ok());
        let secure = parsed.as_ref().is_none_or(|u| u.scheme() != "http");
        let configured = parsed.and_then(|u| {
            let host = u.host_str()?.to_owned();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        });
        let host = configured.unwrap_or_else(|| {
            let domain = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            if self.prefix == "iam" {
                format!("iam.{domain}")
            } else {
                format!("{}.{region}.{domain}", self.prefix)
            }
        });
        Endpoint {
            service: self,
            host: shown_message(&host),
            secure,
        }
    }
}

/// Our own error, raised before a byte of an oversized answer is read.
#[derive(Debug, thiserror::Error)]
#[error("the answer is larger than {} MiB", super::ANSWER_LIMIT >> 20)]
pub struct AnswerTooLarge;

/// One line for a failed call, for "<service> <operation> failed: <line>".
pub fn describe_error<E>(at: &Endpoint, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let host = &at.host;
    match err {
        SdkError::ServiceError(service) => match err.code() {
            Some(code) => {
                let raw = service.raw();
                let mut line = format!(
                    "{}: {} (HTTP {} from {host}{})",
                    shown_message(code),
                    shown_message(err.message().unwrap_or("no message")),
                    raw.status().as_u16(),
                    request_id(raw, err.meta().extra("aws_request_id"))
                );
                if is_throttling(code) {
                    line.push_str(": AWS is limiting how fast these calls may come; wait a minute and try again");
                }
                line
            }
            None => unreadable(at, service.raw(), err),
        },
        SdkError::ResponseError(response) => unreadable(at, response.raw(), err),
        SdkError::TimeoutError(_) => {
            log_chain(err);
            format!(
                "{host} did not answer in time (given up after {} tries): check the network, \
                 HTTPS_PROXY, or {}",
                super::ATTEMPTS,
                at.service.variable
            )
        }
        SdkError::DispatchFailure(_) => {
            log_chain(err);
            transport(at, err)
        }
        _ => {
            log_chain(err);
            format!("the request to {host} could not be made")
        }
    }
}

/// An answer came, but not one the SDK could read. Its body is never quoted, and neither is any
/// cause below it: a parser's message can quote the text it choked on. Only an error status's
/// code and message are looked for, as AWS services and stand-ins shape them in ways the SDK's
/// parser does not take (`<Errors><Error>`); a 2xx body is never looked into, as it may carry
/// keys.
fn unreadable(at: &Endpoint, raw: &HttpResponse, err: &(dyn Error + 'static)) -> String {
    let status = raw.status().as_u16();
    let id = request_id(raw, None);
    if chain(err).any(is_too_large) {
        return format!(
            "{} sent an answer larger than {} MiB (HTTP {status}{id}); refused unread",
            at.host,
            super::ANSWER_LIMIT >> 20
        );
    }
    answer_line(at, status, &id, raw.body().bytes())
}

/// An answer read by our own client (EC2's): a status that is not a success, and its body.
pub(crate) fn describe_answer(
    at: &Endpoint,
    status: u16,
    request_id: Option<&str>,
    body: &[u8],
) -> String {
    let id = request_id
        .map(|id| format!(", request id {}", shown_message(id)))
        .unwrap_or_default();
    answer_line(at, status, &id, Some(body))
}

fn answer_line(at: &Endpoint, status: u16, id: &str, body: Option<&[u8]>) -> String {
    let host = &at.host;
    if status >= 300 {
        if let Some((code, message)) = body.and_then(error_in_body) {
            return format!(
                "{code}: {} (HTTP {status} from {host}{id})",
                shown_message(&message)
            );
        }
    }
    let looks = match status {
        200..=299 => "cut short or malformed",
        _ => "not one of AWS's (a proxy or captive portal in the way?)",
    };
    format!(
        "{host} answered HTTP {status} with a body that is {looks}, not a {} answer{id}",
        at.service.name
    )
}

/// An answer our own HTTPS client read: its status, request id and body.
pub struct Answer {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

/// Reads `response` up to [`super::ANSWER_LIMIT`] (one byte past it tells a whole answer from
/// one cut off there); a failure, or a larger answer, is one line.
pub(crate) fn read_answer(
    at: &Endpoint,
    response: ureq::http::Response<ureq::Body>,
) -> Result<Answer, String> {
    use std::io::Read;
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(super::ANSWER_LIMIT as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| describe_transport(at, &e))?;
    if body.len() > super::ANSWER_LIMIT {
        return Err(format!(
            "{} sent an answer larger than {} MiB (HTTP {status}); refused unread",
            at.host,
            super::ANSWER_LIMIT >> 20
        ));
    }
    Ok(Answer {
        status,
        request_id,
        body,
    })
}

/// No answer came, through our own client (EC2's): as for the SDK's.
pub(crate) fn describe_transport(at: &Endpoint, err: &(dyn Error + 'static)) -> String {
    log_chain(err);
    transport(at, err)
}

/// No answer came: name the cause a person can act on.
fn transport(at: &Endpoint, err: &(dyn Error + 'static)) -> String {
    let host = &at.host;
    let variable = at.service.variable;
    let proxy = proxy_in_use(at.secure);
    if crate::tls::untrusted_in_chain(err) {
        return crate::tls::untrusted_hint(host);
    }
    if chain(err).any(is_too_large) {
        return format!(
            "{host} sent an answer larger than {} MiB; refused unread",
            super::ANSWER_LIMIT >> 20
        );
    }
    let texts: Vec<String> = chain(err).map(|e| e.to_string().to_lowercase()).collect();
    let mentions = |needle: &str| texts.iter().any(|t| t.contains(needle));
    let kind = |k: io::ErrorKind| io_kinds(err).any(|found| found == k);
    if let Some(proxy) = &proxy {
        if mentions("tunnel") || mentions("proxy") {
            return format!(
                "the proxy {proxy} did not let the connection to {host} through: check the \
                 proxy, or NO_PROXY for {host}"
            );
        }
    }
    if mentions("dns error")
        || mentions("failed to lookup address")
        || mentions("name or service")
        || mentions("host not found")
    {
        return format!(
            "the name {} does not resolve (offline, or a VPN down?): check the network, or set \
             {variable} if {} is reached another way",
            host_name(host),
            at.service.name
        );
    }
    if kind(io::ErrorKind::ConnectionRefused) || mentions("connection refused") {
        return match proxy {
            Some(proxy) => format!(
                "the proxy {proxy} refused the connection to it: is it running, and is \
                 HTTPS_PROXY (HTTP_PROXY for http endpoints) right?"
            ),
            // The sign-in endpoint is no SDK service: AWS_ENDPOINT_URL does not move it.
            None if at.service.prefix == SIGNIN.prefix => format!(
                "nothing accepts connections at {host} (connection refused): check {variable}, \
                 or the firewall"
            ),
            None => format!(
                "nothing accepts connections at {host} (connection refused): check {variable}, \
                 AWS_ENDPOINT_URL, or the firewall"
            ),
        };
    }
    if kind(io::ErrorKind::TimedOut) || mentions("timed out") || mentions("timeout") {
        return format!(
            "{host} did not answer in time: check the network, HTTPS_PROXY, or {variable}"
        );
    }
    if kind(io::ErrorKind::ConnectionReset) || kind(io::ErrorKind::UnexpectedEof) {
        return format!(
            "{host} closed the connection before answering: a proxy or firewall in the way? \
             Check HTTPS_PROXY"
        );
    }
    format!("the connection to {host} failed (run with -v for the causes): check the network, HTTPS_PROXY, or {variable}")
}

/// The code and message of an error answer, XML (`<Code>` anywhere) or JSON (`__type`/`code`,
/// `message`). A code is a name, never free text: anything else in its place is no code.
fn error_in_body(body: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].trim().to_owned())
    };
    let (code, message) = if text.trim_start().starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(text).ok()?;
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| json.get(*n).and_then(|v| v.as_str()).map(str::to_owned))
        };
        let code = field(&["__type", "code", "Code"])?;
        // `__type` may be namespaced: `com.amazonaws.sso#UnauthorizedException`.
        let code = code.rsplit('#').next().unwrap_or_default().to_owned();
        (code, field(&["message", "Message"]))
    } else {
        (element("Code")?, element("Message"))
    };
    let is_name = !code.is_empty()
        && code.len() <= 100
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_-".contains(&b));
    is_name.then(|| (code, message.unwrap_or_else(|| "no message".into())))
}

fn is_too_large(e: &(dyn Error + 'static)) -> bool {
    e.is::<AnswerTooLarge>() || e.is::<http_body_util::LengthLimitError>()
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottled"
            | "SlowDown"
    )
}

/// ", request id X" where the answer carried one.
fn request_id(raw: &HttpResponse, from_metadata: Option<&str>) -> String {
    ["x-amzn-requestid", "x-amz-request-id"]
        .iter()
        .find_map(|h| raw.headers().get(*h))
        .or(from_metadata)
        .filter(|id| !id.is_empty())
        .map(|id| format!(", request id {}", shown_message(id)))
        .unwrap_or_default()
}

fn host_name(host: &str) -> &str {
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// The proxy the SDK's client takes from the environment for this scheme, shown without its
/// credentials.
fn proxy_in_use(secure: bool) -> Option<String> {
    let variables = if secure {
        ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    variables
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|p| !p.is_empty()))
        .map(|p| match url::Url::parse(&p) {
            Ok(mut u) => {
                let _ = u.set_password(None);
                let _ = u.set_username("");
                shown_message(u.as_str())
            }
            Err(_) => "(unparseable)".into(),
        })
}

/// The error and every cause below it, stepping into the error an I/O error wraps (its
/// `source` skips that one).
fn chain<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |&e: &&'a (dyn Error + 'static)| {
        match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn Error + 'static)),
            None => e.source(),
        }
    })
    .take(16)
}

fn io_kinds<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = io::ErrorKind> + 'a {
    chain(err).filter_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
}

/// At `-v`, the causes of a failure where no answer came (so no body can be among them).
fn log_chain(err: &(dyn Error + 'static)) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let causes: Vec<String> = chain(err).map(|e| shown_message(&e.to_string())).collect();
        tracing::debug!("caused by: {}", causes.join(": "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_the_configured_host_or_the_regional_one() {
        assert_eq!(
            STS.at("eu-west-1", Some("http://127.0.0.1:5000")).host,
            "127.0.0.1:5000"
        );
        assert_eq!(
            STS.at("eu-west-1", None).host,
            "sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(IAM.at("eu-west-1", None).host, "iam.amazonaws.com");
        assert_eq!(
            SSO_PORTAL.at("cn-north-1", None).host,
            "portal.sso.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            STS.at("us-east-1", Some("https://sts.example.invalid"))
                .host,
            "sts.example.invalid"
        );
    }

    #[test]
    fn error_codes_are_found_in_bodies_the_sdk_does_not_parse() {
        let moto = b"<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token is invalid.</Message></Error></Errors></ErrorResponse>";
        assert_eq!(
            error_in_body(moto),
            Some((
                "InvalidClientTokenId".into(),
                "The security token is invalid.".into()
            ))
        );
        let json = br#"{"__type":"com.amazonaws.sso#UnauthorizedException","message":"expired"}"#;
        assert_eq!(
            error_in_body(json),
            Some(("UnauthorizedException".into(), "expired".into()))
        );
        for not_a_code in [
            &b"<html><Code>rm -rf /</Code></html>"[..],
            b"<Code></Code>",
            b"{\"code\": 7}",
            b"\xff\xfe",
        ] {
            assert_eq!(error_in_body(not_a_code), None);
        }
    }

    #[test]
    fn host_names_drop_only_a_port() {
        assert_eq!(host_name("sts.example.invalid:443"), "sts.example.invalid");
        assert_eq!(host_name("sts.example.invalid"), "sts.example.invalid");
    }
}
