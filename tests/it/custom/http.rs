//! Custom plug-ins that are web services: the reference page's payloads over HTTP (a loopback
//! server here), their failures, and mutual TLS (a Python server).

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

/// A loopback web service playing validator and provider; it records what it receives.
struct PluginServer {
    base: String,
    seen: Arc<Seen>,
}

fn plugin_server() -> PluginServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = log.clone();
            std::thread::spawn(move || serve_plugin(stream, &log));
        }
    });
    PluginServer { base, seen }
}

/// Requests received: path, headers (lower-case names), JSON body.
type Seen = Mutex<Vec<(String, Vec<(String, String)>, Value)>>;

fn serve_plugin(stream: std::net::TcpStream, log: &Seen) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    log.lock()
        .unwrap()
        .push((path.clone(), headers, body.clone()));
    let (status, answer, extra) = match path.as_str() {
        "/validate" => {
            if body["input_token_state"]["extra_stuff"] == "very_useful_state" {
                (
                    200,
                    json!({"principal": "alice", "attributes": {"partner": ["acme"]}, "extra_state": {"partner": "acme"}}).to_string(),
                    "",
                )
            } else {
                (401, json!({"message": "unknown partner"}).to_string(), "")
            }
        }
        "/provide" => (
            200,
            json!({
                "token": format!(
                    "http-token:{}:{}:{}",
                    body["principal"].as_str().unwrap_or("-"),
                    body["output_token_state"]["extra_stuff_for_custom"].as_str().unwrap_or("-"),
                    body["extra_state"]["partner"].as_str().unwrap_or("-"),
                ),
                "expires_in": 120
            })
            .to_string(),
            "",
        ),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(3));
            (200, json!({"principal": "alice"}).to_string(), "")
        }
        "/e500" => (500, "oops".into(), ""),
        "/garbage" => (200, "<html>not json</html>".into(), ""),
        "/no-principal" => (200, json!({"principal": 5}).to_string(), ""),
        "/huge" => (
            200,
            json!({"principal": "alice", "pad": "x".repeat(300 * 1024)}).to_string(),
            "",
        ),
        "/redirect" => (302, String::new(), "Location: /validate\r\n"),
        _ => (404, String::new(), ""),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn http_plugin(url: &str, timeout_millis: u64) -> sts::plugin::http::HttpPluginConfig {
    sts::plugin::http::HttpPluginConfig {
        url: url.into(),
        timeout_millis,
        max_concurrent: 8,
        secret_header: Some("X-STS-Secret".into()),
        secret: Some(sts::secret::Secret::new("plugin-shared-secret".into())),
        secret_file: None,
        tls_client_cert_file: None,
        tls_client_key_file: None,
        tls_ca_file: None,
    }
}

