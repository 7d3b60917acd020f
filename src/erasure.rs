//! Erasing an app user: `DELETE /v1/me` and `basiq-bff admin erase` both come here, so the two
//! can never drift apart.

use sqlx::{PgConnection, PgPool};

use crate::{
    basiq::{BasiqClient, BasiqError, types::Consent},
    db,
    events::{Change, ConsentChange, ConsentUpdated, Events, UserErased},
    remembered::Remembered,
};

/// What erasure needs.
pub struct Eraser<'a> {
    pub pool: &'a PgPool,
    pub basiq: &'a BasiqClient,
    pub remembered: &'a Remembered,
    pub events: &'a Events,
}

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// Basiq could not delete its user; nothing local was deleted, so erasure can be retried.
    #[error("deleting the Basiq user: {0}")]
    Basiq(#[from] BasiqError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl Eraser<'_> {
    /// Deletes the Basiq user `basiq_user_id` (its connections and data go with it; one
    /// already gone is fine), then, in one transaction, every local row of `app_user_id` and
    /// the `user.erased` event (its streams, and the company's backend, learn it last; a crash
    /// leaves both or neither). Safe to repeat.
    #[tracing::instrument(skip_all, fields(user_id = app_user_id, basiq_user_id))]
    pub async fn erase(
        &self,
        app_user_id: &str,
        basiq_user_id: Option<&str>,
    ) -> Result<(), EraseError> {
        if let Some(basiq_user_id) = basiq_user_id {
            tracing::Span::current().record("basiq_user_id", basiq_user_id);
            match self.basiq.delete_user(basiq_user_id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => tracing::info!("the Basiq user was already gone"),
                Err(e) => return Err(e.into()),
            }
        }
        let erased = Change::Erased(UserErased {
            user_id: app_user_id.to_owned(),
        });
        let mut tx = self.pool.begin().await?;
        db::users::delete(&mut tx, app_user_id).await?;
        self.events
            .publish_in(&mut tx, app_user_id, &erased)
            .await?;
        tx.commit().await?;
        self.remembered.forget(app_user_id);
        tracing::info!("user erased");
        Ok(())
    }
}

/// Whether a consent that ended (`ended`, when the event names it) takes the user's stored
/// data with it, by the user's consents as Basiq now lists them (`consents`): only when none of
/// them is still active. A late event about an old consent, after the user consented again,
/// erases nothing current; nor does an event about a consent Basiq says is active (unless it is
/// being revoked now, `revoking`, and Basiq listed it before).
pub fn consent_end_erases(consents: &[Consent], ended: Option<&str>, revoking: bool) -> bool {
    !consents
        .iter()
        .any(|c| c.status.as_deref() == Some("active") && (c.id.as_deref() != ended || !revoking))
}

/// A consent of the user ended (revoked or expired), in the caller's transaction: their stored
/// data is erased when `erase` (see [`consent_end_erases`]), and `consent.updated` published
/// after it, so that the erasure and its news are one outcome.
pub async fn consent_ended(
    tx: &mut PgConnection,
    events: &Events,
    app_user_id: &str,
    consent_id: Option<&str>,
    change: ConsentChange,
    erase: bool,
) -> Result<(), sqlx::Error> {
    if erase {
        db::users::erase_data(&mut *tx, app_user_id).await?;
    }
    let ended = Change::Consent(ConsentUpdated {
        change,
        consent_id: consent_id.map(str::to_owned),
    });
    events.publish_in(tx, app_user_id, &ended).await.map(drop)
}
