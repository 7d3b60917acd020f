//! `admin user <sub>`: what is known of one user, by ids and states.

use std::io::Write;

use chrono::Utc;

use super::{Context, Failure, age};
use crate::db;

/// Show one app user by ids and states: never personal data.
///
/// Their Basiq user, connections (id, status,
/// institution) and consents (id, status, expiry) as Basiq has them, their jobs, and how many
/// events and pending deliveries are stored. Never an email, a mobile or any decrypted value.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The app user: their JWT's `sub`.
    pub sub: String,
}

pub async fn run(context: &Context, args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let pool = &context.pool;
    let Some(user) = db::users::find(pool, &args.sub).await? else {
        return Err(Failure::Failed(anyhow::anyhow!(
            "no user {} is stored (check the sub: it is the app JWT's `sub`)",
            args.sub
        )));
    };
    let now = Utc::now();
    writeln!(out, "user {}", args.sub)?;
    writeln!(out, "  stored since: {} ago", age(now - user.created_at))?;
    match &user.basiq_user_id {
        Some(basiq_user_id) => {
            writeln!(out, "  basiq user: {basiq_user_id}")?;
            connections(context, &args.sub, basiq_user_id, out).await?;
            consents(context, basiq_user_id, out).await?;
        }
        None => writeln!(out, "  basiq user: none yet (created by the first consent)")?,
    }
    let jobs = db::jobs::of_user(pool, &args.sub).await?;
    writeln!(out, "  jobs: {}", jobs.len())?;
    for job in &jobs {
        writeln!(
            out,
            "    {}  origin={}  status={}  connection={}  age={}{}",
            job.job_id,
            job.origin,
            job.status,
            job.connection_id.as_deref().unwrap_or("-"),
            age(now - job.created_at),
            if job.next_check_at.is_some() {
                "  (watched)"
            } else {
                ""
            },
        )?;
    }
    let (events, pending) = db::events::counts(pool, &args.sub).await?;
    writeln!(out, "  stored events: {events}")?;
    writeln!(out, "  pending deliveries to APP_WEBHOOK_URL: {pending}")?;
    match db::sync::state(pool, &args.sub).await? {
        None => writeln!(out, "  sync store: none (the user has never synced)")?,
        Some(state) => {
            let refreshes = db::sync::refreshes(pool, &args.sub).await?;
            writeln!(
                out,
                "  sync store: {} changes logged, last read from Basiq {}, {} refreshes logged{}",
                state.last_seq,
                state
                    .fetched_at
                    .map_or("never".to_owned(), |t| format!("{} ago", age(now - t))),
                refreshes.len(),
                match state.requested_at {
                    Some(r) if state.fetched_at.is_none_or(|f| r > f) => ", a refresh is due",
                    _ => "",
                }
            )?;
        }
    }
    Ok(())
}

async fn connections(
    context: &Context,
    sub: &str,
    basiq_user_id: &str,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let invalidated = db::connections::invalidated(&context.pool, sub).await?;
    match context.basiq.connections(basiq_user_id).await {
        Ok(list) => {
            writeln!(out, "  connections: {}", list.len())?;
            for c in &list {
                writeln!(
                    out,
                    "    {}  status={}  institution={}{}",
                    c.id,
                    c.status.as_deref().unwrap_or("-"),
                    c.institution.as_ref().map_or("-", |i| i.id.as_str()),
                    if invalidated.contains(&c.id) {
                        "  (invalidated: needs its user)"
                    } else {
                        ""
                    },
                )?;
            }
        }
        Err(e) => writeln!(out, "  connections: unknown (Basiq: {e})")?,
    }
    Ok(())
}

async fn consents(
    context: &Context,
    basiq_user_id: &str,
    out: &mut impl Write,
) -> Result<(), Failure> {
    match context.basiq.consents(basiq_user_id).await {
        Ok(list) => {
            writeln!(out, "  consents: {}", list.len())?;
            for c in &list {
                writeln!(
                    out,
                    "    {}  status={}  expires={}",
                    c.id.as_deref().unwrap_or("-"),
                    c.status.as_deref().unwrap_or("active"),
                    c.expiry_date.as_deref().unwrap_or("-"),
                )?;
            }
        }
        Err(e) => writeln!(out, "  consents: unknown (Basiq: {e})")?,
    }
    Ok(())
}
