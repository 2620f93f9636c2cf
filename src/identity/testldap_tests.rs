//! The test directory itself: TLS with the test CA, the seed, the overlays, stop/start, pause.

use std::io::{Read as _, Write as _};

use super::*;

/// `ldapsearch -LLL` as the service account at `url`, trusting `ca`; (success, output).
fn search(url: &str, ca: &Path, base: &str, filter: &str, attrs: &[&str]) -> (bool, String) {
    let out = ldap_command("ldapsearch")
        .env("LDAPTLS_CACERT", ca)
        .env("LDAPTLS_REQCERT", "demand")
        .args(["-LLL", "-x", "-o", "ldif-wrap=no", "-H", url])
        .args(["-D", BIND_DN, "-w", BIND_PASSWORD, "-b", base, filter])
        .args(attrs)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn bind(url: &str, dn: &str, password: &str) -> bool {
    ldap_command("ldapwhoami")
        .args(["-x", "-H", url, "-D", dn, "-w", password])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn seeded_directory_over_ldaps_and_starttls_with_the_test_ca() {
    let ldap = TestLdap::shared();
    let ca = ldap.ca_pem_path();
    assert_eq!(ca, ldap.issuer_ca_pem_path().with_file_name("ca.pem"));
    let (ok, out) = search(
        &ldap.ldaps_url(),
        &ca,
        PEOPLE_DN,
        "(uid=alice)",
        &["mail", "cn", "givenName", "sn", "memberOf"],
    );
    assert!(ok, "{out}");
    for line in [
        "dn: uid=alice,ou=people,dc=example,dc=com",
        "mail: alice@example.com",
        "cn: Alice Archer",
        "givenName: Alice",
        "sn: Archer",
        // Computed by the memberof overlay from the groups' `member`.
        "memberOf: cn=staff,ou=groups,dc=example,dc=com",
        "memberOf: cn=engineering,ou=groups,dc=example,dc=com",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} missing in\n{out}");
    }
    // The same over ldap:// upgraded with StartTLS (-ZZ: refuse to go on without it).
    let out = ldap_command("ldapwhoami")
        .env("LDAPTLS_CACERT", &ca)
        .args(["-ZZ", "-x", "-H", &ldap.ldap_url(), "-D", BIND_DN, "-w"])
        .arg(BIND_PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("dn:{BIND_DN}")
    );
    // The bind password file sts is given holds it on its first line.
    let file = std::fs::read_to_string(ldap.bind_password_path()).unwrap();
    assert_eq!(file.lines().next(), Some(ldap.bind_password()));
}

#[test]
fn seed_holds_the_account_states_the_probe_and_the_ad_subtree() {
    let ldap = TestLdap::shared();
    let (url, ca) = (ldap.ldaps_url(), ldap.ca_pem_path());
    let attrs = ["nsAccountLock", "pwdAccountLockedTime", "memberOf"];
    let (ok, out) = search(&url, &ca, PEOPLE_DN, "(uid=dave)", &attrs);
    assert!(ok && out.contains("nsAccountLock: TRUE"), "{out}");
    let (ok, out) = search(&url, &ca, PEOPLE_DN, "(uid=carol)", &attrs);
    assert!(ok && out.contains("pwdAccountLockedTime: 000001010000Z"), "{out}");
    // ppolicy refuses the locked user's bind; nsAccountLock is only data to OpenLDAP.
    let people = |uid: &str| format!("uid={uid},{PEOPLE_DN}");
    assert!(bind(&ldap.ldap_url(), &people("alice"), USER_PASSWORD));
    assert!(!bind(&ldap.ldap_url(), &people("alice"), "wrong"));
    assert!(!bind(&ldap.ldap_url(), &people("carol"), USER_PASSWORD));
    assert!(bind(&ldap.ldap_url(), &people("dave"), USER_PASSWORD));

    // The probe, found by its escaped uid, is not alice, and has its own password.
    let (ok, out) = search(&url, &ca, PEOPLE_DN, r"(uid=a\2a\29\28uid=\2a)", &["uid"]);
    assert!(ok, "{out}");
    assert_eq!(out.matches("dn: ").count(), 1, "{out}");
    assert!(out.contains(&format!("uid: {PROBE_UID}")), "{out}");
    let probe = format!("cn=Injection Probe,{PEOPLE_DN}");
    assert!(bind(&ldap.ldap_url(), &probe, PROBE_PASSWORD));
    assert!(!bind(&ldap.ldap_url(), &probe, USER_PASSWORD));
    // What the unescaped name's first filter would match: alice (and the probe).
    let (_, out) = search(&url, &ca, PEOPLE_DN, "(uid=a*)", &["uid"]);
    assert!(out.contains("uid: alice"), "{out}");

    let ad = [
        "sAMAccountName",
        "userPrincipalName",
        "userAccountControl",
        "lockoutTime",
        "objectGUID",
        "objectSid",
        "memberOf",
    ];
    let (ok, out) = search(&url, &ca, AD_USERS_DN, "(sAMAccountName=ERIN)", &ad);
    assert!(ok, "{out}");
    for line in [
        "dn: cn=Erin Example,ou=users,ou=ad,dc=example,dc=com",
        "userPrincipalName: erin@ad.example.com",
        "userAccountControl: 512",
        "lockoutTime: 0",
        &format!("objectGUID:: {ERIN_GUID_BASE64}"),
        &format!("objectSid:: {ERIN_SID_BASE64}"),
        "memberOf: cn=Domain Users,ou=groups,ou=ad,dc=example,dc=com",
        "memberOf: cn=Sales,ou=groups,ou=ad,dc=example,dc=com",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} missing in\n{out}");
    }
    let (_, out) = search(&url, &ca, AD_USERS_DN, "(userPrincipalName=frank@ad.example.com)", &ad);
    assert!(out.contains("userAccountControl: 514"), "{out}");
    let (_, out) = search(&url, &ca, AD_USERS_DN, "(sAMAccountName=grace)", &ad);
    assert!(out.contains("lockoutTime: 133476000000000000"), "{out}");
}

