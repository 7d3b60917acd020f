//! `admin replay-events --since <duration>`: Basiq's events of a past window, processed as
//! their webhooks would have been.

use std::{io::Write, time::Duration};

use chrono::Utc;

use super::{Context, Failure};
use crate::{
    inbox::Source,
    recovery::{self, PassError},
};

/// How far back Basiq's `GET /events` goes.
const BASIQ_KEEPS_EVENTS: Duration = Duration::from_secs(7 * 24 * 3600);

/// Process Basiq's events of the last --since that were missed (at most 7 days).
///
/// Reads Basiq's GET /events and processes each event created in the window and not
/// processed yet, exactly as its webhook would have been (a consent revoked erases
/// the user's data, a connection invalidated needs its user, …). Events already processed, by
/// their webhook, the BFF's own recovery or an earlier replay, are skipped, so it is safe to
/// run again.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How far back to read: `2h`, `3d`, `90m`; at most `7d`.
    #[arg(long, value_parser = since)]
    pub since: Duration,
}

fn since(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| format!("{e} (e.g. 2h, 3d)"))?;
    if duration > BASIQ_KEEPS_EVENTS {
        return Err("Basiq keeps events for 7 days: give at most 7d".to_owned());
    }
    if duration.is_zero() {
        return Err("give a duration above zero".to_owned());
    }
    Ok(duration)
}

pub async fn run(context: &Context, args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let since = Utc::now()
        - chrono::Duration::from_std(args.since).expect("at most 7 days fits a chrono duration");
    let window = humantime::format_duration(args.since);
    let pass = match recovery::pass(&context.worker(), Some(since), Source::Replayed).await {
        Ok(pass) => pass,
        Err(PassError::Busy) => {
            return Err(Failure::Failed(anyhow::anyhow!(
                "a replica is recovering events right now; run again in a minute"
            )));
        }
        Err(e) => return Err(Failure::Failed(e.into())),
    };
    writeln!(
        out,
        "events of the last {window}: {} read from Basiq, {} processed now, {} already processed",
        pass.listed, pass.processed, pass.already
    )?;
    if pass.failed > 0 {
        return Err(Failure::Failed(anyhow::anyhow!(
            "an event could not be processed (see the log above); the events after it were \
             not tried: run again"
        )));
    }
    Ok(())
}
