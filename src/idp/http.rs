//! The HTTP side of an IdP sign-in: one agent, redirects followed by hand (so every hop's cookies
//! land in our jar and the final URL is known for relative form actions), and the jar itself,
//! kept between runs in a private (0600) file so a live IdP session skips the password.
//!
//! Session cookies (no expiry) are kept too: they are what SimpleSAMLphp, Keycloak and most
//! IdPs use for their login session, and the IdP still decides whether one is alive.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use cookie_store::CookieStore;
use url::Url;

use crate::tls::Bundle;

const MAX_REDIRECTS: usize = 10;
/// An IdP page is a few kB; anything far bigger is not a login page.
const MAX_BODY: u64 = 4 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

/// A page the IdP sent, after redirects.
pub struct Page {
    pub url: Url,
    pub status: u16,
    pub body: String,
}

impl Page {
    /// The body as the JSON an IdP's API answers; `who` names the IdP in the error.
    pub fn json(&self, who: &str) -> anyhow::Result<serde_json::Value> {
        serde_json::from_str(&self.body).map_err(|_| {
            anyhow::anyhow!(
                "{who} at {} answered HTTP {} with something other than JSON",
                origin(&self.url),
                self.status
            )
        })
    }
}

pub struct Browser {
    agent: ureq::Agent,
    jar: CookieStore,
    jar_path: Option<PathBuf>,
    /// Sent with the request being made, and only that one.
    headers: Vec<(String, String)>,
    /// Requests made, redirects included (for `-v`).
    pub requests: u32,
}

impl Browser {
    /// A browser whose cookies are loaded from, and saved to, `jar_path`, trusting the usual
    /// roots and `ca_bundle` (fails only on an unusable bundle).
    pub fn new(jar_path: Option<PathBuf>, ca_bundle: Option<&Bundle>) -> anyhow::Result<Self> {
        let agent = crate::tls::ureq_agent(ca_bundle, TIMEOUT, false)?;
        // Like the cache: no symlink, no FIFO, bounded; an unreadable jar is an empty one.
        let jar = jar_path
            .as_deref()
            .and_then(|p| {
                crate::private_file::read_bounded(p, MAX_JAR_BYTES)
                    .ok()
                    .flatten()
            })
            .and_then(|bytes| cookie_store::serde::json::load(bytes.as_slice()).ok())
            .unwrap_or_default();
        Ok(Self {
            agent,
            jar,
            jar_path,
            headers: Vec::new(),
            requests: 0,
        })
    }

    pub fn get(&mut self, url: Url) -> anyhow::Result<Page> {
        self.send(url, None)
    }