#[test]
fn erin_guid_and_sid_constants_agree_with_their_bytes() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let g = b64.decode(ERIN_GUID_BASE64).unwrap();
    // AD's string form: the first three fields little-endian, the last eight bytes in order.
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let rev = |b: &[u8]| hex(&b.iter().rev().copied().collect::<Vec<_>>());
    let form = format!(
        "{}-{}-{}-{}-{}",
        rev(&g[0..4]),
        rev(&g[4..6]),
        rev(&g[6..8]),
        hex(&g[8..10]),
        hex(&g[10..16])
    );
    assert_eq!(form, ERIN_GUID);
    // Not UTF-8, so a client that reads it as text would be caught.
    assert!(std::str::from_utf8(&g).is_err());
    let s = b64.decode(ERIN_SID_BASE64).unwrap();
    let auth = s[2..8].iter().fold(0u64, |a, b| a << 8 | u64::from(*b));
    let subs: Vec<String> = s[8..]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()).to_string())
        .collect();
    assert_eq!(usize::from(s[1]), subs.len());
    assert_eq!(format!("S-{}-{auth}-{}", s[0], subs.join("-")), ERIN_SID);
    assert!(std::str::from_utf8(&s).is_err());
}

#[test]
fn only_the_service_account_and_the_user_itself_read_entries() {
    let ldap = TestLdap::shared();
    let anon = ldap_command("ldapsearch")
        .args(["-LLL", "-x", "-H", &ldap.ldap_url(), "-b", PEOPLE_DN, "(uid=alice)"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&anon.stdout).contains("alice"));
    // Stored hashed by ppolicy_hash_cleartext, never readable by the service account.
    let (ok, out) = search(
        &ldap.ldaps_url(),
        &ldap.ca_pem_path(),
        PEOPLE_DN,
        "(uid=alice)",
        &["userPassword"],
    );
    assert!(ok && !out.contains("userPassword"), "{out}");
}

