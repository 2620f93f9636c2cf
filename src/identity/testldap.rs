//! A throwaway OpenLDAP directory for tests: Debian's `/usr/sbin/slapd` with a generated
//! `slapd.conf` in a temporary directory, listening on two free loopback ports: `ldaps://`
//! and plain `ldap://` (which offers StartTLS with the same certificate). The server
//! certificate comes from a test CA made at start (EC P-256, `127.0.0.1` and `localhost`).
//! Modules: `memberof` (groups' `member` computes users' `memberOf`) and `ppolicy`
//! (`pwdAccountLockedTime` refuses binds). The entries of `fixtures/ldap/seed.ldif` are added
//! over LDAP after the first start, so the overlays see them; `fixtures/ldap/README.md` says
//! who is who. Readiness is a successful bind (`ldapwhoami`) polled with a generous bound,
//! never a fixed sleep. Dropping it kills the server and removes the directory; a watchdog
//! process does the same if the test process ends without dropping it (killed, aborted). Only
//! for this package's tests (feature `test-util`).
#![allow(clippy::panic, reason = "a test harness: failing to start fails the test loudly")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::clock::Clock as _;

/// How long a start may take before the test fails (a loaded 2-core CI machine is slow).
const READY_WITHIN: Duration = Duration::from_secs(120);

/// The suffix of the test directory.
pub const BASE_DN: &str = "dc=example,dc=com";
/// The service account sts searches as (`bind_dn` in `sts.toml`).
pub const BIND_DN: &str = "cn=sts,ou=services,dc=example,dc=com";
/// Its password (`seed.ldif`).
pub const BIND_PASSWORD: &str = "sts-bind-passw0rd";
/// Where the OpenLDAP-style users live (`uid=NAME`).
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=com";
/// Where their groups live (`groupOfNames`, `member`).
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=com";
/// Where the AD-shaped users live (`cn=Full Name`, `sAMAccountName`, `userPrincipalName`).
pub const AD_USERS_DN: &str = "ou=users,ou=ad,dc=example,dc=com";
/// Where the AD-shaped groups live.
pub const AD_GROUPS_DN: &str = "ou=groups,ou=ad,dc=example,dc=com";
/// The password of every seeded user except the injection probe.
pub const USER_PASSWORD: &str = "dir-passw0rd";
/// The uid of the injection probe: `(uid=a*)(uid=*)`, unescaped, would match `alice`.
pub const PROBE_UID: &str = "a*)(uid=*";
/// The probe's own password (not alice's, so a filter that matched alice cannot pass as it).
pub const PROBE_PASSWORD: &str = "probe-passw0rd";
/// `erin` (AD-shaped, enabled): objectGUID in AD's string form, and its raw bytes in base64.
pub const ERIN_GUID: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
pub const ERIN_GUID_BASE64: &str = "4AQlP4lP00GaDAMF6CwzAQ==";
/// `erin`'s objectSid in AD's string form, and its raw bytes in base64.
pub const ERIN_SID: &str = "S-1-5-21-1004336348-1177238915-682003330-1105";
pub const ERIN_SID_BASE64: &str = "AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==";

const SCHEMA: &str = include_str!("../../fixtures/ldap/sts-test.schema");
const SEED: &str = include_str!("../../fixtures/ldap/seed.ldif");
/// The directory's own administrator (`rootdn`), for seeding and `modify`.
const ADMIN_DN: &str = "cn=admin,dc=example,dc=com";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A CA of the test PKI.
struct Ca {
    key: PKey<Private>,
    cert: X509,
}

/// A running (or stopped) throwaway directory; see the module doc.
pub struct TestLdap {
    dir: PathBuf,
    ldaps_port: u16,
    ldap_port: u16,
    admin_password: String,
    /// The CA the test should trust (`ca_file`): the issuer, unless made untrusted.
    trusted: Ca,
    child: Option<Child>,
}

