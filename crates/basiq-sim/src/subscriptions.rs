//! Webhook subscriptions (webhooks.json): the application's webhooks, the event types each
//! takes, and the messages sent to each with the times of their attempts.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The event types a webhook can subscribe to: those reference/Core/events/index.md marks
/// "Webhook Available".
pub const EVENT_TYPES: [&str; 15] = [
    "user.created",
    "user.updated",
    "user.deleted",
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
];

#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: String,
    pub name: String,
    pub description: String,
    pub url: String,
    /// `whsec_<base64>`: the key its messages are signed with.
    pub secret: String,
    pub events: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Message {
    pub id: String,
    pub webhook_id: String,
    pub event_type_id: String,
    pub event_id: String,
    pub payload: Value,
    pub attempts: Vec<DateTime<Utc>>,
}

/// What one delivery attempt sends, and where.
pub struct Attempt {
    pub url: String,
    pub secret: String,
    /// The `webhook-id` header: the same for every attempt of a message.
    pub header_id: String,
    pub body: String,
}

#[derive(Default)]
pub struct Registry {
    /// Oldest first.
    pub webhooks: Vec<Webhook>,
    /// Oldest first.
    pub messages: Vec<Message>,
}

impl Registry {
    pub fn webhook(&self, id: &str) -> Option<&Webhook> {
        self.webhooks.iter().find(|w| w.id == id)
    }

    pub fn webhook_mut(&mut self, id: &str) -> Option<&mut Webhook> {
        self.webhooks.iter_mut().find(|w| w.id == id)
    }

    /// Removes the webhook and its messages; nothing more is sent to it.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.webhooks.len();
        self.webhooks.retain(|w| w.id != id);
        self.messages.retain(|m| m.webhook_id != id);
        self.webhooks.len() < before
    }

    /// Another webhook than `except` with this URL.
    pub fn url_taken(&self, url: &str, except: Option<&str>) -> bool {
        self.webhooks
            .iter()
            .any(|w| w.url == url && Some(w.id.as_str()) != except)
    }

    /// Whether another webhook than `except` takes one of `events`.
    pub fn events_taken(&self, events: &[String], except: Option<&str>) -> bool {
        self.webhooks
            .iter()
            .filter(|w| Some(w.id.as_str()) != except)
            .any(|w| w.events.iter().any(|e| events.contains(e)))
    }

    /// A message of `payload` for each webhook subscribed to `type_id`; answers their ids.
    pub fn enqueue(&mut self, type_id: &str, event_id: &str, payload: &Value) -> Vec<String> {
        let subscribed: Vec<String> = self
            .webhooks
            .iter()
            .filter(|w| w.events.iter().any(|e| e == type_id))
            .map(|w| w.id.clone())
            .collect();
        subscribed
            .into_iter()
            .map(|webhook_id| {
                let id = uuid::Uuid::new_v4().to_string();
                self.messages.push(Message {
                    id: id.clone(),
                    webhook_id,
                    event_type_id: type_id.to_owned(),
                    event_id: event_id.to_owned(),
                    payload: payload.clone(),
                    attempts: Vec::new(),
                });
                id
            })
            .collect()
    }

    /// Records an attempt of the message at `now` and answers what to send, to its webhook as
    /// it is now; `None` once the webhook is gone.
    pub fn attempt(&mut self, message_id: &str, now: DateTime<Utc>) -> Option<Attempt> {
        let message = self.messages.iter_mut().find(|m| m.id == message_id)?;
        let webhook = self.webhooks.iter().find(|w| w.id == message.webhook_id)?;
        message.attempts.push(now);
        let header_id = uuid::Uuid::parse_str(&message.id)
            .map(|u| format!("msg_{}", u.simple()))
            .unwrap_or_else(|_| format!("msg_{}", message.id));
        Some(Attempt {
            url: webhook.url.clone(),
            secret: webhook.secret.clone(),
            header_id,
            body: message.payload.to_string(),
        })
    }

    /// The webhook a message was for.
    pub fn webhook_of(&self, message_id: &str) -> Option<&str> {
        self.messages
            .iter()
            .find(|m| m.id == message_id)
            .map(|m| m.webhook_id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(id: &str, url: &str, events: &[&str]) -> Webhook {
        Webhook {
            id: id.into(),
            name: String::new(),
            description: String::new(),
            url: url.into(),
            secret: "whsec_a2V5".into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    #[test]
    fn a_message_goes_to_each_subscribed_webhook_and_stops_once_it_is_removed() {
        let mut r = Registry::default();
        r.webhooks.push(webhook("a", "http://a", &["user.created"]));
        r.webhooks.push(webhook("b", "http://b", &["user.deleted"]));
        let ids = r.enqueue(
            "user.created",
            "e1",
            &serde_json::json!({ "eventId": "e1" }),
        );
        assert_eq!(ids.len(), 1);
        assert_eq!(r.webhook_of(&ids[0]), Some("a"));
        let attempt = r.attempt(&ids[0], Utc::now()).unwrap();
        assert_eq!(attempt.url, "http://a");
        assert!(attempt.header_id.starts_with("msg_"));
        assert_eq!(
            r.attempt(&ids[0], Utc::now()).unwrap().header_id,
            attempt.header_id
        );
        assert_eq!(r.messages[0].attempts.len(), 2);
        assert!(r.url_taken("http://a", None) && !r.url_taken("http://a", Some("a")));
        assert!(r.events_taken(&["user.deleted".into()], Some("a")));
        assert!(!r.events_taken(&["user.deleted".into()], Some("b")));
        assert!(r.remove("a"));
        assert!(r.attempt(&ids[0], Utc::now()).is_none());
        assert!(r.messages.is_empty());
    }
}
