//! Limits on clients: bodies count against `max_in_flight` from their first byte, slow
//! heads and bodies time out, connections beyond `max_connections` wait, and clients that
//! break off do not write ERROR lines into the server log.
//!
//! Every wait here is on an event (a reply, the server closing the socket); read timeouts
//! are hang guards only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;

/// Hang guard for every blocking read: far above any timeout the servers here are given.
const GUARD: Duration = Duration::from_secs(60);

fn addr(s: &TestServer) -> String {
    s.base.split("://").nth(1).unwrap().to_owned()
}

fn connect(s: &TestServer) -> TcpStream {
    let c = TcpStream::connect(addr(s)).unwrap();
    c.set_read_timeout(Some(GUARD)).unwrap();
    c
}

/// Reads one HTTP/1.1 response (head and a Content-Length body): (status, head, body).
fn read_response(r: &mut impl Read) -> (u16, String, String) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match r.read(&mut b) {
            Ok(0) => panic!(
                "connection closed before a response: {:?}",
                String::from_utf8_lossy(&head)
            ),
            Ok(_) => head.push(b[0]),
            Err(e) => panic!("no response (hang guard): {e}"),
        }
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).unwrap();
    (status, head, String::from_utf8(body).unwrap())
}

/// Reads until the server closes the connection; panics if it does not (hang guard).
fn read_to_eof(c: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            // A reset is the server closing too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!(
                "the server did not close the connection ({e}); read so far: {:?}",
                String::from_utf8_lossy(&all)
            ),
        }
    }
}

fn soap_issue() -> String {
    envelope(SOAP11, &username_text("demo", DEMO_PASSWORD), RST_ISSUE)
}

/// A request head for a body of `len` bytes: SOAP Issue (`json` false) or JSON login.
fn head(json: bool, len: usize) -> String {
    if json {
        format!(
            "POST /json/authenticate HTTP/1.1\r\nHost: sts\r\nContent-Type: application/json\r\nX-OpenAM-Username: demo\r\nX-OpenAM-Password: {DEMO_PASSWORD}\r\nContent-Length: {len}\r\n\r\n"
        )
    } else {
        format!(
            "POST /sts/{INSTANCE} HTTP/1.1\r\nHost: sts\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: \"{ISSUE_ACTION}\"\r\nContent-Length: {len}\r\n\r\n"
        )
    }
}

fn body(json: bool) -> String {
    if json { "{}".to_owned() } else { soap_issue() }
}

fn configured(f: impl FnOnce(&mut sts::config::Config) + Send + 'static) -> TestServer {
    start_with(Opts {
        configure: Some(Box::new(f)),
        ..Default::default()
    })
}

#[test]
fn unfinished_bodies_count_against_max_in_flight() {
    let s = configured(|c| {
        c.max_in_flight = 2;
        c.body_read_timeout_secs = 3600;
    });
    // Four clients send a head and half a body, then stall: two are admitted and wait for
    // the rest of their bodies; the other two are refused with 503 at once.
    let (tx, rx) = mpsc::channel();
    let mut writers = Vec::new();
    for i in 0..4 {
        let json = i % 2 == 1;
        let full = body(json);
        let half = full.len() / 2;
        let mut c = connect(&s);
        c.write_all(format!("{}{}", head(json, full.len()), &full[..half]).as_bytes())
            .unwrap();
        let mut r = c.try_clone().unwrap();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send((i, read_response(&mut r)));
        });
        writers.push((c, full[half..].to_owned()));
    }
    let mut refused = Vec::new();
    for _ in 0..2 {
        let (i, (status, _, body)) = rx.recv_timeout(GUARD).expect("nobody was refused");
        assert_eq!(status, 503, "client {i}: {body}");
        if i % 2 == 1 {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["code"], 503, "{body}");
        } else {
            let r = Reply {
                status,
                content_type: String::new(),
                set_cookie: None,
                body,
                headers: Vec::new(),
            };
            assert_eq!(r.fault_code(), "wst:RequestFailed");
        }
        refused.push(i);
    }
    // The admitted two were reading their bodies all along: they finish and are served.
    for (i, (c, rest)) in writers.iter_mut().enumerate() {
        if !refused.contains(&i) {
            c.write_all(rest.as_bytes()).unwrap();
        }
    }
    for _ in 0..2 {
        let (i, (status, _, body)) = rx.recv_timeout(GUARD).expect("admitted client answered");
        assert!(!refused.contains(&i));
        assert_eq!(status, 200, "client {i}: {body}");
    }
    drop(writers);
    assert_eq!(s.post_soap11(&soap_issue()).status, 200);
}

#[test]
fn unfinished_heads_and_silent_connections_are_closed() {
    let s = configured(|c| c.header_read_timeout_secs = 1);
    // Nothing at all, a partial head, and the first byte of the HTTP/2 preface.
    for sent in [
        "",
        "POST /sts/soap-username-transformer HTTP/1.1\r\nHost: sts\r\n",
        "P",
    ] {
        let mut c = connect(&s);
        c.write_all(sent.as_bytes()).unwrap();
        read_to_eof(&mut c);
    }
    // A kept-alive connection without a next request is closed too.
    let mut c = connect(&s);
    c.write_all(b"GET /health HTTP/1.1\r\nHost: sts\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut c).0, 200);
    read_to_eof(&mut c);
    assert_eq!(s.get("/health").status, 200);
}

#[test]
fn unfinished_bodies_get_408_and_the_connection_closes() {
    let s = configured(|c| c.body_read_timeout_secs = 1);
    for json in [false, true] {
        let full = body(json);
        let mut c = connect(&s);
        c.write_all(format!("{}{}", head(json, full.len()), &full[..1]).as_bytes())
            .unwrap();
        let (status, head, body) = read_response(&mut c);
        assert_eq!(status, 408, "{head}{body}");
        if json {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["code"], 408, "{body}");
        } else {
            assert!(head.contains("text/xml"), "{head}");
            let r = Reply {
                status,
                content_type: String::new(),
                set_cookie: None,
                body,
                headers: Vec::new(),
            };
            assert_eq!(r.fault_code(), "wst:InvalidRequest");
        }
        read_to_eof(&mut c);
    }
    assert_eq!(s.post_soap11(&soap_issue()).status, 200);
}

