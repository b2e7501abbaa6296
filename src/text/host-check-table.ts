// The check's answer as text: how each host is reached, a table of ✓/✗/– (one row per host,
// a column per probe), then the reason for each ✗ and the notes worth knowing. Everything
// from outside (names from the runbook and ssh config, what hosts said) is neutralized.
import { neutralize, visibleLine } from '../output/neutralize.js';
import type { CheckReport, HostCheck, Mark, ProbeName } from '../runner/host-check.js';
import { PROBES } from '../runner/host-check.js';
import type { ResolvedHost } from '../remote/types.js';

const HEADINGS: Record<ProbeName, string> = {
  login: 'login',
  sh: 'sh',
  sftp: 'sftp',
  sha256: 'sha256',
  setsid: 'setsid',
  systemd: 'systemd',
  sudo: 'sudo',
  runFolder: 'run folder',
  tools: 'tools',
};

const SYMBOLS: Record<Mark, string> = { ok: '✓', fail: '✗', none: '–' };

export interface TableStyle {
  /** Colours the marks (chalk in a terminal); the identity by default. */
  mark?: (mark: Mark, symbol: string) => string;
}

/** A host's name made safe for one line: no control characters, no sequences. */
function shownName(host: string): string {
  return visibleLine(host);
}

/** What came from a host or an error, made safe for one line. */
function shownText(text: string): string {
  return neutralize(text.replace(/\s*\n\s*/g, ' '));
}

export function reachedAs(resolved: ResolvedHost): string {
  const parts = [`${resolved.user}@${resolved.address}:${resolved.port}`];
  if (resolved.proxyJump) parts.push(`via ${resolved.proxyJump}`);
  if (resolved.proxyCommand) parts.push(`ProxyCommand ${resolved.proxyCommand}`);
  if (resolved.hostKeyAlias) parts.push(`host key as ${resolved.hostKeyAlias}`);
  if (resolved.identityFiles.length > 0) parts.push(`keys ${resolved.identityFiles.join(', ')}`);
  if (resolved.identitiesOnly) parts.push('IdentitiesOnly');
  if (resolved.certificateFiles && resolved.certificateFiles.length > 0) parts.push(`certificates ${resolved.certificateFiles.join(', ')}`);
  if (resolved.resolvedBy) parts.push(`(${resolved.resolvedBy})`);
  return visibleLine(parts.join(' · '));
}

export function formatCheckReport(report: CheckReport, style: TableStyle = {}): string {
  const paint = style.mark ?? ((_mark: Mark, symbol: string) => symbol);
  const names = report.hosts.map((host) => shownName(host.host));
  const nameWidth = Math.max(4, ...names.map((name) => name.length));
  const lines: string[] = [];

  lines.push('Hosts, as they are reached:');
  report.hosts.forEach((host, index) => {
    const how = host.resolved ? reachedAs(host.resolved) : 'not worked out';
    lines.push(`  ${names[index]!.padEnd(nameWidth)}  ${how}`);
  });
  lines.push('');

  const widths = PROBES.map((probe) => Math.max(HEADINGS[probe].length, 1));
  lines.push(`  ${'HOST'.padEnd(nameWidth)}  ${PROBES.map((probe, i) => HEADINGS[probe].padEnd(widths[i]!)).join('  ')}`.trimEnd());
  report.hosts.forEach((host, index) => {
    const cells = PROBES.map((probe, i) => {
      const { mark } = host.verdicts[probe];
      return paint(mark, SYMBOLS[mark]) + ' '.repeat(widths[i]! - 1);
    });
    lines.push(`  ${names[index]!.padEnd(nameWidth)}  ${cells.join('  ')}`.trimEnd());
  });

  const failures = report.hosts.flatMap((host) => reasons(host, 'fail', paint));
  const notes = report.hosts.flatMap((host) => reasons(host, 'note', paint));
  const folders = report.hosts.flatMap((host) =>
    host.verdicts.runFolder.mark === 'ok' ? [`  ${shownName(host.host)}: ${shownText(host.verdicts.runFolder.text)}`] : [],
  );
  if (failures.length > 0) lines.push('', ...failures);
  if (notes.length > 0) lines.push('', ...notes);
  if (folders.length > 0) lines.push('', 'Run folders:', ...folders);
  for (const { host, phase } of report.later) lines.push('', `${shownName(host)}: not tried now; the runbook makes it in phase ${shownText(phase)}.`);
  lines.push('', report.ok ? 'Every host has what the runbook needs.' : 'Something the runbook needs is missing (✗ above).');
  return `${lines.join('\n')}\n`;
}

function reasons(host: HostCheck, which: 'fail' | 'note', paint: (mark: Mark, symbol: string) => string): string[] {
  return PROBES.flatMap((probe) => {
    const verdict = host.verdicts[probe];
    const wanted = which === 'fail' ? verdict.mark === 'fail' : verdict.note === true && verdict.mark !== 'fail';
    if (!wanted) return [];
    return [`${paint(verdict.mark, SYMBOLS[verdict.mark])} ${shownName(host.host)} ${HEADINGS[probe]}: ${shownText(verdict.text)}`];
  });
}

/** The report as one JSON value: the verdicts, how each host was reached, and what it said. */
export function checkReportJson(report: CheckReport, runbookFile: string): unknown {
  return {
    type: 'host-check',
    runbook: runbookFile,
    ok: report.ok,
    later: report.later,
    hosts: report.hosts.map((host) => ({
      host: host.host,
      resolved: host.resolved,
      verdicts: host.verdicts,
      facts: host.facts,
    })),
  };
}
