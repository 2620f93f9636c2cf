//! The WSDL each instance serves, and the schemas it imports.

use crate::common::*;

#[test]
fn wsdl_names_the_instance_address_policy_and_resolvable_schemas() {
    let s = start();
    let r = s.get(&format!("/sts/{INSTANCE}?wsdl"));
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/xml"));
    let doc = r.doc();
    assert!(doc.is("http://schemas.xmlsoap.org/wsdl/", "definitions"));
    let endpoint = s.instance_url();
    assert!(
        r.body
            .contains(&format!("<soap:address location=\"{endpoint}\"/>")),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!("<soap12:address location=\"{endpoint}\"/>"))
    );
    for op in ["Issue", "Validate", "Cancel"] {
        assert!(
            r.body.contains(&format!("<wsdl:operation name=\"{op}\">")),
            "{op}"
        );
        assert!(r.body.contains(&format!(
            "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/{op}"
        )));
    }
    assert!(r.body.contains("wsu:Id=\"STS_Security_Policy\""));
    assert!(
        r.body.contains("<sp:UsernameToken"),
        "the policy states the UsernameToken"
    );
    assert!(!r.body.contains("{{"), "placeholder left in WSDL");
    // Every schemaLocation, and every schema's own imports, resolve on this server.
    let mut pending: Vec<String> = locations(&r.body);
    assert!(pending.len() >= 5, "{pending:?}");
    let mut seen = std::collections::HashSet::new();
    while let Some(loc) = pending.pop() {
        if !seen.insert(loc.clone()) {
            continue;
        }
        assert!(loc.starts_with(&s.base), "{loc} is not served here");
        let x = s.get(&loc[s.base.len()..]);
        assert_eq!(x.status, 200, "{loc}");
        x.doc();
        let base = &loc[..loc.rfind('/').unwrap() + 1];
        pending.extend(locations(&x.body).into_iter().map(|l| {
            if l.starts_with("http") {
                l
            } else {
                format!("{base}{l}")
            }
        }));
    }
    assert_eq!(s.get("/xsd/nope.xsd").status, 404);
    assert_eq!(s.get("/sts/nope?wsdl").status, 404);
}

fn locations(xml: &str) -> Vec<String> {
    xml.split("schemaLocation=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[test]
fn public_base_url_goes_into_the_wsdl() {
    let dir = tempfile::tempdir().unwrap();
    sts::datadir::bootstrap(dir.path(), Some("x".into()), Some("y".into())).unwrap();
    let cfg = sts::config::Config {
        data_dir: dir.path().to_owned(),
        public_base_url: Some("https://sts.example.com/".into()),
        ..Default::default()
    };
    let state = sts::build_state(&cfg, std::sync::Arc::new(sts::clock::SystemClock)).unwrap();
    let inst = state.soap_instance(INSTANCE).unwrap();
    let w = sts::server::metadata::wsdl(
        &inst,
        &format!("{}/sts/{INSTANCE}", state.base_url),
        &state.base_url,
    );
    assert!(w.contains("location=\"https://sts.example.com/sts/soap-username-transformer\""));
    assert!(w.contains("schemaLocation=\"https://sts.example.com/xsd/ws-trust-1.3.xsd\""));
    assert!(
        w.contains("<sp:HttpsToken/>"),
        "https endpoints state a transport binding"
    );
}