#[test]
fn an_untrusted_server_is_refused_by_a_verifying_client() {
    let ldap = TestLdap::start_untrusted();
    assert_ne!(
        std::fs::read(ldap.ca_pem_path()).unwrap(),
        std::fs::read(ldap.issuer_ca_pem_path()).unwrap()
    );
    let base = ldap.base_dn();
    let (ok, out) = search(&ldap.ldaps_url(), &ldap.ca_pem_path(), base, "(uid=alice)", &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("Can't contact LDAP server"), "{out}");
    // StartTLS too.
    let out = ldap_command("ldapwhoami")
        .env("LDAPTLS_CACERT", ldap.ca_pem_path())
        .args(["-ZZ", "-x", "-H", &ldap.ldap_url()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    // With the CA that did sign it, the same search works: only the trust differs.
    let (ok, out) = search(&ldap.ldaps_url(), &ldap.issuer_ca_pem_path(), base, "(uid=alice)", &[]);
    assert!(ok && out.contains("uid=alice"), "{out}");
}

#[test]
fn stop_start_again_peer_pause_and_cleanup() {
    let mut ldap = TestLdap::start();
    let peer = ldap.start_peer();
    assert_ne!(peer.ldaps_url(), ldap.ldaps_url());
    // One CA file trusts both.
    let ca = ldap.ca_pem_path();
    assert!(search(&peer.ldaps_url(), &ca, BASE_DN, "(uid=bob)", &[]).0);
    ldap.modify(&format!(
        "dn: uid=bob,{PEOPLE_DN}\nchangetype: modify\nreplace: mail\nmail: bob@new.example.com\n"
    ));
    ldap.stop();
    assert!(!ldap.is_running());
    let refused = std::net::TcpStream::connect(("127.0.0.1", ldap.ldaps_port));
    assert!(refused.is_err(), "the port refuses while stopped");
    assert!(search(&peer.ldaps_url(), &ca, BASE_DN, "(uid=bob)", &[]).0);
    ldap.start_again();
    let (ok, out) = search(&ldap.ldaps_url(), &ca, BASE_DN, "(uid=bob)", &["mail"]);
    assert!(ok && out.contains("mail: bob@new.example.com"), "data survives: {out}");
    let (_, out) = search(&peer.ldaps_url(), &ca, BASE_DN, "(uid=bob)", &["mail"]);
    assert!(out.contains("mail: bob@example.com"), "the peer is independent: {out}");

    // Paused: connections are accepted but an anonymous bind gets no answer until resumed.
    ldap.pause();
    let pid = ldap.child.as_ref().unwrap().id();
    assert!(all_threads_stopped(pid));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", ldap.ldap_port)).unwrap();
    let anonymous_bind = [
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00,
    ];
    s.write_all(&anonymous_bind).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut buf = [0u8; 64];
    let e = s.read(&mut buf).unwrap_err();
    assert!(
        matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        "{e}"
    );
    ldap.resume();
    assert!(!all_threads_stopped(pid) || !Path::new(&format!("/proc/{pid}")).exists());
    s.set_read_timeout(Some(READY_WITHIN)).unwrap();
    let n = s.read(&mut buf).unwrap();
    // A BindResponse (0x61) with resultCode success (0x0a 0x01 0x00).
    assert!(buf[..n].windows(4).any(|w| w == [0x61, 0x07, 0x0a, 0x01]), "{:x?}", &buf[..n]);

    let dirs = [ldap.dir.clone(), peer.dir.clone()];
    drop(ldap);
    drop(peer);
    assert!(dirs.iter().all(|d| !d.exists()));
}

/// Not a test of its own: run by the next one in a child process, which it kills.
#[test]
#[ignore = "a helper process of the_watchdog_cleans_up_after_a_killed_test_process"]
fn hold_a_directory_until_killed() {
    if std::env::var_os("STS_TESTLDAP_HOLD").is_none() {
        return;
    }
    let ldap = TestLdap::start();
    println!("HOLDING {}", ldap.dir.display());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn the_watchdog_cleans_up_after_a_killed_test_process() {
    use std::io::BufRead as _;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "--nocapture"])
        .arg("identity::testldap::tests::hold_a_directory_until_killed")
        .env("STS_TESTLDAP_HOLD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(child.stdout.take().unwrap());
    let dir = out
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("HOLDING ").map(|(_, d)| PathBuf::from(d)))
        .expect("the helper reports its directory");
    let pid = std::fs::read_to_string(dir.join("slapd.pid")).unwrap();
    let proc = Path::new("/proc").join(pid.trim());
    assert!(proc.exists());
    // SIGKILL: nothing in the process runs, no Drop.
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + READY_WITHIN;
    while (dir.exists() || proc.exists()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!proc.exists(), "slapd {} left running", pid.trim());
}
