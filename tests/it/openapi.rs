//! The OpenAPI document of the JSON endpoints (`openapi/openapi.json`, served at
//! `GET /openapi.json`) against the running server. Every documented operation is called for
//! real and must answer one of its documented statuses with a body of the documented schema;
//! every JSON route the server serves must be documented, and nothing else must be served.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::common::*;

const DOC_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

/// The prefixes of the JSON routes of `server::routes` (the SOAP routes `/sts/` and `/xsd/`
/// speak XML and are not documented).
const JSON_PREFIXES: [&str; 9] = [
    "/json/",
    "/oauth2/",
    "/.well-known/oauth-authorization-server",
    "/sts-clients",
    "/sts-tokengen",
    "/sts-publish/",
    "/rest-sts/",
    "/health",
    "/openapi.json",
];

/// Methods tried on every documented path, in the order operations are exercised: creations
/// first, deletions last.
const METHODS: [&str; 5] = ["post", "get", "put", "patch", "delete"];

/// The document, with what the checks need.
struct Doc(Value);

/// One operation: a method of a path.
struct Op<'a> {
    path: &'a str,
    method: &'static str,
    item: &'a Value,
    op: &'a Value,
}

impl Op<'_> {
    fn name(&self) -> String {
        format!(
            "{} {} ({})",
            self.method.to_uppercase(),
            self.path,
            self.op["operationId"].as_str().unwrap_or("no operationId")
        )
    }
}

/// A request built from an operation; the builders change one part of it.
struct Call {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Call {
    fn action(mut self, action: &str) -> Self {
        self.query.retain(|(k, _)| k != "_action");
        self.query.push(("_action".into(), action.into()));
        self
    }

    fn body(mut self, body: &Value) -> Self {
        self.body = body.to_string();
        self
    }

    fn no_body(mut self) -> Self {
        self.body.clear();
        self
    }

    fn method(mut self, method: &str) -> Self {
        self.method = method.to_uppercase();
        self
    }

    fn send(&self, s: &TestServer) -> Reply {
        let mut url = self.path.clone();
        for (i, (k, v)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&format!("{}={}", enc(k), enc(v)));
        }
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        s.request(&self.method, &url, &headers, &self.body)
    }
}

