//! `admin webhooks list|ensure|test`: Basiq's webhook subscription for this BFF
//! (`PUBLIC_BASE_URL/webhooks/basiq`), from webhooks.json's routes.

use std::io::Write;

use secrecy::ExposeSecret;

use super::{Context, Failure};
use crate::{
    basiq::types::Webhook,
    subscription::{HANDLED_EVENTS, Subscription, assess},
};

/// Basiq's webhook subscription for PUBLIC_BASE_URL/webhooks/basiq.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List the application's webhook subscriptions at Basiq (ours marked).
    List,
    /// Subscribe PUBLIC_BASE_URL/webhooks/basiq to every event the BFF handles; safe to rerun.
    ///
    /// Registers the subscription when there is none (or Basiq disabled it), printing its signing
    /// secret this once: store it as BASIQ_WEBHOOK_SECRET. A subscription already there is kept
    /// (its events completed if some are missing).
    Ensure,
    /// Ask Basiq to send a test message to the subscription.
    Test {
        /// The event type of the message.
        #[arg(long, default_value = "user.updated")]
        event: String,
    },
}

pub async fn run(
    context: &Context,
    settings_url: &str,
    args: &Args,
    out: &mut impl Write,
) -> Result<(), Failure> {
    match &args.command {
        Command::List => list(context, settings_url, out).await,
        Command::Ensure => ensure(context, settings_url, out).await,
        Command::Test { event } => {
            if !HANDLED_EVENTS.contains(&event.as_str())
                && !matches!(event.as_str(), "user.created" | "user.updated")
            {
                return Err(Failure::Usage(format!(
                    "--event: {event} is not a Basiq event type the BFF is subscribed to"
                )));
            }
            context.basiq.test_webhook(event).await?;
            writeln!(
                out,
                "Basiq sends a test {event} message to its subscriptions of it; the BFF logs \
                 \"webhook accepted\" for it and counts it in basiq_webhooks_total"
            )?;
            Ok(())
        }
    }
}

fn describe(w: &Webhook, ours: bool) -> String {
    format!(
        "{}{}  status={}  url={}  events={}",
        if ours { "* " } else { "  " },
        w.id,
        w.status.as_deref().unwrap_or("-"),
        w.url,
        w.subscribed_events.join(",")
    )
}

async fn list(context: &Context, url: &str, out: &mut impl Write) -> Result<(), Failure> {
    let webhooks = context.basiq.webhooks().await?;
    if webhooks.is_empty() {
        writeln!(out, "no webhook subscriptions at Basiq")?;
    }
    for w in &webhooks {
        let ours = w.url.trim_end_matches('/') == url.trim_end_matches('/');
        writeln!(out, "{}", describe(w, ours))?;
    }
    match assess(&webhooks, url).warning(url) {
        Some(warning) => writeln!(out, "{warning}")?,
        None => writeln!(out, "* {url} receives every event the BFF handles")?,
    }
    Ok(())
}

async fn ensure(context: &Context, url: &str, out: &mut impl Write) -> Result<(), Failure> {
    let webhooks = context.basiq.webhooks().await?;
    match assess(&webhooks, url) {
        Subscription::Receiving(w) => {
            writeln!(
                out,
                "already subscribed: {} (its secret was shown when it was registered, and is BASIQ_WEBHOOK_SECRET)",
                describe(w, true)
            )?;
        }
        Subscription::MissingEvents(w, missing) => {
            let id = w.id.clone();
            let updated = context
                .basiq
                .update_webhook(&id, url, HANDLED_EVENTS)
                .await?;
            writeln!(
                out,
                "subscribed {} to {} as well: {}",
                url,
                missing.join(", "),
                describe(&updated, true)
            )?;
        }
        found @ (Subscription::Disabled(_) | Subscription::Missing) => {
            if let Subscription::Disabled(w) = found {
                // Basiq documents no way to enable one again: it is replaced.
                let id = w.id.clone();
                context.basiq.delete_webhook(&id).await?;
                writeln!(out, "removed the disabled subscription {id}")?;
            }
            let created = context.basiq.create_webhook(url, HANDLED_EVENTS).await?;
            writeln!(out, "registered: {}", describe(&created, true))?;
            match &created.secret {
                Some(secret) => {
                    writeln!(
                        out,
                        "Its signing secret, shown this once: store it as BASIQ_WEBHOOK_SECRET and restart the BFF:"
                    )?;
                    writeln!(out, "BASIQ_WEBHOOK_SECRET={}", secret.expose_secret())?;
                }
                None => writeln!(
                    out,
                    "Basiq sent no signing secret: find it in Basiq's dashboard and store it as BASIQ_WEBHOOK_SECRET"
                )?,
            }
        }
    }
    Ok(())
}
