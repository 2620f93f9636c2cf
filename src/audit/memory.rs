//! An audit sink in memory, for tests (of the trail and of the events the engine records).

use std::sync::{Arc, Mutex};

use super::AuditSink;

/// Lines in memory; fails while `broken` holds; blocks while `stuck` is locked.
#[derive(Clone, Default)]
pub struct MemorySink {
    pub lines: Arc<Mutex<Vec<String>>>,
    pub broken: Arc<Mutex<bool>>,
    pub stuck: Arc<Mutex<()>>,
}

impl MemorySink {
    /// The lines written so far, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl AuditSink for MemorySink {
    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let _wait = self.stuck.lock().unwrap();
        if *self.broken.lock().unwrap() {
            return Err(std::io::Error::other("disk full"));
        }
        self.lines.lock().unwrap().push(line.to_owned());
        Ok(())
    }
    fn reopen(&mut self) -> std::io::Result<()> {
        if *self.broken.lock().unwrap() {
            return Err(std::io::Error::other("cannot open"));
        }
        Ok(())
    }
}