/// Percent-encodes everything but the unreserved characters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Doc {
    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            v = r
                .strip_prefix('#')
                .and_then(|p| self.0.pointer(p))
                .unwrap_or_else(|| panic!("$ref {r} does not resolve"));
        }
        v
    }

    fn ops(&self) -> Vec<Op<'_>> {
        let paths = self.0["paths"].as_object().expect("paths");
        let mut ops: Vec<Op<'_>> = paths
            .iter()
            .flat_map(|(path, item)| {
                METHODS.iter().filter_map(move |m| {
                    item.get(*m).map(|op| Op {
                        path,
                        method: m,
                        item,
                        op,
                    })
                })
            })
            .collect();
        ops.sort_by_key(|o| (METHODS.iter().position(|m| *m == o.method), o.path));
        ops
    }

    fn op(&self, id: &str) -> Op<'_> {
        self.ops()
            .into_iter()
            .find(|o| o.op["operationId"] == id)
            .unwrap_or_else(|| panic!("no operation {id}"))
    }

    /// Path-level and operation-level parameters, resolved.
    fn params<'a>(&'a self, op: &Op<'a>) -> Vec<&'a Value> {
        [&op.item["parameters"], &op.op["parameters"]]
            .into_iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| self.resolve(p))
            .collect()
    }

    /// Whether every security alternative of the operation needs a token.
    fn secured(&self, op: &Op) -> bool {
        op.op
            .get("security")
            .or_else(|| self.0.get("security"))
            .and_then(Value::as_array)
            .is_some_and(|alts| {
                !alts.is_empty()
                    && alts
                        .iter()
                        .all(|a| a.as_object().is_some_and(|o| !o.is_empty()))
            })
    }

    /// The media type and example of the request body, if there is one.
    fn request_example<'a>(&'a self, op: &Op<'a>) -> Option<(&'a str, &'a Value)> {
        let content = self.resolve(op.op.get("requestBody")?)["content"].as_object()?;
        let (media, m) = content.iter().next()?;
        Some((media.as_str(), m.get("example")?))
    }

    fn example<'a>(&'a self, op: &Op<'a>) -> &'a Value {
        self.request_example(op)
            .unwrap_or_else(|| panic!("{} has no example body", op.name()))
            .1
    }

    /// Asserts that a request body matches the documented request schema.
    fn request_conforms(&self, op: &Op, body: &Value) {
        let (media, _) = self
            .request_example(op)
            .unwrap_or_else(|| panic!("{} has no documented body", op.name()));
        let schema = &self.resolve(&op.op["requestBody"])["content"][media]["schema"];
        let mut problems = Vec::new();
        self.conforms(schema, body, "request", &mut problems);
        assert!(
            problems.is_empty(),
            "{}: the request body {body} does not match its documented schema:\n  {}",
            op.name(),
            problems.join("\n  ")
        );
    }

    /// The documented example value of a parameter of an operation.
    fn param_example<'a>(&'a self, op: &Op<'a>, name: &str) -> &'a str {
        self.params(op)
            .into_iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["example"].as_str())
            .unwrap_or_else(|| panic!("{} has no example for {name}", op.name()))
    }

    /// A request for `op`: path parameters and required query parameters from `values`, else
    /// their documented example; the example body; `token` as the SSO header.
    fn call(&self, op: &Op, values: &HashMap<&str, String>, token: Option<&str>) -> Call {
        let mut path = op.path.to_owned();
        let mut query = Vec::new();
        for p in self.params(op) {
            let name = p["name"].as_str().expect("parameter name");
            let value = || {
                values
                    .get(name)
                    .cloned()
                    .or_else(|| p["example"].as_str().map(str::to_owned))
                    .or_else(|| p["schema"]["enum"][0].as_str().map(str::to_owned))
                    .unwrap_or_else(|| panic!("{}: no value for parameter {name}", op.name()))
            };
            match p["in"].as_str() {
                Some("path") => path = path.replace(&format!("{{{name}}}"), &enc(&value())),
                Some("query") if p["required"] == true => query.push((name.to_owned(), value())),
                _ => {}
            }
        }
        let mut headers = Vec::new();
        let mut body = String::new();
        if let Some((media, example)) = self.request_example(op) {
            headers.push(("Content-Type".to_owned(), media.to_owned()));
            body = match (media, example) {
                ("application/x-www-form-urlencoded", Value::Object(fields)) => fields
                    .iter()
                    .map(|(k, v)| format!("{}={}", enc(k), enc(v.as_str().unwrap_or_default())))
                    .collect::<Vec<_>>()
                    .join("&"),
                (_, other) => other.to_string(),
            };
        }
        if let Some(t) = token {
            headers.push(("iPlanetDirectoryPro".to_owned(), t.to_owned()));
        }
        Call {
            method: op.method.to_uppercase(),
            path,
            query,
            headers,
            body,
        }
    }

    /// Asserts that the status is documented for `op` and that a JSON body matches the
    /// documented schema; returns the body.
    fn check(&self, op: &Op, r: &Reply) -> Value {
        let responses = &op.op["responses"];
        let Some(resp) = responses.get(r.status.to_string()) else {
            let documented: Vec<&String> = responses
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            panic!(
                "{}: status {} is not documented (documented: {documented:?}); body: {}",
                op.name(),
                r.status,
                r.body
            );
        };
        let Some(media) = self.resolve(resp)["content"].get("application/json") else {
            return Value::Null;
        };
        assert!(
            r.content_type.starts_with("application/json"),
            "{}: {} answered {:?}, documented as JSON",
            op.name(),
            r.status,
            r.content_type
        );
        let body = r.json();
        let mut problems = Vec::new();
        self.conforms(&media["schema"], &body, "body", &mut problems);
        assert!(
            problems.is_empty(),
            "{}: the {} body does not match its documented schema:\n  {}\nbody: {}",
            op.name(),
            r.status,
            problems.join("\n  "),
            r.body
        );
        body
    }

    /// Checks `v` against the schema: `$ref`, `nullable`, `allOf`, `oneOf` (exactly one),
    /// `anyOf`, `enum`, `type`, `required`, `properties`, `additionalProperties`, `items`.
    fn conforms(&self, schema: &Value, v: &Value, at: &str, problems: &mut Vec<String>) {
        let s = self.resolve(schema);
        if v.is_null() && s["nullable"] == true {
            return;
        }
        for sub in s["allOf"].as_array().into_iter().flatten() {
            self.conforms(sub, v, at, problems);
        }
        for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            let Some(alts) = s[key].as_array() else {
                continue;
            };
            let mut failures = Vec::new();
            let mut matched = 0;
            for alt in alts {
                let mut p = Vec::new();
                self.conforms(alt, v, at, &mut p);
                if p.is_empty() {
                    matched += 1;
                } else {
                    failures.push(p.join(", "));
                }
            }
            if matched == 0 || (exactly_one && matched > 1) {
                problems.push(format!(
                    "{at}: matches {matched} of the {} {key} alternatives [{}]",
                    alts.len(),
                    failures.join(" | ")
                ));
            }
        }
        if let Some(values) = s["enum"].as_array()
            && !values.contains(v)
        {
            problems.push(format!("{at}: {v} is not one of {values:?}"));
        }
        if let Some(t) = s["type"].as_str() {
            let ok = match t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "boolean" => v.is_boolean(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                other => panic!("{at}: unknown schema type {other}"),
            };
            if !ok {
                problems.push(format!("{at}: {v} is not of type {t}"));
                return;
            }
        }
        if let Some(obj) = v.as_object() {
            for r in s["required"].as_array().into_iter().flatten() {
                let r = r.as_str().expect("required names");
                if !obj.contains_key(r) {
                    problems.push(format!("{at}: required property `{r}` is missing"));
                }
            }
            for (k, x) in obj {
                let here = format!("{at}.{k}");
                match s["properties"].get(k) {
                    Some(ps) => self.conforms(ps, x, &here, problems),
                    None => match &s["additionalProperties"] {
                        Value::Bool(false) => {
                            problems.push(format!("{here}: not a documented property"))
                        }
                        extra @ Value::Object(_) => self.conforms(extra, x, &here, problems),
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(list)) = (s.get("items"), v.as_array()) {
            for (i, x) in list.iter().enumerate() {
                self.conforms(items, x, &format!("{at}[{i}]"), problems);
            }
        }
    }
}

/// Every `$ref` under `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// The document the server serves, which must be the file in the repository.
fn served_doc(s: &TestServer) -> Doc {
    let r = s.get("/openapi.json");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/json"),
        "{}",
        r.content_type
    );
    let file = std::fs::read_to_string(DOC_FILE).unwrap();
    assert!(r.body == file, "GET /openapi.json is not {DOC_FILE}");
    let doc: Value =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("/openapi.json is not JSON: {e}"));
    Doc(doc)
}

