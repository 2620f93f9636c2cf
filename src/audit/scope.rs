//! The request being handled on this thread: its id and client address, which every event
//! recorded while handling it carries. Handlers are synchronous (one request per blocking
//! thread at a time), so a thread-local scope set around the handler is exact.

use std::cell::RefCell;
use std::net::IpAddr;

/// What an event learns of the request that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestScope {
    /// The request's id (`X-Request-Id`).
    pub request_id: String,
    /// The client's address (a trusted proxy's `X-Forwarded-For` applied).
    pub client: Option<IpAddr>,
}

thread_local! {
    static CURRENT: RefCell<Option<RequestScope>> = const { RefCell::new(None) };
}

/// Runs `f` with `scope` as the current request; the previous one comes back after.
pub fn in_request<T>(scope: RequestScope, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<RequestScope>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CURRENT.with(|c| c.borrow_mut().replace(scope));
    let _restore = Restore(prev);
    f()
}

/// The request being handled on this thread, if any.
pub fn current() -> Option<RequestScope> {
    CURRENT.with(|c| c.borrow().clone())
}
