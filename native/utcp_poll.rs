//! μTCP links driven on the JS thread. Node's own event loop polls the link's socket (a libuv
//! `uv_poll_t`) and Rust does the non-blocking reads and gathered writes right here, so a
//! message crosses no thread: `send()` writes before it returns and its promise is already
//! resolved when the kernel took everything; `recv()` returns what is already buffered. Only
//! when the socket is full (send) or empty (recv) does the promise wait for the poll callback,
//! which settles it inside a callback scope so its continuations run straight after.
//! The socket is polled only while something waits on it, so, as with any pending Node I/O, a
//! waiting send or receive keeps the process alive and an idle or closed link does not.
//! QUIC links stay on the tokio runtime.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::rc::Rc;

use l2_transport as tp;
use napi::bindgen_prelude::ToNapiValue;
use napi::sys;

use crate::transport::Received;

// libuv, as exported by the node binary for addons. Only opaque handles cross this boundary:
// the handle is allocated with `uv_handle_size`, so no libuv struct layout is copied here.
const UV_POLL: c_int = 8;
const UV_READABLE: c_int = 1;
const UV_WRITABLE: c_int = 2;
type PollCb = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type CloseCb = unsafe extern "C" fn(handle: *mut c_void);
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init_socket(lp: *mut sys::uv_loop_s, handle: *mut c_void, socket: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCb) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, cb: CloseCb);
    fn uv_handle_set_data(handle: *mut c_void, data: *mut c_void);
    fn uv_handle_get_data(handle: *const c_void) -> *mut c_void;
}

/// libuv handles need no more than pointer alignment; 16 covers every field type.
fn handle_layout() -> std::alloc::Layout {
    // SAFETY: plain libuv query.
    let size = unsafe { uv_handle_size(UV_POLL) };
    std::alloc::Layout::from_size_align(size, 16).expect("uv_poll_t layout")
}

/// The async resource name async_hooks see for settled link operations.
const RESOURCE: &str = "l2.TransportLink";

/// How a waiting promise ends.
enum Outcome {
    Sent,
    Received(Vec<bytes::Bytes>),
    Failed(tp::Error),
}

/// The JS-thread driver of one μTCP link. Owned by its `TransportLink` and, while the poll
/// handle is open, by the handle (a strong count released in the close callback), so waiting
/// promises settle even if the link object is collected first.
pub struct Poller {
    env: sys::napi_env,
    polled: tp::Polled,
    /// The `uv_poll_t`; null once closed.
    handle: Cell<*mut c_void>,
    async_ctx: sys::napi_async_context,
    /// Events polled for now.
    events: Cell<c_int>,
    /// Receives waiting for data, in call order, with their batch limit.
    recvs: RefCell<VecDeque<(sys::napi_deferred, usize)>>,
    /// Sends waiting for the kernel to take their bytes, with the offset that completes them.
    sends: RefCell<VecDeque<(u64, sys::napi_deferred)>>,
    /// Set when the owning `TransportLink` is gone: the handle closes once nothing waits.
    orphaned: Cell<bool>,
}

impl Poller {
    /// Takes the link's socket over from tokio (None on QUIC) and opens its poll handle on
    /// this env's loop. Call on the JS thread.
    pub fn start(env: sys::napi_env, link: &tp::Link) -> napi::Result<Option<Rc<Poller>>> {
        let Some(polled) = link.polled() else { return Ok(None) };
        let fail = |what: &str| napi::Error::from_reason(format!("ERR_L2_INTERNAL: could not {what}"));
        let mut lp = ptr::null_mut();
        let mut name = ptr::null_mut();
        let mut async_ctx = ptr::null_mut();
        // SAFETY: N-API calls on the current env with valid out-pointers.
        unsafe {
            if sys::napi_get_uv_event_loop(env, &mut lp) != sys::Status::napi_ok
                || sys::napi_create_string_utf8(env, RESOURCE.as_ptr().cast(), RESOURCE.len() as _, &mut name) != sys::Status::napi_ok
                || sys::napi_async_init(env, ptr::null_mut(), name, &mut async_ctx) != sys::Status::napi_ok
            {
                return Err(fail("set up the link's event-loop driver"));
            }
        }
        // SAFETY: the layout has a non-zero size (libuv's own handle size).
        let handle = unsafe { std::alloc::alloc(handle_layout()) } as *mut c_void;
        if handle.is_null() {
            std::alloc::handle_alloc_error(handle_layout());
        }
        // SAFETY: `handle` is fresh memory of uv_poll_t's size; the fd stays open while `polled`
        // (held by the poller, which the handle keeps alive) lives.
        if unsafe { uv_poll_init_socket(lp, handle, polled.fd()) } != 0 {
            unsafe {
                std::alloc::dealloc(handle as *mut u8, handle_layout());
                sys::napi_async_destroy(env, async_ctx);
            }
            return Err(fail("poll the link's socket"));
        }
        let poller = Rc::new(Poller {
            env,
            polled,
            handle: Cell::new(handle),
            async_ctx,
            events: Cell::new(0),
            recvs: RefCell::new(VecDeque::new()),
            sends: RefCell::new(VecDeque::new()),
            orphaned: Cell::new(false),
        });
        // SAFETY: the handle was initialised above; its data is the strong count released in
        // `on_close`, and the cleanup hook's argument stays valid as long as that count.
        unsafe {
            uv_handle_set_data(handle, Rc::into_raw(poller.clone()) as *mut c_void);
            sys::napi_add_env_cleanup_hook(env, Some(on_env_teardown), Rc::as_ptr(&poller) as *mut c_void);
        }
        Ok(Some(poller))
    }

