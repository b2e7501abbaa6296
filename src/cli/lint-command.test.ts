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
});
