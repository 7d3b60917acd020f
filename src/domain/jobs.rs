//! Job outcomes (SPEC.md §4): a job's overall status from its steps (Basiq's connection jobs
//! have none), and what the app should tell its user when one fails or waits. How Basiq writes
//! a job is read in `basiq/types/job.rs`; the rules are here, in one table ([`OUTCOMES`]) that
//! the README and the OpenAPI document render.

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

/// What the app should ask of its user about a job that failed or waits on them (the table
/// in the README, "Job outcomes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserAction {
    /// Open the Consent UI again with this job's `connectionId`.
    ReenterCredentials,
    /// Log in at the bank, clear what it asks, then refresh.
    VisitBank,
    /// Answer the bank's challenge (`mfaChallenge`) with `POST /v1/jobs/{jobId}/mfa`.
    AnswerMfa,
    /// This bank cannot be connected this way: choose another, or contact support.
    ChooseAnotherBank,
    /// The bank is down; refresh again after `retryAfterSeconds`.
    RetryLater,
    /// Basiq retries by itself; data will follow.
    Wait,
}

impl UserAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReenterCredentials => "reenter_credentials",
            Self::VisitBank => "visit_bank",
            Self::AnswerMfa => "answer_mfa",
            Self::ChooseAnotherBank => "choose_another_bank",
            Self::RetryLater => "retry_later",
            Self::Wait => "wait",
        }
    }
}

/// One row of the outcome table: Basiq's codes, and what they mean for the user.
pub struct Outcome {
    pub codes: &'static [&'static str],
    pub status: JobStatus,
    pub action: UserAction,
    /// What the app tells its user, for the README and the OpenAPI document.
    pub meaning: &'static str,
    /// Where Basiq documents the codes (`basiq-docs/`, `core.json`, the seeds).
    pub source: &'static str,
}

/// A step waiting on the user's answer to the bank's challenge; not a failure code of Basiq's
/// but a step's title (`mfa-challenge`), kept in the table as the code the job's `error` carries.
pub const MFA_CHALLENGE: &str = "mfa-challenge";

/// The outcome table: every failure code Basiq documents for job steps, connections and
/// webhooks, with the status and user action it maps to. A code in none of these rows is
/// unknown: `wait`, counted in `basiq_unknown_job_codes_total` and logged once.
pub const OUTCOMES: &[Outcome] = &[
    Outcome {
        codes: &[
            "invalid-credentials",
            "invalid-username-or-password",
            "authorization-failed",
            "invalid-connection",
        ],
        status: JobStatus::ActionRequired,
        action: UserAction::ReenterCredentials,
        meaning: "the bank refused the login: open the Consent UI again with `connectionId`",
        source: "errors-1/codes.md (and its subtypes), JobsResult, `connection.invalidated`, seeds",
    },
    Outcome {
        codes: &[
            "locked-account",
            "multifactor-required",
            "multi-factor-authentication",
            "account-not-accessible-requires-user-action",
            "user-action-required",
        ],
        status: JobStatus::ActionRequired,
        action: UserAction::VisitBank,
        meaning: "the bank needs the user (a locked account, an MFA the connector cannot do, a \
                  prompt or new terms): log in at the bank, clear it, then refresh",
        source: "errors-1/codes.md subtypes, JobsResult, `connection.invalidated`, seeds",
    },
    Outcome {
        codes: &[MFA_CHALLENGE],
        status: JobStatus::ActionRequired,
        action: UserAction::AnswerMfa,
        meaning: "a refresh waits on the bank's one-time code or security questions \
                  (`mfaChallenge`): answer with `POST /v1/jobs/{jobId}/mfa` before `expiresAt`",
        source: "go-live-migration/go-list-for-upgrading-to-v30.md §8, postJobMfa",
    },
    Outcome {
        codes: &[
            "institution-not-found",
            "institution-disabled",
            "institution-not-supported",
            "too-many-sandbox-connections",
            "missing-required-field",
            "missing-required-field-value",
            "invalid-field-value",
            "invalid-csv-row",
            "row-count-exceeded",
            "account-data-differs",
            "empty-file",
            "bank-statement-invalid",
            "bank-statement-new-product",
            "bank-statement-parsing-error",
            "bank-statement-not-supported",
            "txn-after-last-updated-date",
        ],
        status: JobStatus::Failed,
        action: UserAction::ChooseAnotherBank,
        meaning: "no retry will clear it (the bank is gone, disabled or not supported, the \
                  sandbox is full, or a statement upload was refused): choose another bank or \
                  way to connect, or contact support",
        source: "JobsResult, errors-1/codes.md, postJobMfa's 400",
    },
    Outcome {
        codes: &[
            "service-unavailable",
            "system-unavailable",
            "maintenance",
            "institution-not-available",
        ],
        status: JobStatus::Failed,
        action: UserAction::RetryLater,
        meaning: "the bank is down: refresh again after `retryAfterSeconds` (600, or 3600 while \
                  the bank reports a `major-outage`)",
        source: "JobsResult, seeds/basiq-handling-jobs.txt",
    },
    Outcome {
        codes: &[
            "connector-error",
            "unknown-error",
            "job-timed-out",
            "internal-server-error",
            "parameter-not-supplied",
            "resource-not-found",
        ],
        status: JobStatus::Failed,
        action: UserAction::Wait,
        meaning: "Basiq's side failed and Basiq retries by itself (every 2 hours for up to 7 \
                  days): tell the user their data will follow",
        source: "JobsResult, errors-1/codes.md, seeds/basiq-handling-jobs.txt",
    },
];

