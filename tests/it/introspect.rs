//! OAuth2 endpoints: RFC 7662 introspection (`/oauth2/introspect`), OAuth client registration
//! (`/sts-clients`, `sts client`), RFC 8414 metadata, and the JWK set of a realm.

use serde_json::{Value, json};

use crate::common::*;

fn register(s: &TestServer, admin: &str, realm_path: &str, id: &str, method: &str) -> Value {
    let r = s.request(
        "POST",
        &format!("/sts-clients{realm_path}?_action=create"),
        &[
            ("iPlanetDirectoryPro", admin),
            ("Content-Type", "application/json"),
        ],
        &json!({"client_id": id, "token_endpoint_auth_method": method}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// POSTs a form to an introspection endpoint.
fn introspect(s: &TestServer, path: &str, auth: Option<&str>, form: &str) -> Reply {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    s.request("POST", path, &headers, form)
}

fn form_token(token: &str) -> String {
    let mut out = String::from("token=");
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[test]
fn clients_authenticate_each_way_and_tokens_report_their_state() {
    let at = wall_clock();
    let clock = sts::clock::FixedClock::new(at);
    let s = start_with(Opts {
        clock: Some(clock.clone()),
        ..Default::default()
    });
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let r = publish(&s, &admin, "rest", &rest_instance("intro", true));
    assert_eq!(r.status, 201, "{}", r.body);
    let c_basic = register(&s, &admin, "", "rs-basic", "client_secret_basic");
    let c_post = register(&s, &admin, "", "rs-post", "client_secret_post");
    let c_none = register(&s, &admin, "", "spa", "none");
    let basic_secret = c_basic["client_secret"].as_str().unwrap().to_owned();
    let post_secret = c_post["client_secret"].as_str().unwrap().to_owned();
    assert!(c_none.get("client_secret").is_none(), "{c_none}");
    assert_eq!(c_basic["token_endpoint_auth_method"], "client_secret_basic");

    let jwt = issued(&call(
        &s,
        &admin,
        "intro",
        "translate",
        &username_to(oidc_out("n")),
    ));
    let saml = issued(&call(
        &s,
        &admin,
        "intro",
        "translate",
        &username_to(json!({"token_type": "SAML2", "subject_confirmation": "BEARER"})),
    ));
    let basic_auth = basic("rs-basic", &basic_secret);

    // Each client method, each token type: active with the token's facts.
    let by_basic = introspect(
        &s,
        "/oauth2/introspect",
        Some(&basic_auth),
        &form_token(&jwt),
    );
    assert_eq!(by_basic.status, 200, "{}", by_basic.body);
    assert_eq!(by_basic.header("cache-control"), Some("no-store"));
    let v = by_basic.json();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["token_type"], "urn:ietf:params:oauth:token-type:id_token");
    assert_eq!(v["sub"], "alice");
    assert_eq!(v["iss"], OIDC_ISSUER);
    assert_eq!(v["client_id"], "rp-1");
    assert_eq!(v["aud"], "rp-1");
    assert_eq!(v["sts_instance"], "intro");
    assert!(v["jti"].as_str().is_some_and(|j| !j.is_empty()), "{v}");
    assert_eq!(v["iat"], at.timestamp());
    assert_eq!(v["exp"], at.timestamp() + 300);
    let by_post = introspect(
        &s,
        "/oauth2/introspect",
        None,
        &format!(
            "{}&token_type_hint=urn%3Aoasis%3Anames%3Atc%3ASAML%3A2.0%3Aassertion&client_id=rs-post&client_secret={post_secret}",
            form_token(&saml)
        ),
    )
    .json();
    assert_eq!(by_post["active"], true, "{by_post}");
    assert_eq!(
        by_post["token_type"],
        "urn:ietf:params:oauth:token-type:saml2"
    );
    assert_eq!(by_post["sub"], "alice");
    assert_eq!(by_post["iss"], "rest-idp");
    assert_eq!(by_post["aud"], "urn:sp:rest");
    let by_none = introspect(
        &s,
        "/oauth2/introspect",
        None,
        &format!("{}&client_id=spa", form_token(&jwt)),
    )
    .json();
    assert_eq!(by_none["active"], true, "{by_none}");

    // Inactive: unknown, foreign-signed, and (below) cancelled and expired: only `active`.
    let inactive = |token: &str| {
        let r = introspect(
            &s,
            "/oauth2/introspect",
            Some(&basic_auth),
            &form_token(token),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json(), json!({"active": false}), "{token}");
    };
    inactive("not-a-token");
    let foreign = {
        let key = s.dir.path().join("foreign.pem");
        std::fs::write(
            &key,
            openssl::rsa::Rsa::generate(2048)
                .unwrap()
                .private_key_to_pem()
                .unwrap(),
        )
        .unwrap();
        let now = at.timestamp();
        pyjwt_sign(
            "RS256",
            &key,
            &json!({"iss": OIDC_ISSUER, "sub": "alice", "aud": "rp-1", "iat": now, "exp": now + 300, "jti": "x"}),
            "whatever",
        )
    };
    inactive(&foreign);
    inactive(&saml.replace(">alice<", ">mallory<"));

    // Cancelled through each of the three routes.
    let fresh = |out: Value| issued(&call(&s, &admin, "intro", "translate", &username_to(out)));
    let rest_cancelled = fresh(oidc_out("c1"));
    let r = call(
        &s,
        &admin,
        "intro",
        "cancel",
        &json!({"cancelled_token_state": {"token_type": "OPENIDCONNECT", "oidc_id_token": rest_cancelled}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    inactive(&rest_cancelled);
    let tokengen_cancelled = fresh(oidc_out("c2"));
    let jti = introspect(
        &s,
        "/oauth2/introspect",
        Some(&basic_auth),
        &form_token(&tokengen_cancelled),
    )
    .json()["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = s.request(
        "DELETE",
        &format!("/sts-tokengen/{jti}"),
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    inactive(&tokengen_cancelled);

    // SOAP Cancel, of an assertion issued by a persisting SOAP instance.
    let soap_pub = publish(&s, &admin, "soap", &persisting_instance("intro-soap", true));
    assert_eq!(soap_pub.status, 201, "{}", soap_pub.body);
    let issue = s.post(
        "/sts/intro-soap",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", &format!("\"{ISSUE_ACTION}\"")),
        ],
        envelope(SOAP11, &username_digest("alice", "s3cret"), RST_ISSUE),
    );
    assert_eq!(issue.status, 200, "{}", issue.body);
    let soap_saml = issue.assertion_text();
    let r = introspect(
        &s,
        "/oauth2/introspect",
        Some(&basic_auth),
        &form_token(&soap_saml),
    )
    .json();
    assert_eq!(r["active"], true, "{r}");
    assert_eq!(r["sts_instance"], "intro-soap");
    let cancel = s.post(
        "/sts/intro-soap",
        &[
            ("Content-Type", "text/xml; charset=utf-8"),
            (
                "SOAPAction",
                "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Cancel\"",
            ),
        ],
        target_envelope("Cancel", &username_digest("alice", "s3cret"), &soap_saml),
    );
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    inactive(&soap_saml);

    // Expired, by the injected clock; the same token was active before.
    let later = fresh(oidc_out("e"));
    assert_eq!(
        introspect(
            &s,
            "/oauth2/introspect",
            Some(&basic_auth),
            &form_token(&later)
        )
        .json()["active"],
        true
    );
    clock.set(at + chrono::Duration::seconds(601));
    inactive(&later);
    inactive(&saml);
    clock.set(at);

    // Errors, as RFC 6749 5.2 and the reference page put them.
    let r = introspect(
        &s,
        "/oauth2/introspect",
        Some(&basic_auth),
        "token_type_hint=x",
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"error": "invalid_request", "error_description": "missing required parameter(s). (token)"})
    );
    let r = introspect(
        &s,
        "/oauth2/introspect",
        Some(&basic_auth),
        &format!("{}&client_id=rs-basic", form_token(&jwt)),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_request");
    for (auth, form, needle) in [
        (Some(basic("rs-basic", "wrong")), form_token(&jwt), "failed"),
        (None, form_token(&jwt), "required"),
        (
            None,
            format!("{}&client_id=ghost", form_token(&jwt)),
            "failed",
        ),
        // A confidential client cannot drop its secret, nor use another method.
        (
            None,
            format!("{}&client_id=rs-basic", form_token(&jwt)),
            "failed",
        ),
        (
            None,
            format!(
                "{}&client_id=rs-basic&client_secret={basic_secret}",
                form_token(&jwt)
            ),
            "registered for client_secret_basic",
        ),
        (
            Some(basic("rs-post", &post_secret)),
            form_token(&jwt),
            "registered for client_secret_post",
        ),
    ] {
        let r = introspect(&s, "/oauth2/introspect", auth.as_deref(), &form);
        assert_eq!(r.status, 401, "{needle}: {}", r.body);
        assert_eq!(r.json()["error"], "invalid_client", "{}", r.body);
        assert!(
            r.json()["error_description"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{needle}: {}",
            r.body
        );
        assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"sts\""));
    }
    let r = s.request(
        "POST",
        "/oauth2/introspect",
        &[
            ("Authorization", &basic_auth),
            ("Content-Type", "application/json"),
        ],
        "{}",
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_request");
    let r = introspect(
        &s,
        "/oauth2/introspect",
        Some(&basic_auth),
        &format!("{}&token=again", form_token(&jwt)),
    );
    assert_eq!(r.status, 400, "{}", r.body);
}

#[test]
fn realms_have_their_own_clients_endpoint_and_metadata() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    s.add_user("/myRealm", "carol", "carol-pw");
    let mut st = rest_instance("in-realm", false);
    st["deployment-config"]["deployment-realm"] = json!("/myRealm");
    assert_eq!(publish(&s, &admin, "rest", &st).status, 201);
    let c = register(
        &s,
        &admin,
        "/realms/root/realms/myRealm",
        "realm-rs",
        "client_secret_basic",
    );
    assert_eq!(c["realm"], "/myRealm");
    let secret = c["client_secret"].as_str().unwrap().to_owned();
    let jwt = issued(&s.request(
        "POST",
        "/rest-sts/myRealm/in-realm?_action=translate",
        &[("iPlanetDirectoryPro", &admin), ("Content-Type", "application/json")],
        &json!({"input_token_state": {"token_type": "USERNAME", "username": "carol", "password": "carol-pw"},
                "output_token_state": oidc_out("n")}).to_string(),
    ));
    let path = "/oauth2/realms/root/realms/myRealm/introspect";
    let v = introspect(
        &s,
        path,
        Some(&basic("realm-rs", &secret)),
        &form_token(&jwt),
    )
    .json();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["sub"], "carol");
    assert_eq!(v["sts_instance"], "myRealm/in-realm");
    // The realm's client is not a client of the top-level realm, whose instances did not
    // issue the token either.
    let r = introspect(
        &s,
        "/oauth2/introspect",
        Some(&basic("realm-rs", &secret)),
        &form_token(&jwt),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    let top = register(&s, &admin, "", "top-rs", "none");
    assert!(top["client_secret"].is_null());
    let r = introspect(
        &s,
        "/oauth2/introspect",
        None,
        &format!("{}&client_id=top-rs", form_token(&jwt)),
    );
    assert_eq!(r.json(), json!({"active": false}));

    // Listing, reading, deleting; duplicates and bad input refused.
    let list = s.request(
        "GET",
        "/sts-clients",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json()["resultCount"], 2, "{}", list.body);
    assert!(!list.body.contains(&secret), "a secret is listed");
    let one = s.request(
        "GET",
        "/sts-clients/realms/root/realms/myRealm/realm-rs",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(
        one.json()["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    let dup = s.request(
        "POST",
        "/sts-clients?_action=create",
        &[
            ("iPlanetDirectoryPro", &admin),
            ("Content-Type", "application/json"),
        ],
        &json!({"client_id": "top-rs"}).to_string(),
    );
    assert_eq!(dup.status, 409, "{}", dup.body);
    for body in [
        json!({"client_id": "bad id"}),
        json!({"client_id": "x", "token_endpoint_auth_method": "private_key_jwt"}),
        json!({"client_id": "x", "secret": "mine"}),
    ] {
        let r = s.request(
            "POST",
            "/sts-clients?_action=create",
            &[
                ("iPlanetDirectoryPro", &admin),
                ("Content-Type", "application/json"),
            ],
            &body.to_string(),
        );
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
    let carol = s.login_in("myRealm", "carol", "carol-pw");
    let denied = s.request(
        "GET",
        "/sts-clients",
        &[("iPlanetDirectoryPro", &carol)],
        "",
    );
    assert_eq!(denied.status, 403, "{}", denied.body);
    let del = s.request(
        "DELETE",
        "/sts-clients/realms/root/realms/myRealm/realm-rs",
        &[("iPlanetDirectoryPro", &admin)],
        "",
    );
    assert_eq!(del.status, 200, "{}", del.body);
    let r = introspect(
        &s,
        path,
        Some(&basic("realm-rs", &secret)),
        &form_token(&jwt),
    );
    assert_eq!(r.status, 401, "{}", r.body);

    // RFC 8414 metadata, per realm, with the JWKS URI.
    let m = s.get("/.well-known/oauth-authorization-server");
    assert_eq!(m.status, 200, "{}", m.body);
    let m = m.json();
    assert_eq!(m["issuer"], format!("{}/oauth2", s.base));
    assert_eq!(
        m["introspection_endpoint"],
        format!("{}/oauth2/introspect", s.base)
    );
    assert_eq!(m["jwks_uri"], format!("{}/oauth2/connect/jwk_uri", s.base));
    let m = s
        .get("/.well-known/oauth-authorization-server/oauth2/realms/root/realms/myRealm")
        .json();
    assert_eq!(
        m["issuer"],
        format!("{}/oauth2/realms/root/realms/myRealm", s.base)
    );
    assert_eq!(
        m["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        s.get(
            m["jwks_uri"]
                .as_str()
                .unwrap()
                .strip_prefix(&s.base)
                .unwrap()
        )
        .json()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.get("/.well-known/oauth-authorization-server/oauth2/realms/root/realms/nowhere")
            .status,
        404
    );
}

#[test]
fn jwks_of_a_realm_verifies_its_id_tokens() {
    let s = start();
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let mut ec = rest_instance("ec-oidc", false);
    ec["oidc-id-token-config"]["oidc-signature-algorithm"] = json!("ES256");
    ec["oidc-id-token-config"]["oidc-signature-key-alias"] = json!("sts-signing-ec");
    let mut hs = rest_instance("hs-oidc", false);
    hs["oidc-id-token-config"]["oidc-signature-algorithm"] = json!("HS256");
    hs["oidc-id-token-config"]["oidc-client-secret"] =
        json!("a-shared-secret-of-32-bytes-or-more!");
    let mut other_realm = rest_instance("elsewhere", false);
    other_realm["deployment-config"]["deployment-realm"] = json!("/myRealm");
    for st in [rest_instance("rs-oidc", false), ec, hs, other_realm] {
        assert_eq!(publish(&s, &admin, "rest", &st).status, 201);
    }
    let r = s.get("/oauth2/connect/jwk_uri");
    assert_eq!(r.status, 200, "{}", r.body);
    let jwks = r.json();
    let keys = jwks["keys"].as_array().unwrap();
    // RS256 and ES256 of the top-level realm (the demo SOAP instance issues no id_tokens);
    // never the HMAC secret.
    assert_eq!(keys.len(), 2, "{jwks}");
    assert!(!r.body.contains("a-shared-secret"), "{}", r.body);
    for (element, alg) in [("rs-oidc", "RS256"), ("ec-oidc", "ES256")] {
        let jwt = issued(&call(
            &s,
            &admin,
            element,
            "translate",
            &username_to(oidc_out("n")),
        ));
        let header: Value = {
            use base64::Engine as _;
            let h = jwt.split('.').next().unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(h)
                    .unwrap(),
            )
            .unwrap()
        };
        let jwk = keys
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .unwrap_or_else(|| panic!("no key {} in {jwks}", header["kid"]));
        assert_eq!(jwk["alg"], alg);
        let file = s.dir.path().join(format!("{element}.jwk.json"));
        std::fs::write(&file, jwk.to_string()).unwrap();
        let (ok, out) = pyjwt_verify(&s, &jwt, alg, &file);
        assert!(ok, "PyJWT with the published JWK: {out}");
    }
    let r = s.get("/oauth2/realms/root/realms/myRealm/connect/jwk_uri");
    assert_eq!(r.json()["keys"].as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(s.get("/oauth2/connect/nothing").status, 404);
}
