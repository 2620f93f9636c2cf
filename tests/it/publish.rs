//! The publish API (`/sts-publish/...`): creating, updating and deleting instances, the
//! problems it names, and published instances on restart and on other nodes.

use serde_json::{Value, json};

use crate::common::*;

#[test]
fn publish_names_every_problem() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("taken", false)).status,
        201
    );
    let mut st = rest_instance("taken", false);
    st["supported-token-transforms"][0]["inputTokenType"] = json!("KERBEROS");
    st["saml2-config"]["issuer-name"] = json!("");
    st["oidc-id-token-config"]["oidc-signature-key-alias"] = json!("no-such-key");
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 400, "{}", r.body);
    let m = r.json()["message"].as_str().unwrap().to_owned();
    for needle in [
        "supported-token-transforms[0].inputTokenType: unknown token type \"KERBEROS\"",
        "saml2-config.issuer-name must not be empty",
        "oidc-signature-key-alias `no-such-key` names no key",
        "already published at `taken`",
    ] {
        assert!(m.contains(needle), "`{needle}` not in `{m}`");
    }
    // Unknown and mistyped keys are named by path.
    let mut st = rest_instance("other", false);
    st["saml2-config"]["saml2-sign-assertoin"] = json!("true");
    expect_error(
        &publish(&s, &admin, "rest", &st),
        400,
        "saml2-config.saml2-sign-assertoin: unknown field",
    );
    let mut st = rest_instance("other", false);
    st["oidc-id-token-config"]["oidc-token-lifetime-seconds"] = json!("soon");
    expect_error(
        &publish(&s, &admin, "rest", &st),
        400,
        "oidc-id-token-config.oidc-token-lifetime-seconds",
    );
    // Missing instance_state, not JSON, wrong action, wrong media type.
    let r = s.request(
        "POST",
        "/sts-publish/rest?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        "{}",
    );
    expect_error(&r, 400, "instance_state is required");
    let r = s.request(
        "POST",
        "/sts-publish/rest?_action=delete",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        "{}",
    );
    expect_error(&r, 400, "_action=create");
    let r = s.request(
        "POST",
        "/sts-publish/rest?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "text/xml"),
        ],
        "{}",
    );
    expect_error(&r, 415, "application/json");
    // Only administrators publish.
    let alice = s.login("alice", "s3cret");
    expect_error(
        &publish(&s, &alice, "rest", &rest_instance("x", false)),
        403,
        "Access Denied",
    );
    expect_error(
        &publish(&s, "not-a-session", "rest", &rest_instance("x", false)),
        401,
        "Access Denied",
    );
    // One id per instance: the url element is one segment, the realm is normalised.
    let mut st = rest_instance("a/b", false);
    st["deployment-config"]["deployment-realm"] = json!("x y");
    let r = publish(&s, &admin, "rest", &st);
    expect_error(
        &r,
        400,
        "deployment-url-element `a/b` must be one path segment",
    );
    expect_error(&r, 400, "deployment-realm `x y` must be realm names");
    let mut st = rest_instance("in-realm", false);
    st["deployment-config"]["deployment-realm"] = json!("myRealm/");
    let r = publish(&s, &admin, "rest", &st);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["_id"], "myRealm/in-realm");
    let r = s.request(
        "GET",
        "/sts-publish/rest/myRealm/in-realm",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(
        r.json()["myRealm/in-realm"]["deployment-config"]["deployment-realm"],
        "/myRealm"
    );
    // A secret's value is never echoed, even in an error.
    let mut st = rest_instance("other", false);
    st["oidc-id-token-config"]["oidc-client-secret"] = json!(987654321);
    let r = publish(&s, &admin, "rest", &st);
    expect_error(&r, 400, "oidc-id-token-config.oidc-client-secret");
    assert!(!r.body.contains("987654321"), "{}", r.body);
    // A duplicate alone is a conflict.
    expect_error(
        &publish(
            &s,
            &admin,
            "soap",
            &crate::common::persisting_instance("taken", false),
        ),
        409,
        "already published",
    );
}