#[test]
fn the_served_document_is_the_file_and_well_formed() {
    let s = start();
    let doc = served_doc(&s);
    let version = doc.0["openapi"].as_str().unwrap_or("");
    assert!(version.starts_with("3."), "not OpenAPI 3: {version:?}");
    assert!(doc.0["info"]["title"].is_string() && doc.0["info"]["version"].is_string());
    let mut all = Vec::new();
    refs(&doc.0, &mut all);
    for r in all {
        doc.resolve(&json!({ "$ref": r }));
    }
    let schemes = doc.0["components"]["securitySchemes"].as_object().unwrap();
    assert!(
        schemes.values().any(|sc| sc["type"] == "apiKey"
            && sc["in"] == "header"
            && sc["name"] == "iPlanetDirectoryPro"),
        "the iPlanetDirectoryPro header is not a security scheme"
    );
    let ops = doc.ops();
    assert!(!ops.is_empty());
    let mut ids = std::collections::HashSet::new();
    for op in &ops {
        let name = op.name();
        let id = op.op["operationId"].as_str().unwrap_or("");
        assert!(
            !id.is_empty() && ids.insert(id),
            "{name}: missing or repeated operationId"
        );
        let responses = op.op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{name}: no success response"
        );
        // Path parameters: exactly those of the template, all required.
        let mut declared: Vec<&str> = doc
            .params(op)
            .into_iter()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{name}: {p}"))
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let mut templated: Vec<&str> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        declared.sort_unstable();
        templated.sort_unstable();
        assert_eq!(declared, templated, "{name}: path parameters");
        if op.op.get("requestBody").is_some() {
            doc.request_conforms(op, doc.example(op));
        }
        for alt in op.op["security"].as_array().into_iter().flatten() {
            for scheme in alt.as_object().unwrap().keys() {
                assert!(
                    schemes.contains_key(scheme),
                    "{name}: unknown scheme {scheme}"
                );
            }
        }
    }
}