    pub fn post_form(&mut self, url: Url, fields: &[(String, String)]) -> anyhow::Result<Page> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(url, Some(("application/x-www-form-urlencoded", body)))
    }

    /// POSTs JSON (the REST APIs of Okta and the like), asking for JSON back.
    pub fn post_json(&mut self, url: Url, value: &serde_json::Value) -> anyhow::Result<Page> {
        self.post_json_authorized(url, value, None)
    }

    /// `post_json` with an `Authorization` header (API tokens: never logged).
    pub fn post_json_authorized(
        &mut self,
        url: Url,
        value: &serde_json::Value,
        authorization: Option<&str>,
    ) -> anyhow::Result<Page> {
        let headers: Vec<(&str, String)> = authorization
            .map(|a| ("authorization", a.to_owned()))
            .into_iter()
            .collect();
        self.post_json_with(url, value, &headers)
    }

    /// `post_json` with extra headers (credentials among them: never logged), sent with this
    /// request and any same-origin redirect of it only.
    pub fn post_json_with(
        &mut self,
        url: Url,
        value: &serde_json::Value,
        headers: &[(&str, String)],
    ) -> anyhow::Result<Page> {
        self.headers = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let result = self.send(url, Some(("application/json", value.to_string())));
        self.headers.clear();
        result
    }

    /// The response headers (names lower-case) of a HEAD of `url`, redirects not followed, given
    /// at most `limit`: what detection of the provider looks at.
    pub fn head(&mut self, url: &Url, limit: Duration) -> anyhow::Result<Vec<(String, String)>> {
        self.probe(url, limit).map(|(_, headers)| headers)
    }

    /// `head` with the answer's status: whether the IdP is there at all (`diagnose`).
    pub fn probe(
        &mut self,
        url: &Url,
        limit: Duration,
    ) -> anyhow::Result<(u16, Vec<(String, String)>)> {
        self.requests += 1;
        tracing::debug!("IdP: HEAD {}", origin(url));
        let response = self
            .agent
            .head(url.as_str())
            .config()
            .timeout_global(Some(limit))
            .build()
            .call()
            .map_err(|e| failed(url, &e))?;
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        Ok((response.status().as_u16(), headers))
    }

    /// Sets a cookie as if `url` had sent it (an SSO token an API returned in its body).
    pub fn set_cookie(&mut self, url: &Url, name: &str, value: &str) {
        let _ = self.jar.parse(&format!("{name}={value}; Path=/"), url);
    }

    /// Sends, then follows redirects: 301/302/303 turn into a GET, 307/308 repeat the request.
    fn send(
        &mut self,
        mut url: Url,
        mut form: Option<(&'static str, String)>,
    ) -> anyhow::Result<Page> {
        for _ in 0..=MAX_REDIRECTS {
            let mut response = self.send_once(&url, form.as_ref())?;
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match (status, location) {
                (301..=303 | 307 | 308, Some(location)) => {
                    let next = url
                        .join(&location)
                        .with_context(|| format!("{url} redirects to a malformed location"))?;
                    if !matches!(next.scheme(), "http" | "https") {
                        anyhow::bail!(
                            "{url} redirects to {}, which is not a web page",
                            next.scheme()
                        );
                    }
                    if status <= 303 {
                        form = None;
                    }
                    if next.origin() != url.origin() {
                        // Credentials in headers are for the host they were meant for.
                        self.headers.clear();
                    }
                    url = next;
                }
                _ => {
                    let body = response
                        .body_mut()
                        .with_config()
                        .limit(MAX_BODY)
                        .read_to_string()
                        .with_context(|| format!("reading the page at {}", origin(&url)))?;
                    return Ok(Page { url, status, body });
                }
            }
        }
        anyhow::bail!("{} redirects more than {MAX_REDIRECTS} times", origin(&url))
    }

    fn send_once(
        &mut self,
        url: &Url,
        form: Option<&(&'static str, String)>,
    ) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        self.requests += 1;
        let cookies: Vec<String> = self
            .jar
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        // Only the path: query strings of IdP URLs carry one-time tokens.
        tracing::debug!(
            "IdP: {} {}",
            if form.is_some() { "POST" } else { "GET" },
            origin(url)
        );
        let result = match form {
            Some((content_type, body)) => {
                let mut request = self
                    .agent
                    .post(url.as_str())
                    .header("content-type", *content_type);
                if *content_type == "application/json" {
                    request = request.header("accept", "application/json");
                }
                for (name, value) in &self.headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                if !cookies.is_empty() {
                    request = request.header("cookie", cookies.join("; "));
                }
                request.send(body.as_str())
            }
            None => {
                let mut request = self.agent.get(url.as_str());
                if !cookies.is_empty() {
                    request = request.header("cookie", cookies.join("; "));
                }
                request.call()
            }
        };
        let response = result.map_err(|e| failed(url, &e))?;
        for value in response.headers().get_all("set-cookie") {
            if let Ok(value) = value.to_str() {
                // A cookie the store refuses (bad domain, malformed) is one a browser drops too.
                let _ = self.jar.parse(value, url);
            }
        }
        Ok(response)
    }

    /// Writes the jar (owner-only) so the next run reuses the IdP session.
    pub fn save(&self) -> anyhow::Result<()> {
        let Some(path) = &self.jar_path else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        cookie_store::serde::json::save_incl_expired_and_nonpersistent(&self.jar, &mut bytes)
            .map_err(|e| anyhow::anyhow!("saving IdP cookies: {e}"))?;
        crate::private_file::write_private(path, &bytes)?;
        Ok(())
    }
}

/// A request that got no answer: an untrusted certificate says how to trust it.
fn failed(url: &Url, e: &ureq::Error) -> anyhow::Error {
    if crate::tls::untrusted_certificate(e) {
        let host = url.host_str().unwrap_or_default();
        return anyhow::anyhow!(
            "{}: {} ({e})",
            origin(url),
            crate::tls::untrusted_hint(host)
        );
    }
    anyhow::anyhow!("{}: {e}", origin(url))
}

/// A cookie jar is a few kilobytes; an IdP setting hundreds of cookies is not one to keep.
const MAX_JAR_BYTES: u64 = 1024 * 1024;

/// A URL without query or fragment: safe to show, since those may hold tokens.
pub fn origin(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}
