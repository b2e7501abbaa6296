// The check's table: one row per host, a mark per probe, the reasons under it; and nothing
// from outside (names, addresses, what hosts said) can drive the terminal.
import { describe, expect, it } from 'vitest';
import { PROBES, type CheckReport, type HostCheck, type ProbeName, type ProbeVerdict } from '../runner/host-check.js';
import { checkReportJson, formatCheckReport } from './host-check-table.js';

function host(name: string, marks: Partial<Record<ProbeName, ProbeVerdict>>, resolved: HostCheck['resolved'] = null): HostCheck {
  const verdicts = Object.fromEntries(PROBES.map((probe) => [probe, marks[probe] ?? { mark: 'ok', text: 'fine' }])) as Record<ProbeName, ProbeVerdict>;
  return { host: name, resolved, verdicts, facts: null };
}

const resolved = (address: string, more: Partial<NonNullable<HostCheck['resolved']>> = {}) => ({
  name: 'x',
  address,
  port: 22,
  user: 'root',
  identityFiles: [],
  ...more,
});

describe('the check table', () => {
  it('a row per host, a column per probe, marks aligned; reasons for ✗ and notes below', () => {
    const report: CheckReport = {
      ok: false,
      later: [],
      hosts: [
        host('dragon', {}, resolved('10.0.0.1', { proxyJump: 'gw', identityFiles: ['/k/id'], resolvedBy: 'ssh -G' })),
        host(
          'elephant-long-name',
          { login: { mark: 'fail', text: 'the connection was refused' }, sh: { mark: 'none', text: 'not asked' } },
          resolved('10.0.0.2', { proxyCommand: 'nc %h %p' }),
        ),
        host('db', {
          sftp: { mark: 'none', note: true, text: 'no: uploads will go over a shell stream' },
          runFolder: { mark: 'ok', text: '/var/tmp/nightshift-0, 2.0 GiB free' },
        }),
      ],
    };
    const text = formatCheckReport(report);
    const lines = text.split('\n');
    const header = lines.find((line) => line.includes('HOST'))!;
    expect(header).toBe('  HOST                login  sh  sftp  sha256  setsid  systemd  sudo  run folder  tools');
    const row = (name: string) => lines.slice(lines.indexOf(header)).find((line) => line.startsWith(`  ${name} `))!;
    expect(row('dragon')).toBe('  dragon              ✓      ✓   ✓     ✓       ✓       ✓        ✓     ✓           ✓');
    expect(row('elephant-long-name')).toBe('  elephant-long-name  ✗      –   ✓     ✓       ✓       ✓        ✓     ✓           ✓');
    // Each mark sits under the first letter of its heading.
    let from = header.indexOf('HOST') + 4;
    const starts = ['login', 'sh', 'sftp', 'sha256', 'setsid', 'systemd', 'sudo', 'run folder', 'tools'].map((heading) => {
      const at = header.indexOf(heading, from);
      from = at + heading.length;
      return at;
    });
    for (const name of ['dragon', 'elephant-long-name', 'db']) {
      for (const at of starts) expect(row(name)[at], `${name} at ${at}`).toMatch(/[✓✗–]/);
    }
    expect(text).toContain('  dragon              root@10.0.0.1:22 · via gw · keys /k/id · (ssh -G)');
    expect(text).toContain('ProxyCommand nc %h %p');
    expect(text).toContain('✗ elephant-long-name login: the connection was refused');
    expect(text).toContain('– db sftp: no: uploads will go over a shell stream');
    expect(text).toContain('  db: /var/tmp/nightshift-0, 2.0 GiB free');
    expect(text.trimEnd().split('\n').at(-1)).toBe('Something the runbook needs is missing (✗ above).');
  });

  it('a host the runbook makes later is named as not tried, with its phase', () => {
    const report: CheckReport = { ok: true, later: [{ host: 'dragon_old', phase: 'identity-swap' }], hosts: [host('dragon', {}, resolved('10.0.0.1'))] };
    const text = formatCheckReport(report);
    expect(text).toContain('dragon_old: not tried now; the runbook makes it in phase identity-swap.');
    expect(text).not.toMatch(/^\s+dragon_old\s/m);
  });

  it('hostile names and host output are shown, not acted on', () => {
    const evil = 'web\u001b]0;owned\u0007\u202e';
    const report: CheckReport = {
      ok: false,
      later: [{ host: `old${evil}`, phase: 'swap' }],
      hosts: [
        host(
          evil,
          {
            login: { mark: 'fail', text: 'refused\u001b[2J\u001b[31m by \r\nthe host\u009b' },
            tools: { mark: 'fail', text: 'not found: \u001b[8mhidden' },
          },
          resolved('10.0.0.9\u001b[1A', { user: 'r\u0007oot', proxyCommand: 'nc\u001b[K %h' }),
        ),
      ],
    };
    const text = formatCheckReport(report);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain('web^[]0;owned^G<U+202E>');
    expect(text).toContain('10.0.0.9^[[1A');
    expect(text).toContain('r^Goot@');
    const json = JSON.stringify(checkReportJson(report, '/rb.yaml'));
    expect(JSON.parse(json)).toMatchObject({ type: 'host-check', ok: false, runbook: '/rb.yaml' });
  });
});
