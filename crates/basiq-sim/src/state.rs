//! The simulator's in-memory state. Handlers take the lock, work synchronously, and release it
//! before any `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::config::SimConfig;
use super::control::{Fault, RecordedRequest};
use super::data::{self, ConnectionData};
use super::error::ApiError;
use super::institutions::Institution;
use super::job::{Job, MfaWait, NextJob, Step, StepState};
use super::logins::{MfaChallenge, Outcome};
use super::subscriptions::Registry;
use super::webhooks::Webhooks;

/// Open-banking connections allow this many refreshes in 24 hours.
pub const DAILY_REFRESH_LIMIT: usize = 20;
/// `GET /users/{id}/jobs` lists jobs of the last 7 days.
pub const JOB_LIST_WINDOW: TimeDelta = TimeDelta::days(7);

/// Cheap-to-clone handle on the simulator.
#[derive(Clone)]
pub struct SimState(pub Arc<Sim>);

impl std::ops::Deref for SimState {
    type Target = Sim;
    fn deref(&self) -> &Sim {
        &self.0
    }
}

pub struct Sim {
    pub config: SimConfig,
    /// Base of absolute links built without a request (webhooks, events).
    pub public_base: String,
    pub store: Mutex<Store>,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub faults: Mutex<Vec<Fault>>,
    pub webhooks: Webhooks,
    /// Cancelled when the server stops; background tasks watch it.
    pub shutdown: CancellationToken,
}

impl Sim {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock would poison it; the data is still usable.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn job_step(&self) -> TimeDelta {
        TimeDelta::from_std(self.config.job_step).unwrap_or(TimeDelta::zero())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Server,
    Client,
}

#[derive(Debug)]
pub struct Token {
    pub scope: Scope,
    pub user_id: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default)]
pub struct User {
    pub id: String,
    /// Creation order, which seeds the user's data.
    pub order: u64,
    pub email: String,
    pub mobile: String,
    pub first_name: String,
    pub middle_name: String,
    pub last_name: String,
    pub business_name: String,
    pub business_id_no: String,
    pub business_id_no_type: String,
    pub connections_made: u64,
}

pub struct Connection {
    pub id: String,
    pub user_id: String,
    pub institution: &'static Institution,
    /// Seed of its data; also decides which of its jobs an intermittent MFA bank challenges.
    pub seed: u64,
    /// How jobs end with the login it was last given, and the login's MFA challenge.
    pub outcome: Outcome,
    pub mfa: Option<&'static MfaChallenge>,
    pub created: DateTime<Utc>,
    /// Deleted connections keep their data (Basiq: `DELETE` keeps data, `purge` removes it).
    pub deleted: bool,
    /// Set by the control route; cleared by the next job.
    pub invalidated: bool,
    /// Set by the control route; taken by the next refresh job.
    pub next_job: Option<NextJob>,
    pub refreshes: Vec<DateTime<Utc>>,
    /// Job ids, oldest first.
    pub jobs: Vec<String>,
    pub data: Arc<ConnectionData>,
    pub accounts_at: Option<DateTime<Utc>>,
    pub transactions_at: Option<DateTime<Utc>>,
    /// The transactions as JSON text for one link base (the `Host` they were asked through),
    /// rendered once: the data never changes, and rendering dominated the cost of a page.
    pub rendered: Mutex<Option<(String, Arc<Vec<String>>)>>,
}

impl Connection {
    /// Each transaction's JSON, in `data.transactions` order, for links under `base`.
    pub fn rendered_transactions(
        &self,
        base: &str,
        render: impl Fn(&data::Transaction) -> String,
    ) -> Arc<Vec<String>> {
        let mut cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached_base, list)) = cache.as_ref()
            && cached_base == base
        {
            return list.clone();
        }
        let list = Arc::new(
            self.data
                .transactions
                .iter()
                .map(render)
                .collect::<Vec<_>>(),
        );
        *cache = Some((base.to_owned(), list.clone()));
        list
    }
}

pub struct Consent {
    pub id: String,
    pub user_id: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub expiry: DateTime<Utc>,
    pub revoked: Option<DateTime<Utc>>,
}

