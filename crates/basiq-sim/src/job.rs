//! A connection job's steps over time. Nothing moves a job on: the state of each step at any
//! instant follows from when the job started, how long a step takes, how the login ends, and,
//! for a job that stops at an MFA challenge, when the challenge was answered or expired.

use chrono::{DateTime, TimeDelta, Utc};

use crate::logins::{MfaChallenge, Outcome};

/// How long an MFA challenge waits for its response (the migration guide's example says
/// `expiryMs: 120000`).
pub const MFA_EXPIRY: TimeDelta = TimeDelta::seconds(120);

/// The steps of a connection job, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    VerifyCredentials,
    /// Only in a job that stops at MFA: between verify-credentials and retrieve-accounts.
    MfaChallenge,
    RetrieveAccounts,
    RetrieveTransactions,
}

impl Step {
    /// The steps every job has; a login's `Outcome::Fail { step }` indexes them.
    pub const ALL: [Step; 3] = [
        Self::VerifyCredentials,
        Self::RetrieveAccounts,
        Self::RetrieveTransactions,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::VerifyCredentials => "verify-credentials",
            Self::MfaChallenge => "mfa-challenge",
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

/// What the control route asks of a connection's next refresh job, once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextJob {
    /// End this way instead of as the login does.
    Fail(Outcome),
    /// Stop at this MFA challenge, at any bank.
    Mfa(&'static MfaChallenge),
}

/// The MFA challenge a job stops at once its credentials are verified.
pub struct MfaWait {
    pub challenge: &'static MfaChallenge,
    /// When it was answered correctly.
    pub answered: Option<DateTime<Utc>>,
    /// When the control route expired it ahead of its time.
    pub expired: Option<DateTime<Utc>>,
}

pub struct Job {
    pub id: String,
    pub user_id: String,
    pub connection_id: String,
    pub institution_id: &'static str,
    pub created: DateTime<Utc>,
    pub step: TimeDelta,
    pub outcome: Outcome,
    pub mfa: Option<MfaWait>,
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
        let mut spans = Vec::with_capacity(4);
        for (i, &step) in Step::ALL.iter().enumerate() {
            let span = next.map(|start| Span {
                start,
                end: start + self.step,
                fails: fail_at == Some(i),
            });
            next = span.filter(|s| !s.fails).map(|s| s.end);
            spans.push((step, span));
            if let (Step::VerifyCredentials, Some(mfa)) = (step, &self.mfa) {
                // Open until answered; unanswered, it fails when it expires.
                let span = next.map(|start| match mfa.answered {
                    Some(at) => Span {
                        start,
                        end: at,
                        fails: false,
                    },
                    None => Span {
                        start,
                        end: mfa.expired.unwrap_or(start + MFA_EXPIRY),
                        fails: true,
                    },
                });
                next = span.filter(|s| !s.fails).map(|s| s.end);
                spans.push((Step::MfaChallenge, span));
            }
        }
        spans
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

    /// The challenge the job waits on at `now`, if it does.
    pub fn waiting_mfa(&self, now: DateTime<Utc>) -> Option<&'static MfaChallenge> {
        let mfa = self.mfa.as_ref()?;
        (self.state_of(Step::MfaChallenge, now) == StepState::InProgress).then_some(mfa.challenge)
    }

    /// Answers the challenge the job waits on: the remaining steps run from `now`.
    pub fn answer_mfa(&mut self, now: DateTime<Utc>) {
        if self.waiting_mfa(now).is_some()
            && let Some(mfa) = &mut self.mfa
        {
            mfa.answered = Some(now);
        }
    }

    /// Expires the challenge the job waits on: the step fails at `now`.
    pub fn expire_mfa(&mut self, now: DateTime<Utc>) {
        if self.waiting_mfa(now).is_some()
            && let Some(mfa) = &mut self.mfa
        {
            mfa.expired = Some(now);
        }
    }

    /// When the job fails in a way that makes its connection invalid, if it does (an expired
    /// challenge never does, nor does it let a failure after it happen).
    pub fn invalidates_at(&self) -> Option<DateTime<Utc>> {
        let Outcome::Fail { step, .. } = &self.outcome else {
            return None;
        };
        if !self.outcome.invalidates() {
            return None;
        }
        self.spans()
            .into_iter()
            .find(|(s, _)| *s == Step::ALL[*step])
            .and_then(|(_, span)| span)
            .map(|span| span.end)
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
            mfa: None,
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
            code: "x".into(),
            title: "t".into(),
            detail: "d".into(),
        });
        assert_eq!(states(&j, at(5.0)), ["success", "failed", "pending"]);
        assert_eq!(j.finished_at(), at(2.0));
        assert_eq!(j.success_at(Step::RetrieveAccounts), None);
        assert_eq!(j.success_at(Step::VerifyCredentials), Some(at(1.0)));
    }

    fn with_mfa(outcome: Outcome) -> Job {
        Job {
            mfa: Some(MfaWait {
                challenge: crate::logins::mfa_for("jared", "django").unwrap(),
                answered: None,
                expired: None,
            }),
            ..job(outcome)
        }
    }

    #[test]
    fn an_mfa_job_waits_after_verify_credentials_until_answered() {
        let mut j = with_mfa(Outcome::Success);
        assert_eq!(
            states(&j, at(0.5)),
            ["in-progress", "pending", "pending", "pending"]
        );
        assert_eq!(j.steps(at(0.5))[1].0.title(), "mfa-challenge");
        assert!(j.waiting_mfa(at(0.5)).is_none());
        assert_eq!(
            states(&j, at(60.0)),
            ["success", "in-progress", "pending", "pending"]
        );
        assert!(j.waiting_mfa(at(60.0)).is_some() && j.is_running(at(60.0)));
        assert_eq!(j.success_at(Step::RetrieveAccounts), None);
        j.answer_mfa(at(60.0));
        assert!(j.waiting_mfa(at(60.0)).is_none());
        assert_eq!(
            states(&j, at(61.5)),
            ["success", "success", "success", "in-progress"]
        );
        assert_eq!(j.updated(at(61.5)), at(61.0));
        assert_eq!(j.success_at(Step::RetrieveAccounts), Some(at(61.0)));
        assert_eq!(j.finished_at(), at(62.0));
    }

    #[test]
    fn an_unanswered_challenge_fails_when_it_expires_or_is_expired() {
        let j = with_mfa(Outcome::Success);
        assert_eq!(j.finished_at(), at(121.0));
        assert_eq!(
            states(&j, at(121.0)),
            ["success", "failed", "pending", "pending"]
        );
        assert!(j.waiting_mfa(at(121.0)).is_none());
        let mut j = with_mfa(Outcome::Success);
        j.expire_mfa(at(0.5));
        assert!(j.mfa.as_ref().unwrap().expired.is_none(), "not yet waiting");
        j.expire_mfa(at(10.0));
        assert_eq!(j.finished_at(), at(10.0));
        assert_eq!(
            states(&j, at(10.0)),
            ["success", "failed", "pending", "pending"]
        );
        j.answer_mfa(at(10.0));
        assert!(j.mfa.as_ref().unwrap().answered.is_none(), "too late");
    }

    #[test]
    fn a_user_related_failure_invalidates_when_it_happens_unless_an_expired_challenge_came_first() {
        let locked = Outcome::Fail {
            step: 2,
            code: "locked-account".into(),
            title: "t".into(),
            detail: "d".into(),
        };
        assert_eq!(job(locked.clone()).invalidates_at(), Some(at(3.0)));
        let mut j = with_mfa(locked);
        j.expire_mfa(at(5.0));
        assert_eq!(j.invalidates_at(), None);
        let elsewhere = Outcome::Fail {
            step: 1,
            code: "account-not-accessible-requires-user-action".into(),
            title: "t".into(),
            detail: "d".into(),
        };
        assert_eq!(job(elsewhere).invalidates_at(), None);
        assert_eq!(job(Outcome::Success).invalidates_at(), None);
    }
}
