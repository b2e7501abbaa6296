import { renderToString } from 'ink';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fleetViewsOf } from '../engine/fleet-view.js';
import { fleetContext, fleetRunbook, standHost } from '../../test/support/fleet-runbook.js';
import { FleetPanel } from './fleet-panel.js';
import { RunbookPanel } from './runbook-panel.js';

const names = (count: number) => Array.from({ length: count }, (_, index) => `vm${index + 1}`);

function draw(
  runbook: ReturnType<typeof fleetRunbook>,
  context: ReturnType<typeof fleetContext>,
  width: number,
  height: number,
  selected: string | null = null,
) {
  const view = fleetViewsOf(context, runbook)[0]!;
  const raw = renderToString(<FleetPanel view={view} steps={context.steps} selected={selected} width={width} height={height} now={121_000} />, {
    columns: width,
  });
  return { raw, text: stripVTControlCharacters(raw), lines: stripVTControlCharacters(raw).split('\n') };
}

/** 20 hosts in batches of 5: batch 1 done, batch 2 at work with one failure waiting and one host skipped. */
function twentyHosts() {
  const runbook = fleetRunbook({ hosts: names(20), serial: 5, maxFail: 2 });
  const context = fleetContext(runbook, 1);
  for (const host of names(5)) standHost(context, runbook, host, 'done');
  standHost(context, runbook, 'vm6', 'running', { index: 1, status: 'failed', error: 'apt-get exited with status 100' });
  standHost(context, runbook, 'vm7', 'running', { index: 0, status: 'running' });
  standHost(context, runbook, 'vm8', 'skipped', undefined, 'disk full, look tomorrow');
  standHost(context, runbook, 'vm9', 'done');
  standHost(context, runbook, 'vm10', 'running', { index: 1, status: 'running' });
  return { runbook, context };
}

