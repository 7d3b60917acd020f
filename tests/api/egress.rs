//! The wire to Basiq: the egress proxy (`HTTPS_PROXY`, `NO_PROXY`), the connect deadline and
//! the cap on an answer's size. A small HTTP `CONNECT` proxy here stands in for the operator's.
//! There is no network, so the tunnel is never completed to the real Basiq: the proxy records
//! what it was asked and answers as told.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use basiq_bff::{
    basiq::{BasiqClient, TokenPolicy, UpstreamPolicy},
    config::EgressProxy,
};
use basiq_sim::SimConfig;
use secrecy::SecretString;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

const BASIQ: &str = "https://au-api.basiq.io";

/// What the stand-in proxy does with a `CONNECT`.
#[derive(Clone, Copy)]
enum Behaviour {
    Answer(&'static str),
    /// Reads the request and never answers.
    Stall,
}

/// An HTTP request's head, up to the blank line (or what came before the peer closed).
async fn read_head(socket: &mut BufReader<TcpStream>) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if socket.read_line(&mut line).await.unwrap_or(0) == 0 || line == "\r\n" {
            return head;
        }
        head.push_str(&line);
    }
}

/// A proxy that records each request head it reads.
async fn proxy(behaviour: Behaviour) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut client = BufReader::new(socket);
                let head = read_head(&mut client).await;
                log.lock().unwrap().push(head);
                match behaviour {
                    Behaviour::Answer(status) => {
                        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
                        let _ = client.get_mut().write_all(answer.as_bytes()).await;
                    }
                    Behaviour::Stall => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

/// The proxy as configuration reads it from `HTTPS_PROXY` and `NO_PROXY`, for `base`.
fn egress_for(base: &str, url: String, no_proxy: Option<&str>) -> EgressProxy {
    EgressProxy::from_lookup(
        |name| match name {
            "HTTPS_PROXY" => Some(url.clone()),
            "NO_PROXY" => no_proxy.map(str::to_owned),
            _ => None,
        },
        &base.parse().unwrap(),
    )
    .expect("a valid proxy")
    .expect("a proxy for an https Basiq")
}

fn egress(url: String, no_proxy: Option<&str>) -> EgressProxy {
    egress_for(BASIQ, url, no_proxy)
}

fn client(base: &str, proxy: &EgressProxy) -> BasiqClient {
    BasiqClient::with_proxy(
        &base.parse().unwrap(),
        SecretString::from("sim-api-key"),
        TokenPolicy::default(),
        UpstreamPolicy {
            connect_timeout: Duration::from_millis(500),
            deadline: Duration::from_secs(5),
            ..UpstreamPolicy::default()
        },
        None,
        Some(basiq_bff::basiq::Proxy {
            var: proxy.var,
            url: &proxy.url,
            no_proxy: proxy.no_proxy.as_deref(),
        }),
    )
    .unwrap()
}

fn proxy_authorization(head: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    })
}

#[tokio::test]
async fn with_an_egress_proxy_basiq_is_asked_for_through_a_connect_tunnel_with_its_credentials() {
    let (addr, seen) = proxy(Behaviour::Answer("502 Bad Gateway")).await;
    // A password with characters a URL may not hold as they are.
    let basiq = client(BASIQ, &egress(format!("http://ops:s3c|r^t@{addr}"), None));

    basiq
        .connectors()
        .await
        .expect_err("the proxy refused the tunnel");

    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the proxy saw no request");
    for head in &seen {
        assert!(
            head.starts_with("CONNECT au-api.basiq.io:443 HTTP/1.1\r\n"),
            "{head}"
        );
        // base64("ops:s3c|r^t")
        assert_eq!(
            proxy_authorization(head).as_deref(),
            Some("Basic b3BzOnMzY3xyXnQ="),
            "{head}"
        );
    }
}

#[tokio::test]
async fn a_proxy_refusing_the_tunnel_makes_basiq_unreachable_and_the_error_carries_no_credential() {
    let (addr, _) = proxy(Behaviour::Answer("407 Proxy Authentication Required")).await;
    let basiq = client(BASIQ, &egress(format!("http://ops:s3cret@{addr}"), None));

    let error = basiq.connectors().await.expect_err("no tunnel, no Basiq");
    let text = error.to_string();
    assert!(text.contains("POST /token unreachable"), "{text}");
    assert!(
        !text.contains("s3cret") && !text.contains("b3BzOnMzY3JldA=="),
        "{text}"
    );
}

