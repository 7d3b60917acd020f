//! Background work, made visible: every task is spawned from `startup.rs` through [`Tasks`],
//! stops on the one shutdown token, reports each unit of work it finishes, and shows in
//! `/readyz` (`backgroundTasks`) and `/metrics` (`background_task_running`,
//! `background_task_last_run_seconds`). A task that ends before shutdown is logged as an error.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Instant,
};

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
struct State {
    running: bool,
    last_run: Option<Instant>,
}

/// The process's background tasks.
#[derive(Clone)]
pub struct Tasks {
    states: Arc<Mutex<BTreeMap<&'static str, State>>>,
    shutdown: CancellationToken,
}

/// A task as `/readyz` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    /// e.g. `job_watcher`, `server_token`, `institutions`, `webhook_inbox`, `housekeeping`.
    pub name: &'static str,
    /// Running (it stops only on shutdown).
    pub running: bool,
    /// Seconds since it last finished a unit of work; `null` before the first.
    pub last_run_seconds_ago: Option<u64>,
}

/// What a task is handed: when to stop, and where to report its work.
#[derive(Clone)]
pub struct TaskContext {
    pub name: &'static str,
    pub shutdown: CancellationToken,
    tasks: Tasks,
}

impl TaskContext {
    /// A unit of work is done (a pass of the watcher, a refresh, a webhook processed).
    pub fn ran(&self) {
        if let Some(state) = self.tasks.lock().get_mut(self.name) {
            state.last_run = Some(Instant::now());
        }
    }
}

impl Tasks {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            states: Arc::default(),
            shutdown,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, State>> {
        self.states.lock().expect("tasks lock")
    }

    /// Starts `task`, which must return once its context's shutdown token fires.
    pub fn spawn<F, Fut>(&self, name: &'static str, task: F) -> JoinHandle<()>
    where
        F: FnOnce(TaskContext) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.lock().insert(
            name,
            State {
                running: true,
                last_run: None,
            },
        );
        let context = TaskContext {
            name,
            shutdown: self.shutdown.clone(),
            tasks: self.clone(),
        };
        let running = task(context);
        let tasks = self.clone();
        tokio::spawn(async move {
            running.await;
            if let Some(state) = tasks.lock().get_mut(name) {
                state.running = false;
            }
            if !tasks.shutdown.is_cancelled() {
                tracing::error!(task = name, "a background task ended before shutdown");
            }
        })
    }

    pub fn status(&self) -> Vec<TaskStatus> {
        self.lock()
            .iter()
            .map(|(name, state)| TaskStatus {
                name,
                running: state.running,
                last_run_seconds_ago: state.last_run.map(|t| t.elapsed().as_secs()),
            })
            .collect()
    }

    /// Sets the tasks' gauges (before a scrape).
    pub fn record_metrics(&self) {
        for task in self.status() {
            metrics::gauge!("background_task_running", "task" => task.name).set(if task.running {
                1.0
            } else {
                0.0
            });
            if let Some(seconds) = task.last_run_seconds_ago {
                metrics::gauge!("background_task_last_run_seconds", "task" => task.name)
                    .set(seconds as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_shows_running_its_last_run_and_stopped_after_shutdown() {
        let shutdown = CancellationToken::new();
        let tasks = Tasks::new(shutdown.clone());
        let handle = tasks.spawn("probe", |ctx| async move {
            ctx.ran();
            ctx.shutdown.cancelled().await;
        });
        tokio::task::yield_now().await;
        let status = tasks.status();
        assert_eq!(status.len(), 1);
        assert!(status[0].running);
        shutdown.cancel();
        handle.await.unwrap();
        let status = tasks.status();
        assert!(!status[0].running);
        assert_eq!(status[0].last_run_seconds_ago, Some(0));
    }
}
