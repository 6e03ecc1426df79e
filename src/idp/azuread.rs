//! Azure AD / Entra ID, through its sign-in pages as a browser meets them (Microsoft has no API
//! for a SAML sign-in), for the app's "User access URL"
//! (`https://myapps.microsoft.com/signin/APP/APP_ID?tenantId=TENANT`) or any URL that leads there.
//!
//! Each sign-in page carries its state in a `$Config={…};` object: the flow token (`sFT`, posted
//! under the name `sFTName`), the request context (`sCtx`), where to post next (`urlPost`), an
//! error code (`sErrorCode`), and on the MFA page the user's methods (`arrUserProofs`) and the
//! BeginAuth / EndAuth URLs. The request sequence:
//! 1. GET the app URL, following redirects. With a live Azure AD session (its `ESTSAUTH*` cookies
//!    in our jar) the answer is a page whose script goes to `…/saml2?SAMLRequest=…`: GET that, and
//!    the answer is the form holding the `SAMLResponse`;
//! 2. else the page is the sign-in page (`ConvergedSignIn`). When it names
//!    `urlGetCredentialType`, POST the username there (JSON, the page's `apiCanary` as header
//!    `canary`) to learn whether the user exists and whether another IdP signs them in
//!    (`FederationRedirectUrl`, ADFS and the like: GET it, fill its login form as the form
//!    provider does, and go on from its answer, an auto-post form back to Azure AD);
//! 3. POST `urlPost` (a form: `login`, `loginfmt`, `passwd`, the flow token, `ctx`, `canary`).
//!    The answer is a page again; its `sErrorCode` tells a wrong password (50126), a locked
//!    (50053) or disabled account, an expired password; a sign-in page coming back is a wrong
//!    password too. An MFA registration interrupt (`urlSkipMfaRegistration`) is skipped by a GET;
//! 4. MFA (`ConvergedTFA`): a method of `arrUserProofs` as `mfa_type` says (push is
//!    `PhoneAppNotification`, codes are `PhoneAppOTP` and `OneWaySMS`; `auto` takes the default),
//!    then POST `urlBeginAuth` `{AuthMethodId, Method: "BeginAuth", Ctx, FlowToken}`, then
//!    `urlEndAuth` with the code (`AdditionalAuthData`) or, for a push, again while its answer
//!    says `Retry` (every `oPerAuthPollingInterval` seconds, at least half a second, for at most
//!    a minute); then POST `urlPost` (ProcessAuth) `{flowToken, request: Ctx, login}`;
//! 5. "Stay signed in?" (`KmsiInterrupt`, `urlPost` ending `/kmsi`): POST `LoginOptions=1` with
//!    the flow token and `ctx`, which makes the session cookies persistent;
//! 6. an auto-post form of hidden fields (`code`, `id_token`, `state`) ends the portal sign-in:
//!    posted as its script would; the app then answers as in step 1 (else it is asked once more).
//!
//! The same walk signs a web identity profile in (`Goal::Redirect`): it starts at the OpenID
//! authorization request (`/TENANT/oauth2/v2.0/authorize`, PKCE and `state`), and where the
//! portal would go on to the app, Azure AD answers with a 302 to the redirect URI (never
//! fetched), or, in `form_post` mode, with the auto-post form aimed at it (read, never posted).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use scraper::{Html, Selector};
use serde_json::{json, Value};
use url::Url;

use super::form::saml_response;
use super::http::{origin, same_endpoint, Browser, Page};
use super::{Asks, Goal, Reached, SignIn, SignInError, MAX_STEPS};
use crate::config::signin::MfaType;

const PUSH_LIMIT: Duration = Duration::from_secs(60);
/// Azure AD's pages say how often to poll; never faster than this, whatever they say.
const MIN_POLL: Duration = Duration::from_millis(500);
const PUSH: &str = "PhoneAppNotification";
const CODE_METHODS: [&str; 2] = ["PhoneAppOTP", "OneWaySMS"];
/// EndAuth's words for a code that does not match.
const WRONG_CODE: [&str; 3] = [
    "OathCodeIncorrect",
    "SMSAuthFailedWrongCodeEntered",
    "InvalidOTP",
];
/// The `ErrCode` aws-runas v3 reads as "strong authentication failed" (a wrong code, for codes).
const STRONG_AUTH_FAILED: i64 = 500_121;

