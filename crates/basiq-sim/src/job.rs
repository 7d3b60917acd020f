//! A connection job's steps over time. Nothing moves a job on: the state of each step at any
//! instant follows from when the job started, how long a step takes, and how the login ends.

use chrono::{DateTime, TimeDelta, Utc};

use crate::logins::Outcome;

/// The steps of a connection job, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    VerifyCredentials,
    RetrieveAccounts,
    RetrieveTransactions,
}

impl Step {
    pub const ALL: [Step; 3] = [
        Self::VerifyCredentials,
        Self::RetrieveAccounts,
        Self::RetrieveTransactions,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::VerifyCredentials => "verify-credentials",
            Self::RetrieveAccounts => "retrieve-accounts",
            Self::RetrieveTransactions => "retrieve-transactions",
        }
    }
}

/// A step's state at some instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    Pending,
    InProgress,
    Success,
    Failed,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in-progress",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

/// When a step that is reached runs, and whether it ends in failure.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    fails: bool,
}

impl Span {
    fn state(&self, now: DateTime<Utc>) -> StepState {
        if now < self.start {
            StepState::Pending
        } else if now < self.end {
            StepState::InProgress
        } else if self.fails {
            StepState::Failed
        } else {
            StepState::Success
        }
    }
}

pub struct Job {
    pub id: String,
    pub user_id: String,
    pub connection_id: String,
    pub institution_id: &'static str,
    pub created: DateTime<Utc>,
    pub step: TimeDelta,
    pub outcome: Outcome,
    /// The connection's status as the job started: its end is compared with it to choose the
    /// events to send.
    pub status_before: &'static str,
    /// The events of its end have been sent.
    pub reported: bool,
}

impl Job {
    /// Each step with its span; `None` for the steps after a failure, which are never reached.
    fn spans(&self) -> Vec<(Step, Option<Span>)> {
        let fail_at = match &self.outcome {
            Outcome::Success => None,
            Outcome::Fail { step, .. } => Some(*step),
        };
        let mut next = Some(self.created);
        Step::ALL
            .iter()
            .enumerate()
            .map(|(i, &step)| {
                let span = next.map(|start| Span {
                    start,
                    end: start + self.step,
                    fails: fail_at == Some(i),
                });
                next = span.filter(|s| !s.fails).map(|s| s.end);
                (step, span)
            })
            .collect()
    }

    /// Every step and its state at `now`.
    pub fn steps(&self, now: DateTime<Utc>) -> Vec<(Step, StepState)> {
        self.spans()
            .into_iter()
            .map(|(step, span)| (step, span.map_or(StepState::Pending, |s| s.state(now))))
            .collect()
    }

    pub fn state_of(&self, step: Step, now: DateTime<Utc>) -> StepState {
        self.steps(now)
            .into_iter()
            .find(|(s, _)| *s == step)
            .map_or(StepState::Pending, |(_, state)| state)
    }

    /// When `step` ends in success, if it does.
    pub fn success_at(&self, step: Step) -> Option<DateTime<Utc>> {
        self.spans()
            .into_iter()
            .find(|(s, _)| *s == step)
            .and_then(|(_, span)| span)
            .filter(|span| !span.fails)
            .map(|span| span.end)
    }

    /// When the last step it reaches ends.
    pub fn finished_at(&self) -> DateTime<Utc> {
        self.spans()
            .into_iter()
            .filter_map(|(_, span)| span)
            .map(|span| span.end)
            .max()
            .unwrap_or(self.created)
    }

    pub fn is_running(&self, now: DateTime<Utc>) -> bool {
        now < self.finished_at()
    }

    /// When the job last changed, as of `now`.
    pub fn updated(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.spans()
            .into_iter()
            .filter_map(|(_, span)| span)
            .flat_map(|span| [span.start, span.end])
            .filter(|t| *t <= now)
            .max()
            .unwrap_or(self.created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(outcome: Outcome) -> Job {
        Job {
            id: "j".into(),
            user_id: "u".into(),
            connection_id: "c".into(),
            institution_id: "AU00000",
            created: DateTime::UNIX_EPOCH,
            step: TimeDelta::seconds(1),
            outcome,
            status_before: "pending",
            reported: false,
        }
    }

    fn at(secs: f64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::milliseconds((secs * 1000.0) as i64)
    }

    fn states(job: &Job, now: DateTime<Utc>) -> Vec<&'static str> {
        job.steps(now).iter().map(|(_, s)| s.as_str()).collect()
    }

    #[test]
    fn each_step_takes_one_step_time_in_turn() {
        let j = job(Outcome::Success);
        assert_eq!(states(&j, at(0.5)), ["in-progress", "pending", "pending"]);
        assert_eq!(states(&j, at(1.0)), ["success", "in-progress", "pending"]);
        assert_eq!(states(&j, at(2.5)), ["success", "success", "in-progress"]);
        assert_eq!(states(&j, at(3.0)), ["success", "success", "success"]);
        assert_eq!(j.updated(at(2.5)), at(2.0));
        assert_eq!(j.finished_at(), at(3.0));
        assert!(j.is_running(at(2.9)) && !j.is_running(at(3.0)));
        assert_eq!(j.success_at(Step::RetrieveAccounts), Some(at(2.0)));
    }

    #[test]
    fn a_failed_step_ends_the_job_and_later_steps_stay_pending() {
        let j = job(Outcome::Fail {
            step: 1,
            code: "x",
            title: "t",
            detail: "d",
        });
        assert_eq!(states(&j, at(5.0)), ["success", "failed", "pending"]);
        assert_eq!(j.finished_at(), at(2.0));
        assert_eq!(j.success_at(Step::RetrieveAccounts), None);
        assert_eq!(j.success_at(Step::VerifyCredentials), Some(at(1.0)));
    }
}
