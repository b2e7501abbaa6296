// Preferences as a user sets them, and what they change in a run.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, freshStateDir, ROOT } from '../support/cli.js';
import { scratchFolders } from '../support/scratch-folder.js';

/** Folders the tests make, removed after the file's tests. */
const scratch = scratchFolders();

const dir = scratch('ns-prefs-');
const runbook = path.join(dir, 'local.yaml');
writeFileSync(runbook, 'name: local only\nphases:\n  - name: one\n    steps:\n      - local: echo hello\n');

function nightshift(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', input: '', env: { ...process.env, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same on a terminal (script(1) gives it one), where colours are on unless turned off. */
function onTerminal(args: string[], env: Record<string, string>): string {
  const command = [process.execPath, BIN, ...args].map((word) => `'${word}'`).join(' ');
  const { FORCE_COLOR: _force, NO_COLOR: _no, CI: _ci, ...rest } = process.env;
  return spawnSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: { ...rest, TERM: 'xterm-256color', ...env } }).stdout;
}

describe('nightshift prefs', () => {
  it('sets the site time zone for runbooks that name no sites, and unsets it', () => {
    const env = { NIGHTSHIFT_CONFIG_DIR: scratch('ns-config-'), NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const wrong = nightshift(['prefs', 'set', 'site-tz', 'Asia/Taipe'], env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('"Asia/Taipe" is not a known IANA time zone');
    const set = nightshift(['prefs', 'set', 'site-tz', 'Asia/Taipei'], env);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^site-tz\s+Asia\/Taipei$/m);

    expect(nightshift(['run', '--plain', runbook], env).code).toBe(0);
    const sessions = path.join(env.NIGHTSHIFT_STATE_DIR, 'sessions');
    const [id] = readdirSync(sessions);
    const started = JSON.parse(readFileSync(path.join(sessions, id!, 'journal.jsonl'), 'utf8').split('\n')[0]!) as { sites: { site: { tz: string } } };
    expect(started.sites.site.tz).toBe('Asia/Taipei');

    expect(nightshift(['prefs', 'unset', 'site-tz'], env).stdout).toMatch(/^site-tz\s+\(the local time zone\)$/m);
    const stored = JSON.parse(readFileSync(path.join(env.NIGHTSHIFT_CONFIG_DIR, 'preferences.json'), 'utf8')) as object;
    expect(stored).toEqual({ theme: 'color', bell: true });
    expect(statSync(path.join(env.NIGHTSHIFT_CONFIG_DIR, 'preferences.json')).mode & 0o777).toBe(0o600);
  });

  it('monochrome turns the colours off on a terminal', () => {
    const env = { NIGHTSHIFT_CONFIG_DIR: scratch('ns-config-'), NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const coloured = onTerminal(['run', '--plain', runbook], env);
    expect(coloured).toContain('hello');
    expect(coloured).toMatch(/\u001b\[3\dm/);
    expect(nightshift(['prefs', 'set', 'theme', 'monochrome'], env).code).toBe(0);
    const plain = onTerminal(['run', '--plain', runbook], env);
    expect(plain).toContain('hello');
    expect(plain).not.toMatch(/\u001b\[3\dm/);
  });

  it('NO_COLOR turns the colours off too; an empty NO_COLOR does not', () => {
    const env = { NIGHTSHIFT_CONFIG_DIR: scratch('ns-config-'), NIGHTSHIFT_STATE_DIR: freshStateDir() };
    const plain = onTerminal(['run', '--plain', runbook], { ...env, NO_COLOR: '1' });
    expect(plain).toContain('hello');
    expect(plain).not.toMatch(/\u001b\[3\dm/);
    expect(onTerminal(['run', '--plain', runbook], { ...env, NO_COLOR: '' })).toMatch(/\u001b\[3\dm/);
  });
});