/// Whether `c` has bytes (or EOF) to read right now.
fn readable(c: &TcpStream) -> bool {
    c.set_nonblocking(true).unwrap();
    let mut b = [0u8; 1];
    let r = c.peek(&mut b);
    c.set_nonblocking(false).unwrap();
    !matches!(r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Connections waiting in the listen backlog of the server's (IPv4 loopback) socket, as
/// Linux reports it: the `rx_queue` of a LISTEN socket in /proc/net/tcp is its accept queue.
fn backlog(s: &TestServer) -> usize {
    let port = addr(s).rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = u16::from_str_radix(f[1].rsplit(':').next()?, 16).ok()?;
            (local_port == port && f[3] == "0A")
                .then(|| usize::from_str_radix(f[4].split(':').nth(1).unwrap(), 16).unwrap())
        })
        .expect("the server's listening socket")
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: sts\r\n\r\n";

#[test]
fn connections_beyond_max_connections_wait_for_a_free_one() {
    let s = configured(|c| {
        c.max_connections = 1;
        c.header_read_timeout_secs = 3600;
    });
    // `a` is served and kept alive: it holds the only connection.
    let mut a = connect(&s);
    a.write_all(HEALTH).unwrap();
    assert_eq!(read_response(&mut a).0, 200);
    // `b` connects (the kernel's backlog takes it) and asks, but is not accepted...
    let mut b = connect(&s);
    b.write_all(HEALTH).unwrap();
    // ...while `a` still is served, request after request.
    for _ in 0..3 {
        a.write_all(HEALTH).unwrap();
        assert_eq!(read_response(&mut a).0, 200);
    }
    assert_eq!(
        backlog(&s),
        1,
        "a connection beyond max_connections was accepted"
    );
    assert!(
        !readable(&b),
        "a connection beyond max_connections was served"
    );
    // Once `a` closes, `b` is served.
    drop(a);
    assert_eq!(read_response(&mut b).0, 200);
    assert_eq!(backlog(&s), 0);
}

#[test]
fn tls_handshakes_beyond_max_connections_wait_for_a_free_connection() {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let pki = Pki::new("Limits CA");
    let server = pki.issue("server", "localhost", 10, (-1, 30), true);
    let s = start_with(Opts {
        tls: Some(server),
        configure: Some(Box::new(|c| {
            c.max_connections = 1;
            c.header_read_timeout_secs = 3600;
        })),
        ..Default::default()
    });
    let tls = |tcp: TcpStream| {
        let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
        b.set_verify(SslVerifyMode::NONE);
        b.set_alpn_protos(b"\x08http/1.1").unwrap();
        b.build().connect("localhost", tcp)
    };
    let mut a = tls(connect(&s)).unwrap();
    a.write_all(HEALTH).unwrap();
    assert_eq!(read_response(&mut a).0, 200);
    // `b`'s handshake does not start while `a` holds the only connection.
    let (tx, rx) = mpsc::channel();
    let b = connect(&s);
    std::thread::spawn(move || {
        let _ = tx.send(tls(b).map_err(|e| e.to_string()));
    });
    for _ in 0..3 {
        a.write_all(HEALTH).unwrap();
        assert_eq!(read_response(&mut a).0, 200);
    }
    assert_eq!(
        backlog(&s),
        1,
        "a handshake beyond max_connections was accepted"
    );
    assert!(
        matches!(rx.try_recv(), Err(mpsc::TryRecvError::Empty)),
        "a handshake beyond max_connections went ahead"
    );
    drop(a);
    let mut b = rx.recv_timeout(GUARD).unwrap().expect("handshake");
    b.write_all(HEALTH).unwrap();
    assert_eq!(read_response(&mut b).0, 200);
}

#[test]
fn clients_breaking_off_write_no_error_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = LoggedServer::start(
        dir.path(),
        &["--data-dir", "data"],
        &[
            ("STS_DEMO_PASSWORD", DEMO_PASSWORD),
            ("STS_LOG", "info,sts=debug"),
        ],
    );
    let base = server.addr().to_owned();
    // Broken off in the head, in a SOAP body, in a JSON body.
    let mut peers = Vec::new();
    for sent in [
        "POST /sts/soap-username-transformer HTTP/1.1\r\nHost: sts\r\nContent-Le".to_owned(),
        format!("{}<s:Envelope", head(false, 5000)),
        format!("{}{{", head(true, 100)),
    ] {
        let mut c = TcpStream::connect(&base).unwrap();
        c.write_all(sent.as_bytes()).unwrap();
        peers.push(c.local_addr().unwrap().to_string());
        drop(c);
    }
    let ok = reqwest::blocking::get(format!("http://{base}/health")).unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    // SIGTERM drains every connection before exiting, so their log lines are written.
    let log = server.stop();
    assert!(
        !log.contains("ERROR"),
        "client behaviour logged as ERROR:\n{log}"
    );
    assert!(
        !log.contains("WARN"),
        "client behaviour logged as WARN:\n{log}"
    );
    for p in &peers {
        assert!(
            log.lines()
                .any(|l| l.contains("DEBUG") && l.contains(p.as_str())),
            "the broken-off connection from {p} is logged at debug:\n{log}"
        );
    }
}
