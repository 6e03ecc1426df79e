//! The generic form provider: how Keycloak, SimpleSAMLphp, LemonLDAP::NG and most other IdPs
//! sign a person in through HTML, driven the way a browser would.
//!
//! The flow:
//! 1. GET the configured URL, following redirects (cookies kept), to a page;
//! 2. the goal reached is the end: for SAML a page holding an input `SAMLResponse` (its value is
//!    the assertion), for OpenID a redirect to the client's redirect URI (never fetched: the
//!    code is in its query);
//! 3. a form with a password field is the login form: the username goes into its first text or
//!    e-mail field, the password into the password field, every other input is sent as it is,
//!    and the form is posted to its action (resolved against the page's URL);
//! 4. a form with a one-time-code field is the MFA step: the code goes in, the rest as is;
//! 5. a form of hidden inputs only is an intermediate auto-post page (what JavaScript would
//!    submit): posted as it is.
//!
//! The login form coming back after the password was sent means the password is wrong; the
//! code form coming back means the code is: one clear error either way, never a retry.
//! A live IdP session (cookies) makes step 1 land on step 2 directly.

use scraper::{ElementRef, Html, Selector};
use url::Url;

use super::http::{origin, Browser, Page};
use super::{Asks, Goal, Reached, SignIn, SignInError, MAX_STEPS};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Hidden,
    Text,
    Password,
    Otp,
    /// Submit buttons, unchecked boxes, files: not sent.
    Skip,
}

#[derive(Clone, Debug)]
struct Field {
    name: String,
    value: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
struct Form {
    action: Url,
    post: bool,
    fields: Vec<Field>,
}

#[derive(Debug)]
enum Step {
    Done(Reached),
    Login(Form),
    Otp(Form),
    AutoPost(Form),
    Unknown,
}

fn selector(s: &str) -> Selector {
    Selector::parse(s).expect("a constant selector")
}

fn is_otp_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with("otp")
        || n.contains("passcode")
        || matches!(
            n.as_str(),
            "code" | "token" | "mfa" | "otp_code" | "one_time_code"
        )
}

fn field(input: ElementRef<'_>) -> Option<Field> {
    let e = input.value();
    let name = e.attr("name")?.to_owned();
    if name.is_empty() {
        return None;
    }
    let value = e.attr("value").unwrap_or_default().to_owned();
    let input_type = e.attr("type").unwrap_or("text").to_ascii_lowercase();
    let one_time = e.attr("autocomplete") == Some("one-time-code")
        || is_otp_name(&name)
        || e.attr("id").is_some_and(is_otp_name);
    let kind = match input_type.as_str() {
        "hidden" => Kind::Hidden,
        "submit" | "button" | "image" | "reset" | "file" => Kind::Skip,
        "checkbox" | "radio" if e.attr("checked").is_none() => Kind::Skip,
        "checkbox" | "radio" => Kind::Hidden,
        _ if one_time => Kind::Otp,
        "password" => Kind::Password,
        "text" | "email" | "tel" | "number" | "" => Kind::Text,
        _ => Kind::Hidden,
    };
    Some(Field { name, value, kind })
}

fn forms(page: &Page, html: &Html) -> Vec<Form> {
    let inputs = selector("input");
    html.select(&selector("form"))
        .filter_map(|form| {
            let e = form.value();
            let action = match e.attr("action").map(str::trim) {
                None | Some("") => page.url.clone(),
                Some(a) => page.url.join(a).ok()?,
            };
            let post = e
                .attr("method")
                .is_some_and(|m| m.eq_ignore_ascii_case("post"));
            let fields = form.select(&inputs).filter_map(field).collect();
            Some(Form {
                action,
                post,
                fields,
            })
        })
        .collect()
}

/// The `SAMLResponse` a page posts on to AWS, if it holds one.
pub fn saml_response(page: &Page) -> Option<String> {
    saml_in(&Html::parse_document(&page.body))
}

