//! The N-API binding: one `#[napi]` item per concept, no protocol logic. Every error leaves
//! with the stable code of `l2_core::Error::code` as its JS `code`; every export catches
//! panics so nothing unwinds into Node. Buffers returned are new allocations owned by JS;
//! buffers passed in are borrowed for the duration of the call only.

mod crypto;
mod frames;
mod handshake;
mod identity;
mod transport;
mod utcp_poll;

use napi::bindgen_prelude::{BufferSlice, FromNapiValue};
use napi::Env;

/// A stable `L2Error` code, carried as the napi status so JS sees it as `err.code`.
pub struct Code(&'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// Converts a core error into a JS-bound error with its stable code.
pub fn to_js(err: l2_core::Error) -> napi::Error<Code> {
    napi::Error::new(Code(err.code()), err.to_string())
}

/// A `BAD_INPUT` error for argument problems the binding itself detects.
pub fn bad_input(reason: impl Into<String>) -> napi::Error<Code> {
    to_js(l2_core::Error::BadInput(reason.into()))
}

/// A JS-owned buffer of `len` bytes that Rust writes into directly (no copy, no finalizer).
pub fn js_buffer(env: &Env, len: usize) -> napi::Result<BufferSlice<'_>, Code> {
    let internal = |what: &str| napi::Error::new(Code("ERR_L2_INTERNAL"), format!("{what} ({len} bytes)"));
    let (mut data, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: plain N-API call on the current env; both out-pointers are valid locals.
    let status = unsafe { napi::sys::napi_create_buffer(env.raw(), len, &mut data, &mut value) };
    if status != napi::sys::Status::napi_ok {
        return Err(internal("could not allocate a Buffer"));
    }
    // SAFETY: `value` is the Buffer just created on this env.
    unsafe { BufferSlice::from_napi_value(env.raw(), value) }.map_err(|_| internal("could not map a Buffer"))
}

