//! Where audit lines go. Each sink writes whole lines: a file opened for appending (one
//! `write` per batch of whole lines, so lines of several processes never interleave), stdout,
//! or the local syslog socket (one datagram per line).

use std::io::Write as _;
use std::path::PathBuf;

/// A destination of audit lines. Called from the trail's writer thread only.
pub trait AuditSink: Send + 'static {
    /// Writes one event's line (`line` has no newline).
    fn write_line(&mut self, line: &str) -> std::io::Result<()>;
    /// Writes several events' lines, whole and in order, with each one's result: one
    /// `write_line` each, or (a file, stdout) one write for all, so that a busy trail costs
    /// one system call per batch (a failed write then fails every line of it).
    fn write_lines(&mut self, lines: &[&str]) -> Vec<std::io::Result<()>> {
        lines.iter().map(|l| self.write_line(l)).collect()
    }
    /// Opens the destination again (after logrotate moved a file, or an error).
    fn reopen(&mut self) -> std::io::Result<()>;
}

/// JSON lines appended to a file, created readable by its owner only.
pub struct FileSink {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl FileSink {
    /// A sink on `path`, opened at the first write.
    pub fn new(path: PathBuf) -> FileSink {
        FileSink { path, file: None }
    }
}

impl AuditSink for FileSink {
    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        self.write_all_lines(&[line])
    }

    fn write_lines(&mut self, lines: &[&str]) -> Vec<std::io::Result<()>> {
        each(lines, self.write_all_lines(lines))
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt as _;
        self.file = None;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))?;
        self.file = Some(file);
        Ok(())
    }
}

/// `written` as the result of each of `lines`.
fn each(lines: &[&str], written: std::io::Result<()>) -> Vec<std::io::Result<()>> {
    lines
        .iter()
        .map(|_| match &written {
            Ok(()) => Ok(()),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        })
        .collect()
}

impl FileSink {
    /// `lines` in one `write` (lines of other processes appending never land inside it).
    fn write_all_lines(&mut self, lines: &[&str]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.reopen()?;
        }
        let Some(file) = self.file.as_mut() else {
            return Err(std::io::Error::other("not open"));
        };
        let mut buf = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        let written = file.write_all(&buf);
        if written.is_err() {
            // Opened again before the next line: the file may have gone (a full disk, a
            // removed directory).
            self.file = None;
        }
        written
    }
}

/// JSON lines on standard output (a container's log collector reads them).
pub struct StdoutSink;

impl AuditSink for StdoutSink {
    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        stdout_lines(&[line])
    }

    fn write_lines(&mut self, lines: &[&str]) -> Vec<std::io::Result<()>> {
        each(lines, stdout_lines(lines))
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn stdout_lines(lines: &[&str]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Datagrams to the local syslog daemon (`/dev/log`), facility authpriv, severity notice,
/// tag `sts`, the JSON line as the message (RFC 3164 framing, as `logger` sends).
pub struct SyslogSink {
    path: PathBuf,
    socket: Option<std::os::unix::net::UnixDatagram>,
}

impl SyslogSink {
    /// A sink on the syslog socket at `path`, connected at the first write.
    pub fn new(path: impl Into<PathBuf>) -> SyslogSink {
        SyslogSink {
            path: path.into(),
            socket: None,
        }
    }
}

/// authpriv (10) * 8 + notice (5).
const PRI: u8 = 85;

impl AuditSink for SyslogSink {
    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        if self.socket.is_none() {
            self.reopen()?;
        }
        let Some(socket) = self.socket.as_ref() else {
            return Err(std::io::Error::other("not connected"));
        };
        let msg = format!("<{PRI}>sts[{}]: {line}", std::process::id());
        let sent = socket.send(msg.as_bytes()).map(|_| ());
        if sent.is_err() {
            self.socket = None;
        }
        sent
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        self.socket = None;
        let s = std::os::unix::net::UnixDatagram::unbound()?;
        s.connect(&self.path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))?;
        self.socket = Some(s);
        Ok(())
    }
}

/// Whether `audit_log` (`stdout`, `syslog` or a file path) can be written, changing nothing
/// (`sts check-config`): the syslog socket accepts a connection; an existing file opens for
/// appending (nothing written); a file not there yet has a directory this process may
/// create it in. Returns what was found; the error names the file.
pub fn check_target(target: &str) -> Result<String, String> {
    match target {
        "stdout" => Ok("standard output".into()),
        "syslog" => {
            let mut sink = SyslogSink::new("/dev/log");
            sink.reopen()
                .map(|()| "syslog (/dev/log) accepts a connection".into())
                .map_err(|e| format!("audit_log = \"syslog\": {e}"))
        }
        path => check_file(std::path::Path::new(path))
            .map_err(|e| format!("audit_log {path}: {e}")),
    }
}

fn check_file(path: &std::path::Path) -> Result<String, String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err("is a directory".into()),
        Ok(_) => std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(|_| "the file can be appended to".into())
            .map_err(|e| format!("cannot be opened for appending: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(format!("{} is not a directory", dir.display())),
                Err(e) => return Err(format!("its directory {}: {e}", dir.display())),
            }
            // Write and search permission on the directory, for this process's effective
            // user: what creating the file at the first event needs.
            rustix::fs::accessat(
                rustix::fs::CWD,
                dir,
                rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
                rustix::fs::AtFlags::EACCESS,
            )
            .map(|()| "created at the first event".into())
            .map_err(|e| {
                format!(
                    "its directory {} does not let this user create it: {}",
                    dir.display(),
                    std::io::Error::from(e)
                )
            })
        }
        Err(e) => Err(e.to_string()),
    }
}
