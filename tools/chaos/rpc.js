/**
 * Line-delimited JSON over stdio between a test and a helper process that may run inside another
 * network namespace (`ip netns exec NS node …`), where no socket of the test's namespace reaches it.
 *   request   {"id":1,"cmd":"set","args":{…}}
 *   response  {"id":1,"ok":true,"result":…} | {"id":1,"ok":false,"error":{"code","message"}}
 *   event     {"event":"state","data":{…}}
 */
'use strict';
const { spawn } = require('node:child_process');
const { EventEmitter } = require('node:events');
const readline = require('node:readline');

/** Child side: answers requests with `handlers[cmd](args)` (sync or async); returns `emit(event, data)`. */
function serve(handlers) {
  const write = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return write({ event: 'protocol_error', data: { message: 'request is not JSON' } });
    }
    const handler = Object.prototype.hasOwnProperty.call(handlers, req.cmd) ? handlers[req.cmd] : undefined;
    if (!handler) return write({ id: req.id, ok: false, error: { code: 'ERR_UNKNOWN_COMMAND', message: `unknown command ${String(req.cmd)}` } });
    try {
      write({ id: req.id, ok: true, result: (await handler(req.args ?? {})) ?? null });
    } catch (err) {
      write({ id: req.id, ok: false, error: { code: err?.code ?? 'ERR_FAILED', message: String(err?.message ?? err) } });
    }
  });
  // The parent going away (stdin closed) ends the helper: nothing may outlive the test.
  lines.on('close', () => process.exit(0));
  return (event, data) => write({ event, data });
}

/** Parent side: spawns `command args…` and talks to its `serve()`. */
function spawnRpc(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  const events = new EventEmitter();
  const pending = new Map();
  let nextId = 1;
  let stderr = '';
  let exited = null;
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-8192);
  });
  const lines = readline.createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return events.emit('log', line);
    }
    if (msg.event !== undefined) return events.emit(msg.event, msg.data);
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(Object.assign(new Error(`${p.cmd}: ${msg.error.message}`), { code: msg.error.code }));
  });
  const exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${p.cmd}: helper exited (${signal ?? code}); stderr: ${stderr.trim().slice(-2000)}`));
      }
      pending.clear();
      resolve(exited);
    });
  });
  child.stdin.on('error', () => undefined);

  return {
    child,
    events,
    get stderr() {
      return stderr;
    },
    /** Sends a command; rejects with the helper's error, or after `timeoutMs`. */
    call(cmd, args, timeoutMs = 30_000) {
      if (exited) return Promise.reject(new Error(`${cmd}: helper already exited (${exited.signal ?? exited.code}); stderr: ${stderr.trim().slice(-2000)}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${cmd}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { cmd, resolve, reject, timer });
        child.stdin.write(`${JSON.stringify({ id, cmd, args })}\n`);
      });
    },
    /** Resolves with the data of the next `event`, or rejects after `timeoutMs` or if the helper exits. */
    once(event, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no '${event}' event within ${timeoutMs} ms; stderr: ${stderr.trim().slice(-2000)}`)), timeoutMs);
        const onEvent = (data) => done(null, data);
        const onExit = () => done(new Error(`helper exited before '${event}'; stderr: ${stderr.trim().slice(-2000)}`));
        function done(err, data) {
          clearTimeout(timer);
          events.off(event, onEvent);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve(data);
        }
        events.once(event, onEvent);
        child.once('exit', onExit);
      });
    },
    /** Closes stdin (the helper exits by itself), then kills it if it is still there after `graceMs`. */
    async stop(graceMs = 5000) {
      if (!exited) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exitedPromise;
        clearTimeout(timer);
      }
      lines.close();
      return exited;
    },
  };
}

module.exports = { serve, spawnRpc };
