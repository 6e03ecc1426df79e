//! The IAM client for account insight: the policy documents that apply to a user (inline and
//! attached, the user's own and their groups'), fetched concurrently, and the user's MFA devices;
//! and for `keys rotate`, creating and deleting the caller's own access keys.

use aws_sdk_iam::Client;
use tokio::task::JoinSet;

use super::{block_on, describe_error, Endpoint, IAM};
use crate::credentials::Credentials;

#[derive(Debug, thiserror::Error)]
#[error("IAM {operation} failed: {message}")]
pub struct IamError {
    operation: &'static str,
    message: String,
}

type Result<T> = std::result::Result<T, IamError>;

fn fail<E>(
    iam: &Iam,
    operation: &'static str,
) -> impl FnOnce(aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>) -> IamError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let at = iam.at.clone();
    move |err| IamError {
        operation,
        message: describe_error(&at, &err),
    }
}

/// A client and where it calls, handed to each concurrent task.
#[derive(Clone)]
struct Iam {
    client: Client,
    at: Endpoint,
}

pub struct SdkIam {
    iam: Iam,
}

impl SdkIam {
    pub fn new(
        region: Option<&str>,
        endpoint: Option<&str>,
        with: &Credentials,
        ca_bundle: Option<&crate::tls::Bundle>,
    ) -> Self {
        Self {
            iam: Iam {
                client: super::client!(aws_sdk_iam, region, endpoint, with, ca_bundle),
                at: IAM.at(region.unwrap_or(super::FALLBACK_REGION), endpoint),
            },
        }
    }

    /// Every policy document that applies to `user`, as IAM returns them.
    pub fn policy_documents(&self, user: &str) -> Result<Vec<String>> {
        block_on(user_documents(self.iam.clone(), user.to_owned()))
    }

    pub fn mfa_devices(&self, user: &str) -> Result<Vec<String>> {
        block_on(async {
            let devices = self
                .iam
                .client
                .list_mfa_devices()
                .user_name(user)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(fail(&self.iam, "ListMFADevices"))?;
            Ok(devices
                .into_iter()
                .map(|d| d.serial_number().to_owned())
                .collect())
        })
    }
}

/// What `CreateAccessKey` gave.
pub enum NewKey {
    Created(Credentials),
    /// The user has IAM's two keys already.
    AtLimit,
}

impl SdkIam {
    /// A new access key for the caller's own user: IAM takes no user name to mean that one.
    pub fn create_own_access_key(&self) -> Result<NewKey> {
        block_on(async {
            let out = self.iam.client.create_access_key().send().await;
            let out = match out {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_limit_exceeded_exception()) =>
                {
                    return Ok(NewKey::AtLimit)
                }
                other => other.map_err(fail(&self.iam, "CreateAccessKey"))?,
            };
            let key = out.access_key().ok_or_else(|| IamError {
                operation: "CreateAccessKey",
                message: "the answer held no access key".into(),
            })?;
            Ok(NewKey::Created(Credentials::long_term(
                key.access_key_id().to_owned(),
                key.secret_access_key().to_owned(),
            )))
        })
    }

    /// Deletes one of the caller's own access keys.
    pub fn delete_own_access_key(&self, access_key_id: &str) -> Result<()> {
        block_on(async {
            self.iam
                .client
                .delete_access_key()
                .access_key_id(access_key_id)
                .send()
                .await
                .map_err(fail(&self.iam, "DeleteAccessKey"))?;
            Ok(())
        })
    }
}

/// Collects the documents of concurrently running tasks.
async fn gather(mut tasks: JoinSet<Result<Vec<String>>>) -> Result<Vec<String>> {
    let mut documents = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let result = joined.map_err(|e| IamError {
            operation: "request",
            message: e.to_string(),
        })?;
        documents.extend(result?);
    }
    Ok(documents)
}

async fn user_documents(iam: Iam, user: String) -> Result<Vec<String>> {
    let mut tasks = JoinSet::new();
    tasks.spawn(inline_policies(iam.clone(), Principal::User(user.clone())));
    tasks.spawn(attached_policies(
        iam.clone(),
        Principal::User(user.clone()),
    ));
    tasks.spawn(group_documents(iam, user));
    gather(tasks).await
}

async fn group_documents(iam: Iam, user: String) -> Result<Vec<String>> {
    let groups = iam
        .client
        .list_groups_for_user()
        .user_name(&user)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(fail(&iam, "ListGroupsForUser"))?;
    let mut tasks = JoinSet::new();
    for group in groups {
        let name = group.group_name().to_owned();
        tasks.spawn(inline_policies(iam.clone(), Principal::Group(name.clone())));
        tasks.spawn(attached_policies(iam.clone(), Principal::Group(name)));
    }
    gather(tasks).await
}

/// Inline policies of a user or group: their names, then each one's document.
async fn inline_policies(iam: Iam, principal: Principal) -> Result<Vec<String>> {
    let names = match &principal {
        Principal::User(user) => iam
            .client
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(fail(&iam, "ListUserPolicies"))?,
        Principal::Group(group) => iam
            .client
            .list_group_policies()
            .group_name(group)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(fail(&iam, "ListGroupPolicies"))?,
    };
    let mut tasks = JoinSet::new();
    for name in names {
        let iam = iam.clone();
        let principal = principal.clone();
        tasks.spawn(async move {
            let document = match principal {
                Principal::User(user) => {
                    iam.client
                        .get_user_policy()
                        .user_name(user)
                        .policy_name(name)
                        .send()
                        .await
                        .map_err(fail(&iam, "GetUserPolicy"))?
                        .policy_document
                }
                Principal::Group(group) => {
                    iam.client
                        .get_group_policy()
                        .group_name(group)
                        .policy_name(name)
                        .send()
                        .await
                        .map_err(fail(&iam, "GetGroupPolicy"))?
                        .policy_document
                }
            };
            Ok(vec![document])
        });
    }
    gather(tasks).await
}

#[derive(Clone)]
enum Principal {
    User(String),
    Group(String),
}

/// Managed policies attached to a user or group: each one's default version's document.
async fn attached_policies(iam: Iam, principal: Principal) -> Result<Vec<String>> {
    let policies = match &principal {
        Principal::User(user) => iam
            .client
            .list_attached_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(fail(&iam, "ListAttachedUserPolicies"))?,
        Principal::Group(group) => iam
            .client
            .list_attached_group_policies()
            .group_name(group)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(fail(&iam, "ListAttachedGroupPolicies"))?,
    };
    let mut tasks = JoinSet::new();
    for arn in policies.into_iter().filter_map(|p| p.policy_arn) {
        let iam = iam.clone();
        tasks.spawn(async move {
            let policy = iam
                .client
                .get_policy()
                .policy_arn(&arn)
                .send()
                .await
                .map_err(fail(&iam, "GetPolicy"))?;
            let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
                return Ok(Vec::new());
            };
            let out = iam
                .client
                .get_policy_version()
                .policy_arn(&arn)
                .version_id(version)
                .send()
                .await
                .map_err(fail(&iam, "GetPolicyVersion"))?;
            Ok(out
                .policy_version()
                .and_then(|v| v.document())
                .map(str::to_owned)
                .into_iter()
                .collect())
        });
    }
    gather(tasks).await
}