impl std::fmt::Debug for TestLdap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestLdap")
            .field("dir", &self.dir)
            .field("ldaps_port", &self.ldaps_port)
            .field("ldap_port", &self.ldap_port)
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl TestLdap {
    /// A new seeded directory with a new test CA; panics (failing the test) if it cannot start.
    pub fn start() -> TestLdap {
        or_panic(new_ca("sts test LDAP CA").and_then(|ca| Self::try_start(ca, None)))
    }

    /// A second, independent directory (own data, own ports, same seed) whose certificate
    /// comes from this one's CA, so one `ca_file` trusts both: two URLs for failover.
    pub fn start_peer(&self) -> TestLdap {
        or_panic(Self::try_start(clone_ca(&self.trusted), None))
    }

    /// A seeded directory whose certificate comes from a CA the test does not get:
    /// `ca_pem_path()` is a fresh CA that did not sign it (`issuer_ca_pem_path()` did).
    pub fn start_untrusted() -> TestLdap {
        or_panic(new_ca("sts test LDAP CA (trusted)").and_then(|trusted| {
            let issuer = new_ca("sts test LDAP CA (not given to sts)")?;
            Self::try_start(trusted, Some(issuer))
        }))
    }

    /// One seeded directory for the whole test process, for tests that only read it (never
    /// stop or modify it). A static is never dropped: the watchdog every instance has kills
    /// the server and removes its directory once this process has exited.
    pub fn shared() -> &'static TestLdap {
        static SHARED: std::sync::OnceLock<TestLdap> = std::sync::OnceLock::new();
        SHARED.get_or_init(TestLdap::start)
    }

    /// `ldaps://127.0.0.1:PORT`.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// `ldap://127.0.0.1:PORT` (plain; StartTLS offered with the same certificate).
    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// The PEM CA a test gives sts as `ca_file`.
    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The PEM CA that signed the server certificate: `ca_pem_path()` unless untrusted.
    pub fn issuer_ca_pem_path(&self) -> PathBuf {
        self.dir.join("issuer-ca.pem")
    }

    pub fn bind_dn(&self) -> &'static str {
        BIND_DN
    }

    pub fn bind_password(&self) -> &'static str {
        BIND_PASSWORD
    }

    /// A file holding the bind password (one line), for `bind_password_file`.
    pub fn bind_password_path(&self) -> PathBuf {
        self.dir.join("bind-password")
    }

    pub fn base_dn(&self) -> &'static str {
        BASE_DN
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (an outage: connections drop, the ports refuse). Data stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The watchdog kills what the pid file names: never a pid that may be reused.
        let _ = std::fs::remove_file(self.dir.join("slapd.pid"));
    }

    /// Starts the stopped server again on the same ports and data; waits until it binds.
    pub fn start_again(&mut self) {
        if self.child.is_some() {
            panic!("test LDAP: start_again while running");
        }
        or_panic(self.spawn_and_wait());
    }

    /// Freezes the server (SIGSTOP): the kernel still accepts connections but nothing
    /// answers, as with a hung directory. Returns once every slapd thread is stopped (the
    /// signal alone may let a busy thread answer one more request). `resume` undoes it.
    pub fn pause(&self) {
        let pid = self.signal("-STOP");
        let deadline = Instant::now() + READY_WITHIN;
        while !all_threads_stopped(pid) {
            if Instant::now() > deadline {
                panic!("test LDAP: slapd {pid} did not stop");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// Applies an LDIF of changes (`ldapmodify` as the directory's administrator).
    pub fn modify(&self, ldif: &str) {
        or_panic(self.ldap_tool("ldapmodify", ldif));
    }

    /// Sends `sig` to slapd; its pid.
    fn signal(&self, sig: &str) -> u32 {
        let Some(child) = &self.child else {
            panic!("test LDAP: {sig} while stopped");
        };
        let ok = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            panic!("test LDAP: kill {sig} failed");
        }
        child.id()
    }

    fn try_start(trusted: Ca, issuer: Option<Ca>) -> Result<TestLdap, String> {
        let slapd = slapd_bin()?;
        let dir = std::env::temp_dir().join(format!(
            "sts-testldap-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut ldap = TestLdap {
            dir,
            ldaps_port: 0,
            ldap_port: 0,
            admin_password: uuid::Uuid::new_v4().simple().to_string(),
            trusted,
            child: None,
        };
        ldap.write_files(&slapd, issuer.as_ref())?;
        // A free port can be taken between choosing and binding it: choose again.
        let mut last = String::new();
        for _ in 0..5 {
            (ldap.ldaps_port, ldap.ldap_port) = two_free_ports()?;
            match ldap.spawn_and_wait() {
                Ok(()) => {
                    ldap.seed()?;
                    ldap.watch_for_exit()?;
                    return Ok(ldap);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Writes the CA files, the server key and certificate, the schema and `slapd.conf`.
    fn write_files(&self, slapd: &Path, issuer: Option<&Ca>) -> Result<(), String> {
        let issuer = issuer.unwrap_or(&self.trusted);
        let (key, cert) = server_cert(issuer).map_err(|e| format!("server certificate: {e}"))?;
        let pem = |c: &X509| c.to_pem().map_err(|e| e.to_string());
        self.write("ca.pem", &pem(&self.trusted.cert)?)?;
        self.write("issuer-ca.pem", &pem(&issuer.cert)?)?;
        self.write("server.pem", &cert)?;
        self.write("server.key", &key)?;
        self.write("sts-test.schema", SCHEMA.as_bytes())?;
        self.write("bind-password", format!("{BIND_PASSWORD}\n").as_bytes())?;
        // The tools' `-y` reads the whole file: no newline.
        self.write("bind-password.raw", BIND_PASSWORD.as_bytes())?;
        self.write("admin-password", self.admin_password.as_bytes())?;
        self.write("seed.ldif", SEED.as_bytes())?;
        std::fs::create_dir(self.dir.join("db")).map_err(|e| e.to_string())?;
        // Debian: slapd in /usr/sbin, modules in /usr/lib/ldap, schemas in /etc/ldap/schema.
        let modules = slapd
            .parent()
            .and_then(Path::parent)
            .map(|usr| usr.join("lib/ldap"))
            .filter(|m| m.join("memberof.la").exists())
            .unwrap_or_else(|| PathBuf::from("/usr/lib/ldap"));
        let d = self.dir.display();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include {d}/sts-test.schema\n\
             modulepath {modules}\n\
             moduleload back_mdb\n\
             moduleload memberof\n\
             moduleload ppolicy\n\
             pidfile {d}/slapd.pid\n\
             argsfile {d}/slapd.args\n\
             password-hash {{SSHA}}\n\
             TLSCertificateFile {d}/server.pem\n\
             TLSCertificateKeyFile {d}/server.key\n\
             TLSCACertificateFile {d}/issuer-ca.pem\n\
             database mdb\n\
             suffix \"{BASE_DN}\"\n\
             rootdn \"{ADMIN_DN}\"\n\
             rootpw {admin}\n\
             directory {d}/db\n\
             maxsize 67108864\n\
             overlay memberof\n\
             overlay ppolicy\n\
             ppolicy_default \"cn=default,ou=policies,{BASE_DN}\"\n\
             ppolicy_hash_cleartext\n\
             access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by dn.exact=\"{BIND_DN}\" read by self read by * none\n",
            modules = modules.display(),
            admin = self.admin_password,
        );
        self.write("slapd.conf", conf.as_bytes())
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self.dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Starts slapd in the foreground (`-d 0`: no fork, so `Child` is the server) and waits
    /// until the administrator can bind (the seed may not be there yet).
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.join("slapd.log")).map_err(|e| e.to_string())?;
        let urls = format!("{}/ {}/", self.ldaps_url(), self.ldap_url());
        let child = Command::new(slapd_bin()?)
            .arg("-f")
            .arg(self.dir.join("slapd.conf"))
            .args(["-h", &urls, "-d", "0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("slapd: {e} (install the slapd package)"))?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("slapd exited ({status}):\n{}", self.log_tail()));
                }
            }
            let ready = self.whoami(&self.ldap_url(), ADMIN_DN, "admin-password", &[]);
            if ready.is_ok() {
                break;
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!("not ready: {ready:?}\n{}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Adds the seed entries (first start only), then proves LDAPS with the service account.
    fn seed(&self) -> Result<(), String> {
        self.ldap_tool("ldapadd", SEED)?;
        let ca = self.issuer_ca_pem_path();
        let ca = ca.to_string_lossy();
        self.whoami(
            &self.ldaps_url(),
            BIND_DN,
            "bind-password.raw",
            &[("LDAPTLS_CACERT", &ca), ("LDAPTLS_REQCERT", "demand")],
        )
        .map(|_| ())
    }

    /// `ldapwhoami` as `dn` with the password in the file `pw_file` (no newline).
    fn whoami(
        &self,
        url: &str,
        dn: &str,
        pw_file: &str,
        env: &[(&str, &str)],
    ) -> Result<String, String> {
        let out = ldap_command("ldapwhoami")
            .envs(env.iter().copied())
            .args(["-x", "-o", "nettimeout=10", "-H", url, "-D", dn, "-y"])
            .arg(self.dir.join(pw_file))
            .output()
            .map_err(|e| format!("ldapwhoami: {e} (install the ldap-utils package)"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// Runs `ldapadd` / `ldapmodify` as the administrator over the plain port, LDIF on stdin.
    fn ldap_tool(&self, tool: &str, ldif: &str) -> Result<(), String> {
        let mut child = ldap_command(tool)
            .args(["-x", "-H", &self.ldap_url(), "-D", ADMIN_DN, "-y"])
            .arg(self.dir.join("admin-password"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{tool}: {e} (install the ldap-utils package)"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(ldif.as_bytes())
                .map_err(|e| format!("{tool}: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// A process that waits for this one to end, however it ends (a killed or aborted test
    /// run never drops anything), then kills the slapd its pid file names (removed when the
    /// server is stopped, so never a reused pid) and removes the directory.
    fn watch_for_exit(&self) -> Result<(), String> {
        let d = self.dir.display();
        let script = format!(
            "tail --pid={} -f /dev/null; [ -f '{d}/slapd.pid' ] && kill -KILL \"$(cat '{d}/slapd.pid')\"; rm -rf '{d}'",
            std::process::id(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|e| format!("watchdog: {e}"))
    }
}

impl Drop for TestLdap {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether every thread of `pid` is in the stopped state (`T` in `/proc/PID/task/*/stat`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    let mut seen = false;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // `pid (comm) S ...`: the name may hold spaces and parentheses, the state follows the last `)`.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        if state != Some('T') {
            return false;
        }
        seen = true;
    }
    seen
}

fn or_panic<T>(r: Result<T, String>) -> T {
    match r {
        Ok(t) => t,
        Err(e) => panic!("test LDAP: {e}"),
    }
}

/// An OpenLDAP client tool that reads no user or system `ldap.conf` (only our environment).
fn ldap_command(tool: &str) -> Command {
    let mut c = Command::new(tool);
    c.env("LDAPCONF", "/dev/null").env("LDAPRC", "/dev/null");
    c
}

/// `/usr/sbin/slapd` (Debian), or `STS_TEST_SLAPD` if set.
fn slapd_bin() -> Result<PathBuf, String> {
    let bin = std::env::var_os("STS_TEST_SLAPD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/slapd"));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found (install slapd and ldap-utils: scripts/deps.sh test)",
            bin.display()
        ))
    }
}

fn two_free_ports() -> Result<(u16, u16), String> {
    // Both listeners open at once, so the two ports differ.
    let a = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let b = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = |l: &std::net::TcpListener| l.local_addr().map(|a| a.port());
    Ok((
        port(&a).map_err(|e| e.to_string())?,
        port(&b).map_err(|e| e.to_string())?,
    ))
}

fn x509_name(cn: &str) -> Result<openssl::x509::X509Name, openssl::error::ErrorStack> {
    let mut n = openssl::x509::X509NameBuilder::new()?;
    n.append_entry_by_text("O", "sts tests")?;
    n.append_entry_by_text("CN", cn)?;
    Ok(n.build())
}

fn ec_key() -> Result<PKey<Private>, openssl::error::ErrorStack> {
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(openssl::ec::EcKey::generate(&group)?)
}

/// A certificate builder valid from a day ago for 30 days, with a random serial.
fn builder(
    subject: &str,
    key: &PKey<Private>,
) -> Result<openssl::x509::X509Builder, openssl::error::ErrorStack> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = openssl::bn::BigNum::new()?;
    serial.rand(120, openssl::bn::MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    let name = x509_name(subject)?;
    b.set_subject_name(&name)?;
    b.set_pubkey(key)?;
    let now = crate::clock::SystemClock.now().timestamp();
    let day = 86_400;
    let not_before = openssl::asn1::Asn1Time::from_unix(now - day)?;
    let not_after = openssl::asn1::Asn1Time::from_unix(now + 30 * day)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    Ok(b)
}

fn new_ca(cn: &str) -> Result<Ca, String> {
    let make = || -> Result<Ca, openssl::error::ErrorStack> {
        use openssl::x509::extension::{BasicConstraints, KeyUsage};
        let key = ec_key()?;
        let mut b = builder(cn, &key)?;
        let name = x509_name(cn)?;
        b.set_issuer_name(&name)?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        b.sign(&key, openssl::hash::MessageDigest::sha256())?;
        Ok(Ca {
            key,
            cert: b.build(),
        })
    };
    make().map_err(|e| format!("test CA: {e}"))
}

fn clone_ca(ca: &Ca) -> Ca {
    Ca {
        key: ca.key.clone(),
        cert: ca.cert.clone(),
    }
}

/// A server certificate for 127.0.0.1 and localhost from `ca`: (PKCS#8 key PEM, cert PEM).
fn server_cert(ca: &Ca) -> Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
    use openssl::x509::extension::{ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
    let key = ec_key()?;
    let mut b = builder("127.0.0.1", &key)?;
    b.set_issuer_name(ca.cert.subject_name())?;
    let ctx = b.x509v3_context(Some(&ca.cert), None);
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .dns("localhost")
        .build(&ctx)?;
    b.append_extension(san)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_agreement()
            .build()?,
    )?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    b.sign(&ca.key, openssl::hash::MessageDigest::sha256())?;
    Ok((key.private_key_to_pem_pkcs8()?, b.build().to_pem()?))
}

#[cfg(test)]
#[path = "testldap_tests.rs"]
mod tests;