#[tokio::test]
async fn a_proxy_that_never_answers_the_connect_is_a_timeout() {
    let (addr, seen) = proxy(Behaviour::Stall).await;
    let basiq = client(BASIQ, &egress(format!("http://{addr}"), None));

    let started = std::time::Instant::now();
    let error = basiq.connectors().await.expect_err("the proxy stalls");
    let text = error.to_string();
    assert!(text.contains("POST /token timed out"), "{text}");
    // The connect deadline (500 ms here), not the 10 s attempt timeout, ended it.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn no_proxy_sends_basiq_calls_direct() {
    let (addr, seen) = proxy(Behaviour::Answer("502 Bad Gateway")).await;
    // A "Basiq" on https at 127.0.0.1 that counts connections (it speaks no TLS, so the call
    // fails once connected: what matters is where it went).
    let direct = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://127.0.0.1:{}", direct.local_addr().unwrap().port());
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = direct.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            drop(socket);
        }
    });
    let basiq = client(
        &base,
        &egress_for(&base, format!("http://{addr}"), Some("localhost,127.0.0.1")),
    );

    basiq.connectors().await.expect_err("no TLS there");
    assert!(seen.lock().unwrap().is_empty(), "the proxy was used");
    assert!(connections.load(std::sync::atomic::Ordering::Relaxed) > 0);
}

#[tokio::test]
async fn a_plain_http_basiq_the_simulator_is_called_direct_even_with_a_proxy_configured() {
    let sim = basiq_sim::spawn(SimConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let (addr, seen) = proxy(Behaviour::Answer("502 Bad Gateway")).await;
    // Configuration never reads a proxy for a plain-http Basiq; the client ignores one too.
    let proxy = EgressProxy {
        var: "HTTPS_PROXY",
        url: SecretString::from(format!("http://{addr}")),
        no_proxy: None,
    };
    let basiq = client(&sim.base_url(), &proxy);

    let connectors = basiq.connectors().await.expect("connectors, direct");
    assert!(!connectors.is_empty());
    assert!(seen.lock().unwrap().is_empty(), "the proxy was used");
}

/// A "Basiq" that reads each request's head and answers with `answer` (which gets the socket).
async fn raw_basiq<F, Fut>(attempt_timeout: Duration, answer: F) -> BasiqClient
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                read_head(&mut socket).await;
                answer(socket.into_inner()).await;
            });
        }
    });
    BasiqClient::new(
        &base.parse().unwrap(),
        SecretString::from("sim-api-key"),
        TokenPolicy::default(),
        UpstreamPolicy {
            attempt_timeout,
            ..UpstreamPolicy::default()
        },
        None,
    )
    .unwrap()
}

#[tokio::test]
async fn an_answer_whose_body_stalls_times_out_within_the_attempt() {
    let basiq = raw_basiq(Duration::from_millis(300), |mut socket| async move {
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"access_")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;

    let started = std::time::Instant::now();
    let error = basiq.connectors().await.expect_err("the body never comes");
    let text = error.to_string();
    assert!(text.contains("POST /token timed out"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_answer_larger_than_the_cap_is_refused_without_reading_it_all() {
    // An endless body.
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    // Time enough to read 32 MiB in a debug build on a busy machine.
    let basiq = raw_basiq(Duration::from_secs(10), move |mut socket| {
        let counter = counter.clone();
        async move {
            let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            if socket.write_all(head).await.is_err() {
                return;
            }
            let chunk = [b' '; 65536];
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            while socket.write_all(&framed).await.is_ok() {
                counter.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
            }
        }
    })
    .await;

    let error = basiq.connectors().await.expect_err("an endless answer");
    let text = error.to_string();
    assert!(text.contains("larger than 32 MiB"), "{text}");
    // It stopped reading at the cap (plus what the socket buffers held).
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 64 << 20, "{sent} bytes sent");
}

#[tokio::test]
async fn a_large_answer_of_undeclared_length_is_read_whole_within_the_budget() {
    // Valid as a token answer and as a connectors list, 3 MiB, chunked: past what is read
    // without the large-answers budget.
    let connector = r#"{"id":"AU00000","method":"openbanking","stage":"live","status":"operational","institution":{"name":"Hooli Bank with a long enough name to fill the page"}}"#;
    let count = (3 << 20) / connector.len();
    let body = format!(
        r#"{{"access_token":"t","expires_in":3600,"data":[{}]}}"#,
        vec![connector; count].join(",")
    );
    let body = Arc::new(body);
    let basiq = raw_basiq(Duration::from_secs(10), move |mut socket| {
        let body = body.clone();
        async move {
            let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            let _ = socket.write_all(head).await;
            for chunk in body.as_bytes().chunks(64 * 1024) {
                let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
                if socket.write_all(&framed).await.is_err() {
                    return;
                }
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        }
    })
    .await;
    let connectors = basiq.connectors().await.expect("a large answer is read");
    assert_eq!(connectors.len(), count);
}