/// How long to wait before refreshing a bank that is down (seeds/basiq-handling-jobs.txt:
/// "if anything other than major-outage then wait 10 minutes and try again").
pub const BANK_RETRY_AFTER_SECS: u64 = 600;
/// … and while the bank reports a major outage.
pub const OUTAGE_RETRY_AFTER_SECS: u64 = 3600;

/// The row of `code`, or `None` for a code Basiq does not document.
pub fn row(code: &str) -> Option<&'static Outcome> {
    OUTCOMES.iter().find(|o| o.codes.contains(&code))
}

/// The status and user action of a failure code; `wait` for one Basiq does not document.
pub fn outcome(code: &str) -> (JobStatus, UserAction) {
    row(code).map_or((JobStatus::Failed, UserAction::Wait), |o| {
        (o.status, o.action)
    })
}

/// What the user must do about a Basiq failure code.
pub fn user_action(code: &str) -> UserAction {
    outcome(code).1
}

/// Seconds to wait before refreshing a bank that is down, from the bank's status in Basiq's
/// connectors list (`operational`, `degraded-performance`, `partial-outage`, `major-outage`,
/// `under-maintenance`).
pub fn retry_after_secs(institution_status: Option<&str>) -> u64 {
    match institution_status {
        Some("major-outage") => OUTAGE_RETRY_AFTER_SECS,
        _ => BANK_RETRY_AFTER_SECS,
    }
}

/// The outcome table as Markdown, as the README and the OpenAPI document show it.
pub fn outcome_table() -> String {
    let mut out = String::from(
        "| Basiq codes | `status` | `error.userAction` | what to tell the user |\n|---|---|---|---|\n",
    );
    for o in OUTCOMES {
        let codes: Vec<String> = o.codes.iter().map(|c| format!("`{c}`")).collect();
        let meaning: String = o.meaning.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push_str(&format!(
            "| {} | `{}` | `{}` | {} |\n",
            codes.join(", "),
            o.status.as_str(),
            o.action.as_str(),
            meaning
        ));
    }
    out.push_str(
        "| anything else | `failed` | `wait` | as above; counted in `basiq_unknown_job_codes_total` and logged once |\n",
    );
    out
}

/// Why a job failed or waits, and what the user should do about it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobError {
    /// Basiq's failure code, e.g. `invalid-credentials`, `maintenance`, `connector-error`;
    /// `mfa-challenge` while the job waits on the user's answer.
    pub code: String,
    pub title: String,
    pub detail: String,
    pub user_action: UserAction,
    /// With `retry_later`: seconds to wait before refreshing again (600, or 3600 while the
    /// bank reports a `major-outage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// The bank's status in Basiq's connectors list when this was seen: `operational`,
    /// `degraded-performance`, `partial-outage`, `major-outage` or `under-maintenance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution_status: Option<String>,
}

