/** Types of tools/chaos/rpc.js. */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { EventEmitter } from 'node:events';

export declare function serve(handlers: Record<string, (args: any) => unknown>): (event: string, data: unknown) => void;

export interface RpcClient {
  readonly child: ChildProcess;
  readonly events: EventEmitter;
  readonly stderr: string;
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  once<T = unknown>(event: string, timeoutMs?: number): Promise<T>;
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null>;
}

export declare function spawnRpc(command: string, args: readonly string[], options?: SpawnOptions): RpcClient;
