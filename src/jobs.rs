//! Basiq jobs have no overall status: it is derived here from the steps, and a failure is turned
//! into what the app should tell its user (SPEC.md §4, "Job outcomes").

use serde::Serialize;

use crate::basiq::types::Job;

/// Derived from the steps: `action_required` and `failed` come with an `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStep {
    /// e.g. `verify-credentials`, `retrieve-accounts`, `retrieve-transactions`.
    pub title: String,
    /// `pending`, `in_progress`, `succeeded` or `failed`.
    pub status: String,
}

/// A job as the API shows it, wherever a job is returned.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

fn outcome(code: &str) -> (JobStatus, UserAction) {
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

fn step_status(raw: &str) -> &'static str {
    match raw {
        "success" => "succeeded",
        "in-progress" | "in_progress" => "in_progress",
        "failed" => "failed",
        _ => "pending",
    }
}

/// `…/users/{user}/connections/{connection}` out of a job's source link or step result URL.
fn user_and_connection(job: &Job) -> Option<(String, String)> {
    let candidates = job.links.source.iter().chain(
        job.steps
            .iter()
            .filter_map(|s| s.result.as_ref().and_then(|r| r.url.as_ref())),
    );
    for url in candidates {
        let segments: Vec<&str> = url.split(['/', '?']).collect();
        if let Some(i) = segments.iter().position(|s| *s == "users")
            && segments.get(i + 2) == Some(&"connections")
            && let (Some(user), Some(conn)) = (segments.get(i + 1), segments.get(i + 3))
            && !user.is_empty()
            && !conn.is_empty()
        {
            return Some(((*user).to_owned(), (*conn).to_owned()));
        }
    }
    None
}

/// The Basiq user a job belongs to, once Basiq tells us (absent while the first step runs).
pub fn job_user(job: &Job) -> Option<String> {
    user_and_connection(job).map(|(u, _)| u)
}

pub fn normalise(job: &Job) -> JobView {
    let steps: Vec<JobStep> = job
        .steps
        .iter()
        .map(|s| JobStep {
            title: s.title.clone(),
            status: step_status(&s.status).to_owned(),
        })
        .collect();
    let failed = job.steps.iter().find(|s| s.status == "failed");
    let (status, error) = match failed {
        Some(step) => {
            let result = step.result.as_ref();
            let code = result
                .and_then(|r| r.code.clone())
                .unwrap_or_else(|| "unknown-error".to_owned());
            let (status, user_action) = outcome(&code);
            let error = JobError {
                title: result
                    .and_then(|r| r.title.clone())
                    .unwrap_or_else(|| format!("The {} step failed", step.title)),
                detail: result.and_then(|r| r.detail.clone()).unwrap_or_default(),
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
    };
    JobView {
        id: job.id.clone(),
        status,
        job_type: job.job_type.clone(),
        connection_id: user_and_connection(job).map(|(_, c)| c),
        steps,
        error,
        created_at: job.created.clone(),
        updated_at: job.updated.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(steps: serde_json::Value, source: Option<&str>) -> Job {
        serde_json::from_value(json!({
            "type": "job", "id": "j1", "steps": steps,
            "links": {"self": "https://x/jobs/j1", "source": source}
        }))
        .unwrap()
    }

    fn steps(statuses: [&str; 3], failure: Option<&str>) -> serde_json::Value {
        let titles = [
            "verify-credentials",
            "retrieve-accounts",
            "retrieve-transactions",
        ];
        json!(
            titles
                .iter()
                .zip(statuses)
                .map(|(t, s)| {
                    let result = match (s, failure) {
                        ("failed", Some(code)) => {
                            json!({"code": code, "title": "Failed", "detail": "d"})
                        }
                        ("success", _) => {
                            json!({"type": "link", "url": "/users/u1/connections/c1"})
                        }
                        _ => json!(null),
                    };
                    json!({"title": t, "status": s, "result": result})
                })
                .collect::<Vec<_>>()
        )
    }

    #[test]
    fn overall_status_is_derived_from_the_steps() {
        let cases = [
            (["pending", "pending", "pending"], JobStatus::Pending),
            (["in-progress", "pending", "pending"], JobStatus::InProgress),
            (["success", "pending", "pending"], JobStatus::InProgress),
            (["success", "success", "success"], JobStatus::Succeeded),
        ];
        for (s, expected) in cases {
            assert_eq!(
                normalise(&job(steps(s, None), None)).status,
                expected,
                "{s:?}"
            );
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
            let view = normalise(&job(
                steps(["success", "failed", "pending"], Some(code)),
                None,
            ));
            assert_eq!(view.status, status, "{code}");
            let error = view.error.unwrap();
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
    fn the_connection_and_user_come_from_the_source_link_or_a_step_url() {
        let j = job(
            steps(["in-progress", "pending", "pending"], None),
            Some("https://au-api.basiq.io/users/u9/connections/c9"),
        );
        assert_eq!(normalise(&j).connection_id.as_deref(), Some("c9"));
        assert_eq!(job_user(&j).as_deref(), Some("u9"));
        let j = job(steps(["success", "in-progress", "pending"], None), None);
        assert_eq!(job_user(&j).as_deref(), Some("u1"));
        let j = job(steps(["in-progress", "pending", "pending"], None), None);
        assert_eq!(job_user(&j), None);
    }
}
