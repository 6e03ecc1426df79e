//! Local credential endpoints: an ECS-container-style one (what exec mode hands its command, and
//! `serve ecs`), an EC2-instance-metadata one (`serve ec2`), and the profile page. All listen on
//! loopback only and are guarded: a random token per start, a Host check against DNS
//! rebinding, no cross-origin writes, no proxied requests. aws-runas v3 served credentials to
//! anyone local who asked; aws-vault added a token and a Host check after a DNS-rebinding report.
//!
//! The HTTP side, and the bounds that keep any local process from knocking these over, are
//! `http_server`'s.

pub mod broker;
pub mod ec2;
pub mod ecs;
pub mod page;

pub use crate::http_server::*;