fn saml_in(html: &Html) -> Option<String> {
    let saml = selector(r#"input[name="SAMLResponse"]"#);
    html.select(&saml)
        .find_map(|i| i.value().attr("value"))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn classify(page: &Page, goal: Goal<'_>) -> Step {
    if let Goal::Redirect { to, .. } = goal {
        if (300..400).contains(&page.status) && super::http::same_endpoint(&page.url, to) {
            return Step::Done(Reached::Redirect(page.url.clone()));
        }
    }
    let html = Html::parse_document(&page.body);
    if let (Goal::SamlResponse, Some(value)) = (goal, saml_in(&html)) {
        return Step::Done(Reached::SamlResponse(value));
    }
    let forms = forms(page, &html);
    let has = |f: &Form, k: Kind| f.fields.iter().any(|x| x.kind == k);
    if let Some(f) = forms.iter().find(|f| has(f, Kind::Password)) {
        return Step::Login(f.clone());
    }
    if let Some(f) = forms.iter().find(|f| has(f, Kind::Otp)) {
        return Step::Otp(f.clone());
    }
    if let Some(f) = forms
        .iter()
        .find(|f| !f.fields.is_empty() && f.fields.iter().all(|x| x.kind != Kind::Text))
    {
        return Step::AutoPost(f.clone());
    }
    Step::Unknown
}

/// Whether a form reached from an https sign-in would send the password over plain http (what
/// browsers warn about as a mixed-content form): an attacker on the path would read it.
fn downgrades(signed_in_at: &Url, action: &Url) -> bool {
    signed_in_at.scheme() == "https" && action.scheme() != "https"
}

fn submit(browser: &mut Browser, form: &Form) -> anyhow::Result<Page> {
    let fields: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|f| f.kind != Kind::Skip)
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    if form.post {
        browser.post_form(form.action.clone(), &fields)
    } else {
        let mut url = form.action.clone();
        url.query_pairs_mut().clear().extend_pairs(&fields);
        browser.get(url)
    }
}

/// Signs in from the app (SAML) or the authorization request (web identity), following
/// redirects and filling the forms on the way, until `goal`. No second factor but the code
/// form's: `s.mfa` is not read.
pub fn sign_in(s: &mut SignIn<'_>, goal: Goal<'_>) -> anyhow::Result<Reached> {
    if let Goal::Redirect { to, .. } = goal {
        s.browser.stop_at_redirect(Some(to.clone()));
    }
    let result = drive(s.browser, goal.start(s.idp), s.asks, goal);
    s.browser.stop_at_redirect(None);
    result
}

fn drive(
    browser: &mut Browser,
    url: &Url,
    asks: &Asks<'_>,
    goal: Goal<'_>,
) -> anyhow::Result<Reached> {
    let idp = origin(url);
    let mut page = browser.get(url.clone())?;
    let mut sent_password = None;
    let mut sent_code = false;
    for _ in 0..MAX_STEPS {
        match classify(&page, goal) {
            Step::Done(reached) => return Ok(reached),
            Step::Login(_) if sent_password.is_some() => {
                return Err(SignInError::WrongPassword {
                    idp,
                    username: sent_password.unwrap_or_default(),
                }
                .into())
            }
            Step::Login(form) if !form.post => {
                // Query strings end up in server and proxy logs: no password goes there.
                return Err(SignInError::PasswordInUrl {
                    page: origin(&page.url),
                }
                .into());
            }
            Step::Login(form) if downgrades(url, &form.action) => {
                return Err(SignInError::Downgrade {
                    page: origin(&page.url),
                    action: origin(&form.action),
                }
                .into());
            }
            Step::Login(mut form) => {
                let username = (asks.username)()?;
                let password = (asks.password)(&username)?;
                let mut user_filled = false;
                for f in &mut form.fields {
                    match f.kind {
                        Kind::Text if !user_filled => {
                            f.value.clone_from(&username);
                            user_filled = true;
                        }
                        Kind::Password => f.value.clone_from(&password),
                        _ => {}
                    }
                }
                tracing::info!("signing in at {idp} as '{username}'");
                page = submit(browser, &form)?;
                sent_password = Some(username);
            }
            Step::Otp(_) if sent_code => return Err(SignInError::WrongCode { idp }.into()),
            Step::Otp(mut form) => {
                let code = (asks.otp)()?;
                for f in form.fields.iter_mut().filter(|f| f.kind == Kind::Otp) {
                    f.value.clone_from(&code);
                }
                page = submit(browser, &form)?;
                sent_code = true;
            }
            Step::AutoPost(form) => page = submit(browser, &form)?,
            Step::Unknown => {
                return Err(SignInError::NoForm {
                    page: origin(&page.url),
                    status: page.status,
                }
                .into())
            }
        }
    }
    Err(SignInError::TooManySteps { idp }.into())
}

/// Whether `page` holds a login form (one with a password field).
pub(super) fn has_login_form(page: &Page) -> bool {
    matches!(classify(page, Goal::SamlResponse), Step::Login(_))
}

/// For clients whose users another IdP signs in (Azure AD's federated users): posts `page`'s
/// login form as `sign_in` would, with the same refusals; `Ok(None)` when it has none. The
/// password is asked for only when there is a form to put it in.
pub(super) fn post_login(
    browser: &mut Browser,
    signed_in_at: &Url,
    page: &Page,
    username: &str,
    password: &dyn Fn() -> anyhow::Result<String>,
) -> anyhow::Result<Option<Page>> {
    let Step::Login(mut form) = classify(page, Goal::SamlResponse) else {
        return Ok(None);
    };
    if !form.post {
        return Err(SignInError::PasswordInUrl {
            page: origin(&page.url),
        }
        .into());
    }
    if downgrades(signed_in_at, &form.action) {
        return Err(SignInError::Downgrade {
            page: origin(&page.url),
            action: origin(&form.action),
        }
        .into());
    }
    let password = password()?;
    let mut user_filled = false;
    for f in &mut form.fields {
        match f.kind {
            Kind::Text if !user_filled => {
                f.value = username.to_owned();
                user_filled = true;
            }
            Kind::Password => f.value.clone_from(&password),
            _ => {}
        }
    }
    submit(browser, &form).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str, body: &str) -> Page {
        Page {
            url: Url::parse(url).unwrap(),
            status: 200,
            body: body.into(),
        }
    }

    #[test]
    fn saml_response_is_entity_decoded() {
        let p = page(
            "https://idp/x",
            r#"<form method="post" action="https://signin.aws.amazon.com/saml"><input type="hidden" name="SAMLResponse" value="PD94&#x2b;bWw&#x3D;" /></form>"#,
        );
        assert!(
            matches!(classify(&p, Goal::SamlResponse), Step::Done(Reached::SamlResponse(v)) if v == "PD94+bWw=")
        );
    }

    #[test]
    fn login_form_fields_by_type_and_relative_action() {
        let p = page(
            "http://127.0.0.1:8080/module.php/core/loginuserpass.php?AuthState=a",
            r#"<form action="?" method="post"><input type="text" name="username" value="">
               <input type="password" name="password"><input type="hidden" name="AuthState" value="_abc&amp;d">
               <input type="submit" name="login" value="Login"><input type="checkbox" name="remember"></form>"#,
        );
        let Step::Login(form) = classify(&p, Goal::SamlResponse) else {
            panic!("not a login form")
        };
        assert_eq!(
            form.action.as_str(),
            "http://127.0.0.1:8080/module.php/core/loginuserpass.php?"
        );
        assert!(form.post);
        let kinds: Vec<_> = form
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.kind.clone(), f.value.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("username", Kind::Text, ""),
                ("password", Kind::Password, ""),
                ("AuthState", Kind::Hidden, "_abc&d"),
                ("login", Kind::Skip, "Login"),
                ("remember", Kind::Skip, ""),
            ]
        );
    }

    #[test]
    fn no_password_goes_from_https_to_http() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(downgrades(&u("https://idp/sso"), &u("http://idp/login")));
        assert!(!downgrades(
            &u("https://idp/sso"),
            &u("https://other/login")
        ));
        assert!(!downgrades(
            &u("http://127.0.0.1:8080/sso"),
            &u("http://127.0.0.1:8080/login")
        ));
    }

    #[test]
    fn otp_forms_and_auto_posts_are_told_apart() {
        let otp = page(
            "https://kc/realms/r/login-actions/authenticate",
            r#"<form id="kc-otp-login-form" action="/realms/r/login-actions/authenticate?x=1" method="post">
               <input id="otp" name="otp" type="text" autocomplete="off"><input type="submit" name="login"></form>"#,
        );
        let Step::Otp(form) = classify(&otp, Goal::SamlResponse) else {
            panic!("not an OTP form")
        };
        assert_eq!(
            form.action.as_str(),
            "https://kc/realms/r/login-actions/authenticate?x=1"
        );
        let relay = page(
            "https://idp/a",
            r#"<form method="post" action="https://idp/b"><input type="hidden" name="RelayState" value="r"></form>"#,
        );
        assert!(matches!(
            classify(&relay, Goal::SamlResponse),
            Step::AutoPost(_)
        ));
        let nothing = page("https://idp/a", "<p>Welcome</p><form><input name=q></form>");
        assert!(matches!(
            classify(&nothing, Goal::SamlResponse),
            Step::Unknown
        ));
    }
}