#[test]
fn reference_payloads_work_with_http_plugins_and_their_failures_are_clear() {
    let ps = plugin_server();
    let base = ps.base.clone();
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = start_with(Opts {
        configure: Some(Box::new(move |cfg| {
            cfg.http_validators.insert(
                "http-v".into(),
                http_plugin(&format!("{base}/validate"), 5000),
            );
            cfg.http_providers.insert(
                "http-p".into(),
                http_plugin(&format!("{base}/provide"), 5000),
            );
            for p in [
                "slow",
                "e500",
                "garbage",
                "no-principal",
                "huge",
                "redirect",
            ] {
                // Only `slow` is meant to time out (it answers after 3 s); the others get
                // a timeout no loaded machine comes near.
                let timeout = if p == "slow" { 1000 } else { 30_000 };
                cfg.http_validators.insert(
                    format!("v-{p}"),
                    http_plugin(&format!("{base}/{p}"), timeout),
                );
            }
            cfg.http_validators.insert(
                "v-closed".into(),
                http_plugin(&format!("http://{closed}/"), 30_000),
            );
        })),
        ..Opts::default()
    });
    s.add_user("/", "unt_user17458687", "password");
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let mut validators = vec![("CUSTOM", "http-v")];
    let names = [
        "slow",
        "e500",
        "garbage",
        "no-principal",
        "huge",
        "redirect",
        "closed",
    ];
    let types: Vec<String> = names
        .iter()
        .map(|n| n.to_uppercase().replace('-', "_"))
        .collect();
    let plugin_names: Vec<String> = names.iter().map(|n| format!("v-{n}")).collect();
    for (t, p) in types.iter().zip(&plugin_names) {
        validators.push((t, p));
    }
    let mut transforms = REFERENCE_TRANSFORMS.to_vec();
    for t in &types {
        transforms.push((t, "OPENIDCONNECT"));
    }
    let state = custom_instance(
        "custom-http",
        &validators,
        &[("CUSTOM", "http-p")],
        &transforms,
        true,
    );
    let r = publish(&s, &admin, "rest", &state);
    assert_eq!(r.status, 201, "{}", r.body);

    assert_eq!(custom_id_token(&s, &admin, "custom-http")["sub"], "alice");
    assert_eq!(
        issued(&call(
            &s,
            &admin,
            "custom-http",
            "translate",
            &username_to_custom()
        )),
        "http-token:unt_user17458687:some_useful_information:-"
    );
    assert_eq!(
        issued(&call(
            &s,
            &admin,
            "custom-http",
            "translate",
            &custom_to_custom()
        )),
        "http-token:alice:some_useful_information:acme"
    );

    // What the plug-ins received: the reference's JSON, the shared secret, no password and
    // no session.
    let seen = ps.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (_, headers, _) in &seen {
        assert!(headers.contains(&("x-sts-secret".into(), "plugin-shared-secret".into())));
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
    }
    assert_eq!(seen[0].0, "/validate");
    assert_eq!(
        seen[0].2,
        json!({"realm": "/", "instance": "custom-http", "token_type": "CUSTOM",
               "input_token_state": {"token_type": "CUSTOM", "extra_stuff": "very_useful_state"}})
    );
    let provided = &seen[1].2;
    assert_eq!(seen[1].0, "/provide");
    assert_eq!(provided["principal"], "unt_user17458687");
    assert_eq!(provided["input_token_type"], "USERNAME");
    assert_eq!(
        provided["input_token_state"],
        json!({"token_type": "USERNAME", "username": "unt_user17458687"})
    );
    assert_eq!(
        provided["output_token_state"],
        json!({"token_type": "CUSTOM", "extra_stuff_for_custom": "some_useful_information"})
    );
    assert_eq!(provided["extra_state"], Value::Null);
    assert_eq!(provided["output_token_type"], "CUSTOM");
    assert!(!provided.to_string().contains("\"password\""));
    assert!(provided.get("session").is_none());
    assert_eq!(seen[3].2["extra_state"], json!({"partner": "acme"}));
    assert_eq!(seen[3].2["attributes"]["partner"], json!(["acme"]));

    // Refusal, and each way an HTTP plug-in can fail.
    let mut refused = custom_to_oidc();
    refused["input_token_state"]["extra_stuff"] = json!("guessed");
    expect_error(
        &call(&s, &admin, "custom-http", "translate", &refused),
        401,
        "validator `http-v`: unknown partner",
    );
    for (t, needle) in types.iter().zip([
        "it did not answer within 1s",
        "it answered HTTP 500",
        "its answer is not a JSON object",
        "its answer is malformed: no string `principal`",
        "its answer exceeds 262144 bytes",
        "it answered HTTP 302",
        "it refused the connection",
    ]) {
        let mut body = custom_to_oidc();
        body["input_token_state"]["token_type"] = json!(t);
        expect_error(
            &call(&s, &admin, "custom-http", "translate", &body),
            502,
            needle,
        );
    }
}

#[test]
fn http_plugins_speak_mutual_tls() {
    let pki = Pki::new("Plugin CA");
    let (server_crt, server_key) = pki.issue("plugin-server", "127.0.0.1", 2, (-1, 30), true);
    let (client_crt, client_key) = pki.issue("sts-client", "sts", 3, (-1, 30), false);
    let mut child = std::process::Command::new("python3")
        .arg(peers_dir().join("plugin_server.py"))
        .arg(&server_crt)
        .arg(&server_key)
        .arg(pki.ca_file())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("https://127.0.0.1:{}/validate", port.trim());
    let tls = |with_client: bool| {
        let mut c = http_plugin(&url, 5000);
        c.tls_ca_file = Some(pki.ca_file());
        if with_client {
            c.tls_client_cert_file = Some(client_crt.clone());
            c.tls_client_key_file = Some(client_key.clone());
        }
        c
    };
    let (with, without) = (tls(true), tls(false));
    let s = start_with(Opts {
        configure: Some(Box::new(move |cfg| {
            cfg.http_validators.insert("mtls".into(), with);
            cfg.http_validators.insert("no-client-cert".into(), without);
        })),
        ..Opts::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let state = custom_instance(
        "custom-mtls",
        &[("CUSTOM", "mtls"), ("NOCERT", "no-client-cert")],
        &[],
        &[("CUSTOM", "OPENIDCONNECT"), ("NOCERT", "OPENIDCONNECT")],
        false,
    );
    assert_eq!(publish(&s, &admin, "rest", &state).status, 201);
    // The plug-in saw the client certificate's subject and the shared secret.
    assert_eq!(custom_id_token(&s, &admin, "custom-mtls")["sub"], "sts@tls");
    let mut body = custom_to_oidc();
    body["input_token_state"]["token_type"] = json!("NOCERT");
    expect_error(
        &call(&s, &admin, "custom-mtls", "translate", &body),
        502,
        "the custom token validator `no-client-cert` failed",
    );
    let _ = child.kill();
    let _ = child.wait();
}
