//! Connections as a hostile client holds them: slow request heads, idle keep-alive, a flood
//! past the connection limit, and request heads larger than we accept.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Setup, TestApp, spawn_app_with};

async fn app_with(env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(Setup {
        env: env.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        ..Setup::default()
    })
    .await
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `within` passes); how long that took.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            within.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// One `GET` on its own connection, as a load balancer's probe does; its status.
async fn probe(app: &TestApp, path: &str) -> u16 {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    http.get(format!("{}{path}", app.base))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

#[tokio::test]
async fn connections_that_never_finish_their_request_head_are_closed_while_probes_keep_answering() {
    let app = app_with(&[("HTTP_HEADER_TIMEOUT_SECS", "1"), ("MAX_CONNECTIONS", "40")]).await;
    let target = addr(&app);
    // Three times the connection limit of clients that send part of a head, then drip a byte
    // every 300 ms and never finish it.
    let mut slow = Vec::new();
    for _ in 0..120 {
        let target = target.clone();
        slow.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(&target).await.unwrap();
            let started = Instant::now();
            let _ = stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: ")
                .await;
            let (mut read, mut write) = stream.into_split();
            let drip = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if write.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            });
            let mut buf = [0u8; 256];
            let closed = loop {
                match tokio::time::timeout(Duration::from_secs(15), read.read(&mut buf)).await {
                    Err(_) => break None,
                    Ok(Ok(0) | Err(_)) => break Some(started.elapsed()),
                    Ok(Ok(_)) => {}
                }
            };
            drip.abort();
            closed
        }));
    }
    // Probes on fresh connections keep being answered through the flood.
    let flood_started = Instant::now();
    while flood_started.elapsed() < Duration::from_secs(4) {
        let asked = Instant::now();
        assert_eq!(probe(&app, "/readyz").await, 200, "readyz during the flood");
        assert_eq!(
            probe(&app, "/healthz").await,
            200,
            "healthz during the flood"
        );
        assert!(
            asked.elapsed() < Duration::from_secs(3),
            "probes answered in {:?}",
            asked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for client in slow {
        let closed = client.await.unwrap();
        let took = closed.expect("every slow client is closed by the server");
        // Waves of 40: each is cut a second after it is let in.
        assert!(took < Duration::from_secs(10), "closed after {took:?}");
    }
    // The listener took the flood and still serves.
    assert_eq!(probe(&app, "/readyz").await, 200);
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "http_connection_limit_reached_total",
        "http_slow_request_heads_total",
        "http_connections_open",
    ] {
        assert!(metrics.contains(name), "{name} in /metrics");
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_and_closes_at_the_idle_timeout()
{
    let app = app_with(&[
        ("HTTP_HEADER_TIMEOUT_SECS", "1"),
        ("HTTP_IDLE_TIMEOUT_SECS", "3"),
    ])
    .await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        stream.write_all(request).await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        // Idle for longer than the header timeout, shorter than the idle timeout.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let closed = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("the idle connection is closed");
    assert!(
        closed < Duration::from_secs(3),
        "closed after {closed:?} more"
    );
}

#[tokio::test]
async fn an_overlong_uri_or_oversized_headers_answer_problem_json_with_our_headers() {
    let app = app_with(&[]).await;
    let long_uri = format!("{}/healthz?{}", app.base, "a".repeat(20_000));
    let r = app.http.get(&long_uri).send().await.unwrap();
    assert_eq!(r.status(), 414);
    check_problem(r, "uri_too_long").await;

    let mut big = reqwest::header::HeaderMap::new();
    for i in 0..40 {
        big.insert(
            reqwest::header::HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap(),
            "b".repeat(1000).parse().unwrap(),
        );
    }
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .headers(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    check_problem(r, "headers_too_large").await;

    let mut many = reqwest::header::HeaderMap::new();
    for i in 0..110 {
        many.insert(
            reqwest::header::HeaderName::from_bytes(format!("x-n-{i}").as_bytes()).unwrap(),
            "1".parse().unwrap(),
        );
    }
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .headers(many)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    check_problem(r, "headers_too_large").await;
}

/// Sends `head` on a connection of its own and reads until the server closes it: the answer.
async fn raw_answer(app: &TestApp, head: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr(app)).await.unwrap();
    stream.write_all(head).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_request_head_larger_than_the_server_reads_still_answers_problem_json_with_our_headers() {
    let app = app_with(&[]).await;
    let healthz = format!("{}/healthz", app.base);
    // A 100 KB header, and more headers than any head may have.
    let r = app
        .http
        .get(&healthz)
        .header("x-filler", "b".repeat(100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    check_problem(r, "headers_too_large").await;
    let mut many = reqwest::header::HeaderMap::new();
    for i in 0..300 {
        many.insert(
            reqwest::header::HeaderName::from_bytes(format!("x-n-{i}").as_bytes()).unwrap(),
            "1".parse().unwrap(),
        );
    }
    let r = app.http.get(&healthz).headers(many).send().await.unwrap();
    assert_eq!(r.status(), 431);
    check_problem(r, "headers_too_large").await;

    // A request line of 100 KB (longer than any URL a client library builds), and a 200 KB
    // header sent whole before reading: answered, then closed.
    for (head, status, code) in [
        (
            format!(
                "GET /healthz?{} HTTP/1.1\r\nHost: x\r\n\r\n",
                "a".repeat(100_000)
            ),
            "414",
            "uri_too_long",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: {}\r\n\r\n",
                "b".repeat(200_000)
            ),
            "431",
            "headers_too_large",
        ),
    ] {
        let answer = raw_answer(&app, head.as_bytes()).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains("x-request-id"), "{answer}");
        assert!(answer.contains(&format!("\"code\":\"{code}\"")), "{answer}");
    }
    // And the server goes on serving.
    assert_eq!(app.http.get(&healthz).send().await.unwrap().status(), 200);
}

async fn check_problem(r: reqwest::Response, code: &str) {
    let headers = r.headers().clone();
    assert_eq!(headers["content-type"], "application/problem+json");
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "content-security-policy",
        "cache-control",
        "x-request-id",
    ] {
        assert!(headers.contains_key(name), "{code}: {name}");
    }
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], code);
    assert!(body["requestId"].is_string());
}