/// A word from the page for an error message: the characters Azure AD's codes and page names
/// use, so a hostile page cannot put terminal escapes or tokens into our output.
fn shown(word: &str) -> String {
    word.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(64)
        .collect()
}

/// Whether a sign-in begun over https would send something over plain http.
fn downgrades(signed_in_at: &Url, target: &Url) -> bool {
    signed_in_at.scheme() == "https" && target.scheme() != "https"
}

/// The `$Config` object of a sign-in page. Decoded as a JSON stream from just after
/// `$Config=`, so a `};` inside one of its strings does not cut it short.
fn config(body: &str) -> Option<Value> {
    let start = body.find("$Config=")? + "$Config=".len();
    serde_json::Deserializer::from_str(&body[start..])
        .into_iter::<Value>()
        .next()?
        .ok()
        .filter(Value::is_object)
}

/// A `$Config` string (some are numbers on some pages: `sErrorCode`, `hpgact`).
fn text(cfg: &Value, key: &str) -> String {
    match &cfg[key] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The URL a page's script sends the browser to for the SAML sign-in
/// (`window.location = '…/saml2?SAMLRequest=…'`), if it holds one.
fn saml_request_url(page: &Page) -> Option<Url> {
    let body = &page.body;
    let at = body.find("SAMLRequest=")?;
    let (open, quote) = body[..at]
        .char_indices()
        .rev()
        .find(|(_, c)| *c == '\'' || *c == '"')?;
    // Only where the script sends the browser: `location = '…'`, `location.replace('…')`.
    let before = body[..open].trim_end();
    let statement = &before[before.len().saturating_sub(40)..];
    if !(before.ends_with('=') || before.ends_with('(')) || !statement.contains("location") {
        return None;
    }
    let rest = &body[open + 1..];
    let literal = &rest[..rest.find(quote)?];
    // A JavaScript string literal: the escapes Microsoft's pages use in URLs.
    let unescaped = literal.replace("\\/", "/").replace("\\u0026", "&");
    let url = page.url.join(&unescaped).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// An auto-post form (hidden fields, at most a submit button for browsers without script).
fn hidden_form(page: &Page) -> Option<(Url, Vec<(String, String)>)> {
    let html = Html::parse_document(&page.body);
    let forms = Selector::parse("form").expect("a constant selector");
    let inputs = Selector::parse("input").expect("a constant selector");
    html.select(&forms).find_map(|form| {
        let mut fields = Vec::new();
        for input in form.select(&inputs) {
            let e = input.value();
            match e
                .attr("type")
                .unwrap_or("text")
                .to_ascii_lowercase()
                .as_str()
            {
                "hidden" => fields.push((
                    e.attr("name")?.to_owned(),
                    e.attr("value").unwrap_or_default().to_owned(),
                )),
                "submit" | "button" => {}
                _ => return None,
            }
        }
        let post = form
            .value()
            .attr("method")
            .is_some_and(|m| m.eq_ignore_ascii_case("post"));
        let action = page.url.join(form.value().attr("action")?).ok()?;
        // Any scheme: an OAuth redirect URI (`app:/callback`) is read, never posted; the
        // walk refuses to post anywhere but http(s).
        (post && !fields.is_empty()).then_some((action, fields))
    })
}

/// A sign-in page's `sErrorCode` that ends the sign-in, as an error.
fn page_error(code: &str, idp: &str, username: &str) -> Option<anyhow::Error> {
    let (idp, username) = (idp.to_owned(), username.to_owned());
    Some(match code {
        "50126" => SignInError::WrongPassword { idp, username }.into(),
        "50053" => SignInError::LockedOut { idp, username }.into(),
        "50057" => anyhow::anyhow!("the account '{username}' is disabled at {idp}"),
        "50055" => anyhow::anyhow!(
            "the password of '{username}' has expired at {idp}: change it there in a browser"
        ),
        "50034" => anyhow::anyhow!("Azure AD at {idp} knows no user '{username}'"),
        "50105" => anyhow::anyhow!(
            "'{username}' is not assigned to the application at {idp} (AADSTS50105): ask its administrators"
        ),
        "700016" => anyhow::anyhow!(
            "Azure AD at {idp} knows no such application in the tenant (AADSTS700016): check the client id or app URL"
        ),
        _ => return None,
    })
}

/// The method `mfa_type` asks for among those the user has.
fn choose_method(proofs: &[Value], mfa: MfaType) -> anyhow::Result<String> {
    let id = |p: &Value| p["authMethodId"].as_str().unwrap_or_default().to_owned();
    let usable = |m: &str| m == PUSH || CODE_METHODS.contains(&m);
    let default = proofs
        .iter()
        .find(|p| p["isDefault"].as_bool() == Some(true))
        .map(id)
        .filter(|m| usable(m));
    let first = |wanted: &[&str]| {
        wanted
            .iter()
            .find(|w| proofs.iter().any(|p| id(p) == **w))
            .map(|w| (*w).to_owned())
    };
    let chosen = match mfa {
        MfaType::None => anyhow::bail!("Azure AD asks for MFA but mfa_type = none"),
        MfaType::Push => first(&[PUSH]),
        MfaType::Code => default
            .filter(|m| m != PUSH)
            .or_else(|| first(&CODE_METHODS)),
        MfaType::Auto => default.or_else(|| first(&[PUSH, CODE_METHODS[0], CODE_METHODS[1]])),
    };
    chosen.with_context(|| {
        let offered: Vec<String> = proofs.iter().map(id).collect();
        format!(
            "Azure AD offers no MFA method aws-runas can use for mfa_type {mfa:?} (offered: {})",
            offered
                .iter()
                .map(|m| shown(m))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// What a sign-in page needs from the ones before it.
struct Flow<'a> {
    browser: &'a mut Browser,
    /// The configured URL: an https sign-in posts nothing over http.
    start: Url,
    idp: String,
    asks: &'a Asks<'a>,
    mfa: MfaType,
    username: Option<String>,
}

impl Flow<'_> {
    fn username(&mut self) -> anyhow::Result<String> {
        if let Some(u) = &self.username {
            return Ok(u.clone());
        }
        let u = (self.asks.username)()?;
        self.username = Some(u.clone());
        Ok(u)
    }

    /// Where the page's `key` points, refused when it would take the sign-in from https to http.
    fn resolve(&self, page: &Page, cfg: &Value, key: &str) -> anyhow::Result<Url> {
        let raw = text(cfg, key);
        anyhow::ensure!(
            !raw.is_empty(),
            "Azure AD's page at {} has no {key}",
            origin(&page.url)
        );
        let url = page
            .url
            .join(&raw)
            .with_context(|| format!("Azure AD's {key} is not a URL"))?;
        self.guard(page, &url)?;
        Ok(url)
    }

    fn guard(&self, page: &Page, target: &Url) -> anyhow::Result<()> {
        if downgrades(&self.start, target) || !matches!(target.scheme(), "http" | "https") {
            return Err(SignInError::Downgrade {
                page: origin(&page.url),
                action: origin(target),
            }
            .into());
        }
        Ok(())
    }

    /// The flow token under the name the page gives it.
    fn flow_token(cfg: &Value, token: String) -> (String, String) {
        let name = text(cfg, "sFTName");
        let name = if name.is_empty() {
            "flowToken".to_owned()
        } else {
            name
        };
        (name, token)
    }

    /// Steps 2 and 3: the username, then the password.
    fn password(&mut self, page: &Page, cfg: &Value) -> anyhow::Result<Page> {
        let url = self.resolve(page, cfg, "urlPost")?;
        let user = self.username()?;
        let mut flow = text(cfg, "sFT");
        let ctx = text(cfg, "sCtx");
        if !text(cfg, "urlGetCredentialType").is_empty() {
            let url = self.resolve(page, cfg, "urlGetCredentialType")?;
            let headers = [
                ("canary", text(cfg, "apiCanary")),
                ("client-request-id", text(cfg, "correlationId")),
                ("hpgrequestid", text(cfg, "sessionId")),
                ("hpgact", text(cfg, "hpgact")),
                ("hpgid", text(cfg, "hpgid")),
            ];
            let headers: Vec<(&str, String)> =
                headers.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            let reply = self.browser.post_json_with(
                url,
                &json!({ "username": user, "isOtherIdpSupported": true, "checkPhones": false,
                         "isRemoteNGCSupported": false, "isCookieBannerShown": false,
                         "isFidoSupported": false, "originalRequest": ctx, "flowToken": flow }),
                &headers,
            )?;
            let value = reply.json("Azure AD")?;
            if reply.status != 200 {
                anyhow::bail!(
                    "Azure AD at {} answered HTTP {} to the username",
                    self.idp,
                    reply.status
                );
            }
            if value["IfExistsResult"].as_i64() == Some(1) {
                anyhow::bail!("Azure AD at {} knows no user '{user}'", self.idp);
            }
            if let Some(fed) = value["Credentials"]["FederationRedirectUrl"]
                .as_str()
                .filter(|u| !u.is_empty())
            {
                let fed = page
                    .url
                    .join(fed)
                    .context("Azure AD's FederationRedirectUrl is not a URL")?;
                self.guard(page, &fed)?;
                tracing::info!(
                    "'{user}' signs in at {} (federated by Azure AD)",
                    origin(&fed)
                );
                let at_idp = self.browser.get(fed)?;
                let asks = self.asks;
                let posted =
                    super::form::post_login(self.browser, &self.start, &at_idp, &user, &|| {
                        (asks.password)(&user)
                    })?;
                // No form: that IdP's own session signed the user in.
                return Ok(posted.unwrap_or(at_idp));
            }
            if let Some(newer) = value["FlowToken"].as_str().filter(|t| !t.is_empty()) {
                flow = newer.to_owned();
            }
        }
        let password = (self.asks.password)(&user)?;
        tracing::info!("signing in at {} (Azure AD) as '{user}'", self.idp);
        let mut fields = vec![
            Self::flow_token(cfg, flow),
            ("ctx".into(), ctx),
            ("login".into(), user.clone()),
            ("loginfmt".into(), user),
            ("passwd".into(), password),
        ];
        for (field, key) in [("canary", "canary"), ("hpgrequestid", "sessionId")] {
            let value = text(cfg, key);
            if !value.is_empty() {
                fields.push((field.into(), value));
            }
        }
        self.browser.post_form(url, &fields)
    }

    /// Step 4: the second factor, then ProcessAuth.
    fn mfa(&mut self, page: &Page, cfg: &Value) -> anyhow::Result<Page> {
        let proofs = cfg["arrUserProofs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let method = choose_method(proofs, self.mfa)?;
        if method == PUSH {
            (self.asks.push)()?;
        }
        let begin = self.resolve(page, cfg, "urlBeginAuth")?;
        let end = self.resolve(page, cfg, "urlEndAuth")?;
        let reply = self.browser.post_json(
            begin,
            &json!({ "AuthMethodId": method, "Method": "BeginAuth",
                     "Ctx": text(cfg, "sCtx"), "FlowToken": text(cfg, "sFT") }),
        )?;
        let mut state = reply.json("Azure AD")?;
        if reply.status != 200 || state["Success"].as_bool() != Some(true) {
            anyhow::bail!(
                "Azure AD at {} could not start {}: {}",
                self.idp,
                shown(&method),
                reason(&state)
            );
        }
        let request = |state: &Value, code: Option<&str>| {
            let mut body = json!({ "AuthMethodId": method, "Method": "EndAuth",
                                   "Ctx": state["Ctx"], "FlowToken": state["FlowToken"],
                                   "SessionId": state["SessionId"] });
            if let Some(code) = code {
                body["AdditionalAuthData"] = Value::String(code.to_owned());
            }
            body
        };
        if method == PUSH {
            eprintln!("aws-runas: approve the Azure AD sign-in on your device");
            if let Some(n) = state["Entropy"].as_u64().filter(|n| *n > 0) {
                eprintln!("aws-runas: on your device, choose {n}");
            }
            let every = cfg["oPerAuthPollingInterval"][PUSH]
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map_or(MIN_POLL, Duration::from_secs_f64)
                .clamp(MIN_POLL, PUSH_LIMIT);
            let mut spinner = crate::tty::Spinner::new("waiting for the push to be approved");
            let started = Instant::now();
            let outcome = loop {
                let reply = self
                    .browser
                    .post_json(end.clone(), &request(&state, None))?;
                let value = reply.json("Azure AD")?;
                if reply.status != 200 {
                    break Err(anyhow::anyhow!(
                        "Azure AD at {} answered HTTP {} while waiting for the push",
                        self.idp,
                        reply.status
                    ));
                }
                if value["Success"].as_bool() == Some(true) {
                    break Ok(value);
                }
                let pending = value["Retry"].as_bool() == Some(true)
                    && value["ErrCode"].as_i64().unwrap_or(0) == 0;
                if !pending {
                    break Err(push_failed(&value));
                }
                if started.elapsed() + every > PUSH_LIMIT {
                    break Err(anyhow::anyhow!(
                        "the Azure AD push was not answered within {}s",
                        PUSH_LIMIT.as_secs()
                    ));
                }
                // The next poll carries what this answer says (the flow token moves on).
                for key in ["Ctx", "FlowToken", "SessionId"] {
                    if !value[key].is_null() {
                        state[key] = value[key].clone();
                    }
                }
                spinner.wait(every);
            };
            spinner.done();
            state = outcome?;
        } else {
            let code = (self.asks.otp)()?;
            let reply = self.browser.post_json(end, &request(&state, Some(&code)))?;
            let value = reply.json("Azure AD")?;
            if reply.status != 200 || value["Success"].as_bool() != Some(true) {
                let result = value["ResultValue"].as_str().unwrap_or_default();
                if WRONG_CODE.contains(&result)
                    || value["ErrCode"].as_i64() == Some(STRONG_AUTH_FAILED)
                {
                    return Err(SignInError::WrongCode {
                        idp: self.idp.clone(),
                    }
                    .into());
                }
                anyhow::bail!(
                    "Azure AD at {} did not accept the code: {}",
                    self.idp,
                    reason(&value)
                );
            }
            state = value;
        }
        let user = self.username()?;
        let fields = vec![
            Self::flow_token(cfg, text(&state, "FlowToken")),
            ("request".into(), text(&state, "Ctx")),
            ("login".into(), user),
            ("mfaAuthMethod".into(), method),
        ];
        let url = self.resolve(page, cfg, "urlPost")?;
        self.browser.post_form(url, &fields)
    }

    /// Step 5: "stay signed in", so the next run finds a live session.
    fn kmsi(&mut self, page: &Page, cfg: &Value) -> anyhow::Result<Page> {
        let url = self.resolve(page, cfg, "urlPost")?;
        let mut fields = vec![
            Self::flow_token(cfg, text(cfg, "sFT")),
            ("ctx".into(), text(cfg, "sCtx")),
            ("LoginOptions".into(), "1".into()),
        ];
        let canary = text(cfg, "canary");
        if !canary.is_empty() {
            fields.push(("canary".into(), canary));
        }
        self.browser.post_form(url, &fields)
    }
}

/// What an MFA answer says went wrong, in its own words (no token in them).
fn reason(value: &Value) -> String {
    let result = shown(value["ResultValue"].as_str().unwrap_or("no result"));
    match value["ErrCode"].as_i64() {
        Some(code) if code != 0 => format!("{result} (error {code})"),
        _ => result.to_owned(),
    }
}

fn push_failed(value: &Value) -> anyhow::Error {
    match value["ResultValue"].as_str().unwrap_or_default() {
        "PhoneAppDenied" => anyhow::anyhow!("the Azure AD push was denied on the device"),
        "PhoneAppNoResponse" => {
            anyhow::anyhow!("the Azure AD push was not answered on the device in time")
        }
        "PhoneAppFraudReported" => {
            anyhow::anyhow!("the Azure AD push was reported as fraud on the device")
        }
        _ => anyhow::anyhow!("the Azure AD push was not approved: {}", reason(value)),
    }
}

/// Signs in through Azure AD's pages from the app (SAML) or the OpenID authorization request
/// (web identity) until `goal`.
pub fn sign_in(s: &mut SignIn<'_>, goal: Goal<'_>) -> anyhow::Result<Reached> {
    if let Goal::Redirect { to, .. } = goal {
        s.browser.stop_at_redirect(Some(to.clone()));
    }
    let result = walk(s.browser, goal.start(s.idp), s.asks, s.mfa, goal);
    s.browser.stop_at_redirect(None);
    result
}

/// The redirect a `form_post` answer would make, as a URL whose query holds what the
/// OpenID client reads (the ID token it also carries is not ours to keep).
fn form_post_redirect(action: &Url, fields: &[(String, String)]) -> Url {
    let mut url = action.clone();
    url.set_query(None);
    let kept = fields
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "code" | "state" | "error" | "error_description"));
    url.query_pairs_mut().extend_pairs(kept);
    url
}

fn walk(
    browser: &mut Browser,
    url: &Url,
    asks: &Asks<'_>,
    mfa: MfaType,
    goal: Goal<'_>,
) -> anyhow::Result<Reached> {
    let idp = origin(url);
    let mut flow = Flow {
        browser,
        start: url.clone(),
        idp: idp.clone(),
        asks,
        mfa,
        username: None,
    };
    let mut page = flow.browser.get(url.clone())?;
    let mut sent_password = false;
    let mut did_mfa = false;
    let mut asked_app_again = false;
    // Sign-in page, password, MFA, KMSI, auto-post, app, SAML request: twice the usual steps.
    for _ in 0..MAX_STEPS * 2 {
        match goal {
            Goal::SamlResponse => {
                if let Some(response) = saml_response(&page) {
                    return Ok(Reached::SamlResponse(response));
                }
            }
            Goal::Redirect { to, .. } => {
                if (300..400).contains(&page.status) && same_endpoint(&page.url, to) {
                    return Ok(Reached::Redirect(page.url));
                }
            }
        }
        if let Some(cfg) = config(&page.body) {
            let code = text(&cfg, "sErrorCode");
            let user = flow.username.clone().unwrap_or_default();
            if let Some(e) = page_error(&code, &idp, &user) {
                return Err(e);
            }
            let pgid = text(&cfg, "pgid");
            let post = text(&cfg, "urlPost");
            if !text(&cfg, "urlSkipMfaRegistration").is_empty() {
                let skip = flow.resolve(&page, &cfg, "urlSkipMfaRegistration")?;
                page = flow.browser.get(skip)?;
            } else if pgid == "KmsiInterrupt"
                || post
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .ends_with("/kmsi")
            {
                page = flow.kmsi(&page, &cfg)?;
            } else if cfg["arrUserProofs"]
                .as_array()
                .is_some_and(|p| !p.is_empty())
            {
                anyhow::ensure!(!did_mfa, "Azure AD at {idp} asked for MFA again");
                page = flow.mfa(&page, &cfg)?;
                did_mfa = true;
            } else if !text(&cfg, "sFT").is_empty() && !post.is_empty() {
                if sent_password {
                    // The sign-in page again, without a code saying why: still the password.
                    return Err(SignInError::WrongPassword {
                        idp,
                        username: user,
                    }
                    .into());
                }
                page = flow.password(&page, &cfg)?;
                sent_password = true;
            } else {
                let what = if code.is_empty() {
                    String::new()
                } else {
                    format!(" (error code {})", shown(&code))
                };
                anyhow::bail!(
                    "Azure AD's page {} at {} is not one aws-runas can go on from{what}",
                    shown(&pgid),
                    origin(&page.url)
                );
            }
            continue;
        }
        if sent_password && super::form::has_login_form(&page) {
            // A federated user's IdP showing its login form again: the password is wrong.
            return Err(SignInError::WrongPassword {
                idp: origin(&page.url),
                username: flow.username.clone().unwrap_or_default(),
            }
            .into());
        }
        if let Some(next) = saml_request_url(&page).filter(|_| matches!(goal, Goal::SamlResponse)) {
            page = flow.browser.get(next)?;
            continue;
        }
        if let Some((action, fields)) = hidden_form(&page) {
            if let Goal::Redirect { to, .. } = goal {
                if same_endpoint(&action, to) {
                    return Ok(Reached::Redirect(form_post_redirect(&action, &fields)));
                }
            }
            flow.guard(&page, &action)?;
            page = flow.browser.post_form(action, &fields)?;
            continue;
        }
        if sent_password && !asked_app_again {
            // Signed in at the portal, which did not send us on: the app (or the authorization
            // request) now finds the session.
            asked_app_again = true;
            page = flow.browser.get(url.clone())?;
            continue;
        }
        return Err(SignInError::NoForm {
            page: origin(&page.url),
            status: page.status,
        }
        .into());
    }
    Err(SignInError::TooManySteps { idp }.into())
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
    fn config_is_read_whole_even_with_braces_in_strings() {
        let body = r#"<script>//<![CDATA[
$Config={"pgid":"ConvergedSignIn","sTitle":"a};b{","sFT":"ft-1","hpgact":1900,"sErrorCode":50126};
//]]></script>"#;
        let cfg = config(body).unwrap();
        assert_eq!(text(&cfg, "sTitle"), "a};b{");
        assert_eq!(text(&cfg, "sFT"), "ft-1");
        assert_eq!(text(&cfg, "hpgact"), "1900");
        assert_eq!(text(&cfg, "sErrorCode"), "50126");
        assert!(config("<p>$Config=[1,2];</p>").is_none());
        assert!(config("<p>no config</p>").is_none());
    }

    #[test]
    fn the_saml_request_url_comes_out_of_the_script() {
        let p = page(
            "https://myapps.microsoft.com/signin/AWS/1?tenantId=t",
            r#"<script>window.location = 'https:\/\/login.microsoftonline.com\/t\/saml2?SAMLRequest=fZJN\u0026RelayState=x';</script>"#,
        );
        assert_eq!(
            saml_request_url(&p).unwrap().as_str(),
            "https://login.microsoftonline.com/t/saml2?SAMLRequest=fZJN&RelayState=x"
        );
        let p = page("https://h/x", r#"<a href="javascript:SAMLRequest=1">"#);
        assert!(saml_request_url(&p).is_none());
        let p = page(
            "https://h/x",
            r#"$Config={"urlCancel":"https://h/saml2?SAMLRequest=x"};"#,
        );
        assert!(
            saml_request_url(&p).is_none(),
            "a URL that is not where the script goes"
        );
        let p = page(
            "https://h/x",
            r#"<script>location.replace("/t/saml2?SAMLRequest=y")</script>"#,
        );
        assert_eq!(
            saml_request_url(&p).unwrap().as_str(),
            "https://h/t/saml2?SAMLRequest=y"
        );
    }

    #[test]
    fn hidden_forms_are_posted_and_login_forms_are_not() {
        let p = page(
            "https://login.microsoftonline.com/kmsi",
            r#"<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="https://myapps.microsoft.com/signin">
            <input type="hidden" name="code" value="c&amp;1" /><input type="hidden" name="state" value="s" />
            <noscript><input type="submit" value="Submit" /></noscript></form></body></html>"#,
        );
        let (action, fields) = hidden_form(&p).unwrap();
        assert_eq!(action.as_str(), "https://myapps.microsoft.com/signin");
        assert_eq!(
            fields,
            [("code".into(), "c&1".into()), ("state".into(), "s".into())]
        );
        let login = page(
            "https://h/",
            r#"<form method="post" action="/x"><input type="hidden" name="a" value="1"><input type="password" name="p"></form>"#,
        );
        assert!(hidden_form(&login).is_none());
    }

    #[test]
    fn a_form_post_to_the_redirect_uri_is_read_as_its_redirect() {
        let p = page(
            "https://login.microsoftonline.com/kmsi",
            r#"<form method="POST" name="hiddenform" action="app:/callback">
            <input type="hidden" name="code" value="c&amp;1" /><input type="hidden" name="state" value="s 1" />
            <input type="hidden" name="id_token" value="e.y.j" /><input type="hidden" name="session_state" value="ss" />
            <noscript><input type="submit" value="Submit" /></noscript></form>"#,
        );
        let (action, fields) = hidden_form(&p).unwrap();
        let target = Url::parse("app:/callback").unwrap();
        assert!(same_endpoint(&action, &target));
        let redirect = form_post_redirect(&action, &fields);
        let query: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
        assert_eq!(
            query,
            [
                ("code".into(), "c&1".into()),
                ("state".into(), "s 1".into())
            ],
            "what the client reads, and no ID token kept"
        );
    }

    #[test]
    fn page_words_are_shown_tame_and_https_stays_https() {
        assert_eq!(shown("50126"), "50126");
        assert_eq!(shown("Kmsi\x1b[31mInterrupt\n"), "Kmsi31mInterrupt");
        assert_eq!(shown(&"9".repeat(500)).len(), 64);
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(downgrades(
            &u("https://myapps.microsoft.com/signin/a/1"),
            &u("http://login.microsoftonline.com/common/login")
        ));
        assert!(!downgrades(
            &u("https://myapps.microsoft.com/signin/a/1"),
            &u("https://login.microsoftonline.com/common/login")
        ));
        assert!(!downgrades(
            &u("http://127.0.0.1:9/signin/a/1"),
            &u("http://127.0.0.1:9/login")
        ));
    }

    #[test]
    fn methods_are_chosen_as_mfa_type_says() {
        let proofs: Vec<Value> = serde_json::from_str(
            r#"[{"authMethodId":"PhoneAppNotification","isDefault":false},
                {"authMethodId":"OneWaySMS","isDefault":true},
                {"authMethodId":"PhoneAppOTP","isDefault":false},
                {"authMethodId":"TwoWayVoiceMobile","isDefault":false}]"#,
        )
        .unwrap();
        let m = |t| choose_method(&proofs, t).unwrap();
        assert_eq!(m(MfaType::Auto), "OneWaySMS", "auto takes the default");
        assert_eq!(m(MfaType::Push), "PhoneAppNotification");
        assert_eq!(m(MfaType::Code), "OneWaySMS");
        assert!(choose_method(&proofs, MfaType::None).is_err());
        let voice_only = &proofs[3..];
        let err = choose_method(voice_only, MfaType::Auto)
            .unwrap_err()
            .to_string();
        assert!(err.contains("offered: TwoWayVoiceMobile"), "{err}");
        let push_default: Vec<Value> = serde_json::from_str(
            r#"[{"authMethodId":"PhoneAppNotification","isDefault":true},{"authMethodId":"PhoneAppOTP"}]"#,
        )
        .unwrap();
        assert_eq!(
            choose_method(&push_default, MfaType::Code).unwrap(),
            "PhoneAppOTP"
        );
        assert_eq!(choose_method(&push_default, MfaType::Auto).unwrap(), PUSH);
    }
}
