//! One handshake per object, driven with bytes from TypeScript.

use crate::crypto::fixed;
use crate::frames::{limits_of, FrameCipher, FrameCipherOptions};
use crate::identity::Identity;
use crate::{bad_input, js_buffer, to_js, Code};
use napi::Result;
use l2_core::handshake::{self as hs, InitiatorRandomness, ResponderRandomness, Ticket};
use napi::bindgen_prelude::{Buffer, BufferSlice, Uint8Array};
use napi::Env;
use napi_derive::napi;

/// Options of a handshake.
#[napi(object)]
pub struct HandshakeOptions {
    /// Initiator only: the responder's Ed25519 public key; anyone else fails authentication.
    pub expected_peer: Option<Uint8Array>,
    /// The transport's channel-binding value (TLS exporter), the same on both sides.
    pub channel_binding: Option<Uint8Array>,
}

/// A handshake in progress (initiator or responder).
#[napi]
pub struct Handshake {
    inner: hs::Handshake,
    /// Message 1, held until `start()` hands it out (initiator only).
    hello: Option<Vec<u8>>,
    /// Set once its ticket went into a store: a ticket is issued once, so it resumes once.
    ticket_issued: bool,
}

/// Handshake messages (about 1.3 KB) are copied into a Node-allocated Buffer: cheaper than an
/// external buffer, whose finalizer costs a GC callback per message.
fn copy_out<'env>(env: &'env Env, bytes: &[u8]) -> Result<BufferSlice<'env>, Code> {
    let mut out = js_buffer(env, bytes.len())?;
    out.copy_from_slice(bytes);
    Ok(out)
}

fn binding(options: &Option<HandshakeOptions>) -> &[u8] {
    options.as_ref().and_then(|o| o.channel_binding.as_deref()).unwrap_or_default()
}

#[napi]
impl Handshake {
    /// Starts as initiator; `start()` returns message 1.
    #[napi(factory, catch_unwind)]
    pub fn initiator(identity: &Identity, options: Option<HandshakeOptions>) -> Result<Self, Code> {
        let expected = match options.as_ref().and_then(|o| o.expected_peer.as_deref()) {
            Some(pk) => Some(fixed::<32>("expectedPeer", pk)?),
            None => None,
        };
        let randomness = InitiatorRandomness::generate().map_err(to_js)?;
        let (inner, hello) =
            hs::Handshake::initiator(identity.inner.clone(), expected, binding(&options), randomness).map_err(to_js)?;
        Ok(Self { inner, hello: Some(hello), ticket_issued: false })
    }

    /// Starts as responder, waiting for message 1.
    #[napi(factory, catch_unwind)]
    pub fn responder(identity: &Identity, options: Option<HandshakeOptions>) -> Result<Self, Code> {
        if options.as_ref().is_some_and(|o| o.expected_peer.is_some()) {
            return Err(bad_input("expectedPeer is an initiator option; a responder learns its peer from message 3"));
        }
        let randomness = ResponderRandomness::generate().map_err(to_js)?;
        let inner = hs::Handshake::responder(identity.inner.clone(), binding(&options), randomness).map_err(to_js)?;
        Ok(Self { inner, hello: None, ticket_issued: false })
    }

    /// Starts a resumption (one round trip, no KEM) from a ticket sealed by `exportTicket`.
    #[napi(factory, catch_unwind)]
    pub fn resume_initiator(sealed_ticket: &[u8], key: &[u8], options: Option<HandshakeOptions>) -> Result<Self, Code> {
        let ticket = Ticket::open(sealed_ticket, key).map_err(to_js)?;
        let nonce = l2_core::primitives::random::<32>().map_err(to_js)?;
        let (inner, hello) = hs::Handshake::resume_initiator(ticket, binding(&options), nonce).map_err(to_js)?;
        Ok(Self { inner, hello: Some(hello), ticket_issued: false })
    }

    /// Answers a resume hello with the ticket it names, taken (single use) from `store` once the
    /// hello's binder proves it; then pass the same hello to `handle`. Unknown or expired
    /// tickets and wrong binders fail authentication (a wrong binder leaves the ticket in place).
    #[napi(factory, catch_unwind)]
    pub fn resume_responder(store: &mut TicketStore, hello: &[u8], now_ms: f64, options: Option<HandshakeOptions>) -> Result<Self, Code> {
        let ticket = store.inner.take(hello, binding(&options), now_ms as u64).map_err(to_js)?;
        let nonce = l2_core::primitives::random::<32>().map_err(to_js)?;
        let inner = hs::Handshake::resume_responder(ticket, binding(&options), nonce).map_err(to_js)?;
        Ok(Self { inner, hello: None, ticket_issued: false })
    }