    /// Writes now; the promise is resolved before returning unless the socket was full.
    pub fn send(&self, messages: &[&[u8]]) -> napi::Result<sys::napi_value> {
        let (promise, deferred) = self.promise()?;
        match self.polled.send(messages) {
            Ok(done_at) if self.polled.written() >= done_at => self.settle(deferred, Outcome::Sent),
            Ok(done_at) => {
                self.sends.borrow_mut().push_back((done_at, deferred));
                self.repoll();
            }
            Err(e) => self.settle(deferred, Outcome::Failed(e)),
        }
        Ok(promise)
    }

    /// Returns what already arrived in a resolved promise, or waits for the socket.
    pub fn recv(&self, max: usize) -> napi::Result<sys::napi_value> {
        let (promise, deferred) = self.promise()?;
        let ready = if self.recvs.borrow().is_empty() { self.polled.recv(max).transpose() } else { None };
        match ready {
            Some(Ok(frames)) => self.settle(deferred, Outcome::Received(frames)),
            Some(Err(e)) => self.settle(deferred, Outcome::Failed(e)),
            None => {
                self.recvs.borrow_mut().push_back((deferred, max));
                self.repoll();
            }
        }
        Ok(promise)
    }

    /// The owning link object is gone: close once nothing waits.
    pub fn orphan(&self) {
        self.orphaned.set(true);
        self.repoll();
    }

    fn promise(&self) -> napi::Result<(sys::napi_value, sys::napi_deferred)> {
        let (mut deferred, mut promise) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: N-API call on the current env with valid out-pointers.
        let status = unsafe { sys::napi_create_promise(self.env, &mut deferred, &mut promise) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("ERR_L2_INTERNAL: could not create a Promise"));
        }
        Ok((promise, deferred))
    }

    /// Resolves or rejects; the caller provides the handle (and, from libuv, callback) scope.
    fn settle(&self, deferred: sys::napi_deferred, outcome: Outcome) {
        let env = self.env;
        // SAFETY: N-API calls on this env's thread inside an open handle scope; `deferred` is
        // settled exactly once (it was removed from the waiting lists).
        unsafe {
            let mut value = ptr::null_mut();
            let resolved = match outcome {
                Outcome::Sent => sys::napi_get_undefined(env, &mut value) == sys::Status::napi_ok,
                Outcome::Received(frames) => match Received::to_napi_value(env, Received(frames)) {
                    Ok(v) => {
                        value = v;
                        true
                    }
                    Err(e) => {
                        value = error(env, "ERR_L2_INTERNAL", &e.reason);
                        false
                    }
                },
                Outcome::Failed(e) => {
                    value = error(env, e.code(), &e.to_string());
                    false
                }
            };
            if resolved {
                sys::napi_resolve_deferred(env, deferred, value);
            } else {
                sys::napi_reject_deferred(env, deferred, value);
            }
        }
    }

    /// Poll callback: writes queued bytes, reads for waiting receives, then settles what
    /// finished inside a callback scope, so promise continuations and `process.nextTick`
    /// callbacks run before libuv moves on (as for any Node I/O callback).
    fn on_ready(&self) {
        let mut done = Vec::new();
        if self.polled.has_queued() || !self.sends.borrow().is_empty() {
            let written = self.polled.on_writable();
            let mut sends = self.sends.borrow_mut();
            while let Some(&(done_at, deferred)) = sends.front() {
                match &written {
                    Ok(w) if *w < done_at => break,
                    Ok(_) => done.push((deferred, Outcome::Sent)),
                    Err(e) => done.push((deferred, Outcome::Failed(clone_error(e)))),
                }
                sends.pop_front();
            }
        }
        loop {
            let Some(&(deferred, max)) = self.recvs.borrow().front() else { break };
            let outcome = match self.polled.recv(max) {
                Ok(None) => break,
                Ok(Some(frames)) => Outcome::Received(frames),
                Err(e) => Outcome::Failed(e),
            };
            self.recvs.borrow_mut().pop_front();
            done.push((deferred, outcome));
        }
        if done.is_empty() {
            return self.repoll();
        }
        let env = self.env;
        // SAFETY: called from libuv on the JS thread, outside any JS frame: open the scopes a
        // JS callback would have, settle, and close them (which runs the microtask queue).
        unsafe {
            let (mut hs, mut resource, mut cs) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
            sys::napi_open_handle_scope(env, &mut hs);
            sys::napi_create_object(env, &mut resource);
            let scoped = sys::napi_open_callback_scope(env, resource, self.async_ctx, &mut cs) == sys::Status::napi_ok;
            for (deferred, outcome) in done {
                self.settle(deferred, outcome);
            }
            if scoped {
                sys::napi_close_callback_scope(env, cs);
            }
            sys::napi_close_handle_scope(env, hs);
        }
        // Only now, after the continuations ran: a reader that received usually asks for more at
        // once, so the poll stays as it is instead of stopping and restarting (three epoll_ctl
        // calls per message in libuv).
        self.repoll();
    }

    /// Polls for what is waited on: readable while a receive waits, writable while bytes are
    /// queued; stops when nothing waits, and closes the handle when its owner is gone too.
    fn repoll(&self) {
        let handle = self.handle.get();
        if handle.is_null() {
            return;
        }
        let want = if self.recvs.borrow().is_empty() { 0 } else { UV_READABLE }
            | if self.polled.has_queued() { UV_WRITABLE } else { 0 };
        if want == 0 && self.orphaned.get() {
            return self.close();
        }
        if want == self.events.get() {
            return;
        }
        // SAFETY: `handle` is the initialised, open poll handle.
        let status = unsafe {
            if want == 0 {
                uv_poll_stop(handle)
            } else {
                uv_poll_start(handle, want, on_poll)
            }
        };
        if status == 0 {
            self.events.set(want);
        } else {
            // Polling failed (the descriptor is unusable): nothing will wake these waiters.
            self.polled.link().abort();
        }
    }

    /// Stops polling and closes the handle; the close callback drops the handle's count.
    fn close(&self) {
        let handle = self.handle.replace(ptr::null_mut());
        if handle.is_null() {
            return;
        }
        // SAFETY: `handle` is open; after uv_close libuv calls `on_close` exactly once.
        unsafe {
            uv_poll_stop(handle);
            sys::napi_remove_env_cleanup_hook(self.env, Some(on_env_teardown), self as *const Poller as *mut c_void);
            sys::napi_async_destroy(self.env, self.async_ctx);
            uv_close(handle, on_close);
        }
    }
}