impl Consent {
    pub fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked.is_some() {
            "revoked"
        } else if now >= self.expiry {
            "expired"
        } else {
            "active"
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub id: String,
    pub created: DateTime<Utc>,
    pub entity: &'static str,
    pub event_type: &'static str,
    pub user_id: String,
    pub data_ref: String,
    pub data: Value,
}

impl Event {
    pub fn type_id(&self) -> String {
        format!("{}.{}", self.entity, self.event_type)
    }
}

#[derive(Default)]
pub struct Store {
    pub tokens: HashMap<String, Token>,
    pub users: HashMap<String, User>,
    pub users_created: u64,
    pub connections: HashMap<String, Connection>,
    pub jobs: HashMap<String, Job>,
    pub consents: HashMap<String, Consent>,
    pub events: HashMap<String, Event>,
    /// The application's webhooks and the messages sent to them.
    pub subscriptions: Registry,
    /// Institution statuses set by the control route, by institution id.
    pub institution_statuses: HashMap<&'static str, &'static str>,
}

impl Store {
    pub fn user(&self, id: &str) -> Result<&User, ApiError> {
        self.users
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("users/{id}")))
    }

    /// The status the institution reports now.
    pub fn institution_status(&self, i: &Institution) -> &'static str {
        self.institution_statuses
            .get(i.id)
            .copied()
            .unwrap_or(i.status)
    }

    /// A live (not deleted) connection of this user.
    pub fn connection(&self, user_id: &str, id: &str) -> Result<&Connection, ApiError> {
        self.connections
            .get(id)
            .filter(|c| c.user_id == user_id && !c.deleted)
            .ok_or_else(|| ApiError::not_found(format!("users/{user_id}/connections/{id}")))
    }

    /// The user's live connections, oldest first.
    pub fn user_connections(&self, user_id: &str) -> Vec<&Connection> {
        let mut list: Vec<&Connection> = self
            .connections
            .values()
            .filter(|c| c.user_id == user_id && !c.deleted)
            .collect();
        list.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        list
    }

    /// Every connection of the user whose data is still held (deleted ones included).
    pub fn user_data_connections(&self, user_id: &str) -> Vec<&Connection> {
        let mut list: Vec<&Connection> = self
            .connections
            .values()
            .filter(|c| c.user_id == user_id)
            .collect();
        list.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        list
    }

    /// Connection status from its jobs: the newest job past verify-credentials decides, and a
    /// user-related failure at a later step makes it invalid too.
    pub fn connection_status(&self, c: &Connection, now: DateTime<Utc>) -> &'static str {
        if c.invalidated {
            return "invalid";
        }
        for job in c.jobs.iter().rev().filter_map(|id| self.jobs.get(id)) {
            if job.invalidates_at().is_some_and(|t| t <= now) {
                return "invalid";
            }
            // A login that failed for the bank's or Basiq's reasons (not the user's) leaves the
            // status as the jobs before it made it (reference/Core/events/index.md: a
            // connection is invalidated by user-related errors).
            match job.state_of(Step::VerifyCredentials, now) {
                StepState::Success => return "active",
                _ => continue,
            }
        }
        "pending"
    }

    /// When the connection was last used: the end of its newest finished job.
    pub fn last_used(&self, c: &Connection, now: DateTime<Utc>) -> DateTime<Utc> {
        c.jobs
            .iter()
            .rev()
            .filter_map(|id| self.jobs.get(id))
            .find(|j| !j.is_running(now))
            .map(|j| j.finished_at())
            .unwrap_or(c.created)
    }

    /// The newest job of the connection that is still running.
    pub fn running_job(&self, c: &Connection, now: DateTime<Utc>) -> Option<&Job> {
        c.jobs
            .last()
            .and_then(|id| self.jobs.get(id))
            .filter(|j| j.is_running(now))
    }

    /// Starts a job on the connection with its current credentials. A `refresh` at an MFA bank
    /// may stop at the login's MFA challenge, and takes what the control route asked of the
    /// next job; the Consent UI's jobs never stop (it answers MFA itself).
    pub fn start_job(
        &mut self,
        connection_id: &str,
        step: TimeDelta,
        now: DateTime<Utc>,
        refresh: bool,
    ) -> String {
        let Some(c) = self.connections.get_mut(connection_id) else {
            return String::new();
        };
        c.invalidated = false;
        let next = if refresh { c.next_job.take() } else { None };
        let c = &self.connections[connection_id];
        let natural_mfa = c
            .mfa
            .filter(|_| refresh && c.institution.mfa.asks(c.seed, c.jobs.len()));
        let (outcome, mfa) = match next {
            Some(NextJob::Fail(outcome)) => (outcome, natural_mfa),
            Some(NextJob::Mfa(challenge)) => (c.outcome.clone(), Some(challenge)),
            None => (c.outcome.clone(), natural_mfa),
        };
        let job = Job {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: c.user_id.clone(),
            connection_id: c.id.clone(),
            institution_id: c.institution.id,
            created: now,
            step,
            outcome,
            mfa: mfa.map(|challenge| MfaWait {
                challenge,
                answered: None,
                expired: None,
            }),
            status_before: self.connection_status(c, now),
            reported: false,
        };
        let id = job.id.clone();
        if let Some(c) = self.connections.get_mut(connection_id) {
            c.jobs.push(id.clone());
        }
        self.jobs.insert(id.clone(), job);
        self.show_data(&id);
        id
    }

    /// Makes the job's connection show its data from when the job retrieves it (a job that
    /// waits on MFA retrieves it only once answered).
    pub fn show_data(&mut self, job_id: &str) {
        let Some(job) = self.jobs.get(job_id) else {
            return;
        };
        let accounts = job.success_at(Step::RetrieveAccounts);
        let transactions = job.success_at(Step::RetrieveTransactions);
        let Some(c) = self.connections.get_mut(&job.connection_id) else {
            return;
        };
        if let Some(t) = accounts {
            c.accounts_at.get_or_insert(t);
        }
        if let Some(t) = transactions {
            c.transactions_at.get_or_insert(t);
        }
    }

    /// Refreshes a connection: answers `(job id, true)` for a new job, `(job id, false)` for
    /// the one already running.
    pub fn refresh(
        &mut self,
        connection_id: &str,
        step: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<(String, bool), ApiError> {
        let Some(c) = self.connections.get(connection_id) else {
            return Err(ApiError::not_found(format!("connections/{connection_id}")));
        };
        if let Some(job) = self.running_job(c, now) {
            return Ok((job.id.clone(), false));
        }
        if c.institution.is_open_banking() {
            let day_ago = now - TimeDelta::days(1);
            if c.refreshes.iter().filter(|t| **t > day_ago).count() >= DAILY_REFRESH_LIMIT {
                return Err(ApiError::too_many_refreshes());
            }
        }
        if let Some(c) = self.connections.get_mut(connection_id) {
            c.refreshes.push(now);
        }
        Ok((self.start_job(connection_id, step, now, true), true))
    }

    /// Removes the user and everything that hangs off it.
    pub fn delete_user(&mut self, user_id: &str) {
        self.users.remove(user_id);
        self.connections.retain(|_, c| c.user_id != user_id);
        self.jobs.retain(|_, j| j.user_id != user_id);
        self.consents.retain(|_, c| c.user_id != user_id);
    }

    pub fn active_consent(&self, user_id: &str, now: DateTime<Utc>) -> Option<&Consent> {
        self.consents
            .values()
            .filter(|c| c.user_id == user_id && c.status(now) == "active")
            .max_by_key(|c| c.created)
    }
}

/// Seed of a new connection's data: configured seed, user order, connection order,
/// institution and login.
pub fn connection_seed(seed: u64, user: &User, institution: &str, login_id: &str) -> u64 {
    data::mix(
        seed,
        &[
            &user.order.to_le_bytes(),
            &user.connections_made.to_le_bytes(),
            institution.as_bytes(),
            login_id.as_bytes(),
        ],
    )
}

/// Seed of what the bank knows of a user at a login: the same for every connection they make
/// with it.
pub fn holder_seed(seed: u64, user: &User, login_id: &str) -> u64 {
    data::mix(seed, &[&user.order.to_le_bytes(), login_id.as_bytes()])
}