    /// True for a resumption, false for a full (KEM) handshake.
    #[napi(getter)]
    pub fn is_resumption(&self) -> bool {
        self.inner.is_resumption()
    }

    /// The resumption ticket of this completed handshake, sealed under the caller's 32-byte key
    /// (ChaCha20-Poly1305): the secret never reaches JavaScript in the clear.
    #[napi(catch_unwind)]
    pub fn export_ticket(&self, key: &[u8]) -> Result<Buffer, Code> {
        let nonce = l2_core::primitives::random::<12>().map_err(to_js)?;
        Ok(self.inner.ticket().and_then(|t| t.seal(key, nonce)).map_err(to_js)?.into())
    }

    /// Message 1 (initiator), once.
    #[napi(catch_unwind)]
    pub fn start<'env>(&mut self, env: &'env Env) -> Result<BufferSlice<'env>, Code> {
        let hello = self.hello.take().ok_or_else(|| {
            to_js(l2_core::Error::InvalidState { expected: "an initiator that has not started", got: "started or responder" })
        })?;
        copy_out(env, &hello)
    }

    /// Handles the peer's message; returns the reply to send, or null when there is none.
    #[napi(catch_unwind)]
    pub fn handle<'env>(&mut self, env: &'env Env, message: &[u8]) -> Result<Option<BufferSlice<'env>>, Code> {
        self.inner.handle(message).map_err(to_js)?.map(|reply| copy_out(env, &reply)).transpose()
    }

    /// True once this side has confirmed keys.
    #[napi(getter)]
    pub fn is_complete(&self) -> bool {
        self.inner.is_complete()
    }

    /// The peer's authenticated Ed25519 public key (after completion).
    #[napi(getter)]
    pub fn peer_public_key(&self) -> Option<Buffer> {
        self.inner.outcome().ok().map(|o| o.peer.to_vec().into())
    }

    /// The peer's `did:key` (after completion).
    #[napi(getter)]
    pub fn peer_did(&self) -> Option<String> {
        self.inner.outcome().ok().map(|o| l2_core::did::encode(&o.peer))
    }

    /// Public 16-byte session identifier, equal on both sides (after completion).
    #[napi(getter)]
    pub fn session_id(&self) -> Option<Buffer> {
        self.inner.outcome().ok().map(|o| o.session_id.to_vec().into())
    }

    /// Hash of the whole transcript, equal on both sides (after completion).
    #[napi(getter)]
    pub fn transcript_hash(&self) -> Option<Buffer> {
        self.inner.outcome().ok().map(|o| o.transcript_hash.to_vec().into())
    }

    /// Moves the traffic keys into a new frame cipher (once).
    #[napi(catch_unwind)]
    pub fn frame_cipher(&mut self, options: Option<FrameCipherOptions>) -> Result<FrameCipher, Code> {
        let limits = limits_of(options)?;
        Ok(FrameCipher { inner: self.inner.frame_cipher(limits).map_err(to_js)? })
    }

    /// Moves the traffic keys into `cipher` as its next key epoch (rotation); returns the epoch.
    #[napi(catch_unwind)]
    pub fn install_into(&mut self, cipher: &mut FrameCipher) -> Result<u32, Code> {
        Ok(self.inner.install_into(&mut cipher.inner).map_err(to_js)?.into())
    }
}

/// The responder's resumption tickets (single use, each until its expiry); secrets stay in Rust.
#[napi]
pub struct TicketStore {
    inner: hs::TicketStore,
}

#[napi]
impl TicketStore {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self { inner: hs::TicketStore::new() }
    }

    /// Keeps the ticket of a completed handshake until `expiresAtMs`.
    #[napi(catch_unwind)]
    pub fn insert(&mut self, handshake: &mut Handshake, expires_at_ms: f64, now_ms: f64) -> Result<(), Code> {
        if handshake.ticket_issued {
            return Err(to_js(l2_core::Error::InvalidState { expected: "a handshake whose ticket was not issued", got: "ticket already issued" }));
        }
        let ticket = handshake.inner.ticket().map_err(to_js)?;
        self.inner.insert(ticket, expires_at_ms as u64, now_ms as u64).map_err(to_js)?;
        handshake.ticket_issued = true;
        Ok(())
    }

    /// Tickets held.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.inner.len() as u32
    }
}
