//! Basiq's webhook subscription for this BFF (`PUBLIC_BASE_URL/webhooks/basiq`). Operators
//! register it once (`basiq-bff admin webhooks ensure`), and Basiq disables or removes an
//! endpoint after the last failed retry of a message, telling no one
//! (docs/PLatform/webhooks/delivery-schedule-and-retries.md). While webhooks are configured,
//! each replica looks every recovery period whether Basiq still sends: a gauge on `/metrics`,
//! and a warning in `/readyz`'s answer (readiness itself is unaffected: recovery from Basiq's
//! `GET /events` covers the gap meanwhile).

use std::{sync::RwLock, time::Duration};

use crate::{basiq::types::Webhook, state::AppState, tasks::TaskContext};

/// The Basiq event types the BFF acts on: what `admin webhooks ensure` subscribes to.
pub const HANDLED_EVENTS: &[&str] = &[
    "connection.created",
    "connection.activated",
    "connection.deleted",
    "connection.invalidated",
    "account.updated",
    "transactions.updated",
    "consent.created",
    "consent.updated",
    "consent.revoked",
    "consent.expired",
    "consent.warning",
    "consent.reminder",
    "user.deleted",
];

/// What Basiq's subscriptions say of ours.
#[derive(Debug, Clone)]
pub enum Subscription<'a> {
    /// Basiq sends every event type we handle to our URL.
    Receiving(&'a Webhook),
    /// Our URL is subscribed, but not to these types.
    MissingEvents(&'a Webhook, Vec<&'static str>),
    /// Our URL is subscribed, in a state that receives nothing (`status`).
    Disabled(&'a Webhook),
    /// Basiq has no subscription for our URL (never registered, or removed after failures).
    Missing,
}

/// Whether a subscription of that status receives messages (webhooks.json: `active`, or
/// `pending-approval` until Basiq approves it).
fn receives(status: Option<&str>) -> bool {
    matches!(status, None | Some("active" | "pending-approval"))
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Ours among `webhooks`, and whether it receives what we handle.
pub fn assess<'a>(webhooks: &'a [Webhook], url: &str) -> Subscription<'a> {
    let Some(ours) = webhooks.iter().find(|w| same_url(&w.url, url)) else {
        return Subscription::Missing;
    };
    if !receives(ours.status.as_deref()) {
        return Subscription::Disabled(ours);
    }
    let missing: Vec<&'static str> = HANDLED_EVENTS
        .iter()
        .copied()
        .filter(|e| !ours.subscribed_events.iter().any(|s| s == e))
        .collect();
    match missing.is_empty() {
        true => Subscription::Receiving(ours),
        false => Subscription::MissingEvents(ours, missing),
    }
}

impl Subscription<'_> {
    /// For `/readyz` and the log: what is wrong and what to do, or `None` when all is well.
    pub fn warning(&self, url: &str) -> Option<String> {
        let fix = "run `basiq-bff admin webhooks ensure` (events are recovered from Basiq's GET /events meanwhile)";
        match self {
            Self::Receiving(_) => None,
            Self::MissingEvents(_, missing) => Some(format!(
                "Basiq's webhook subscription for {url} lacks {}: {fix}",
                missing.join(", ")
            )),
            Self::Disabled(w) => Some(format!(
                "Basiq's webhook subscription for {url} is {}: {fix}",
                w.status.as_deref().unwrap_or("disabled")
            )),
            Self::Missing => Some(format!(
                "Basiq has no webhook subscription for {url} (never registered, or removed after failed deliveries): {fix}"
            )),
        }
    }
}

/// What this replica last learnt of the subscription.
#[derive(Default)]
pub struct Watch {
    warning: RwLock<Option<String>>,
}

impl Watch {
    /// The warning `/readyz` shows, if any.
    pub fn warning(&self) -> Option<String> {
        self.warning.read().expect("subscription watch").clone()
    }

    fn set(&self, warning: Option<String>) {
        *self.warning.write().expect("subscription watch") = warning;
    }
}

/// Looks at Basiq's subscriptions on start and every `interval`, while webhooks are configured.
pub async fn run(state: AppState, interval: Duration, task: TaskContext) {
    if state.webhook_key.is_none() {
        return;
    }
    let url = state.webhook_url.as_str();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = task.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match state.basiq.webhooks().await {
            Ok(webhooks) => {
                let warning = assess(&webhooks, url).warning(url);
                metrics::gauge!("basiq_webhook_subscription_receiving").set(if warning.is_none() {
                    1.0
                } else {
                    0.0
                });
                if let Some(w) = &warning
                    && state.subscription.warning().as_ref() != Some(w)
                {
                    tracing::warn!(warning = %w, "Basiq does not send this BFF all its webhooks");
                }
                state.subscription.set(warning);
                task.ran();
            }
            Err(e) => tracing::warn!(error = %e, "could not read Basiq's webhook subscriptions"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(url: &str, status: &str, events: &[&str]) -> Webhook {
        Webhook {
            id: "w".into(),
            url: url.into(),
            status: Some(status.into()),
            subscribed_events: events.iter().map(|e| (*e).to_owned()).collect(),
            secret: None,
        }
    }

    #[test]
    fn ours_receives_when_active_with_every_type_we_handle() {
        let url = "https://bff.example/webhooks/basiq";
        let all = webhook(&format!("{url}/"), "active", HANDLED_EVENTS);
        assert!(matches!(
            assess(std::slice::from_ref(&all), url),
            Subscription::Receiving(_)
        ));
        let pending = webhook(url, "pending-approval", HANDLED_EVENTS);
        assert!(matches!(
            assess(&[pending], url),
            Subscription::Receiving(_)
        ));
        let some = webhook(url, "active", &["consent.revoked"]);
        assert!(
            matches!(assess(std::slice::from_ref(&some), url), Subscription::MissingEvents(_, m) if m.len() == HANDLED_EVENTS.len() - 1)
        );
        let disabled = webhook(url, "disabled", HANDLED_EVENTS);
        assert!(matches!(
            assess(std::slice::from_ref(&disabled), url),
            Subscription::Disabled(_)
        ));
        let other = webhook("https://other.example/hook", "active", HANDLED_EVENTS);
        assert!(matches!(assess(&[other], url), Subscription::Missing));
        assert!(
            Subscription::Missing
                .warning(url)
                .unwrap()
                .contains("admin webhooks ensure")
        );
    }
}
