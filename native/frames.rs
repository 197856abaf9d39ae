//! The frame cipher, with batch calls so thousands of small frames cross N-API at once.

use crate::{bad_input, js_buffer, to_js, Code};
use napi::Result;
use l2_core::frame::{self, FrameLimits, FrameType};
use napi::bindgen_prelude::{ArrayBuffer, BufferSlice, FromNapiValue, Uint32ArraySlice, Uint8ArraySlice};
use napi::Env;
use napi_derive::napi;

fn internal(e: napi::Error) -> napi::Error<Code> {
    napi::Error::new(Code("ERR_L2_INTERNAL"), e.reason)
}

/// The per-frame arrays of a batch as views of one V8-owned ArrayBuffer (ends, then types, then
/// status). Handing the vectors over as external buffers cost a finalizer each, and three
/// buffers cost V8 three allocations to track: together they doubled the cost of a small batch,
/// the session's receive path.
fn batch_arrays<'env>(env: &'env Env, b: &frame::BatchOpened) -> Result<(Uint32ArraySlice<'env>, Uint8ArraySlice<'env>, Uint8ArraySlice<'env>), Code> {
    let n = b.ends.len();
    let (mut data, mut value) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: plain N-API call on the current env; both out-pointers are valid locals.
    let status = unsafe { napi::sys::napi_create_arraybuffer(env.raw(), 6 * n, &mut data, &mut value) };
    if status != napi::sys::Status::napi_ok {
        return Err(napi::Error::new(Code("ERR_L2_INTERNAL"), format!("could not allocate an ArrayBuffer ({} bytes)", 6 * n)));
    }
    if n > 0 {
        // SAFETY: `data` is the new buffer's 6n bytes, owned by V8 and not yet visible to JS.
        let bytes = unsafe { std::slice::from_raw_parts_mut(data.cast::<u8>(), 6 * n) };
        let (ends, flags) = bytes.split_at_mut(4 * n);
        for (slot, end) in ends.chunks_exact_mut(4).zip(&b.ends) {
            slot.copy_from_slice(&end.to_ne_bytes());
        }
        flags[..n].copy_from_slice(&b.types);
        flags[n..].copy_from_slice(&b.status);
    }
    // SAFETY: `value` is the ArrayBuffer just created on this env.
    let buffer = unsafe { ArrayBuffer::from_napi_value(env.raw(), value) }.map_err(internal)?;
    Ok((
        Uint32ArraySlice::from_arraybuffer(&buffer, 0, n).map_err(internal)?,
        Uint8ArraySlice::from_arraybuffer(&buffer, 4 * n, n).map_err(internal)?,
        Uint8ArraySlice::from_arraybuffer(&buffer, 5 * n, n).map_err(internal)?,
    ))
}

/// Which library seals and opens frames with `plaintext_length` bytes in this process:
/// `"openssl"` (the host's OpenSSL 3, for large frames on AVX-512 CPUs) or `"aws-lc"` (SPEC.md §4).
/// Read-only information, for tests and diagnostics.
#[napi]
pub fn frame_aead_provider(plaintext_length: u32) -> &'static str {
    match frame::provider_for(plaintext_length as usize) {
        frame::AeadProvider::OpenSsl => "openssl",
        frame::AeadProvider::AwsLc => "aws-lc",
    }
}

/// Usage limits (defaults: rekeyAfter 2^32, maxFrames 2^48, maxAuthFailures 2^36).
#[napi(object)]
pub struct FrameCipherOptions {
    /// Frames after which `rekeyDue` turns true.
    pub rekey_after: Option<f64>,
    /// Hard limit on the counter: sealing at it throws `ERR_L2_LIMIT`.
    pub max_frames: Option<f64>,
    /// Failed openings after which the receive key is refused.
    pub max_auth_failures: Option<f64>,
}

fn count(name: &str, v: Option<f64>, default: u64) -> Result<u64, Code> {
    match v {
        None => Ok(default),
        Some(x) if x.fract() == 0.0 && x >= 1.0 && x <= 9_007_199_254_740_991.0 => Ok(x as u64),
        Some(x) => Err(bad_input(format!("{name} must be a positive safe integer, got {x}"))),
    }
}

pub(crate) fn limits_of(options: Option<FrameCipherOptions>) -> Result<FrameLimits, Code> {
    let d = FrameLimits::default();
    let Some(o) = options else { return Ok(d) };
    Ok(FrameLimits {
        rekey_after: count("rekeyAfter", o.rekey_after, d.rekey_after)?,
        max_frames: count("maxFrames", o.max_frames, d.max_frames)?,
        max_auth_failures: count("maxAuthFailures", o.max_auth_failures, d.max_auth_failures)?,
    })
}

fn frame_type(t: Option<u32>) -> Result<FrameType, Code> {
    match t {
        None => Ok(FrameType::Data),
        Some(t) => u8::try_from(t)
            .ok()
            .and_then(|b| FrameType::try_from(b).ok())
            .ok_or_else(|| bad_input(format!("frameType must be 1..=7, got {t}"))),
    }
}

/// One opened frame.
#[napi(object)]
pub struct OpenedFrame<'env> {
    pub frame_type: u32,
    pub epoch: u32,
    /// Frame counter (below 2^48, so exact as a JS number).
    pub counter: f64,
    pub data: BufferSlice<'env>,
}

