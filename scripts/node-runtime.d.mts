// Types of scripts/node-runtime.mjs (plain JavaScript, because it runs before `npm ci`), for its unit test.
export type Version = [number, number, number];
export type Decision = { action: 'run' } | { action: 'reexec'; pkg: string; version: string } | { action: 'fail'; reason: string };
export type Env = Record<string, string | undefined>;

export const PINNED_NODE_VERSION: string;
export const REEXEC_MARKER: string;
export function parseVersion(text: string): Version | undefined;
export function minimumOfRange(range: string): Version;
export function olderThan(a: Version, b: Version): boolean;
export function nodePackageFor(platform: string, arch: string): string | undefined;
export function nodeCacheRoot(env: Env, home: string): string;
export function decide(o: { runningVersion: string; enginesRange: string; env: Env; platform: string; arch: string }): Decision;
export function reexecCommand(o: { binDir: string; script: string; args: string[]; env: Env }): { command: string; args: string[]; env: Env };
export function npmShim(cliJs: string): string;
export function ensureNode(o: { pkg: string; version: string; env: Env; home: string; log: (line: string) => void }): string;
