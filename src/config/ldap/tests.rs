use super::super::Config;
use super::*;

/// Loads `body` (the keys of `[realms."/".ldap]`) with a bind password file beside it.
fn load(body: &str, env: &[(&str, &str)]) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("bind-pw");
    std::fs::write(&pw, "s3rvice\nignored second line\n").unwrap();
    let f = dir.path().join("sts.toml");
    let text = body.replace("PWFILE", &pw.display().to_string());
    std::fs::write(&f, text).unwrap();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::load(Some(&f), &move |k: &str| {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
    .map_err(|e| e.to_string())
}

const GOOD: &str = r#"
[realms."/".ldap]
urls = ["ldaps://127.0.0.1:6360", "ldap://dir.example.com"]
bind_dn = "cn=sts,ou=services,dc=example,dc=com"
bind_password_file = "PWFILE"
user_base = "ou=people,dc=example,dc=com"
binary_attributes = { objectGUID = "guid", objectSid = "sid", jpegPhoto = "base64" }
group_base = "ou=groups,dc=example,dc=com"
group_name = "cn"
"#;

#[test]
fn a_complete_section_loads_with_defaults_and_the_password_file() {
    let c = load(GOOD, &[]).unwrap();
    let l = c.realms.get("/").unwrap().ldap.as_ref().unwrap();
    assert_eq!(l.bind_password.as_ref().unwrap().expose(), "s3rvice");
    assert!(l.starttls && !l.insecure_plaintext);
    assert_eq!(l.user_filter, "(uid={username})");
    assert_eq!(l.user_scope, SearchScope::Sub);
    assert_eq!(l.groups_attribute, "memberOf");
    assert_eq!(l.group_name, GroupName::Cn);
    assert_eq!(l.binary_attributes.get("objectSid"), Some(&BinaryForm::Sid));
    assert_eq!(
        (
            l.connect_timeout_millis,
            l.operation_timeout_millis,
            l.pool_size
        ),
        (2000, 5000, 8)
    );
    // The password never shows in the configuration's Debug form.
    assert!(!format!("{c:?}").contains("s3rvice"));
}

#[test]
fn the_environment_password_serves_a_single_directory_realm() {
    let c = load(
        &GOOD.replace("bind_password_file = \"PWFILE\"\n", ""),
        &[("STS_LDAP_BIND_PASSWORD", "from-env")],
    )
    .unwrap();
    let l = c.realms.get("/").unwrap().ldap.as_ref().unwrap();
    assert_eq!(l.bind_password.as_ref().unwrap().expose(), "from-env");
    let two = format!("{GOOD}{}", GOOD.replace("\"/\"", "\"/sub\""));
    let err = load(&two, &[("STS_LDAP_BIND_PASSWORD", "x")]).unwrap_err();
    assert!(
        err.contains("STS_LDAP_BIND_PASSWORD") && err.contains("bind_password_file"),
        "{err}"
    );
    assert!(load(&two, &[]).is_ok());
    // An empty one would make the service bind unauthenticated.
    let err = load(
        &GOOD.replace("bind_password_file = \"PWFILE\"\n", ""),
        &[("STS_LDAP_BIND_PASSWORD", "")],
    )
    .unwrap_err();
    assert!(err.contains("STS_LDAP_BIND_PASSWORD is empty"), "{err}");
}

#[test]
fn operator_errors_name_the_realm_and_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("urls = [", "urlz = [", "urlz"),
        (
            "\"ldaps://127.0.0.1:6360\", ",
            "\"http://x\", ",
            "ldaps:// or ldap://",
        ),
        ("ldaps://127.0.0.1:6360", "ldaps://h:99999", "is not a port"),
        ("ldaps://127.0.0.1:6360", "ldaps://h/dc=x", "user_base"),
        ("user_base = ", "starttls = false\nuser_base = ", "in clear"),
        (
            "user_base = ",
            "starttls = false\ninsecure_plaintext = true\nuser_base = ",
            "only to loopback",
        ),
        (
            "bind_password_file = \"PWFILE\"\n",
            "",
            "needs bind_password_file",
        ),
        (
            "PWFILE",
            "/nonexistent/pw",
            "bind_password_file /nonexistent/pw",
        ),
        (
            "user_base = \"ou=people,dc=example,dc=com\"",
            "",
            "user_base",
        ),
        (
            "bind_dn = \"cn=sts,ou=services,dc=example,dc=com\"",
            "",
            "bind_dn",
        ),
        (
            "group_name",
            "user_filter = \"(uid=alice)\"\ngroup_name",
            "{username}",
        ),
        (
            "group_name",
            "user_filter = \"(uid={username}\"\ngroup_name",
            "not an LDAP filter",
        ),
        (
            "group_name",
            "group_filter = \"(member=x)\"\ngroup_name",
            "{dn}",
        ),
        // A wrong value is not quoted back (it could be a secret put in the wrong key): the
        // key, line and what is accepted are.
        (
            "group_name = \"cn\"",
            "group_name = \"rdn\"",
            "group_name`: unknown variant `…`, expected",
        ),
        ("\"sid\"", "\"hex\"", "unknown variant `…`, expected"),
        ("group_name", "pool_size = 0\ngroup_name", "pool_size"),
        (
            "group_name",
            "operation_timeout_millis = 1\ngroup_name",
            "operation_timeout_millis",
        ),
        (
            "group_name",
            "ca_file = \"/nonexistent/ca.pem\"\ngroup_name",
            "ca_file",
        ),
        ("[realms.\"/\".ldap]", "[realms.\"sub\".ldap]", "\"/name\""),
        ("[realms.\"/\".ldap]", "[realms.\"/\".ldapp]", "ldapp"),
    ];
    for (from, to, expected) in cases {
        let body = GOOD.replacen(from, to, 1);
        assert_ne!(body, GOOD, "case {from} -> {to} changed nothing");
        match load(&body, &[]) {
            Ok(_) => panic!("{from} -> {to} was accepted"),
            Err(err) => {
                assert!(err.contains(expected), "{from} -> {to}: {err}");
                if !err.contains("ldapp") && !err.contains("urlz") && !err.contains("variant") {
                    assert!(err.contains("[realms.\""), "{err}");
                }
            }
        }
    }
}

#[test]
fn urls_are_taken_apart_and_loopback_is_recognised() {
    let u = LdapUrl::parse("ldaps://dir.example.com").unwrap();
    assert_eq!(
        (u.tls, u.host.as_str(), u.port),
        (true, "dir.example.com", 636)
    );
    let u = LdapUrl::parse("ldap://[::1]:3890/").unwrap();
    assert_eq!((u.tls, u.host.as_str(), u.port), (false, "::1", 3890));
    assert!(u.is_loopback());
    assert!(
        LdapUrl::parse("ldap://127.0.0.2:389")
            .unwrap()
            .is_loopback()
    );
    // A name is not an address: the resolver could send the password anywhere.
    assert!(!LdapUrl::parse("ldap://LocalHost").unwrap().is_loopback());
    assert!(!LdapUrl::parse("ldap://10.0.0.1").unwrap().is_loopback());
    for bad in [
        "ldap://",
        "ldap://h:0",
        "ldap://[::1",
        "ldapi:///run/x",
        "ldap://u@h",
    ] {
        assert!(LdapUrl::parse(bad).is_err(), "{bad}");
    }
}
