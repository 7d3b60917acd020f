//! Job outcomes (SPEC.md §4): a job's overall status from its steps (Basiq's connection jobs
//! have none), and what the app should tell its user when one fails. How Basiq writes a job
//! is read in `basiq/types/job.rs`; the rules are here.

use serde::{Deserialize, Serialize};

/// Derived from the steps: `action_required` and `failed` come with an `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    ActionRequired,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::ActionRequired => "action_required",
        }
    }

    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::InProgress)
    }
}

/// What the app should tell its user about a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserAction {
    /// Open the Consent UI again with this job's `connectionId`.
    ReenterCredentials,
    /// Log in at the bank, clear the prompt, then refresh.
    VisitBank,
    /// The bank is down; retry after `retryAfterSeconds`.
    RetryLater,
    /// Basiq retries by itself; data will follow.
    Wait,
}

/// How long to wait before retrying when the bank is unavailable (Basiq: "wait 10 minutes").
pub const BANK_RETRY_AFTER_SECS: u64 = 600;

/// Why a job failed, and what the user should do about it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobError {
    /// Basiq's failure code, e.g. `invalid-credentials`, `maintenance`, `connector-error`.
    pub code: String,
    pub title: String,
    pub detail: String,
    pub user_action: UserAction,
    /// With `retry_later`: seconds to wait before refreshing again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStep {
    /// e.g. `verify-credentials`, `retrieve-accounts`, `retrieve-transactions`.
    pub title: String,
    /// `pending`, `in_progress`, `succeeded` or `failed`.
    pub status: String,
}

/// A job as the API shows it, wherever a job is returned.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    pub status: JobStatus,
    /// Basiq's job type, e.g. `consent`, `refresh`.
    pub job_type: Option<String>,
    /// The connection the job works on; `null` until Basiq says.
    pub connection_id: Option<String>,
    pub steps: Vec<JobStep>,
    /// Set when `status` is `failed` or `action_required`.
    pub error: Option<JobError>,
    /// RFC 3339, as Basiq gives it.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl JobView {
    /// Final for the job watcher: Basiq will not change it by itself. A `wait` failure is not:
    /// Basiq retries such jobs every 2 hours for up to 7 days.
    pub fn settled(&self) -> bool {
        match (self.status, &self.error) {
            (JobStatus::Failed, Some(e)) if e.user_action == UserAction::Wait => false,
            (status, _) => status.is_final(),
        }
    }
}

/// What the user must do about a Basiq failure code.
pub fn user_action(code: &str) -> UserAction {
    outcome(code).1
}

/// The outcome table: each failure code's status and what the user should do.
pub fn outcome(code: &str) -> (JobStatus, UserAction) {
    match code {
        "invalid-credentials" | "authorization-failed" => {
            (JobStatus::ActionRequired, UserAction::ReenterCredentials)
        }
        "account-not-accessible-requires-user-action" | "user-action-required" => {
            (JobStatus::ActionRequired, UserAction::VisitBank)
        }
        "service-unavailable"
        | "system-unavailable"
        | "maintenance"
        | "institution-not-available" => (JobStatus::Failed, UserAction::RetryLater),
        _ => (JobStatus::Failed, UserAction::Wait),
    }
}

/// A failed step, as Basiq describes it.
#[derive(Debug, Default)]
pub struct Failure {
    pub step: String,
    pub code: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
}

/// A job's status from its steps (each `pending`, `in_progress`, `succeeded` or `failed`),
/// and, when a step failed, what to tell the user.
pub fn status_of(steps: &[JobStep], failure: Option<Failure>) -> (JobStatus, Option<JobError>) {
    match failure {
        Some(failure) => {
            let code = failure.code.unwrap_or_else(|| "unknown-error".to_owned());
            let (status, user_action) = outcome(&code);
            let error = JobError {
                title: failure
                    .title
                    .unwrap_or_else(|| format!("The {} step failed", failure.step)),
                detail: failure.detail.unwrap_or_default(),
                code,
                user_action,
                retry_after_seconds: (user_action == UserAction::RetryLater)
                    .then_some(BANK_RETRY_AFTER_SECS),
            };
            (status, Some(error))
        }
        None if !steps.is_empty() && steps.iter().all(|s| s.status == "succeeded") => {
            (JobStatus::Succeeded, None)
        }
        None if steps.iter().any(|s| s.status != "pending") => (JobStatus::InProgress, None),
        None => (JobStatus::Pending, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(statuses: [&str; 3]) -> Vec<JobStep> {
        statuses
            .iter()
            .map(|s| JobStep {
                title: "step".into(),
                status: (*s).into(),
            })
            .collect()
    }

    #[test]
    fn overall_status_is_derived_from_the_steps() {
        let cases = [
            (["pending", "pending", "pending"], JobStatus::Pending),
            (["in_progress", "pending", "pending"], JobStatus::InProgress),
            (["succeeded", "pending", "pending"], JobStatus::InProgress),
            (
                ["succeeded", "succeeded", "succeeded"],
                JobStatus::Succeeded,
            ),
        ];
        for (s, expected) in cases {
            assert_eq!(status_of(&steps(s), None).0, expected, "{s:?}");
        }
    }

    #[test]
    fn each_failure_code_maps_to_the_documented_outcome() {
        let cases = [
            (
                "invalid-credentials",
                JobStatus::ActionRequired,
                UserAction::ReenterCredentials,
            ),
            (
                "authorization-failed",
                JobStatus::ActionRequired,
                UserAction::ReenterCredentials,
            ),
            (
                "account-not-accessible-requires-user-action",
                JobStatus::ActionRequired,
                UserAction::VisitBank,
            ),
            (
                "user-action-required",
                JobStatus::ActionRequired,
                UserAction::VisitBank,
            ),
            (
                "service-unavailable",
                JobStatus::Failed,
                UserAction::RetryLater,
            ),
            (
                "system-unavailable",
                JobStatus::Failed,
                UserAction::RetryLater,
            ),
            ("maintenance", JobStatus::Failed, UserAction::RetryLater),
            (
                "institution-not-available",
                JobStatus::Failed,
                UserAction::RetryLater,
            ),
            ("connector-error", JobStatus::Failed, UserAction::Wait),
            ("unknown-error", JobStatus::Failed, UserAction::Wait),
            ("job-timed-out", JobStatus::Failed, UserAction::Wait),
            ("something-new", JobStatus::Failed, UserAction::Wait),
        ];
        for (code, status, action) in cases {
            let failure = Failure {
                step: "retrieve-accounts".into(),
                code: Some(code.into()),
                ..Failure::default()
            };
            let (got, error) = status_of(&steps(["succeeded", "failed", "pending"]), Some(failure));
            assert_eq!(got, status, "{code}");
            let error = error.unwrap();
            assert_eq!(error.user_action, action, "{code}");
            assert_eq!(error.code, code);
            assert_eq!(
                error.retry_after_seconds.is_some(),
                action == UserAction::RetryLater,
                "{code}"
            );
        }
    }

    #[test]
    fn a_failure_without_a_code_is_an_unknown_error_titled_by_its_step() {
        let (status, error) = status_of(
            &[],
            Some(Failure {
                step: "verify-credentials".into(),
                ..Failure::default()
            }),
        );
        assert_eq!(status, JobStatus::Failed);
        let error = error.unwrap();
        assert_eq!(error.code, "unknown-error");
        assert_eq!(error.title, "The verify-credentials step failed");
    }
}
