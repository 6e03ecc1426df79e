//! EC2's `DescribeInstances`, the one EC2 call aws-runas makes (to find an SSM target's
//! instance), as a Query request signed with the SDK's own SigV4 signer, sent with our HTTPS
//! client and read with roxmltree. The EC2 SDK crate was most of a clean build for this one
//! call; the request and the answer are small and stable (API version 2016-11-15).

use std::time::{Duration, SystemTime};

use super::{Endpoint, EC2, FALLBACK_REGION};
use crate::credentials::Credentials;

const API_VERSION: &str = "2016-11-15";
/// A search with filters rarely pages; a service that pages forever must not keep us.
const MAX_PAGES: usize = 50;
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("EC2 DescribeInstances failed: {0}")]
pub struct Ec2Error(String);

/// An EC2 endpoint and the credentials to call it with.
pub struct Ec2 {
    region: String,
    url: String,
    at: Endpoint,
    credentials: Credentials,
    ca_bundle: Option<crate::tls::Bundle>,
}

impl Ec2 {
    pub fn new(
        region: Option<&str>,
        endpoint: Option<&str>,
        credentials: &Credentials,
        ca_bundle: Option<&crate::tls::Bundle>,
    ) -> Self {
        let region = region.unwrap_or(FALLBACK_REGION).to_owned();
        let url = match endpoint {
            Some(url) => url.to_owned(),
            None if region.starts_with("cn-") => format!("https://ec2.{region}.amazonaws.com.cn/"),
            None => format!("https://ec2.{region}.amazonaws.com/"),
        };
        Self {
            at: EC2.at(&region, endpoint),
            region,
            url,
            credentials: credentials.clone(),
            ca_bundle: ca_bundle.cloned(),
        }
    }