#[test]
fn update_is_optimistic_keeps_secrets_and_delete_removes_the_endpoint() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "rest", &rest_instance("upd", false));
    let rev1 = r.json()["_rev"].as_str().unwrap().to_owned();
    let put = |rev: &str, st: &Value| {
        s.request(
            "PUT",
            "/sts-publish/rest/upd",
            &[
                ("iPlanetDirectoryPro", &admin),
                ("Content-Type", "application/json"),
                ("If-Match", rev),
            ],
            &json!({"invocation_context": "invocation_context_client_sdk", "instance_state": st})
                .to_string(),
        )
    };
    // An update built from a read (which has no secrets) keeps the stored ones.
    let read = s
        .request(
            "GET",
            "/sts-publish/rest/upd",
            &[("iPlanetDirectoryPro", &admin)],
            "",
        )
        .json();
    let mut st = read["upd"].clone();
    st["oidc-id-token-config"]["oidc-token-lifetime-seconds"] = json!("60");
    let r = put(&rev1, &st);
    assert_eq!(r.status, 200, "{}", r.body);
    let rev2 = r.json()["_rev"].as_str().unwrap().to_owned();
    assert_ne!(rev1, rev2);
    let stored = s.store().get_instance("upd").unwrap().unwrap();
    assert!(
        stored.config.contains("oidc-keystore-secret"),
        "the secret was lost"
    );
    // The new lifetime is live at once.
    let jwt = issued(&call(
        &s,
        &admin,
        "upd",
        "translate",
        &username_to(oidc_out("n")),
    ));
    let (ok, out) = pyjwt_verify(&s, &jwt, "RS256", &s.cert("sts-signing"));
    assert!(ok, "{out}");
    let c: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(
        c["claims"]["exp"].as_i64().unwrap() - c["claims"]["iat"].as_i64().unwrap(),
        60
    );
    // A stale revision is refused, and changes nothing.
    st["oidc-id-token-config"]["oidc-token-lifetime-seconds"] = json!("90");
    expect_error(&put(&rev1, &st), 412, "changed since");
    // Moving an instance is not an update.
    let mut moved = st.clone();
    moved["deployment-config"]["deployment-url-element"] = json!("elsewhere");
    expect_error(&put(&rev2, &moved), 400, "publish a new instance");
    // List, then delete: the endpoint is gone.
    let list = s
        .request(
            "GET",
            "/sts-publish/rest",
            &[("iPlanetDirectoryPro", &admin)],
            "",
        )
        .json();
    assert_eq!(list["resultCount"], 1, "{list}");
    assert_eq!(list["result"][0]["_id"], "upd");
    let r = s.request(
        "DELETE",
        "/sts-publish/rest/upd",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["result"],
        "rest sts instance upd successfully removed from realm /"
    );
    expect_error(
        &call(&s, &admin, "upd", "translate", &username_to(oidc_out("n"))),
        404,
        "Not Found",
    );
    let r = s.request(
        "GET",
        "/sts-publish/rest/upd",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    expect_error(&r, 404, "no rest STS instance");
    // The file-defined demo instance is read-only through the API.
    let r = s.request(
        "DELETE",
        &format!("/sts-publish/soap/{INSTANCE}"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    expect_error(&r, 409, "edit or remove that file");
    let r = s.request(
        "GET",
        &format!("/sts-publish/soap/{INSTANCE}"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn published_soap_instances_serve_wsdl_and_issue_and_survive_restart_and_reach_other_nodes() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let node2 = s.second_node();
    let r = publish(
        &s,
        &admin,
        "soap",
        &persisting_instance("soap-published", false),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.get("/sts/soap-published?wsdl");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("/sts/soap-published\""), "{}", r.body);
    let issue = |srv: &TestServer| {
        srv.post(
            "/sts/soap-published",
            &[
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
            ],
            envelope(SOAP11, &username_digest("alice", "s3cret"), ""),
        )
    };
    let r = issue(&s);
    assert_eq!(r.status, 200, "{}", r.body);
    // The other node picks the instance up from the shared store.
    wait_until("the second node serves the published instance", || {
        node2.get("/sts/soap-published?wsdl").status == 200
    });
    assert_eq!(issue(&node2).status, 200);
    // Deleted on node 2: gone on node 1 too.
    let r = node2.request(
        "DELETE",
        "/sts-publish/soap/soap-published",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_until("node 1 no longer serves the deleted instance", || {
        s.get("/sts/soap-published?wsdl").status == 404
    });
    drop(node2);
    // Published instances survive a restart.
    assert_eq!(
        publish(&s, &admin, "rest", &rest_instance("durable", false)).status,
        201
    );
    let s = s.restart();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = call(
        &s,
        &admin,
        "durable",
        "translate",
        &username_to(saml_bearer()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn concurrent_publishes_of_one_url_element_leave_exactly_one_winner() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (s, admin) = (&s, &admin);
                scope.spawn(move || {
                    let mut st = rest_instance("contested", false);
                    st["oidc-id-token-config"]["oidc-issuer"] = json!(format!("issuer-{i}"));
                    publish(s, admin, "rest", &st).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&c| c == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&c| c == 201 || c == 409),
        "{statuses:?}"
    );
}

/// An instance of `realm` named `element`, with issuer names of its own.
fn in_realm(element: &str, realm: &str) -> Value {
    let mut st = rest_instance(element, false);
    st["deployment-config"]["deployment-realm"] = json!(realm);
    let tag = if realm == "/" { "root" } else { realm };
    st["saml2-config"]["issuer-name"] = json!(format!("idp-{tag}-{element}"));
    st["oidc-id-token-config"]["oidc-issuer"] =
        json!(format!("https://{tag}.example.com/{element}"));
    st
}

#[test]
fn a_realm_administrator_reads_and_deletes_the_instances_of_their_realm_only() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let users = sts::identity::FileUserStore::open(&s.dir.path().join("users.json")).unwrap();
    for realm in ["red", "blue"] {
        users.add_realm(realm).unwrap();
    }
    users
        .add(sts::identity::User {
            username: "redadmin".into(),
            realm: "red".into(),
            password_hash: sts::identity::hash_password("red-pw-1").unwrap(),
            digest_secret: None,
            attributes: Default::default(),
            disabled: false,
            admin: true,
        })
        .unwrap();
    for (element, realm) in [("r1", "red"), ("b1", "blue"), ("top", "/")] {
        let r = publish(&s, &admin, "rest", &in_realm(element, realm));
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let red = s.login_in("red", "redadmin", "red-pw-1");
    let call = |method: &str, path: &str, extra: &[(&str, &str)], body: Option<&Value>| {
        let mut h = vec![
            ("iPlanetDirectoryPro", red.as_str()),
            ("Content-Type", "application/json"),
        ];
        h.extend_from_slice(extra);
        let body = body.map(|st| {
            json!({"invocation_context": "invocation_context_client_sdk", "instance_state": st})
                .to_string()
        });
        s.request(method, path, &h, body.as_deref().unwrap_or(""))
    };
    let ids = |r: &Reply| -> Vec<String> {
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["_id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Lists and reads: their realm's instances, and nothing of the others'.
    assert_eq!(
        ids(&call("GET", "/sts-publish/rest", &[], None)),
        ["red/r1"]
    );
    let soap = ids(&call("GET", "/sts-publish/soap", &[], None));
    assert!(
        soap.is_empty(),
        "the top-level realm's SOAP instances: {soap:?}"
    );
    let all = ids(&s.request(
        "GET",
        "/sts-publish/rest",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    ));
    for id in ["red/r1", "blue/b1", "top"] {
        assert!(
            all.contains(&id.to_owned()),
            "the top-level admin lists {id}: {all:?}"
        );
    }
    let r = call("GET", "/sts-publish/rest/red/r1", &[], None);
    assert_eq!(r.status, 200, "{}", r.body);
    let rev = r.json()["_rev"].as_str().unwrap().to_owned();
    for other in ["blue/b1", "top"] {
        let r = call("GET", &format!("/sts-publish/rest/{other}"), &[], None);
        expect_error(&r, 404, other);
    }

    // Deletes in their realm; creating and updating need the top-level administrator, since
    // every instance signs with this node's keys (a 403 that changes nothing).
    let mut st = in_realm("r1", "red");
    st["saml2-config"]["issuer-name"] = json!("idp-root-top");
    let r = call(
        "PUT",
        "/sts-publish/rest/red/r1",
        &[("If-Match", &rev)],
        Some(&st),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call("GET", "/sts-publish/rest/red/r1", &[], None);
    assert_eq!(r.json()["_rev"].as_str(), Some(rev.as_str()), "{}", r.body);
    let r = call(
        "POST",
        "/sts-publish/rest?_action=create",
        &[],
        Some(&in_realm("r2", "red")),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = publish(&s, &admin, "rest", &in_realm("r2", "red"));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = call("DELETE", "/sts-publish/rest/red/r2", &[], None);
    assert_eq!(r.status, 200, "{}", r.body);

    // Nothing in another realm: updating or deleting one is "not found" (a realm's admin
    // learns no other realm's names), creating one refused.
    let r = call(
        "PUT",
        "/sts-publish/rest/blue/b1",
        &[],
        Some(&in_realm("b1", "blue")),
    );
    expect_error(&r, 404, "blue/b1");
    expect_error(
        &call("DELETE", "/sts-publish/rest/top", &[], None),
        404,
        "top",
    );
    let r = call(
        "POST",
        "/sts-publish/rest?_action=create",
        &[],
        Some(&in_realm("x", "blue")),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    for id in ["blue/b1", "top"] {
        let r = s.request(
            "GET",
            &format!("/sts-publish/rest/{id}"),
            &[("iPlanetDirectoryPro", &admin)],
            "",
        );
        assert_eq!(r.status, 200, "{id} survived: {}", r.body);
    }
    let listed = ids(&call("GET", "/sts-publish/rest", &[], None));
    assert_eq!(listed, ["red/r1"]);
}
