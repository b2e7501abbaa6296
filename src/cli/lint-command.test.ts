import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { lintCommand } from './runbook-commands.js';

describe('nightshift lint', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('warns about a hidden character in an included file, at its own line', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-lint-'));
    writeFileSync(path.join(dir, 'main.yaml'), ['name: main', 'hosts: { box: {} }', 'phases:', '  - include: finish.yaml', ''].join('\n'));
    writeFileSync(
      path.join(dir, 'finish.yaml'),
      ['phases:', '  - name: finish', '    steps:', '      - run: "echo done\u202e"', '        host: box', ''].join('\n'),
    );
    const lines: string[] = [];
    const code = await lintCommand([path.join(dir, 'main.yaml')], { stdout: (text) => lines.push(text), stderr: (text) => lines.push(text) });
    expect(code).toBe(0);
    const warning = lines.find((line) => line.includes('finish.yaml:4:'));
    expect(warning, lines.join('')).toBeDefined();
    expect(lines.join('')).toMatch(/main\.yaml: ok/);
  });

  const lint = async (...files: string[]) => {
    const lines: string[] = [];
    const code = await lintCommand(files, { stdout: (text) => lines.push(text), stderr: (text) => lines.push(text) });
    return { code, text: lines.join('') };
  };

  it('checks a lab file as a lab file, so that `lint runbooks/*.yaml` passes on the shipped runbooks', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-lint-'));
    writeFileSync(path.join(dir, 'one.yaml'), 'name: one\nhosts: { box: {} }\nphases:\n  - name: only\n    steps:\n      - run: "true"\n        host: box\n');
    writeFileSync(path.join(dir, 'one.lab.yaml'), 'machines:\n  box: {}\n');
    const { code, text } = await lint(path.join(dir, 'one.lab.yaml'), path.join(dir, 'one.yaml'));
    expect(text).toBe(
      `${path.join(dir, 'one.lab.yaml')}: ok (the rehearsal lab of one.yaml: 1 machine)\n` +
        `${path.join(dir, 'one.yaml')}: ok (1 phase, 1 step, 0 fallback steps)\n`,
    );
    expect(code).toBe(0);
  });

  it('reports every mistake of a lab file in one round, each at its line', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-lint-'));
    const file = path.join(dir, 'two.lab.yaml');
    writeFileSync(
      file,
      [
        'machines:',
        '  a: { adress: 10.0.0.1/24 }',
        '  b:',
        '    address: 10.0.0.2',
        'observer:',
        '  name: Watcher',
        '  address: 10.0.0.9/24',
        'colour: red',
        '',
      ].join('\n'),
    );
    const { code, text } = await lint(file);
    expect(code).toBe(1);
    expect(text.split('\n').filter(Boolean)).toEqual([
      `${file}:2:8: machines.a: unknown key 'adress'`,
      `${file}:4:14: machines.b.address: an address is written with its prefix, e.g. 192.168.10.1/24`,
      `${file}:6:9: observer.name: a machine name is a short lower-case name`,
      `${file}:8:1: the file: unknown key 'colour'`,
    ]);
  });

  it('refuses a lab file with more machines than the CPUs can emulate, at the first one too many', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ns-lint-'));
    const file = path.join(dir, 'four.lab.yaml');
    writeFileSync(file, 'machines:\n  a: {}\n  b: {}\n  c: {}\n  d: {}\n');
    const { code, text } = await lint(file);
    expect(code).toBe(1);
    expect(text).toBe(`${file}:5:3: at most 3 machines: under emulation each takes a whole CPU while it works\n`);
  });
});