#[test]
fn every_documented_operation_answers_as_documented() {
    let s = start();
    let doc = served_doc(&s);
    let mut values: HashMap<&str, String> = HashMap::new();

    // Fixtures from the documented examples: their user, in the top-level realm and in the
    // example realm; the instances the update examples describe (the updates then replace
    // them with the same state); a token issued by the documented translation.
    let auth = doc.op("authenticate");
    let login = doc.example(&auth).clone();
    let (user, password) = (
        login["username"].as_str().unwrap(),
        login["password"].as_str().unwrap(),
    );
    let realm = doc.param_example(&doc.op("authenticateInRealm"), "realm");
    let users = sts::identity::FileUserStore::open(&s.dir.path().join("users.json")).unwrap();
    users.add_realm(realm).unwrap();
    let hash = sts::identity::hash_password(password).unwrap();
    for r in ["/", realm] {
        users
            .add(sts::identity::User {
                username: user.into(),
                realm: r.into(),
                password_hash: hash.clone(),
                digest_secret: None,
                attributes: Default::default(),
                disabled: false,
                admin: false,
            })
            .unwrap();
    }
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let publish = doc.op("publishInstance");
    for id in ["updateInstance", "updateRealmInstance"] {
        let state = doc.example(&doc.op(id));
        let r = doc
            .call(&publish, &values, Some(&admin))
            .body(state)
            .send(&s);
        assert_eq!(r.status, 201, "publishing the {id} example: {}", r.body);
        doc.check(&publish, &r);
    }
    // The public client the introspection examples authenticate as, in both realms.
    for (op, realm_value) in [("createClient", None), ("createClientInRealm", Some(realm))] {
        let op = doc.op(op);
        let mut v = values.clone();
        if let Some(r) = realm_value {
            v.insert("realm", r.to_owned());
        }
        let public = json!({"client_id": "rs-public", "token_endpoint_auth_method": "none"});
        doc.request_conforms(&op, &public);
        let r = doc.call(&op, &v, Some(&admin)).body(&public).send(&s);
        assert_eq!(r.status, 201, "{}: {}", op.name(), r.body);
        assert!(
            doc.check(&op, &r).get("client_secret").is_none(),
            "{}",
            r.body
        );
    }
    let rest = doc.op("invokeRestSts");
    let r = doc.call(&rest, &values, Some(&admin)).send(&s);
    assert_eq!(r.status, 200, "{}", r.body);
    doc.check(&rest, &r);
    let query = doc.op("queryTokens");
    let r = doc.call(&query, &values, Some(&admin)).send(&s);
    let page = doc.check(&query, &r);
    let tokens = page["result"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{}", r.body);
    values.insert("tokenId", tokens[0]["_id"].as_str().unwrap().to_owned());
    let session = s.login(user, password);
    values.insert("ssoToken", session.clone());

    // Without a session every secured operation is 401; with a user's, 403 (nothing changes).
    for op in doc.ops().iter().filter(|o| doc.secured(o)) {
        for (token, want) in [(None, 401), (Some(session.as_str()), 403)] {
            let r = doc.call(op, &values, token).send(&s);
            assert_eq!(r.status, want, "{} as {token:?}: {}", op.name(), r.body);
            doc.check(op, &r);
        }
    }

    // The REST STS actions the example does not show: OIDC out, validate, cancel.
    let mut oidc = doc.example(&rest).clone();
    oidc["output_token_state"] =
        json!({"token_type": "OPENIDCONNECT", "nonce": "n-0S6_WzA2Mj", "allow_access": true});
    doc.request_conforms(&rest, &oidc);
    let r = doc.call(&rest, &values, Some(&admin)).body(&oidc).send(&s);
    assert_eq!(r.status, 200, "{}", r.body);
    let jwt = doc.check(&rest, &r)["issued_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let issued = json!({"token_type": "OPENIDCONNECT", "oidc_id_token": jwt});
    for (action, key, want) in [
        (
            "validate",
            "validated_token_state",
            json!({"token_valid": true}),
        ),
        (
            "cancel",
            "cancelled_token_state",
            json!({"result": "OPENIDCONNECT token cancelled successfully."}),
        ),
        (
            "validate",
            "validated_token_state",
            json!({"token_valid": false}),
        ),
    ] {
        let mut body = serde_json::Map::new();
        body.insert(key.into(), issued.clone());
        let body = Value::Object(body);
        doc.request_conforms(&rest, &body);
        let r = doc
            .call(&rest, &values, Some(&admin))
            .action(action)
            .body(&body)
            .send(&s);
        assert_eq!(doc.check(&rest, &r), want, "{action}");
    }
    // Authentication without credentials: the callbacks to fill in.
    let r = doc.call(&auth, &values, None).no_body().send(&s);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(doc.check(&auth, &r)["callbacks"].is_array(), "{}", r.body);

    // Every operation with its documented example, creations first and deletions last: a
    // success, in the documented shape.
    for op in doc.ops() {
        let r = doc
            .call(&op, &values, doc.secured(&op).then_some(admin.as_str()))
            .send(&s);
        assert!(
            (200..300).contains(&r.status),
            "{}: {} {}",
            op.name(),
            r.status,
            r.body
        );
        doc.check(&op, &r);
    }
    // What the DELETEs removed is not found any more.
    for op in doc.ops() {
        if op.method == "get" && op.item.get("delete").is_some() {
            let r = doc.call(&op, &values, Some(&admin)).send(&s);
            assert_eq!(r.status, 404, "{}: {}", op.name(), r.body);
            doc.check(&op, &r);
        }
    }

    // Sessions: validate, log out, validate again, log out again.
    let sessions = doc.op("sessionAction");
    let by_token = json!({ "tokenId": session });
    doc.request_conforms(&sessions, &by_token);
    for (action, status, valid) in [
        ("validate", 200, Some(true)),
        ("logout", 200, None),
        ("validate", 200, Some(false)),
        ("logout", 401, None),
    ] {
        let r = doc
            .call(&sessions, &values, None)
            .action(action)
            .body(&by_token)
            .send(&s);
        assert_eq!(r.status, status, "{action}: {}", r.body);
        let v = doc.check(&sessions, &r);
        if let Some(valid) = valid {
            assert_eq!(v["valid"], valid, "{v}");
        }
    }

    // The file-defined SOAP instance: listed, readable, not removable.
    values.insert("kind", "soap".into());
    values.insert("urlElement", INSTANCE.into());
    for (id, want) in [
        ("listInstances", 200),
        ("readInstance", 200),
        ("deleteInstance", 409),
    ] {
        let op = doc.op(id);
        let r = doc.call(&op, &values, Some(&admin)).send(&s);
        assert_eq!(r.status, want, "{}: {}", op.name(), r.body);
        doc.check(&op, &r);
    }
}

#[test]
fn every_json_route_is_documented_and_nothing_else_is_served() {
    let s = start();
    let doc = served_doc(&s);
    let paths: Vec<&str> = doc.0["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for prefix in JSON_PREFIXES {
        assert!(
            paths.iter().any(|p| p.starts_with(prefix)),
            "no documented path under {prefix}"
        );
    }
    for p in &paths {
        assert!(
            JSON_PREFIXES.iter().any(|x| p.starts_with(x)),
            "{p} is documented but is no JSON route"
        );
    }
    let admin = s.login("amadmin", ADMIN_PASSWORD);
    let error = json!({"$ref": "#/components/schemas/Error"});
    for (method, path, json_error) in [
        ("GET", "/sts-publish/bogus", true),
        ("POST", "/sts-publish/bogus?_action=create", true),
        ("GET", "/sts-publish/bogus/x", true),
        ("GET", "/json/bogus", true),
        ("POST", "/json/realms/other/authenticate", true),
        ("POST", "/rest-sts/bogus?_action=translate", true),
        ("GET", "/sts-tokengen-bogus", false),
        ("GET", "/healthz", false),
        ("GET", "/bogus", false),
    ] {
        let r = s.request(method, path, &[("iPlanetDirectoryPro", &admin)], "");
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        if json_error {
            let mut problems = Vec::new();
            doc.conforms(&error, &r.json(), "body", &mut problems);
            assert!(problems.is_empty(), "{method} {path}: {problems:?}");
        }
    }
    // A method a documented path does not document is not allowed there.
    let values = HashMap::new();
    for (path, item) in doc.0["paths"].as_object().unwrap() {
        let any = doc.ops().into_iter().find(|o| o.path == path).unwrap();
        for m in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let r = doc
                .call(&any, &values, Some(&admin))
                .method(m)
                .no_body()
                .send(&s);
            assert_eq!(r.status, 405, "{} {path}: {}", m.to_uppercase(), r.body);
        }
    }
}
