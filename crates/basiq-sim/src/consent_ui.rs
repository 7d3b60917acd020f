//! The Consent UI: a plain HTML page with a login form (no JavaScript), and the form's target,
//! which makes the connection and its job and sends the browser back with `jobIds` and `state`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{TimeDelta, Utc};

use super::data::{Generated, Known};
use super::institutions::{INSTITUTIONS, Institution, find};
use super::logins::{mfa_for, outcome_for};
use super::routes::query_pairs;
use super::state::{Connection, Consent, Scope, SimState, connection_seed, holder_seed};
use super::webhooks;

/// How long a consent lasts.
const CONSENT_DURATION: TimeDelta = TimeDelta::days(365);

pub fn router() -> Router<SimState> {
    Router::new()
        .route("/consent/home", get(home))
        .route("/consent/connect", post(connect))
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · Basiq Consent (simulator)</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}}\
label{{display:block;margin-top:1rem}}input,select{{width:100%;padding:.5rem;box-sizing:border-box}}\
button{{margin-top:1.5rem;padding:.6rem 1.2rem}}.error{{color:#b00020}}.hint{{color:#555;font-size:.85rem}}</style>\
</head><body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("valid header"),
    );
    response
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Something went wrong",
        &format!("<p class=\"error\" id=\"error\">{}</p>", escape(message)),
    )
}

/// The user a Consent UI token is bound to, or the status and message of the error page.
fn client_user(sim: &SimState, token: Option<&str>) -> Result<String, (StatusCode, &'static str)> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or((StatusCode::UNAUTHORIZED, "A token is required."))?;
    let store = sim.store();
    let t = store
        .tokens
        .get(token)
        .ok_or((StatusCode::UNAUTHORIZED, "The token is not valid."))?;
    if Utc::now() >= t.expires_at {
        return Err((StatusCode::FORBIDDEN, "Token has expired"));
    }
    match (&t.scope, &t.user_id) {
        (Scope::Client, Some(user)) if store.users.contains_key(user) => Ok(user.clone()),
        (Scope::Client, _) => Err((
            StatusCode::FORBIDDEN,
            "The user of this token no longer exists.",
        )),
        (Scope::Server, _) => Err((
            StatusCode::FORBIDDEN,
            "The Consent UI needs a CLIENT_ACCESS token.",
        )),
    }
}

struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" id=\"{name}\" name=\"{name}\" value=\"{}\">",
        escape(value)
    )
}

/// The login form; without an institution, a picker of every institution with its status.
fn form(
    p: &Params,
    institution: Option<&Institution>,
    institutions: &[(&Institution, &str)],
) -> String {
    let mut html = String::from(
        "<p>Connect your bank to share your financial data. This is the <strong>basiq-sim</strong> \
sandbox: try <code>Wentworth-Smith</code> / <code>whislter</code>.</p>\n\
<form id=\"consent-form\" method=\"post\" action=\"/consent/connect\" \
enctype=\"application/x-www-form-urlencoded\">\n",
    );
    for name in ["token", "state", "action", "connectionId"] {
        if let Some(v) = p
            .get(name)
            .or(if name == "state" { Some("") } else { None })
        {
            html.push_str(&hidden(name, v));
            html.push('\n');
        }
    }
    match institution {
        Some(i) => {
            html.push_str(&hidden("institutionId", i.id));
            html.push_str(&format!(
                "\n<p id=\"institution-name\">Institution: <strong>{}</strong></p>\n",
                escape(i.name)
            ));
        }
        None => {
            html.push_str(
                "<label for=\"institutionId\">Institution</label>\n\
<select id=\"institutionId\" name=\"institutionId\" required>\n",
            );
            for (i, status) in institutions {
                html.push_str(&format!(
                    "<option value=\"{}\">{} ({}, {})</option>\n",
                    escape(i.id),
                    escape(i.name),
                    escape(i.method),
                    escape(status)
                ));
            }
            html.push_str("</select>\n");
        }
    }
    html.push_str(
        "<label for=\"loginId\">Login</label>\n\
<input id=\"loginId\" name=\"loginId\" autocomplete=\"username\" required>\n\
<label for=\"password\">Password</label>\n\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
<button id=\"connect\" type=\"submit\">Connect</button>\n</form>\n\
<p class=\"hint\">Sandbox logins: Wentworth-Smith/whislter, gavinBelson/hooli2016 and Basiq's other \
personas succeed; bighead/password, erlich/aviato and jianYang/nothotdog fail.</p>",
    );
    html
}

