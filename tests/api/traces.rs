//! Traces: the real binary, with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an OTLP/HTTP
//! receiver in the test (the subscriber is process-wide, so it runs in a process of its own).

use std::sync::{Arc, Mutex};

use axum::{Router, body::Bytes, extract::State, http::header, routing::post};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    common::v1::{KeyValue, any_value::Value},
    trace::v1::{Span, span::SpanKind},
};
use prost::Message as _;
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::{TestApp, jwt_for, spawn_app};

/// What the receiver was sent: each span with its resource's `service.name`.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, Span)>>>);

impl Received {
    fn spans(&self) -> Vec<(String, Span)> {
        self.0.lock().unwrap().clone()
    }
}

/// An OTLP/HTTP (protobuf) collector: `POST /v1/traces`.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("an OTLP request");
                let mut spans = received.0.lock().unwrap();
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .and_then(|r| string(&r.attributes, "service.name"))
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
                    }
                }
                // An empty ExportTraceServiceResponse: everything accepted.
                (
                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                    Vec::new(),
                )
            }),
        )
        .with_state(received.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    match attribute(attributes, key) {
        Some(Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// An app with alice's bank connected, and the binary beside it exporting to a receiver.
async fn traced(overrides: &[(&str, &str)]) -> (TestApp, crate::helpers::Bff, Received) {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let (collector, received) = receiver().await;
    let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str())];
    env.extend_from_slice(overrides);
    let bff = app.start_bff(&env).await;
    (app, bff, received)
}

#[tokio::test]
async fn a_frontends_traceparent_is_continued_into_the_basiq_call_whose_traceparent_names_its_span()
{
    // Exported only when the process stops: what a graceful shutdown flushes.
    let (app, bff, received) = traced(&[("OTEL_BSP_SCHEDULE_DELAY", "600000")]).await;
    app.sim_delete("/__sim/requests").await;
    let answer = app
        .http
        .get(format!("{}/v1/accounts", bff.base))
        .bearer_auth(jwt_for("alice"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .header("tracestate", "vendor=opaque")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let sim_requests = app.sim_requests().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(received.spans().is_empty(), "nothing before the flush");
    bff.stop().await;

    let spans = received.spans();
    assert!(spans.iter().all(|(service, _)| service == "basiq-bff"));
    let in_trace: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| hex(&s.trace_id) == TRACE_ID)
        .collect();
    let request = in_trace
        .iter()
        .find(|s| s.name == "GET /v1/accounts")
        .expect("the request's span, in the caller's trace");
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(hex(&request.parent_span_id), PARENT_ID);
    assert_eq!(request.trace_state, "vendor=opaque");
    assert!(matches!(
        attribute(&request.attributes, "http.response.status_code"),
        Some(Value::IntValue(200))
    ));

    let call = in_trace
        .iter()
        .find(|s| s.name == "GET /users/{id}/accounts")
        .expect("the Basiq call's span, in the same trace");
    assert_eq!(call.kind, SpanKind::Client as i32);
    assert!(matches!(
        attribute(&call.attributes, "http.response.status_code"),
        Some(Value::IntValue(200))
    ));
    // A descendant of the request's span: follow the parents up.
    let mut parent = call.parent_span_id.clone();
    let mut hops = 0;
    while parent != request.span_id {
        let up = in_trace
            .iter()
            .find(|s| s.span_id == parent)
            .unwrap_or_else(|| panic!("a parent {} outside the trace", hex(&parent)));
        parent = up.parent_span_id.clone();
        hops += 1;
        assert!(hops < 10, "no way up to the request's span");
    }

    // Basiq was told the call's own span.
    let sent = sim_requests
        .iter()
        .find(|r| r["method"] == "GET" && r["path"].as_str().unwrap().ends_with("/accounts"))
        .expect("the simulator received the call");
    assert_eq!(
        sent["traceparent"],
        json!(format!("00-{TRACE_ID}-{}-01", hex(&call.span_id)))
    );
}

#[tokio::test]
async fn a_basiq_calls_span_records_the_correlation_id_of_basiqs_answer() {
    let (app, bff, received) = traced(&[("OTEL_BSP_SCHEDULE_DELAY", "50")]).await;
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/accounts", "method": "GET", "status": 400}),
    )
    .await;
    let answer = app
        .http
        .get(format!("{}/v1/accounts", bff.base))
        .bearer_auth(jwt_for("alice"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_server_error(), "{}", answer.status());
    let mut call = None;
    for _ in 0..100 {
        call = received
            .spans()
            .into_iter()
            .map(|(_, s)| s)
            .find(|s| hex(&s.trace_id) == TRACE_ID && s.name == "GET /users/{id}/accounts");
        if call.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let call = call.expect("the Basiq call's span goes out within the schedule delay");
    let correlation_id =
        string(&call.attributes, "basiq.correlation_id").expect("the correlationId");
    assert!(matches!(
        attribute(&call.attributes, "http.response.status_code"),
        Some(Value::IntValue(400))
    ));
    // The one Basiq sent: the BFF's log line for the failure carries it too.
    let logs = bff.stop().await;
    assert!(
        logs.lines().any(|l| l.contains("basiq call failed")
            && l.contains(&format!("correlationId={correlation_id}"))),
        "{correlation_id} not in the logs"
    );
}
