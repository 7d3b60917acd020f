//! A Basiq job read as ours: its steps in our words, its status and outcome by the rules of
//! `domain::jobs`, and the user and connection it belongs to out of its links.

use chrono::{DateTime, SecondsFormat, TimeDelta};

use crate::domain::jobs::{Failure, JobStep, JobView, MFA_CHALLENGE, MfaChallenge, status_of};

use super::Job;

impl Job {
    /// The job as the API shows it.
    pub fn view(&self) -> JobView {
        let steps: Vec<JobStep> = self
            .steps
            .iter()
            .map(|s| JobStep {
                title: s.title.clone(),
                status: step_status(&s.status).to_owned(),
            })
            .collect();
        let failure = self
            .steps
            .iter()
            .find(|s| s.status == "failed")
            .map(|step| {
                let result = step.result.as_ref();
                Failure {
                    step: step.title.clone(),
                    code: result.and_then(|r| r.code.clone()),
                    title: result.and_then(|r| r.title.clone()),
                    detail: result.and_then(|r| r.detail.clone()),
                }
            });
        let mfa_challenge = self.mfa_challenge();
        let (status, error) = status_of(&steps, failure, mfa_challenge.as_ref());
        JobView {
            id: self.id.clone(),
            status,
            job_type: self.job_type.clone(),
            connection_id: self.user_and_connection().map(|(_, c)| c),
            steps,
            error,
            mfa_challenge,
            created_at: self.created.clone(),
            updated_at: self.updated.clone(),
        }
    }

    /// The bank's challenge, while an `mfa-challenge` step waits on the user's answer
    /// (go-live-migration/go-list-for-upgrading-to-v30.md §8). It lapses `expiryMs` after the
    /// job last moved (when the step began).
    fn mfa_challenge(&self) -> Option<MfaChallenge> {
        let step = self.steps.iter().find(|s| {
            s.title == MFA_CHALLENGE && matches!(step_status(&s.status), "in_progress" | "pending")
        })?;
        let result = step
            .result
            .as_ref()
            .filter(|r| r.kind.as_deref() == Some("mfa"))?;
        let expires_at = match (self.updated.as_deref(), result.expiry_ms) {
            (Some(since), Some(ms)) => DateTime::parse_from_rfc3339(since)
                .ok()
                .and_then(|t| t.checked_add_signed(TimeDelta::milliseconds(ms as i64)))
                .map(|t| t.to_utc().to_rfc3339_opts(SecondsFormat::Secs, true)),
            _ => None,
        };
        Some(MfaChallenge {
            method: result.method.clone().unwrap_or_else(|| "token".to_owned()),
            description: result.description.clone(),
            input: result.input.clone(),
            expires_at,
        })
    }

    /// The bank the job works with, when Basiq says.
    pub fn institution_id(&self) -> Option<&str> {
        self.institution.as_ref().map(|i| i.id.as_str())
    }

    /// The Basiq user the job belongs to, once Basiq tells us (absent while the first step
    /// runs).
    pub fn user(&self) -> Option<String> {
        self.user_and_connection().map(|(u, _)| u)
    }

    /// `…/users/{user}/connections/{connection}` out of the source link or a step's result URL.
    fn user_and_connection(&self) -> Option<(String, String)> {
        let candidates = self.links.source.iter().chain(
            self.steps
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
}

/// Basiq's step statuses in ours.
fn step_status(raw: &str) -> &'static str {
    match raw {
        "success" => "succeeded",
        "in-progress" | "in_progress" => "in_progress",
        "failed" => "failed",
        _ => "pending",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::jobs::JobStatus;
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
            assert_eq!(job(steps(s, None), None).view().status, expected, "{s:?}");
        }
    }

    #[test]
    fn a_failed_steps_code_title_and_detail_make_the_error() {
        let view = job(
            steps(
                ["success", "failed", "pending"],
                Some("invalid-credentials"),
            ),
            None,
        )
        .view();
        assert_eq!(view.status, JobStatus::ActionRequired);
        let error = view.error.unwrap();
        assert_eq!(
            (
                error.code.as_str(),
                error.title.as_str(),
                error.detail.as_str()
            ),
            ("invalid-credentials", "Failed", "d")
        );
        assert_eq!(view.steps[1].status, "failed");
    }

    #[test]
    fn a_step_waiting_on_the_banks_challenge_is_read_as_an_object_or_a_list_of_one() {
        // The two shapes of go-live-migration/go-list-for-upgrading-to-v30.md §8.
        let challenge = json!({
            "type": "mfa", "method": "token",
            "description": "A SMS code has been sent to your device, please enter valid number",
            "input": ["OTP Password"], "expiryMs": 120000,
            "links": {"response": "/jobs/61723/mfa"}
        });
        for result in [challenge.clone(), json!([challenge])] {
            let j: Job = serde_json::from_value(json!({
                "type": "job", "id": "61723", "updated": "2021-06-08T09:14:28.000Z",
                "steps": [
                    {"title": "verify-credentials", "status": "success",
                     "result": [{"type": "link", "url": "/users/ea3a81/connections/8fce3b"}]},
                    {"title": "mfa-challenge", "status": "in-progress", "result": result},
                    {"title": "retrieve-accounts", "status": "pending", "result": null},
                    {"title": "retrieve-transactions", "status": "pending", "result": null}
                ],
                "links": {"self": "/jobs/61723", "source": "/users/ea3a81/connections/8fce3b"}
            }))
            .unwrap();
            let view = j.view();
            assert_eq!(view.status, JobStatus::ActionRequired);
            let mfa = view.mfa_challenge.unwrap();
            assert_eq!(mfa.method, "token");
            assert_eq!(mfa.input, ["OTP Password"]);
            assert_eq!(mfa.expires_at.as_deref(), Some("2021-06-08T09:16:28Z"));
            assert_eq!(view.connection_id.as_deref(), Some("8fce3b"));
        }
    }

    #[test]
    fn the_connection_and_user_come_from_the_source_link_or_a_step_url() {
        let j = job(
            steps(["in-progress", "pending", "pending"], None),
            Some("https://au-api.basiq.io/users/u9/connections/c9"),
        );
        assert_eq!(j.view().connection_id.as_deref(), Some("c9"));
        assert_eq!(j.user().as_deref(), Some("u9"));
        let j = job(steps(["success", "in-progress", "pending"], None), None);
        assert_eq!(j.user().as_deref(), Some("u1"));
        let j = job(steps(["in-progress", "pending", "pending"], None), None);
        assert_eq!(j.user(), None);
    }
}