/// The bank's challenge a job waits on (`userAction: answer_mfa`), as Basiq gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaChallenge {
    /// `token` (a one-time code) or `security-questions`.
    pub method: String,
    /// The bank's words, e.g. "A SMS code has been sent to your device".
    pub description: Option<String>,
    /// What to ask the user, one answer each, in order: the questions, or the input's label
    /// (`OTP Password`). `POST /v1/jobs/{jobId}/mfa` takes the answers in the same order.
    pub input: Vec<String>,
    /// When the challenge lapses (RFC 3339); `null` when Basiq does not say.
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStep {
    /// e.g. `verify-credentials`, `mfa-challenge`, `retrieve-accounts`, `retrieve-transactions`.
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
    /// Set while the job waits on the user's answer (`error.userAction: answer_mfa`).
    #[serde(default)]
    pub mfa_challenge: Option<MfaChallenge>,
    /// RFC 3339, as Basiq gives it.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

impl JobView {
    /// Final for the job watcher: Basiq will not change it by itself, and the user cannot
    /// move it on. A `wait` failure is not (Basiq retries such jobs every 2 hours for up to 7
    /// days), nor a job waiting on the user's MFA answer.
    pub fn settled(&self) -> bool {
        match (self.status, &self.error) {
            (_, Some(e)) if matches!(e.user_action, UserAction::Wait | UserAction::AnswerMfa) => {
                false
            }
            (status, _) => status.is_final(),
        }
    }

    /// The view with the bank's current status (from the cached connectors list): on the
    /// error, and in the wait before retrying a bank that is down.
    pub fn with_institution_status(mut self, status: Option<String>) -> Self {
        if let Some(error) = &mut self.error {
            if error.user_action == UserAction::RetryLater {
                error.retry_after_seconds = Some(retry_after_secs(status.as_deref()));
            }
            error.institution_status = status;
        }
        self
    }
}

/// A failed step, as Basiq describes it.
#[derive(Debug, Default, Clone)]
pub struct Failure {
    pub step: String,
    pub code: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
}

/// A job's status from its steps (each `pending`, `in_progress`, `succeeded` or `failed`), and,
/// when a step failed or waits on the user's answer (`mfa`), what to tell the user.
pub fn status_of(
    steps: &[JobStep],
    failure: Option<Failure>,
    mfa: Option<&MfaChallenge>,
) -> (JobStatus, Option<JobError>) {
    match (failure, mfa) {
        (Some(failure), _) => {
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
                institution_status: None,
            };
            (status, Some(error))
        }
        (None, Some(challenge)) => {
            let (status, user_action) = outcome(MFA_CHALLENGE);
            let error = JobError {
                code: MFA_CHALLENGE.to_owned(),
                title: "The bank asks the user to confirm it is them".to_owned(),
                detail: challenge.description.clone().unwrap_or_default(),
                user_action,
                retry_after_seconds: None,
                institution_status: None,
            };
            (status, Some(error))
        }
        (None, None) if !steps.is_empty() && steps.iter().all(|s| s.status == "succeeded") => {
            (JobStatus::Succeeded, None)
        }
        (None, None) if steps.iter().any(|s| s.status != "pending") => {
            (JobStatus::InProgress, None)
        }
        (None, None) => (JobStatus::Pending, None),
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
            assert_eq!(status_of(&steps(s), None, None).0, expected, "{s:?}");
        }
    }

    #[test]
    fn each_failure_code_maps_to_its_rows_outcome_and_unknown_ones_to_wait() {
        let failed = |code: &str| {
            let failure = Failure {
                step: "retrieve-accounts".into(),
                code: Some(code.into()),
                ..Failure::default()
            };
            status_of(
                &steps(["succeeded", "failed", "pending"]),
                Some(failure),
                None,
            )
        };
        for row in OUTCOMES
            .iter()
            .filter(|o| o.action != UserAction::AnswerMfa)
        {
            for code in row.codes {
                let (status, error) = failed(code);
                let error = error.unwrap();
                assert_eq!(
                    (status, error.user_action),
                    (row.status, row.action),
                    "{code}"
                );
                assert_eq!(error.code, *code);
                assert_eq!(
                    error.retry_after_seconds,
                    (row.action == UserAction::RetryLater).then_some(600),
                    "{code}"
                );
            }
        }
        let (status, error) = failed("something-new");
        assert_eq!(
            (status, error.unwrap().user_action),
            (JobStatus::Failed, UserAction::Wait)
        );
    }

    #[test]
    fn the_codes_basiq_documents_each_have_exactly_one_row() {
        // core.json's JobsResult enum (bar `success`), errors-1/codes.md with its subtypes,
        // the `connection.invalidated` list, and the seed's codes.
        let documented = [
            "user-action-required",
            "system-unavailable",
            "maintenance",
            "connector-error",
            "institution-not-found",
            "institution-not-available",
            "institution-disabled",
            "missing-required-field",
            "missing-required-field-value",
            "invalid-field-value",
            "invalid-csv-row",
            "row-count-exceeded",
            "account-data-differs",
            "empty-file",
            "bank-statement-invalid",
            "bank-statement-new-product",
            "bank-statement-parsing-error",
            "bank-statement-not-supported",
            "txn-after-last-updated-date",
            "invalid-connection",
            "unknown-error",
            "job-timed-out",
            "too-many-sandbox-connections",
            "invalid-credentials",
            "invalid-username-or-password",
            "locked-account",
            "multi-factor-authentication",
            "multifactor-required",
            "internal-server-error",
            "parameter-not-supplied",
            "resource-not-found",
            "authorization-failed",
            "account-not-accessible-requires-user-action",
            "service-unavailable",
            "institution-not-supported",
        ];
        for code in documented {
            let rows = OUTCOMES.iter().filter(|o| o.codes.contains(&code)).count();
            assert_eq!(rows, 1, "{code}");
        }
    }

    #[test]
    fn a_bank_in_a_major_outage_is_retried_later_than_ten_minutes() {
        let failure = Failure {
            step: "verify-credentials".into(),
            code: Some("maintenance".into()),
            ..Failure::default()
        };
        let view = |status: Option<&str>| {
            let (status_, error) = status_of(&[], Some(failure.clone()), None);
            JobView {
                id: "j".into(),
                status: status_,
                job_type: None,
                connection_id: None,
                steps: Vec::new(),
                error,
                mfa_challenge: None,
                created_at: None,
                updated_at: None,
            }
            .with_institution_status(status.map(str::to_owned))
            .error
            .unwrap()
        };
        assert_eq!(view(Some("operational")).retry_after_seconds, Some(600));
        assert_eq!(view(Some("partial-outage")).retry_after_seconds, Some(600));
        assert_eq!(view(None).retry_after_seconds, Some(600));
        let outage = view(Some("major-outage"));
        assert_eq!(outage.retry_after_seconds, Some(3600));
        assert_eq!(outage.institution_status.as_deref(), Some("major-outage"));
    }

    #[test]
    fn a_job_waiting_on_a_challenge_needs_the_users_answer_and_is_not_settled() {
        let challenge = MfaChallenge {
            method: "token".into(),
            description: Some("A SMS code has been sent".into()),
            input: vec!["OTP Password".into()],
            expires_at: None,
        };
        let (status, error) = status_of(
            &steps(["succeeded", "in_progress", "pending"]),
            None,
            Some(&challenge),
        );
        assert_eq!(status, JobStatus::ActionRequired);
        let error = error.unwrap();
        assert_eq!(error.user_action, UserAction::AnswerMfa);
        assert_eq!(error.code, "mfa-challenge");
        let view = JobView {
            id: "j".into(),
            status,
            job_type: None,
            connection_id: None,
            steps: Vec::new(),
            error: Some(error),
            mfa_challenge: Some(challenge),
            created_at: None,
            updated_at: None,
        };
        assert!(!view.settled());
    }

    #[test]
    fn the_readme_shows_the_outcome_table_the_code_decides_by() {
        let readme = include_str!("../../README.md");
        let table = outcome_table();
        assert!(
            readme.contains(&table),
            "README.md's \"Job outcomes\" table must be exactly:\n\n{table}"
        );
    }

    #[test]
    fn a_failure_without_a_code_is_an_unknown_error_titled_by_its_step() {
        let (status, error) = status_of(
            &[],
            Some(Failure {
                step: "verify-credentials".into(),
                ..Failure::default()
            }),
            None,
        );
        assert_eq!(status, JobStatus::Failed);
        let error = error.unwrap();
        assert_eq!(error.code, "unknown-error");
        assert_eq!(error.title, "The verify-credentials step failed");
    }
}