/// Opened batch: plaintexts back to back, with per-frame end offsets, types and statuses
/// (0 ok, 1 authentication failed, 2 replay, 3 unknown epoch, 4 limit).
#[napi(object)]
pub struct OpenedBatch<'env> {
    pub data: BufferSlice<'env>,
    pub ends: Uint32ArraySlice<'env>,
    pub types: Uint8ArraySlice<'env>,
    pub status: Uint8ArraySlice<'env>,
    /// Bytes of the input consumed; a trailing partial frame is not.
    pub consumed: u32,
    /// Code and reason when a malformed header stopped the batch (the stream is unusable).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Seals and opens frames for one session. Inputs are borrowed for the call; outputs are
/// allocated by Node and written in place.
#[napi]
pub struct FrameCipher {
    pub(crate) inner: frame::FrameCipher,
}

#[napi]
impl FrameCipher {
    /// Seals one frame (`frameType` defaults to data).
    #[napi(catch_unwind)]
    pub fn seal<'env>(&mut self, env: &'env Env, data: &[u8], frame_type: Option<u32>) -> Result<BufferSlice<'env>, Code> {
        let t = self::frame_type(frame_type)?;
        let mut out = js_buffer(env, frame::sealed_len(data.len()))?;
        self.inner.seal_to(t, data, &mut out).map_err(to_js)?;
        Ok(out)
    }

    /// Opens exactly one frame; throws `ERR_L2_AUTH_FAILED`, `ERR_L2_REPLAY`, … on rejection.
    #[napi(catch_unwind)]
    pub fn open<'env>(&mut self, env: &'env Env, frame: &[u8]) -> Result<OpenedFrame<'env>, Code> {
        let len = frame::Header::decode(frame).map_err(to_js)?.len as usize;
        let mut data = js_buffer(env, len)?;
        let header = self.inner.open_to(frame, &mut data).map_err(to_js)?;
        Ok(OpenedFrame { frame_type: header.frame_type as u32, epoch: header.epoch.into(), counter: header.counter as f64, data })
    }

    /// Seals each message as one frame; returns the frames back to back (ready to write).
    #[napi(catch_unwind)]
    pub fn seal_batch<'env>(&mut self, env: &'env Env, messages: Vec<&[u8]>, frame_type: Option<u32>) -> Result<BufferSlice<'env>, Code> {
        let t = self::frame_type(frame_type)?;
        let total = messages.iter().map(|m| frame::sealed_len(m.len())).sum();
        let mut out = js_buffer(env, total)?;
        let mut at = 0;
        for m in &messages {
            at += self.inner.seal_to(t, m, &mut out[at..]).map_err(to_js)?;
        }
        Ok(out)
    }

    /// Seals messages packed back to back in `data`, `lengths[i]` bytes each: the cheapest way
    /// to seal many small messages (two arguments cross N-API, whatever the count).
    #[napi(catch_unwind)]
    pub fn seal_packed<'env>(&mut self, env: &'env Env, data: &[u8], lengths: &[u32], frame_type: Option<u32>) -> Result<BufferSlice<'env>, Code> {
        let t = self::frame_type(frame_type)?;
        let sum: u64 = lengths.iter().map(|&l| l as u64).sum();
        if sum != data.len() as u64 {
            return Err(bad_input(format!("lengths add up to {sum} but data has {} bytes", data.len())));
        }
        let mut out = js_buffer(env, data.len() + lengths.len() * frame::OVERHEAD)?;
        let (mut from, mut to) = (0usize, 0usize);
        for &l in lengths {
            let end = from + l as usize;
            to += self.inner.seal_to(t, &data[from..end], &mut out[to..]).map_err(to_js)?;
            from = end;
        }
        Ok(out)
    }

    /// Opens frames back to back in `frames`, one status per frame. `data` is as long as the
    /// input; the plaintexts fill its first `ends[ends.length - 1]` bytes, zeros the rest.
    #[napi(catch_unwind)]
    pub fn open_batch<'env>(&mut self, env: &'env Env, frames: &[u8]) -> Result<OpenedBatch<'env>, Code> {
        // Node's Buffers start uninitialised; `open_batch_to` zeroes what the plaintexts leave,
        // so no stale heap memory reaches JS through `data.buffer`. (Sizing it to the plaintexts
        // instead needs a pass over the headers first, which cost more than the zeroing.)
        let mut out = js_buffer(env, frames.len())?;
        let b = self.inner.open_batch_to(frames, &mut out);
        let (ends, types, status) = batch_arrays(env, &b)?;
        Ok(OpenedBatch {
            data: out,
            ends,
            types,
            status,
            consumed: b.consumed as u32,
            error_code: b.error.as_ref().map(|e| e.code().to_string()),
            error_message: b.error.as_ref().map(|e| e.to_string()),
        })
    }

    /// Current key epoch.
    #[napi(getter)]
    pub fn epoch(&self) -> u32 {
        self.inner.epoch().into()
    }

    /// Counter of the next frame sealed.
    #[napi(getter)]
    pub fn send_counter(&self) -> f64 {
        self.inner.send_counter() as f64
    }

    /// True once the current keys sealed `rekeyAfter` frames.
    #[napi(getter)]
    pub fn rekey_due(&self) -> bool {
        self.inner.rekey_due()
    }

    /// True while frames of the previous epoch are still accepted.
    #[napi(getter)]
    pub fn has_previous_epoch(&self) -> bool {
        self.inner.has_previous_epoch()
    }

    /// Ends the previous epoch's grace period.
    #[napi]
    pub fn retire_previous_epoch(&mut self) {
        self.inner.retire_previous();
    }
}
