//! Calls to Basiq through an egress proxy (`HTTPS_PROXY`/`HTTP_PROXY`, `NO_PROXY`): a small
//! HTTP `CONNECT` proxy here stands in for the operator's.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use basiq_bff::{
    basiq::{BasiqClient, TokenPolicy, UpstreamPolicy},
    sim::SimConfig,
};
use hyper_util::client::proxy::matcher::Matcher;
use secrecy::SecretString;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// A `CONNECT` proxy that records each tunnel's request head and then relays bytes both ways.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut client = BufReader::new(socket);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if client.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .map(str::to_owned);
                log.lock().unwrap().push(head);
                let Some(target) = target else {
                    let _ = client
                        .get_mut()
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(target).await else {
                    let _ = client
                        .get_mut()
                        .write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                        .await;
                    return;
                };
                client
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("127.0.0.1:{}", addr.port()), seen)
}

async fn sim() -> basiq_bff::sim::SimServer {
    basiq_bff::sim::spawn(SimConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn client(base: &str, proxies: &Matcher) -> BasiqClient {
    BasiqClient::with_proxies(
        &base.parse().unwrap(),
        SecretString::from("sim-api-key"),
        TokenPolicy::default(),
        UpstreamPolicy {
            deadline: Duration::from_secs(5),
            ..UpstreamPolicy::default()
        },
        None,
        proxies,
    )
    .unwrap()
}

#[tokio::test]
async fn with_a_proxy_configured_basiq_is_reached_through_a_connect_tunnel_with_its_credentials() {
    let sim = sim().await;
    let (proxy, seen) = connect_proxy().await;
    let proxies = Matcher::builder()
        .http(format!("http://ops:s3cret@{proxy}"))
        .build();
    let basiq = client(&sim.base_url(), &proxies);

    let connectors = basiq
        .connectors()
        .await
        .expect("connectors through the proxy");
    assert!(!connectors.is_empty());

    let seen = seen.lock().unwrap().clone();
    let sim_authority = sim.base_url().trim_start_matches("http://").to_owned();
    assert!(!seen.is_empty(), "the proxy saw no tunnel");
    for head in &seen {
        assert!(
            head.starts_with(&format!("CONNECT {sim_authority} ")),
            "{head}"
        );
        let auth = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("proxy-authorization")
                .then(|| value.trim().to_owned())
        });
        // base64("ops:s3cret")
        assert_eq!(auth.as_deref(), Some("Basic b3BzOnMzY3JldA=="), "{head}");
    }
}

#[tokio::test]
async fn no_proxy_sends_basiq_calls_direct() {
    let sim = sim().await;
    let (proxy, seen) = connect_proxy().await;
    let proxies = Matcher::builder()
        .http(format!("http://{proxy}"))
        .no("127.0.0.1")
        .build();
    let basiq = client(&sim.base_url(), &proxies);

    basiq.connectors().await.expect("connectors, direct");
    assert!(seen.lock().unwrap().is_empty(), "the proxy was used");
}

#[tokio::test]
async fn a_proxy_that_refuses_the_tunnel_is_basiq_unreachable_without_its_credentials_in_the_error()
{
    let sim = sim().await;
    // Nothing listens here.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let proxies = Matcher::builder()
        .http(format!("http://ops:s3cret@127.0.0.1:{port}"))
        .build();
    let basiq = client(&sim.base_url(), &proxies);

    let error = basiq.connectors().await.expect_err("no proxy, no Basiq");
    let text = error.to_string();
    assert!(text.contains("unreachable"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}