describe('the host grid', () => {
  it('gives 20 hosts a line each, the waiting failure first, with the step, the elapsed time and the error', () => {
    const { runbook, context } = twentyHosts();
    const { lines, text } = draw(runbook, context, 80, 30);
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    expect(text).toContain('Update the guests · 20 hosts · batch 2/4');
    expect(text).toMatch(/!1 waiting ↷1 skipped ▶2 running ·10 queued ✓6 done/);
    expect(text).toContain('batch 1/4: 5 done');
    expect(text).toContain('batch 2/4: 1 done, 1 failed, 1 waiting, 2 running');
    expect(text).toContain('batch 3/4: 5 queued · pending');
    expect(at(/! vm6 .* 2\.2 FAILED: apt-get exited with status 100/)).toBeGreaterThan(0);
    expect(at(/! vm6/)).toBeLessThan(at(/↷ vm8 .*skipped: disk full, look tomorrow/));
    expect(at(/↷ vm8/)).toBeLessThan(at(/▶ vm7 .* 2\.1 refresh the package lists/));
    expect(at(/▶ vm10/)).toBeLessThan(at(/· vm11 +queued/));
    expect(at(/· vm20/)).toBeLessThan(at(/✓ vm1 .*done/));
    // Running hosts show how long they have been at it (started at 1s, now is 121s).
    expect(text).toMatch(/vm7 +2m /);
    expect(text).not.toContain('@vm');
  });

  it('draws 200 hosts at 80x24 as dense marks with the counts, the failure on its own line', () => {
    const runbook = fleetRunbook({ hosts: names(200), serial: 20, maxFail: 3 });
    const context = fleetContext(runbook, 2);
    for (const host of names(40)) standHost(context, runbook, host, 'done');
    standHost(context, runbook, 'vm45', 'running', { index: 0, status: 'failed', error: 'E: Could not get lock' });
    for (const host of names(60).slice(40)) if (host !== 'vm45') standHost(context, runbook, host, 'running', { index: 1, status: 'running' });
    // The right column at 80x24 is about 50 wide, the grid about 10 lines.
    const { lines, text } = draw(runbook, context, 50, 10);
    expect(lines).toHaveLength(12);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(50);
    expect(text).toContain('200 hosts · batch 3/10');
    expect(text).toMatch(/!1 waiting ▶19 running ·140 queued ✓40 done/);
    expect(text).toContain('batch 3/10: 1 waiting, 19 running');
    expect(text).toMatch(/! vm45 .*FAILED: E: Could not get/);
    // Every host is a mark: the grid's lines hold them all (48 a line) or say how far they go.
    const marks = lines.filter((line) => /^│[✓▶!·✗↩↷]{10,}/.test(line)).join('');
    expect(marks.match(/[✓▶!·✗↩↷]/g)!.length).toBeGreaterThanOrEqual(48 * 2);
  });

  it('keeps 200 hosts readable at 140x45, and a selected host shows its steps', () => {
    const runbook = fleetRunbook({ hosts: names(200), serial: 50, canary: true });
    const context = fleetContext(runbook, 1);
    standHost(context, runbook, 'vm1', 'done');
    standHost(context, runbook, 'vm2', 'fell-back', { index: 0, status: 'done', fallback: true }, 'apt-get exited with status 100');
    for (const host of names(51).slice(2)) standHost(context, runbook, host, 'running', { index: 0, status: 'running' });
    const { text, lines } = draw(runbook, context, 87, 19, 'vm2');
    expect(lines).toHaveLength(21);
    expect(text).toContain('canary batch 1/5: 1 done');
    expect(text).toContain('batch 2/5: 1 failed, 49 running');
    expect(text).toMatch(/▸↩ vm2 .*fell back: apt-get exited with status 100/);
    expect(text).toMatch(/✓ 2\.1 refresh the package lists/);
    expect(text).toMatch(/✓ 2\.F1 restore the snapshot/);
    // All 200 marks fit in three lines of 85.
    const marks = lines.filter((line) => /^│[✓▶!·✗↩↷]{10,}/.test(line)).join('');
    expect(marks.match(/[✓▶!·✗↩↷]/g)!.length).toBe(200);
  });

  it('shows hostile host names and error text as text, never as terminal codes', () => {
    const evil = 'vm\x1b]0;pwned\x07\u202e1';
    const runbook = fleetRunbook({ hosts: [evil, 'vm2'] });
    const context = fleetContext(runbook, 0);
    standHost(context, runbook, evil, 'running', { index: 0, status: 'failed', error: 'bad\x1b[2J\x1b[31mred\rover\nnext' });
    const { raw, text } = draw(runbook, context, 100, 10);
    expect(raw).not.toContain('\x1b]0;');
    expect(raw).not.toContain('\x1b[2J');
    expect(raw).not.toContain('\u202e');
    expect(text).toContain('vm^[]0;pwned^G<');
    expect(text).toContain('bad^[[2J^[[31mred^Mover^Jnext');
  });
});

describe('the runbook panel beside it', () => {
  it("shows a rollout's steps once, with how many hosts have done each, not 200 times", () => {
    const runbook = fleetRunbook({ hosts: names(200), serial: 20 });
    const context = fleetContext(runbook, 1);
    for (const host of names(20)) standHost(context, runbook, host, 'done');
    standHost(context, runbook, 'vm21', 'running', { index: 0, status: 'failed', error: 'exit 1' });
    const text = stripVTControlCharacters(
      renderToString(<RunbookPanel runbook={runbook} steps={context.steps} focusId="update-1@vm21" width={40} height={10} now={0} />, { columns: 40 }),
    );
    expect(text).toContain('2 Update the guests · each of 200');
    expect(text).toMatch(/✗ 2\.1 refresh the package lis… 20\/200/);
    expect(text).toMatch(/· 2\.2 install the updates +20\/200/);
    // Halt checkpoints show once the rollout comes to one.
    expect(text).not.toContain('2.H1');
    expect(text).not.toContain('@vm');
  });
});