unsafe extern "C" fn on_poll(handle: *mut c_void, status: c_int, _events: c_int) {
    // SAFETY: the handle's data is the poller's strong count, released only in `on_close`.
    let poller = unsafe { &*(uv_handle_get_data(handle) as *const Poller) };
    if status < 0 {
        // libuv stopped the handle before reporting the error: record it, so the next
        // `repoll` starts it again if something still waits. The read or write that follows
        // reports the error itself.
        poller.events.set(0);
    }
    poller.on_ready();
}

unsafe extern "C" fn on_close(handle: *mut c_void) {
    // SAFETY: set in `Poller::start` from `Rc::into_raw`; libuv no longer uses the handle.
    unsafe {
        drop(Rc::from_raw(uv_handle_get_data(handle) as *const Poller));
        std::alloc::dealloc(handle as *mut u8, handle_layout());
    }
}

/// The env is going away (worker exit, process exit) with the link still polled: close the
/// handle so libuv holds nothing of ours. Waiting promises die with their env.
unsafe extern "C" fn on_env_teardown(arg: *mut c_void) {
    // SAFETY: the hook is removed before the handle's strong count can be released.
    let poller = unsafe { &*(arg as *const Poller) };
    poller.recvs.borrow_mut().clear();
    poller.sends.borrow_mut().clear();
    poller.close();
}

/// A JS Error whose `code` is the stable L2 code (what `toL2Error` reads).
unsafe fn error(env: sys::napi_env, code: &str, message: &str) -> sys::napi_value {
    let (mut c, mut m, mut e) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    // SAFETY: N-API calls on the current env inside an open handle scope.
    unsafe {
        sys::napi_create_string_utf8(env, code.as_ptr().cast(), code.len() as _, &mut c);
        sys::napi_create_string_utf8(env, message.as_ptr().cast(), message.len() as _, &mut m);
        sys::napi_create_error(env, c, m, &mut e);
    }
    e
}

/// The same failure for every send that was waiting on the write that failed.
fn clone_error(e: &tp::Error) -> tp::Error {
    match e {
        tp::Error::Closed(s) => tp::Error::Closed(s.clone()),
        tp::Error::Timeout(s) => tp::Error::Timeout(s.clone()),
        tp::Error::Limit(s) => tp::Error::Limit(s.clone()),
        tp::Error::BadInput(s) => tp::Error::BadInput(s.clone()),
        other => tp::Error::Transport(other.to_string()),
    }
}