    /// The ids of the running instances whose `filter` is one of `values`, all pages.
    pub fn running_instance_ids(
        &self,
        filter: &str,
        values: &[String],
    ) -> Result<Vec<String>, Ec2Error> {
        let agent = crate::tls::ureq_agent(self.ca_bundle.as_ref(), TIMEOUT, false)
            .map_err(|e| Ec2Error(e.to_string()))?;
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = query(filter, values, next.as_deref());
            let answer = self.send(&agent, &body)?;
            let page = read_page(&answer).map_err(|e| {
                Ec2Error(format!(
                    "{} answered HTTP 200 with a body that is cut short or malformed ({e}), not \
                     an EC2 answer",
                    self.at.host
                ))
            })?;
            ids.extend(page.ids);
            match page.next {
                Some(token) => next = Some(token),
                None => return Ok(ids),
            }
        }
        Err(Ec2Error(format!(
            "{} kept paging past {MAX_PAGES} pages",
            self.at.host
        )))
    }

    fn send(&self, agent: &ureq::Agent, body: &str) -> Result<String, Ec2Error> {
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signed = self.sign(body, content_type)?;
        let mut request = agent.post(&self.url).header("content-type", content_type);
        for (name, value) in &signed {
            request = request.header(name.as_str(), value.as_str());
        }
        let response = request
            .send(body)
            .map_err(|e| Ec2Error(super::failure::describe_transport(&self.at, &e)))?;
        let super::Answer {
            status,
            request_id,
            body: bytes,
        } = super::read_answer(&self.at, response).map_err(Ec2Error)?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if !(200..300).contains(&status) {
            return Err(Ec2Error(super::failure::describe_answer(
                &self.at,
                status,
                request_id.as_deref(),
                text.as_bytes(),
            )));
        }
        Ok(text)
    }

    /// The SigV4 headers for a POST of `body` to the endpoint.
    fn sign(&self, body: &str, content_type: &str) -> Result<Vec<(String, String)>, Ec2Error> {
        use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
        use aws_sigv4::sign::v4;
        let failed = |e: &dyn std::fmt::Display| Ec2Error(format!("cannot sign the request: {e}"));
        let c = &self.credentials;
        let identity = aws_credential_types::Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            c.session_token.clone(),
            None,
            "aws-runas",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ec2")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| failed(&e))?
            .into();
        let headers = [("content-type", content_type)];
        let request = SignableRequest::new(
            "POST",
            self.url.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| failed(&e))?;
        let (instructions, _) = sign(request, &params).map_err(|e| failed(&e))?.into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

/// `i-` or `mi-` followed by at least 8 hex digits: an instance id, used without a lookup.
pub fn is_instance_id(target: &str) -> bool {
    let hex = target
        .strip_prefix("i-")
        .or_else(|| target.strip_prefix("mi-"));
    hex.is_some_and(|h| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The form body of one DescribeInstances page: the filter, running instances only.
fn query(filter: &str, values: &[String], next: Option<&str>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", "DescribeInstances")
        .append_pair("Version", API_VERSION)
        .append_pair("Filter.1.Name", filter);
    for (i, value) in values.iter().enumerate() {
        form.append_pair(&format!("Filter.1.Value.{}", i + 1), value);
    }
    form.append_pair("Filter.2.Name", "instance-state-name")
        .append_pair("Filter.2.Value.1", "running");
    if let Some(token) = next {
        form.append_pair("NextToken", token);
    }
    form.finish()
}

fn child<'a, 'input>(
    node: roxmltree::Node<'a, 'input>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'input>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

#[derive(Debug, PartialEq)]
struct Page {
    ids: Vec<String>,
    next: Option<String>,
}

/// The instance ids of one answer (`reservationSet/item/instancesSet/item/instanceId`) and
/// its `nextToken`. An id that is not one is refused: it goes on into a session request.
fn read_page(xml: &str) -> Result<Page, &'static str> {
    let doc = roxmltree::Document::parse(xml).map_err(|_| "not XML")?;
    let root = doc.root_element();
    if root.tag_name().name() != "DescribeInstancesResponse" {
        return Err("of another kind");
    }
    let mut ids = Vec::new();
    if let Some(reservations) = child(root, "reservationSet") {
        for reservation in reservations.children().filter(|c| c.is_element()) {
            let Some(instances) = child(reservation, "instancesSet") else {
                continue;
            };
            for instance in instances.children().filter(|c| c.is_element()) {
                let id = child(instance, "instanceId")
                    .and_then(|n| n.text())
                    .map(str::trim)
                    .filter(|id| is_instance_id(id))
                    .ok_or("missing an instance id")?;
                ids.push(id.to_owned());
            }
        }
    }
    let next = child(root, "nextToken")
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok(Page { ids, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gives_its_instance_ids_and_next_token() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <reservationSet>
    <item><reservationId>r-1</reservationId><instancesSet>
      <item><instanceId>i-0123456789abcdef0</instanceId><tagSet><item><key>instanceId</key><value>x</value></item></tagSet></item>
      <item><instanceId>i-0fedcba9876543210</instanceId></item>
    </instancesSet></item>
    <item><instancesSet><item><instanceId>i-00000000000000001</instanceId></item></instancesSet></item>
  </reservationSet>
  <nextToken>page-2</nextToken>
</DescribeInstancesResponse>"#;
        assert_eq!(
            read_page(xml),
            Ok(Page {
                ids: vec![
                    "i-0123456789abcdef0".into(),
                    "i-0fedcba9876543210".into(),
                    "i-00000000000000001".into()
                ],
                next: Some("page-2".into())
            })
        );
        let empty = "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>";
        assert_eq!(
            read_page(empty),
            Ok(Page {
                ids: vec![],
                next: None
            })
        );
    }

    #[test]
    fn answers_that_are_not_pages_are_refused() {
        for bad in [
            "",
            "<html>portal</html>",
            "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>\
             <instanceId>i-1; rm -rf /</instanceId></item></instancesSet></item></reservationSet>\
             </DescribeInstancesResponse>",
            "<DescribeInstancesResponse><reservationSet>",
        ] {
            assert!(read_page(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_query_names_the_filter_and_running_state() {
        let q = query("tag:Name", &["web a".into(), "db&x".into()], Some("tok/en"));
        assert_eq!(
            q,
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3AName&\
             Filter.1.Value.1=web+a&Filter.1.Value.2=db%26x&Filter.2.Name=instance-state-name&\
             Filter.2.Value.1=running&NextToken=tok%2Fen"
        );
    }
}