async fn home(State(sim): State<SimState>, RawQuery(query): RawQuery) -> Response {
    let p = Params(query_pairs(query.as_deref()));
    let user_id = match client_user(&sim, p.get("token")) {
        Ok(u) => u,
        Err((status, message)) => return error_page(status, message),
    };
    let mut institution = None;
    if let Some(cid) = p.get("connectionId") {
        let store = sim.store();
        match store.connection(&user_id, cid) {
            Ok(c) => institution = Some(c.institution),
            Err(_) => return error_page(StatusCode::BAD_REQUEST, "Unknown connectionId."),
        }
    }
    if let Some(id) = p.get("institutionId") {
        match find(id) {
            Some(i) if institution.is_none_or(|c| c.id == i.id) => institution = Some(i),
            _ => return error_page(StatusCode::BAD_REQUEST, "Unknown institutionId."),
        }
    }
    let title = match p.get("connectionId") {
        Some(_) => "Reconnect your bank",
        None => "Connect your bank",
    };
    let institutions: Vec<(&Institution, &str)> = {
        let store = sim.store();
        INSTITUTIONS
            .iter()
            .map(|i| (i, store.institution_status(i)))
            .collect()
    };
    page(StatusCode::OK, title, &form(&p, institution, &institutions))
}

async fn connect(State(sim): State<SimState>, body: Bytes) -> Response {
    let p = Params(form_urlencoded::parse(&body).into_owned().collect());
    let user_id = match client_user(&sim, p.get("token")) {
        Ok(u) => u,
        Err((status, message)) => return error_page(status, message),
    };
    let Some(institution) = p.get("institutionId").and_then(find) else {
        return error_page(StatusCode::BAD_REQUEST, "Choose a valid institution.");
    };
    let (Some(login_id), Some(password)) = (p.get("loginId"), p.get("password")) else {
        return error_page(StatusCode::BAD_REQUEST, "Login and password are required.");
    };
    let now = Utc::now();
    let step = sim.job_step();
    let (connection_id, job_id, created_connection, new_consent, extended) = {
        let mut store = sim.store();
        let connection_id = match p.get("connectionId") {
            Some(cid) => {
                let Ok(c) = store.connection(&user_id, cid) else {
                    return error_page(StatusCode::BAD_REQUEST, "Unknown connectionId.");
                };
                if c.institution.id != institution.id {
                    return error_page(
                        StatusCode::BAD_REQUEST,
                        "The connection belongs to another institution.",
                    );
                }
                let id = c.id.clone();
                if let Some(c) = store.connections.get_mut(&id) {
                    c.outcome = outcome_for(login_id, password);
                    c.mfa = mfa_for(login_id, password);
                }
                id
            }
            None => {
                let Some(user) = store.users.get_mut(&user_id) else {
                    return error_page(StatusCode::FORBIDDEN, "Unknown user.");
                };
                let seed = connection_seed(sim.config.seed, user, institution.id, login_id);
                // What the bank knows of its customer is fixed when the connection is made.
                let known = Known {
                    seed: holder_seed(sim.config.seed, user, login_id),
                    login_id,
                    first_name: &user.first_name,
                    middle_name: &user.middle_name,
                    last_name: &user.last_name,
                    email: &user.email,
                    mobile: &user.mobile,
                };
                let data = Arc::new(Generated::connection(seed, now.date_naive(), &known));
                user.connections_made += 1;
                let id = uuid::Uuid::new_v4().to_string();
                store.connections.insert(
                    id.clone(),
                    Connection {
                        id: id.clone(),
                        user_id: user_id.clone(),
                        institution,
                        seed,
                        outcome: outcome_for(login_id, password),
                        mfa: mfa_for(login_id, password),
                        created: now,
                        deleted: false,
                        invalidated: false,
                        next_job: None,
                        refreshes: Vec::new(),
                        jobs: Vec::new(),
                        data,
                        accounts_at: None,
                        transactions_at: None,
                        rendered: Default::default(),
                    },
                );
                id
            }
        };
        let job_id = store.start_job(&connection_id, step, now, false);
        // `extend` renews the active consent for another term; otherwise a first consent.
        let active = store.active_consent(&user_id, now).map(|c| c.id.clone());
        let extended = match (&active, p.get("action")) {
            (Some(id), Some("extend")) => store.consents.get_mut(id).map(|c| {
                c.expiry = now + CONSENT_DURATION;
                c.updated = now;
                (
                    id.clone(),
                    super::routes::users::consent_json(c, &sim.public_base, now),
                )
            }),
            _ => None,
        };
        let new_consent = if active.is_none() {
            let consent = Consent {
                id: uuid::Uuid::new_v4().to_string(),
                user_id: user_id.clone(),
                created: now,
                updated: now,
                expiry: now + CONSENT_DURATION,
                revoked: None,
            };
            let json = super::routes::users::consent_json(&consent, &sim.public_base, now);
            let id = consent.id.clone();
            store.consents.insert(id.clone(), consent);
            Some((id, json))
        } else {
            None
        };
        let created = p.get("connectionId").is_none();
        let connection = created.then(|| {
            let c = &store.connections[&connection_id];
            super::routes::connections::connection_json(&store, c, &sim.public_base, now)
        });
        (connection_id, job_id, connection, new_consent, extended)
    };
    if let Some((id, data)) = new_consent {
        webhooks::emit(
            &sim,
            "consent",
            "created",
            &user_id,
            format!("/users/{user_id}/consents/{id}"),
            data,
        );
    }
    if let Some((id, data)) = extended {
        webhooks::emit(
            &sim,
            "consent",
            "updated",
            &user_id,
            format!("/users/{user_id}/consents/{id}"),
            data,
        );
    }
    if let Some(data) = created_connection {
        webhooks::emit(
            &sim,
            "connection",
            "created",
            &user_id,
            format!("/users/{user_id}/connections/{connection_id}"),
            data,
        );
    }
    webhooks::watch_job(&sim, &job_id);
    let location = redirect_location(&sim.config.redirect_url, &job_id, p.get("state"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// `redirect_url` with `jobIds` and `state` appended to whatever query it already has.
pub fn redirect_location(redirect_url: &str, job_id: &str, state: Option<&str>) -> String {
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    pairs.append_pair("jobIds", job_id);
    if let Some(state) = state {
        pairs.append_pair("state", state);
    }
    let extra = pairs.finish();
    let (head, fragment) = match redirect_url.split_once('#') {
        Some((h, f)) => (h, Some(f)),
        None => (redirect_url, None),
    };
    let sep = match head.split_once('?') {
        Some((_, q)) if q.is_empty() || q.ends_with('&') => "",
        Some(_) => "&",
        None => "?",
    };
    match fragment {
        Some(f) => format!("{head}{sep}{extra}#{f}"),
        None => format!("{head}{sep}{extra}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_keeps_an_existing_query() {
        assert_eq!(
            redirect_location("http://x/cb?a=1", "j1", Some("s p&q")),
            "http://x/cb?a=1&jobIds=j1&state=s+p%26q"
        );
        assert_eq!(
            redirect_location("http://x/cb", "j1", None),
            "http://x/cb?jobIds=j1"
        );
    }
}
