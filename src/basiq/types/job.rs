//! A Basiq job read as ours: its steps in our words, its status and outcome by the rules of
//! `domain::jobs`, and the user and connection it belongs to out of its links.

use crate::domain::jobs::{Failure, JobStep, JobView, status_of};

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
        let (status, error) = status_of(&steps, failure);
        JobView {
            id: self.id.clone(),
            status,
            job_type: self.job_type.clone(),
            connection_id: self.user_and_connection().map(|(_, c)| c),
            steps,
            error,
            created_at: self.created.clone(),
            updated_at: self.updated.clone(),
        }
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
