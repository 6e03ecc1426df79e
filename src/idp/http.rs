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

pub use crate::shown::origin;

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
    /// A redirect here ends the request unfetched (an OAuth redirect URI, which is ours to
    /// read, not the IdP's page to load).
    stop_at: Option<Url>,
    /// Back-channel requests (token endpoints) carry no browser cookies and keep none.
    no_cookies: bool,
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
            stop_at: None,
            no_cookies: false,
        })
    }

    /// POSTs a form as a server-side client does (an OAuth token endpoint): without the
    /// browser's cookies, and keeping none it sets. Providers treat a request with their session
    /// cookie as the user's, not the client's (LemonLDAP::NG refuses it at its token endpoint).
    pub fn post_form_back_channel(
        &mut self,
        url: Url,
        fields: &[(String, String)],
    ) -> anyhow::Result<Page> {
        self.no_cookies = true;
        let result = self.post_form(url, fields);
        self.no_cookies = false;
        result
    }

    /// Redirects to `target` (same scheme, host, port and path) are returned as they are, a
    /// page with the redirect's status, the target with its query as URL, and no body.
    pub fn stop_at_redirect(&mut self, target: Option<Url>) {
        self.stop_at = target;
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
                    let next = url.join(&location).with_context(|| {
                        format!("{} redirects to a malformed location", origin(&url))
                    })?;
                    if self
                        .stop_at
                        .as_ref()
                        .is_some_and(|t| same_endpoint(&next, t))
                    {
                        return Ok(Page {
                            url: next,
                            status,
                            body: String::new(),
                        });
                    }
                    if !matches!(next.scheme(), "http" | "https") {
                        anyhow::bail!(
                            "{} redirects to {}, which is not a web page",
                            origin(&url),
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
        let cookies: Vec<String> = if self.no_cookies {
            Vec::new()
        } else {
            self.jar
                .get_request_values(url)
                .map(|(name, value)| format!("{name}={value}"))
                .collect()
        };
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
        let kept = if self.no_cookies {
            None
        } else {
            Some(response.headers().get_all("set-cookie"))
        };
        for value in kept.into_iter().flatten() {
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

/// Where the IdP's session cookies are kept: in the cache directory, per IdP origin and
/// username (so a live IdP session is reused, and never another person's).
pub fn jar_path(dir: &std::path::Path, idp: &Url, username: Option<&str>) -> PathBuf {
    let origin = idp.origin().ascii_serialization();
    let digest =
        crate::digest::sha256_parts([origin.as_bytes(), &[0], username.unwrap_or("").as_bytes()]);
    let hash = crate::digest::hex(&digest[..8]);
    dir.join(format!("idp_cookies_{hash}.json"))
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

/// Whether `url` is `target` whatever its query: same scheme, host, port and path (an empty
/// path is `/`).
pub fn same_endpoint(url: &Url, target: &Url) -> bool {
    let path = |u: &Url| {
        let p = u.path();
        if p.is_empty() {
            "/".to_owned()
        } else {
            p.to_owned()
        }
    };
    url.scheme() == target.scheme()
        && url.host_str() == target.host_str()
        && url.port_or_known_default() == target.port_or_known_default()
        && path(url) == path(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_uri_matches_whatever_its_query_and_nothing_else() {
        let u = |s: &str| Url::parse(s).unwrap();
        let target = u("http://127.0.0.1:8400/callback");
        assert!(same_endpoint(
            &u("http://127.0.0.1:8400/callback?code=x&state=y"),
            &target
        ));
        for other in [
            "http://127.0.0.1:8401/callback",
            "http://127.0.0.1:8400/callback/x",
            "http://127.0.0.1:8400/callbackx",
            "https://127.0.0.1:8400/callback",
            "http://localhost:8400/callback",
        ] {
            assert!(!same_endpoint(&u(other), &target), "{other}");
        }
        assert!(same_endpoint(
            &u("app:/callback?code=1"),
            &u("app:/callback")
        ));
        assert!(same_endpoint(
            &u("http://localhost?code=1"),
            &u("http://localhost/")
        ));
    }
}
